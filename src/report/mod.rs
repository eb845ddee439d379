//! The vocabulary every capability reports in: findings and their kinds, text made safe for a
//! terminal, the progress of long work,
//! and the one versioned report of a run.

pub mod finding;
pub mod progress;
pub mod repro;
pub mod run;
pub mod text;
pub mod version;

pub use finding::{
    call_source, Finding, FindingKind, Frame, Observation, ThreadContext, UnknownKind,
};
pub use progress::{Progress, Silent};
pub use run::RunReport;
pub use text::printable;
pub use version::VersionError;
