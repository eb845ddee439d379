//! What this machine has for each pyz3 feature, and what to install for what is missing.
//!
//! For users setting up a machine or a CI image for pyz3, and for the `pyz3 doctor` command:
//! [`run_checks`] probes the Rust toolchains (stable and nightly), the LLVM tools and sanitizer
//! runtimes matching rustc's LLVM major, gcc's AddressSanitizer, cargo-fuzz, valgrind, perf,
//! py-spy and a Python interpreter with its packages, by running them or looking for their files.
//! Each probe becomes a [`Check`]: found (with a version or path) or missing (with the command
//! that installs it). [`write_table`] and [`write_json`] print the result.
//!
//! ```no_run
//! let checks = pyz3::doctor::run_checks(&pyz3::doctor::default_python());
//! pyz3::doctor::write_table(&checks, &mut std::io::stdout()).unwrap();
//! assert!(pyz3::doctor::all_ok(&checks));
//! ```

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Serialize;

mod python;
use python::{python_checks, PythonChecks};

/// Version of the JSON form written by [`write_json`].
pub const JSON_VERSION: u32 = 1;

/// A probe that runs longer than this is treated as a tool that does not work.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

const NIGHTLY_FIX: &str = "rustup toolchain install nightly";
const CARGO_FUZZ_FIX: &str = "cargo install cargo-fuzz";

/// What the `python` row says of a `--python` program that did not answer pyz3's probe.
pub const NOT_AN_INTERPRETER: &str = "is not a Python interpreter";

/// The oldest Python pyz3 supports.
const MIN_PYTHON: (u32, u32) = (3, 9);

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
    fn ok(feature: &'static str, name: impl Into<String>, found: impl Into<String>) -> Check {
        Check {
            feature,
            name: name.into(),
            ok: true,
            found: found.into(),
            fix: String::new(),
        }
    }

    fn missing(
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

/// The first executable file called `name` in the directories of `$PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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
        let (rustc, llvm) = rustc_check();
        let tools = LlvmChecks::probe(llvm.as_ref());
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
        checks
    })
}

/// Writes the checks as an aligned table (feature, check, status, detail), then one line per
/// distinct install command for what is missing.
pub fn write_table(checks: &[Check], out: &mut impl Write) -> io::Result<()> {
    let fw = checks
        .iter()
        .map(|c| c.feature.len())
        .chain(["feature".len()])
        .max()
        .unwrap_or(0);
    let nw = checks
        .iter()
        .map(|c| c.name.chars().count())
        .chain(["check".len()])
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "{:<fw$}  {:<nw$}  {:<7}  detail",
        "feature", "check", "status"
    )?;
    for c in checks {
        let (status, detail) = if c.ok {
            ("ok", c.found.clone())
        } else if c.found.is_empty() {
            ("MISSING", c.fix.clone())
        } else if c.fix.is_empty() {
            ("MISSING", c.found.clone())
        } else {
            ("MISSING", format!("{}  ({})", c.fix, c.found))
        };
        let line = format!(
            "{:<fw$}  {:<nw$}  {:<7}  {}",
            c.feature, c.name, status, detail
        );
        writeln!(out, "{}", line.trim_end())?;
    }
    let missing = checks.iter().filter(|c| !c.ok).count();
    writeln!(out)?;
    if missing == 0 {
        writeln!(out, "all {} checks ok", checks.len())?;
        return Ok(());
    }
    writeln!(
        out,
        "{missing} of {} checks missing; to install what is missing:",
        checks.len()
    )?;
    for fix in install_lines(checks) {
        writeln!(out, "  {fix}")?;
    }
    Ok(())
}

/// The install commands for the missing checks, each once, with all `apt-get install` packages
/// on one line and the `pip install` packages of one interpreter on one line.
pub fn install_lines(checks: &[Check]) -> Vec<String> {
    const APT: &str = "apt-get install ";
    const PIP: &str = " -m pip install ";
    let mut apt: Vec<&str> = Vec::new();
    let mut pip: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut other: Vec<&str> = Vec::new();
    for fix in checks.iter().filter(|c| !c.ok && !c.fix.is_empty()) {
        let fix = fix.fix.as_str();
        if let Some(pkgs) = fix.strip_prefix(APT) {
            for p in pkgs.split_whitespace() {
                if !apt.contains(&p) {
                    apt.push(p);
                }
            }
        } else if let Some((python, pkgs)) = fix.split_once(PIP) {
            let at = match pip.iter().position(|(p, _)| *p == python) {
                Some(i) => i,
                None => {
                    pip.push((python, Vec::new()));
                    pip.len() - 1
                }
            };
            for p in pkgs.split_whitespace() {
                if !pip[at].1.contains(&p) {
                    pip[at].1.push(p);
                }
            }
        } else if !other.contains(&fix) {
            other.push(fix);
        }
    }
    let mut lines = Vec::new();
    if !apt.is_empty() {
        lines.push(format!("{APT}{}", apt.join(" ")));
    }
    lines.extend(other.into_iter().map(String::from));
    lines.extend(
        pip.into_iter()
            .map(|(python, pkgs)| format!("{python}{PIP}{}", pkgs.join(" "))),
    );
    lines
}

