//! The project's own test suite, for `pyz3 test`: building the extensions (with sanitizers or
//! coverage instrumentation), running pytest over the build and collecting what the sanitizers
//! and the coverage counters saw ([`cycle`]); and for `--watch`, which files are watched, what
//! changed between two looks and which tests a change affects ([`watch`]).
//!
//! The terminal side (printing tables, the watch loop's timing and status lines) stays with the
//! caller; this module returns data and reports progress through
//! [`crate::report::Progress`].

pub mod cycle;
pub mod instrumented;
pub mod watch;

pub use cycle::{Cycle, Suite, SuiteOptions};
pub use instrumented::{coverage_build, CoverageBuild};
pub use watch::{affected, changed, Snapshot, WatchSet};
