//! The compilers and tools pyz3 runs, chosen by one set of rules.
//!
//! For every part of pyz3 that builds or instruments code, and for `pyz3 doctor`, which reports
//! what these lookups find: [`path`] finds programs on `$PATH`; [`rust`] picks `cargo` and
//! `rustc` (`$PYZ3_CARGO`, `$PYZ3_RUSTC`, `+nightly`) and reads rustc's LLVM major once;
//! [`llvm`] finds the LLVM tools of that major; [`clang`] finds the clang and compiler-rt
//! runtimes of that major; [`sanitizer`] names the sanitizers and their compiler flags;
//! [`coverage_flags`] the flags of a coverage build, [`fuzz_flags`] those of a build for fuzzing.
//!
//! A leaf: it uses nothing of pyz3 but [`crate::process`] (time limits) and [`crate::error`].

pub mod clang;
pub mod coverage_flags;
pub mod fuzz_flags;
pub mod llvm;
pub mod path;
pub mod rust;
pub mod sanitizer;

pub use path::find_on_path;
pub use rust::Channel;
pub use sanitizer::{Sanitizer, SanitizerSet};
