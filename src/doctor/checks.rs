//! What each of `pyz3 doctor`'s checks decides: found (with a version or path) or missing (with
//! what to install), per pyz3 feature.
//!
//! The Rust toolchain, LLVM tools, clang and runtimes are looked up with the same
//! [`crate::toolchain`] functions the builds use, so a row that is ok names what a command will
//! run: the LLVM rows of sanitizers and fuzzing match [`rust::sanitizer_llvm_major`] (the
//! nightly toolchain's LLVM), the coverage rows the default rustc's.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::probes::{run, table_text};
use super::python::{python_checks, PythonChecks};
use crate::toolchain::path::is_executable;
use crate::toolchain::rust::{self, version_numbers, Channel, ProbeError};
use crate::toolchain::{clang, find_on_path, llvm};

const NIGHTLY_FIX: &str = "rustup toolchain install nightly";
const CARGO_FUZZ_FIX: &str = "cargo install cargo-fuzz";

/// What the `python` row says of a `--python` program that did not answer pyz3's probe.
pub const NOT_AN_INTERPRETER: &str = "is not a Python interpreter";

/// The oldest Python pyz3 supports.
pub(super) const MIN_PYTHON: (u32, u32) = (3, 9);

/// One thing a pyz3 feature needs, and whether this machine has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The pyz3 feature that needs it: `core`, `fuzzing`, `sanitizers`, `coverage`,
    /// `benchmarks` or `tests`.
    pub feature: &'static str,
    /// What is checked: a tool (`llvm-cov-22`), a runtime library file, a Python package.
    pub name: String,
    /// Whether it is there and usable.
    pub ok: bool,
    /// When found: its version or path. When missing: what was found instead (a wrong version,
    /// an error message), or empty.
    pub found: String,
    /// When missing: what to install (a command). Empty when found.
    pub fix: String,
}

impl Check {
    pub(super) fn ok(
        feature: &'static str,
        name: impl Into<String>,
        found: impl Into<String>,
    ) -> Check {
        Check {
            feature,
            name: name.into(),
            ok: true,
            found: found.into(),
            fix: String::new(),
        }
    }

    pub(super) fn missing(
        feature: &'static str,
        name: impl Into<String>,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            feature,
            name: name.into(),
            ok: false,
            found: found.into(),
            fix: fix.into(),
        }
    }
}

/// Whether every check passed.
pub fn all_ok(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.ok)
}

/// The Python to check when none is given: `$VIRTUAL_ENV/bin/python` when a virtualenv is
/// active, else `python3` (looked up on PATH when run).
pub fn default_python() -> PathBuf {
    match std::env::var_os("VIRTUAL_ENV") {
        Some(venv) if !venv.is_empty() => Path::new(&venv).join("bin").join("python"),
        _ => PathBuf::from("python3"),
    }
}

