//! The vocabulary every capability reports in: findings and their kinds, text made safe for a
//! terminal, and the progress of long work.

pub mod finding;
pub mod progress;
pub mod repro;
pub mod text;

pub use finding::{call_source, Finding, FindingKind, Frame, Observation, ThreadContext};
pub use progress::{Progress, Silent};
pub use text::printable;