/// The JSON form: `{"version": 1, "ok": bool, "checks": [Check, ...]}`.
#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    ok: bool,
    checks: &'a [Check],
}

/// Writes the checks as JSON: `{"version": 1, "ok": true|false, "checks": [{"feature", "name",
/// "ok", "found", "fix"}, ...]}`.
pub fn write_json(checks: &[Check], out: &mut impl Write) -> io::Result<()> {
    let report = JsonReport {
        version: JSON_VERSION,
        ok: all_ok(checks),
        checks,
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    writeln!(out)
}

// ---------------------------------------------------------------------------------------------
// Running probes

/// What a probe printed, and whether it exited 0.
struct Ran {
    success: bool,
    /// The exit status, when it exited.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// The first non-empty line of stdout, else of stderr, as table text: control characters
    /// escaped, at most 200 characters.
    fn first_line(&self) -> String {
        table_text(
            first_line(&self.stdout)
                .or_else(|| first_line(&self.stderr))
                .unwrap_or(""),
        )
    }
}

/// Text from a probed program as it may appear in a row: control characters escaped (`\xNN`),
/// cut at 200 characters.
fn table_text(s: &str) -> String {
    let text = crate::report::printable(s);
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    cut
}

fn first_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).find(|l| !l.is_empty())
}

/// Runs `program args` with no stdin and a time limit, in a process group of its own (killed
/// with whatever it started when the time is up); `None` when it cannot be started.
fn run(program: impl AsRef<OsStr>, args: &[&str]) -> Option<Ran> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    let (status, stdout, stderr) =
        crate::process::output_or_partial(&mut cmd, PROBE_TIMEOUT).ok()?;
    let mut stderr = String::from_utf8_lossy(&stderr).into_owned();
    if status.is_none() {
        stderr = format!("timed out after {} s", PROBE_TIMEOUT.as_secs());
    }
    Some(Ran {
        success: status.is_some_and(|s| s.success()),
        code: status.and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr,
    })
}

/// The cargo to run: `$PYZ3_CARGO`, else `cargo` on PATH.
fn cargo() -> std::ffi::OsString {
    std::env::var_os("PYZ3_CARGO")
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "cargo".into())
}

/// `key: value` from `rustc -vV` output.
fn vv_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
}

