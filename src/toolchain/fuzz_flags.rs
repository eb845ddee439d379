//! The compiler flags of a build for fuzzing (`pyz3 build --fuzz`).
//!
//! For `project::build`. An extension module built this way carries libFuzzer's coverage
//! instrumentation (edge counters and traced comparisons), so `pyz3 fuzz` is guided by the
//! module's own code. The instrumentation calls back into libFuzzer; the module links a shim
//! ([`SHIM_SOURCE`]) of weak, empty callbacks so that it still imports in a plain interpreter,
//! and binds to libFuzzer's when loaded into a fuzz binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The shim's C source: weak, empty coverage callbacks (see the module documentation).
pub const SHIM_SOURCE: &str = include_str!("sancov-shim.c");

/// clang's flags for C and C++: libFuzzer's instrumentation without its runtime, debug
/// information for the reports, and optimization as a fuzzing build has it.
pub const C_FLAGS: [&str; 3] = ["-fsanitize=fuzzer-no-link", "-g", "-O1"];

/// rustc's flags: the coverage instrumentation cargo-fuzz gives a crate (inline 8-bit counters,
/// their PC table and traced comparisons), and [`KEEP_MEMCMP`].
pub const RUST_FLAGS: [&str; 7] = [
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    KEEP_MEMCMP,
    "-Cdebuginfo=1",
];

/// Keeps every `memcmp`/`bcmp` of the crate a call: LLVM otherwise expands one of a constant
/// length into loads and vector compares, whose traced operands are masks, not bytes (a
/// comparison of a 20-byte key became `pcmpeqb` and a compare with `0xffff`). As a call it
/// reaches libFuzzer's interceptor, which hands the compared bytes to the mutator. clang's
/// `-fsanitize=fuzzer-no-link` does the same for C (`-fno-builtin-memcmp` and kin). The rustc
/// wrapper of `pyz3 fuzz` adds it to the instrumented crates too.
pub const KEEP_MEMCMP: &str = "-Cllvm-args=-max-loads-per-memcmp=0";

/// Compiles the shim with `cc` (a clang) into `dir/pyz3-sancov-shim.o` and returns its path.
pub fn shim_object(cc: &str, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Usage(format!("cannot create {}: {e}", dir.display())))?;
    let src = dir.join("pyz3-sancov-shim.c");
    let obj = dir.join("pyz3-sancov-shim.o");
    std::fs::write(&src, SHIM_SOURCE)
        .map_err(|e| Error::Usage(format!("cannot write {}: {e}", src.display())))?;
    let mut words = cc.split_whitespace();
    let mut cmd = Command::new(words.next().unwrap_or("clang"));
    cmd.args(words)
        .args(["-c", "-fPIC", "-O1", "-w", "-o"])
        .arg(&obj)
        .arg(&src);
    let out = crate::process::output_within(&mut cmd, crate::process::TOOL_LIMIT)
        .map_err(|e| Error::Usage(format!("cannot run {cc}: {e}")))?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "{cc} could not compile the coverage shim: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("")
        )));
    }
    Ok(obj)
}
