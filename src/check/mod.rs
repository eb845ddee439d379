//! The property harness: run extension functions under checks and report what breaks.
//!
//! For `pyz3 check` and library users. [`runner::check_function`] runs cases of one function
//! in worker processes ([`pool`]): a small Python program (`worker.py`) run by the interpreter
//! under test, which survives nothing the extension does to it,
//! checks every call for the [`FindingKind`]s, shrinks each finding and writes a reproducer.
//! [`discover`] lists a module's callables with the signatures pyz3 will use.

mod batches;
pub mod cases;
pub mod discover;
pub mod module;
pub mod pool;
pub mod protocol;
pub mod runner;
#[cfg(feature = "embed")]
pub mod rust_property;
pub mod shrink;
pub mod slow;
pub mod threads;

pub use module::{ModulePlan, ModuleRun};
pub use runner::{check_function, CheckOptions, FunctionReport, DEFAULT_HOSTILE_PER_MILLE};
#[cfg(feature = "embed")]
pub use rust_property::RustProperty;
