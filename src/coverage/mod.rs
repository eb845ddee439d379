//! Coverage of extension modules' native code: line, region and function counts of the
//! project's own sources, for a pytest run (`pyz3 test --coverage`), a check run
//! (`pyz3 check --coverage`) or a fuzz corpus (`pyz3 fuzz coverage`).
//!
//! Rust crates are built with `-Cinstrument-coverage`, C extensions with clang's source-based
//! coverage (the clang matching rustc's LLVM when there is one) or gcc's `--coverage`. LLVM
//! counters are kept in the profile file as they change (continuous mode with runtime counter
//! relocation), so a test that kills the interpreter, or a worker killed on a timeout, still
//! counts. Profiles are merged with `llvm-profdata` and read with `llvm-cov` of rustc's LLVM
//! version ([`LlvmTools`]); gcov data is read with `gcov --json-format` ([`gcov`]).
//!
//! A Cython module's generated C is reported as the `.pyx` lines it came from (`cython.rs`).
//!
//! The result is a [`CoverageReport`]: per file, lines, regions (LLVM only), functions, and
//! the count of every line, written as a terminal table, JSON, lcov or HTML ([`output`]).

mod cython;
pub mod gcov;
mod llvm;
mod model;
pub mod output;
pub mod replay;
mod session;

pub use llvm::LlvmTools;
pub use model::{Counts, CoverageReport, FileCoverage, FunctionCoverage, Totals};
pub use session::Session;