/// Probes everything pyz3's features need, with `python` as the interpreter to check.
///
/// Never fails: a tool that is absent, does not start, fails or hangs is a missing [`Check`].
/// The checks come in a fixed order, grouped by feature.
pub fn run_checks(python: &Path) -> Vec<Check> {
    std::thread::scope(|s| {
        let py = s.spawn(|| python_checks(python));
        let nightly = s.spawn(nightly_check);
        let cargo_fuzz = s.spawn(cargo_fuzz_check);
        let others = s.spawn(|| (gcc_asan_check(), valgrind_check(), perf_check()));
        let (rustc, coverage_major) = rustc_check();
        // The sanitizer rows' major is the one sanitizer builds use; without rustc there is
        // none to match, whatever clang is around.
        let sanitizer_major = coverage_major.and(rust::sanitizer_llvm_major());
        let tools = LlvmChecks::probe(sanitizer_major, coverage_major);
        let py = py.join().unwrap_or_else(|_| PythonChecks::failed(python));
        let (gcc_asan, valgrind, perf) = others.join().unwrap_or_else(|_| {
            let failed = |feature, name, fix| Check::missing(feature, name, "probe failed", fix);
            (
                failed("sanitizers", "libasan (gcc)", "apt-get install gcc"),
                failed("sanitizers", "valgrind", "apt-get install valgrind"),
                failed("benchmarks", "perf", "apt-get install linux-perf"),
            )
        });
        let nightly = nightly.join().unwrap_or_else(|_| {
            Check::missing("fuzzing", "nightly toolchain", "probe failed", NIGHTLY_FIX)
        });
        let cargo_fuzz = cargo_fuzz.join().unwrap_or_else(|_| {
            Check::missing("fuzzing", "cargo-fuzz", "probe failed", CARGO_FUZZ_FIX)
        });
        let py_spy = py_spy_check(python, &py.scripts_dirs);
        let mut checks = vec![rustc, py.python, py.libpython, py.numpy];
        checks.extend([nightly, cargo_fuzz, tools.fuzzer]);
        checks.push(tools.clang);
        checks.extend(tools.sanitizer_runtimes);
        checks.extend([tools.symbolizer, gcc_asan, valgrind]);
        checks.extend([tools.profdata, tools.cov]);
        checks.extend([perf, py_spy]);
        checks.extend([py.pytest, py.setuptools]);
        // Extension projects' build backends, their tools and the binding libraries.
        let mut backends = py.backends.into_iter();
        checks.extend(backends.next()); // meson-python
        checks.push(build_tool_check(python, &py.scripts_dirs, "meson"));
        checks.push(build_tool_check(python, &py.scripts_dirs, "ninja"));
        checks.extend(backends.next()); // scikit-build-core
        checks.push(build_tool_check(python, &py.scripts_dirs, "cmake"));
        checks.extend(backends);
        checks
    })
}

// ---------------------------------------------------------------------------------------------
// Rust

/// `(release (LLVM version))`, or the release alone.
fn rustc_found(v: &rust::RustcVersion) -> String {
    let release = if v.release.is_empty() {
        "?"
    } else {
        v.release.as_str()
    };
    match &v.llvm_version {
        Some(llvm) => format!("{release} (LLVM {llvm})"),
        None => release.to_string(),
    }
}

/// The default rustc's row, and its LLVM major.
fn rustc_check() -> (Check, Option<u32>) {
    const NAME: &str = "rustc";
    let fix = "install Rust with rustup: https://rustup.rs";
    let v = match rust::version(Channel::Default) {
        Ok(v) => v,
        Err(ProbeError::NotRun) => return (Check::missing("core", NAME, "", fix), None),
        Err(ProbeError::Failed(why)) => {
            return (Check::missing("core", NAME, table_text(&why), fix), None)
        }
    };
    let found = rustc_found(&v);
    let major = v.llvm_major();
    let min = env!("CARGO_PKG_RUST_VERSION");
    if !min.is_empty() && version_numbers(&v.release) < version_numbers(min) {
        let check = Check::missing(
            "core",
            NAME,
            format!("{found}, older than {min}"),
            "rustup update stable",
        );
        return (check, major);
    }
    (Check::ok("core", NAME, found), major)
}

fn nightly_check() -> Check {
    const NAME: &str = "nightly toolchain";
    let fix = NIGHTLY_FIX;
    let cargo = rust::probe(rust::cargo(Channel::Nightly).arg("--version"));
    match (cargo, rust::version(Channel::Nightly)) {
        (Ok(_), Ok(v)) => Check::ok("fuzzing", NAME, rustc_found(&v)),
        (Ok(_), Err(_)) => Check::missing(
            "fuzzing",
            NAME,
            "cargo +nightly works, rustc +nightly does not",
            fix,
        ),
        (Err(ProbeError::NotRun), _) => Check::missing("fuzzing", NAME, "", fix),
        (Err(ProbeError::Failed(why)), _) => Check::missing("fuzzing", NAME, table_text(&why), fix),
    }
}

fn cargo_fuzz_check() -> Check {
    const NAME: &str = "cargo-fuzz";
    let fix = CARGO_FUZZ_FIX;
    match run(rust::cargo_program(), &["fuzz", "--version"]) {
        Some(r) if r.success => {
            let v = r.first_line();
            Check::ok("fuzzing", NAME, v.strip_prefix("cargo-fuzz ").unwrap_or(&v))
        }
        Some(r) => Check::missing("fuzzing", NAME, r.first_line(), fix),
        None => Check::missing("fuzzing", NAME, "no cargo", fix),
    }
}

