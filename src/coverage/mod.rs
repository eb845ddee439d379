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
//! The result is a [`CoverageReport`]: per file, lines, regions (LLVM only), functions, and
//! the count of every line, written as a terminal table, JSON, lcov or HTML ([`output`]).

pub mod gcov;
mod llvm;
mod model;
pub mod output;
pub mod replay;
mod session;

use crate::process::{Within, TOOL_LIMIT};
use std::path::Path;
use std::process::Command;

pub use llvm::LlvmTools;
pub use model::{Counts, CoverageReport, FileCoverage, FunctionCoverage, Totals};
pub use session::Session;

/// `RUSTFLAGS` for a coverage build of a Rust crate.
pub const RUST_FLAGS: [&str; 2] = [
    "-Cinstrument-coverage",
    "-Cllvm-args=-runtime-counter-relocation",
];

/// `CFLAGS` and `LDFLAGS` for a coverage build of C: clang's source-based coverage in
/// continuous mode, or gcc's gcov. Both without optimization, so lines map to code.
pub fn c_flags(clang: bool) -> (Vec<String>, Vec<String>) {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if clang {
        (
            strings(&[
                "-O0",
                "-g",
                "-fprofile-instr-generate",
                "-fcoverage-mapping",
                "-mllvm",
                "-runtime-counter-relocation",
            ]),
            strings(&["-fprofile-instr-generate"]),
        )
    } else {
        (
            strings(&["-O0", "-g", "--coverage"]),
            strings(&["--coverage"]),
        )
    }
}

/// The major version of rustc's LLVM (`rustc -vV`), when rustc runs.
pub fn rustc_llvm_major() -> Option<u32> {
    let rustc = std::env::var_os("PYZ3_RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output_within(TOOL_LIMIT)
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))
        .and_then(|v| v.split('.').next()?.trim().parse().ok())
}

/// The LLVM major version a tool reports with `--version` (`... LLVM version 22.1.2`,
/// `clang version 22.1.2`).
pub(crate) fn tool_major(program: &Path) -> Option<u32> {
    let out = Command::new(program)
        .arg("--version")
        .output_within(TOOL_LIMIT)
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let re = regex::Regex::new(r"(?:LLVM|clang) version (\d+)").expect("valid regex");
    re.captures(&text)?.get(1)?.as_str().parse().ok()
}

/// A clang whose LLVM matches rustc's (`clang-22` for LLVM 22), so Rust and C profiles merge
/// with one `llvm-profdata`; `None` when there is none (C coverage then uses gcc's gcov).
pub fn matching_clang() -> Option<String> {
    let major = rustc_llvm_major().or_else(|| {
        let clang = crate::doctor::find_on_path("clang")?;
        tool_major(&clang)
    })?;
    [format!("clang-{major}"), "clang".to_string()]
        .into_iter()
        .find(|name| {
            crate::doctor::find_on_path(name).is_some_and(|p| tool_major(&p) == Some(major))
        })
}
