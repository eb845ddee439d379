//! Benchmarks of extension functions: `pyz3 bench` (wall time and instruction counts, baselines,
//! regression tables); profiles are in [`crate::profile`].
//!
//! For measuring an extension over time: benchmarks are discovered in the project's Python
//! bench files, measured in interleaved processes, stored as versioned baselines and compared
//! with one verdict function.

pub mod baseline;
pub mod compare;
pub mod criterion;
pub mod git;
pub mod measure;
pub mod report;
pub mod session;
pub mod stats;