// ---------------------------------------------------------------------------------------------
// LLVM tools, clang and its runtimes

struct LlvmChecks {
    fuzzer: Check,
    clang: Check,
    sanitizer_runtimes: Vec<Check>,
    symbolizer: Check,
    profdata: Check,
    cov: Check,
}

const SANITIZER_RUNTIMES: [&str; 3] = ["asan", "tsan", "ubsan_standalone"];

impl LlvmChecks {
    /// The rows of LLVM `sanitizers` (clang, runtimes, symbolizer) and `coverage`
    /// (`llvm-profdata`, `llvm-cov`); each unknown major makes its rows missing.
    fn probe(sanitizers: Option<u32>, coverage: Option<u32>) -> LlvmChecks {
        let fix = "install Rust first: these must match its LLVM major";
        let unknown = |feature, name: String| Check::missing(feature, name, "", fix);
        let (fuzzer, clang, sanitizer_runtimes, symbolizer) = match sanitizers {
            None => (
                unknown("fuzzing", clang::runtime_file("fuzzer", "a")),
                unknown("sanitizers", "clang-N".to_string()),
                SANITIZER_RUNTIMES
                    .iter()
                    .map(|k| unknown("sanitizers", clang::runtime_file(k, "so")))
                    .collect(),
                unknown("sanitizers", "llvm-symbolizer-N".to_string()),
            ),
            Some(n) => {
                let (clang, clang_path) = clang_check(n);
                let runtime = |feature, kind: &str, ext: &str| {
                    runtime_check(feature, n, clang_path.as_deref(), kind, ext)
                };
                (
                    runtime("fuzzing", "fuzzer", "a"),
                    clang,
                    SANITIZER_RUNTIMES
                        .iter()
                        .map(|k| runtime("sanitizers", k, "so"))
                        .collect(),
                    llvm_tool_check("sanitizers", "llvm-symbolizer", n),
                )
            }
        };
        let (profdata, cov) = match coverage {
            None => (
                unknown("coverage", "llvm-profdata-N".to_string()),
                unknown("coverage", "llvm-cov-N".to_string()),
            ),
            Some(n) => (
                llvm_tool_check("coverage", "llvm-profdata", n),
                llvm_tool_check("coverage", "llvm-cov", n),
            ),
        };
        LlvmChecks {
            fuzzer,
            clang,
            sanitizer_runtimes,
            symbolizer,
            profdata,
            cov,
        }
    }
}

/// The LLVM tool `tool` of major `n`, found as the commands find it ([`llvm::find_tool`]).
fn llvm_tool_check(feature: &'static str, tool: &str, n: u32) -> Check {
    let name = format!("{tool}-{n}");
    match llvm::find_tool(tool, n) {
        Ok(f) => Check::ok(
            feature,
            name,
            format!("{} ({})", f.path.display(), f.version.version),
        ),
        Err(e) => Check::missing(
            feature,
            name,
            table_text(&e.mismatched),
            format!("apt-get install llvm-{n}"),
        ),
    }
}

/// clang of major `n` ([`clang::find_clang`]), with the path of the one found.
fn clang_check(n: u32) -> (Check, Option<PathBuf>) {
    let name = format!("clang-{n}");
    match clang::find_clang(n) {
        Ok(f) => {
            let found = format!("{} ({})", f.path.display(), f.version.version);
            (Check::ok("sanitizers", name, found), Some(f.path))
        }
        Err(e) => {
            let fix = format!("apt-get install clang-{n}");
            let check = Check::missing("sanitizers", name, table_text(&e.mismatched), fix);
            (check, None)
        }
    }
}