/// The major of the first `X.Y.Z` after `marker` (`"LLVM version "`, `"clang version "`).
fn major_after(text: &str, marker: &str) -> Option<u32> {
    let rest = &text[text.find(marker)? + marker.len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn parse_version(v: &str) -> Vec<u32> {
    v.split(|c: char| !c.is_ascii_digit())
        .take_while(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Rust

/// rustc's LLVM: its version and major, and where rustc's own tools would be.
struct Llvm {
    major: u32,
    /// `<sysroot>/lib/rustlib/<host>/bin` (the `llvm-tools` component's tools).
    rustlib_bin: Option<PathBuf>,
}

fn rustc_check() -> (Check, Option<Llvm>) {
    const NAME: &str = "rustc";
    let fix = "install Rust with rustup: https://rustup.rs";
    let Some(ran) = run("rustc", &["-vV"]) else {
        return (Check::missing("core", NAME, "", fix), None);
    };
    if !ran.success {
        return (Check::missing("core", NAME, ran.first_line(), fix), None);
    }
    let release = vv_field(&ran.stdout, "release").unwrap_or("?").to_string();
    let llvm_version = vv_field(&ran.stdout, "LLVM version");
    let llvm = llvm_version
        .and_then(|v| parse_version(v).first().copied())
        .map(|major| Llvm {
            major,
            rustlib_bin: rustlib_bin(vv_field(&ran.stdout, "host")),
        });
    let found = match llvm_version {
        Some(v) => format!("{release} (LLVM {v})"),
        None => release.clone(),
    };
    let min = env!("CARGO_PKG_RUST_VERSION");
    if !min.is_empty() && parse_version(&release) < parse_version(min) {
        let check = Check::missing(
            "core",
            NAME,
            format!("{found}, older than {min}"),
            "rustup update stable",
        );
        return (check, llvm);
    }
    (Check::ok("core", NAME, found), llvm)
}

fn rustlib_bin(host: Option<&str>) -> Option<PathBuf> {
    let sysroot = run("rustc", &["--print", "sysroot"]).filter(|r| r.success)?;
    let dir = Path::new(sysroot.stdout.trim())
        .join("lib/rustlib")
        .join(host?)
        .join("bin");
    dir.is_dir().then_some(dir)
}

fn nightly_check() -> Check {
    const NAME: &str = "nightly toolchain";
    let fix = NIGHTLY_FIX;
    let cargo = run(cargo(), &["+nightly", "--version"]);
    let cargo_ok = cargo.as_ref().is_some_and(|r| r.success);
    let rustc = run("rustc", &["+nightly", "-vV"]).filter(|r| r.success);
    match (cargo_ok, rustc) {
        (true, Some(r)) => {
            let release = vv_field(&r.stdout, "release").unwrap_or("?");
            match vv_field(&r.stdout, "LLVM version") {
                Some(v) => Check::ok("fuzzing", NAME, format!("{release} (LLVM {v})")),
                None => Check::ok("fuzzing", NAME, release),
            }
        }
        (true, None) => Check::missing(
            "fuzzing",
            NAME,
            "cargo +nightly works, rustc +nightly does not",
            fix,
        ),
        (false, _) => {
            let found = cargo
                .map(|r| r.first_line().to_string())
                .unwrap_or_default();
            Check::missing("fuzzing", NAME, found, fix)
        }
    }
}

fn cargo_fuzz_check() -> Check {
    const NAME: &str = "cargo-fuzz";
    let fix = CARGO_FUZZ_FIX;
    match run(cargo(), &["fuzz", "--version"]) {
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

/// The suffix `N` of versioned names, or the placeholder `N` when rustc's LLVM is unknown.
fn major_text(llvm: Option<&Llvm>) -> String {
    llvm.map_or_else(|| "N".to_string(), |l| l.major.to_string())
}

impl LlvmChecks {
    fn probe(llvm: Option<&Llvm>) -> LlvmChecks {
        let arch = std::env::consts::ARCH;
        let rt = |kind: &str, ext: &str| format!("libclang_rt.{kind}-{arch}.{ext}");
        let Some(llvm) = llvm else {
            let fix = "install Rust first: these must match its LLVM major";
            let m = |feature, name: String| Check::missing(feature, name, "", fix);
            let n = major_text(None);
            return LlvmChecks {
                fuzzer: m("fuzzing", rt("fuzzer", "a")),
                clang: m("sanitizers", format!("clang-{n}")),
                sanitizer_runtimes: ["asan", "tsan", "ubsan_standalone"]
                    .iter()
                    .map(|k| m("sanitizers", rt(k, "so")))
                    .collect(),
                symbolizer: m("sanitizers", format!("llvm-symbolizer-{n}")),
                profdata: m("coverage", format!("llvm-profdata-{n}")),
                cov: m("coverage", format!("llvm-cov-{n}")),
            };
        };
        let n = llvm.major;
        let (clang, clang_path) = clang_check(n);
        let runtime = |feature, kind: &str, ext: &str| {
            runtime_check(feature, n, clang_path.as_deref(), kind, ext)
        };
        LlvmChecks {
            fuzzer: runtime("fuzzing", "fuzzer", "a"),
            sanitizer_runtimes: ["asan", "tsan", "ubsan_standalone"]
                .iter()
                .map(|k| runtime("sanitizers", k, "so"))
                .collect(),
            clang,
            symbolizer: llvm_tool_check("sanitizers", "llvm-symbolizer", llvm),
            profdata: llvm_tool_check("coverage", "llvm-profdata", llvm),
            cov: llvm_tool_check("coverage", "llvm-cov", llvm),
        }
    }
}

/// `/usr/lib/llvm-N/bin`.
fn llvm_bin(n: u32) -> PathBuf {
    PathBuf::from(format!("/usr/lib/llvm-{n}/bin"))
}

/// An LLVM tool whose major is `n`: `TOOL-N` on PATH, `/usr/lib/llvm-N/bin/TOOL`, rustc's own
/// (the `llvm-tools` component), or `TOOL` on PATH when its version matches.
fn llvm_tool_check(feature: &'static str, tool: &str, llvm: &Llvm) -> Check {
    let n = llvm.major;
    let name = format!("{tool}-{n}");
    let mut candidates: Vec<PathBuf> = Vec::new();
    candidates.extend(find_on_path(&name));
    candidates.push(llvm_bin(n).join(tool));
    if let Some(dir) = &llvm.rustlib_bin {
        candidates.push(dir.join(tool));
    }
    candidates.extend(find_on_path(tool));
    let mut mismatched = String::new();
    for path in candidates.iter().filter(|p| is_executable(p)) {
        let Some(ran) = run(path, &["--version"]) else {
            continue;
        };
        let text = format!("{}\n{}", ran.stdout, ran.stderr);
        match major_after(&text, "LLVM version ") {
            Some(m) if m == n => {
                let version = text
                    .split("LLVM version ")
                    .nth(1)
                    .and_then(|v| v.split_whitespace().next())
                    .unwrap_or("");
                return Check::ok(feature, name, format!("{} ({version})", path.display()));
            }
            Some(m) if mismatched.is_empty() => {
                mismatched = format!("{} is LLVM {m}, not {n}", path.display());
            }
            _ => {}
        }
    }
    Check::missing(
        feature,
        name,
        mismatched,
        format!("apt-get install llvm-{n}"),
    )
}

/// `clang-N` on PATH, `/usr/lib/llvm-N/bin/clang`, or `clang` on PATH of major `n`; with the
/// path of the one found.
fn clang_check(n: u32) -> (Check, Option<PathBuf>) {
    let name = format!("clang-{n}");
    let mut candidates: Vec<PathBuf> = Vec::new();
    candidates.extend(find_on_path(&name));
    candidates.push(llvm_bin(n).join("clang"));
    candidates.extend(find_on_path("clang"));
    let mut mismatched = String::new();
    for path in candidates.iter().filter(|p| is_executable(p)) {
        let Some(ran) = run(path, &["--version"]).filter(|r| r.success) else {
            continue;
        };
        match major_after(&ran.stdout, "clang version ") {
            Some(m) if m == n => {
                let version = ran
                    .stdout
                    .split("clang version ")
                    .nth(1)
                    .and_then(|v| v.split_whitespace().next())
                    .unwrap_or("");
                let check = Check::ok(
                    "sanitizers",
                    name,
                    format!("{} ({version})", path.display()),
                );
                return (check, Some(path.clone()));
            }
            Some(m) if mismatched.is_empty() => {
                mismatched = format!("{} is clang {m}, not {n}", path.display());
            }
            _ => {}
        }
    }
    let fix = format!("apt-get install clang-{n}");
    (Check::missing("sanitizers", name, mismatched, fix), None)
}

/// A compiler-rt runtime (`libclang_rt.KIND-ARCH.EXT`) of LLVM `n`: in
/// `/usr/lib/llvm-N/lib/clang/N/lib/linux/`, or where clang says its runtimes are
/// (`-print-runtime-dir`, also the per-target `libclang_rt.KIND.EXT` layout, and
/// `-print-file-name`).
fn runtime_check(
    feature: &'static str,
    n: u32,
    clang: Option<&Path>,
    kind: &str,
    ext: &str,
) -> Check {
    let arch = std::env::consts::ARCH;
    let file = format!("libclang_rt.{kind}-{arch}.{ext}");
    let mut candidates = vec![PathBuf::from(format!(
        "/usr/lib/llvm-{n}/lib/clang/{n}/lib/linux/{file}"
    ))];
    if let Some(clang) = clang {
        if let Some(dir) = run(clang, &["-print-runtime-dir"]).filter(|r| r.success) {
            let dir = PathBuf::from(dir.stdout.trim());
            candidates.push(dir.join(&file));
            candidates.push(dir.join(format!("libclang_rt.{kind}.{ext}")));
        }
    }
    let found = candidates.into_iter().find(|p| p.is_file()).or_else(|| {
        let arg = format!("-print-file-name={file}");
        let ran = run(clang?, &[&arg]).filter(|r| r.success)?;
        let p = PathBuf::from(ran.stdout.trim());
        (p.is_absolute() && p.is_file()).then_some(p)
    });
    match found {
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
        .and_then(|r| parse_version(r.stdout.trim()).first().copied());
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
            // Ubuntu packages perf per kernel; Debian as linux-perf.
            let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
            let ubuntu = os.lines().any(|l| {
                (l.starts_with("ID=") || l.starts_with("ID_LIKE=")) && l.contains("ubuntu")
            });
            let fix = if ubuntu {
                let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
                    .map(|k| k.trim().to_string())
                    .unwrap_or_else(|_| "generic".to_string());
                format!("apt-get install linux-tools-common linux-tools-{kernel}")
            } else {
                "apt-get install linux-perf".to_string()
            };
            let found = r.map(|r| r.first_line().to_string()).unwrap_or_default();
            Check::missing("benchmarks", "perf", found, fix)
        }
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
