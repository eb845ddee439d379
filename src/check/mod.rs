//! The property harness: run extension functions under checks and report what breaks.
//!
//! For `pyz3 check` and library users. [`runner::check_function`] runs cases of one function
//! in worker processes ([`worker`], [`pool`]) that survive nothing the extension does to them,
//! checks every call for the [`FindingKind`]s, shrinks each finding and writes a reproducer.
//! [`discover`] lists a module's callables with the signatures pyz3 will use.

pub mod cases;
mod diff;
pub mod discover;
pub mod finding;
mod memory;
pub mod pool;
pub mod protocol;
pub(crate) mod refcount;
pub mod report;
pub mod repro;
pub mod runner;
pub mod worker;

pub use finding::{Finding, FindingKind, Observation};
pub use runner::{check_function, CheckOptions, FunctionReport, FunctionTarget, RustProperty};
