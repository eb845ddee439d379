//! Sanitizers over a project's pytest suite: `pyz3 test --sanitize address|leak|thread|undefined`.
//!
//! For running an extension's own tests under ASan, LSan, TSan or UBSan and getting findings
//! back: [`crate::toolchain::sanitizer`] says which combinations work and with which flags,
//! [`runtime`] which runtime to preload and how to set it up, [`report`] parses what the runtimes print, [`cython`] maps frames in Cython's generated C back to the `.pyx`, [`zig`] reads Zig's safety panics (the checks of pyZ3 modules), [`std_race`] tells
//! TSan's races inside Rust's std from the extension's, and [`run`] drives pytest (resuming
//! after a test that killed the interpreter) and turns reports into findings.

pub mod cython;
mod fatal;
pub mod report;
pub mod run;
pub mod runtime;
pub mod std_race;
pub mod zig;

pub use crate::toolchain::{Sanitizer, SanitizerSet};
pub use run::{run_tests, TestOptions, TestReport};
