//! Profiles of a Python program with its native extension frames: `pyz3 profile` and
//! `pyz3 bench --flamegraph`.
//!
//! For finding where an extension spends its time or memory: [`flamegraph`] samples stacks
//! (py-spy or perf) and draws them as SVG, [`memory`] measures peak memory and allocations
//! under memray, and [`run`] is a whole `pyz3 profile --flamegraph` recording with its checks.

pub mod flamegraph;
pub mod memory;
pub mod run;

pub use flamegraph::{Program, Sampler, SamplerKind};
pub use memory::{MemoryOptions, MemoryReport};
pub use run::{flamegraph_of, FlamegraphRun};