/// A compiler-rt runtime of LLVM `n` ([`clang::runtime`]).
fn runtime_check(
    feature: &'static str,
    n: u32,
    clang: Option<&Path>,
    kind: &str,
    ext: &str,
) -> Check {
    let file = clang::runtime_file(kind, ext);
    match clang::runtime(n, clang, kind, ext) {
        Some(p) => Check::ok(feature, file, p.display().to_string()),
        None => Check::missing(
            feature,
            file,
            "",
            format!("apt-get install libclang-rt-{n}-dev"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Other tools

fn gcc_asan_check() -> Check {
    const NAME: &str = "libasan (gcc)";
    let Some(ran) = run("gcc", &["-print-file-name=libasan.so"]).filter(|r| r.success) else {
        return Check::missing("sanitizers", NAME, "no gcc", "apt-get install gcc");
    };
    let p = PathBuf::from(ran.stdout.trim());
    if p.is_absolute() && p.is_file() {
        let real = std::fs::canonicalize(&p).unwrap_or(p);
        return Check::ok("sanitizers", NAME, real.display().to_string());
    }
    let major = run("gcc", &["-dumpversion"])
        .filter(|r| r.success)
        .and_then(|r| version_numbers(r.stdout.trim()).first().copied());
    let fix = match major {
        Some(m) => format!("apt-get install libgcc-{m}-dev"),
        None => "apt-get install gcc".to_string(),
    };
    Check::missing("sanitizers", NAME, "", fix)
}

fn valgrind_check() -> Check {
    match run("valgrind", &["--version"]) {
        Some(r) if r.success => {
            let v = r.first_line();
            Check::ok(
                "sanitizers",
                "valgrind",
                v.strip_prefix("valgrind-").unwrap_or(&v),
            )
        }
        r => Check::missing(
            "sanitizers",
            "valgrind",
            r.map(|r| r.first_line().to_string()).unwrap_or_default(),
            "apt-get install valgrind",
        ),
    }
}

fn perf_check() -> Check {
    match run("perf", &["--version"]) {
        Some(r) if r.success => {
            let v = r.first_line();
            Check::ok(
                "benchmarks",
                "perf",
                v.strip_prefix("perf version ").unwrap_or(&v),
            )
        }
        r => {
            let found = r.map(|r| r.first_line().to_string()).unwrap_or_default();
            Check::missing("benchmarks", "perf", found, perf_fix())
        }
    }
}

/// How to install perf: Ubuntu packages it per kernel; Debian as linux-perf.
fn perf_fix() -> String {
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let ubuntu = os
        .lines()
        .any(|l| (l.starts_with("ID=") || l.starts_with("ID_LIKE=")) && l.contains("ubuntu"));
    if ubuntu {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_else(|_| "generic".to_string());
        format!("apt-get install linux-tools-common linux-tools-{kernel}")
    } else {
        "apt-get install linux-perf".to_string()
    }
}

/// py-spy on PATH, or next to the interpreter (its scripts directory).
fn py_spy_check(python: &Path, scripts_dirs: &[PathBuf]) -> Check {
    let mut candidates: Vec<PathBuf> = find_on_path("py-spy").into_iter().collect();
    candidates.extend(scripts_dirs.iter().map(|d| d.join("py-spy")));
    for path in candidates.iter().filter(|p| is_executable(p)) {
        if let Some(r) = run(path, &["--version"]).filter(|r| r.success) {
            let v = r.first_line();
            let v = v.strip_prefix("py-spy ").unwrap_or(&v);
            return Check::ok("benchmarks", "py-spy", format!("{v} ({})", path.display()));
        }
    }
    Check::missing(
        "benchmarks",
        "py-spy",
        "",
        format!("{} -m pip install py-spy", python.display()),
    )
}

/// A build tool of meson-python or scikit-build-core projects (`meson`, `ninja`, `cmake`): next
/// to the interpreter first (where pip installs it, and what builds put first on `PATH`), else on
/// `PATH`; installed from PyPI into that interpreter when missing.
fn build_tool_check(python: &Path, scripts_dirs: &[PathBuf], tool: &str) -> Check {
    let mut candidates: Vec<PathBuf> = scripts_dirs.iter().map(|d| d.join(tool)).collect();
    candidates.extend(find_on_path(tool));
    for path in candidates.iter().filter(|p| is_executable(p)) {
        if let Some(r) = run(path, &["--version"]).filter(|r| r.success) {
            let line = r.first_line();
            // `cmake version 4.4.5`, `1.12.1`: the first word that starts with a digit.
            let version = line
                .split_whitespace()
                .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                .unwrap_or(&line)
                .to_string();
            return Check::ok("backends", tool, format!("{version} ({})", path.display()));
        }
    }
    Check::missing(
        "backends",
        tool,
        "",
        format!("{} -m pip install {tool}", python.display()),
    )
}
