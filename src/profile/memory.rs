//! Peak memory, allocation count and allocated bytes of a Python program, Python and native
//! allocations together, for `pyz3 profile --memory` and for anyone who wants those figures for
//! a run of an extension.
//!
//! The program runs under memray (`pip install memray`) in its own interpreter:
//! `python -m memray run --native -o CAPTURE script.py ARGS`. memray intercepts `malloc`,
//! `calloc`, `realloc`, `mmap` and friends inside the process, so an extension's allocations
//! (Rust's global allocator, C `malloc`, NumPy's data buffers) count like the interpreter's own.
//! The figures then come from `python -m memray stats --json CAPTURE`:
//!
//! - `peak_bytes`: the most memory that was allocated and not yet freed at any one moment
//!   (memray's high-water mark; not the resident set size, which also counts code and pages the
//!   allocator keeps);
//! - `allocations`, `allocated_bytes`: every allocation over the whole run, freed or not;
//! - `top_by_bytes`, `top_by_count`: the Python lines that allocated the most bytes, and most
//!   often, over the run.
//!
//! Python's small objects come from pymalloc's arenas, so they show as one 1 MiB allocation per
//! arena, not one per object; run with `PYTHONMALLOC=malloc` in the environment to count each
//! object.
//!
//! ```no_run
//! use std::path::Path;
//! use pyz3::profile::memory::{self, MemoryOptions};
//!
//! let report = memory::profile(
//!     Path::new("/usr/bin/python3"),
//!     &["script.py".into()],
//!     &MemoryOptions::default(),
//! )?;
//! println!("peak: {}", memory::format_bytes(report.peak_bytes));
//! # anyhow::Ok(())
//! ```

use crate::process::{Within, BUILD_LIMIT, TOOL_LIMIT};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::flamegraph::{describe_status, Scratch};

/// The `version` of [`MemoryReport`]'s JSON form (documented in docs/profiling.md).
pub const REPORT_VERSION: u32 = 1;

/// What one run under memray measured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReport {
    /// The JSON schema version, [`REPORT_VERSION`].
    pub version: u32,
    /// The interpreter that ran the program.
    pub python: PathBuf,
    /// The program's arguments after the interpreter.
    pub args: Vec<String>,
    /// The largest amount of memory allocated and not yet freed at one time, in bytes.
    pub peak_bytes: u64,
    /// The number of allocations over the run (freed or not).
    pub allocations: u64,
    /// The bytes of all allocations over the run (freed or not).
    pub allocated_bytes: u64,
    /// The Python lines that allocated the most bytes, largest first.
    pub top_by_bytes: Vec<Site>,
    /// The Python lines that allocated most often, most first.
    pub top_by_count: Vec<Site>,
    /// The program's exit code; `None` if a signal ended it.
    pub exit_code: Option<i32>,
}

/// A place in the Python code that allocated, with how much it allocated over the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The Python function (`<module>` for top-level code).
    pub function: String,
    /// Its file (`<frozen ...>` for frozen modules).
    pub file: String,
    /// The line, 0 when unknown.
    pub line: u32,
    /// Bytes allocated there (in `top_by_bytes`; `None` in `top_by_count`).
    pub bytes: Option<u64>,
    /// Allocations made there (in `top_by_count`; `None` in `top_by_bytes`).
    pub allocations: Option<u64>,
}

/// How to run the program.
#[derive(Clone, Debug)]
pub struct MemoryOptions {
    /// Extra environment variables for the program.
    pub env: Vec<(OsString, OsString)>,
    /// Its working directory (pyz3's when `None`).
    pub cwd: Option<PathBuf>,
    /// Keep memray's capture file here (for `memray flamegraph` and friends); it is deleted
    /// otherwise.
    pub capture: Option<PathBuf>,
    /// How many sites to list in each of the top lists.
    pub top: usize,
}

impl Default for MemoryOptions {
    fn default() -> MemoryOptions {
        MemoryOptions {
            env: Vec::new(),
            cwd: None,
            capture: None,
            top: 5,
        }
    }
}

impl MemoryReport {
    /// Whether the program exited with status 0.
    pub fn program_succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// Whether memray imports in `python`; the error says how to install it.
pub fn check_memray(python: &Path) -> anyhow::Result<()> {
    let ok = Command::new(python)
        .args(["-c", "import memray"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status_within(TOOL_LIMIT)
        .with_context(|| format!("cannot run {}", python.display()))?
        .success();
    if !ok {
        bail!(
            "memray is not installed for {0}: install it with `{0} -m pip install memray`",
            python.display()
        );
    }
    Ok(())
}

/// Runs `python ARGS` (a script and its arguments, `-m module ...` or `-c code ...`, after
/// any interpreter options such as `-X dev`) under memray and reports its memory use.
///
/// A program that fails still gets its report (see [`MemoryReport::exit_code`]). Errors:
/// memray is missing, no script is given, or memray leaves no readable capture (the program
/// could not start, or a signal ended it before memray wrote its file).
pub fn profile(
    python: &Path,
    args: &[OsString],
    options: &MemoryOptions,
) -> anyhow::Result<MemoryReport> {
    check_memray(python)?;
    let (interpreter_options, program) = split_interpreter_options(args);
    if program.is_empty() {
        bail!("no Python script given to run under memray (e.g. `python script.py`)");
    }
    let scratch = Scratch::new("memory")?;
    let capture = match &options.capture {
        Some(path) => path.clone(),
        None => scratch.path().join("capture.bin"),
    };
    let mut cmd = Command::new(python);
    cmd.args(interpreter_options)
        .args([
            "-m", "memray", "run", "--native", "--quiet", "--force", "--output",
        ])
        .arg(&capture)
        .args(program)
        .envs(options.env.iter().map(|(k, v)| (k, v)));
    if let Some(dir) = &options.cwd {
        cmd.current_dir(dir);
    }
    // The user's program, in pyz3's process group (it may use the terminal): it runs as long as
    // it runs; Ctrl-C reaches it directly, SIGTERM to pyz3 kills it.
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", python.display()))?;
    let _cleanup = crate::process::register_process(child.id());
    let status = child
        .wait()
        .with_context(|| format!("waiting for {}", python.display()))?;
    if !capture.is_file() {
        bail!(
            "memray wrote no capture for `{}` ({})",
            display_args(args),
            describe_status(status)
        );
    }
    let stats_file = scratch.path().join("stats.json");
    let out = Command::new(python)
        .args(["-m", "memray", "stats", "--json", "--force"])
        .arg("--num-largest")
        .arg(options.top.to_string())
        .arg("--output")
        .arg(&stats_file)
        .arg(&capture)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output_within(BUILD_LIMIT)
        .with_context(|| format!("cannot run {} -m memray stats", python.display()))?;
    if !out.status.success() {
        bail!(
            "memray stats could not read the capture of `{}` ({}): {}",
            display_args(args),
            describe_status(status),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = std::fs::read_to_string(&stats_file)
        .with_context(|| format!("reading {}", stats_file.display()))?;
    let stats: Stats = serde_json::from_str(&text)
        .context("memray stats --json gave an unexpected format (memray version?)")?;
    Ok(MemoryReport {
        version: REPORT_VERSION,
        python: python.to_path_buf(),
        args: args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        peak_bytes: stats.metadata.peak_memory,
        allocations: stats.total_num_allocations,
        allocated_bytes: stats.total_bytes_allocated,
        top_by_bytes: stats
            .top_allocations_by_size
            .iter()
            .map(|s| site(&s.location, Some(s.size), None))
            .collect(),
        top_by_count: stats
            .top_allocations_by_count
            .iter()
            .map(|s| site(&s.location, None, Some(s.count)))
            .collect(),
        exit_code: status.code(),
    })
}

/// `(-X dev -u, script.py args)`: memray runs the program, the interpreter takes its options.
fn split_interpreter_options(args: &[OsString]) -> (&[OsString], &[OsString]) {
    let mut i = 0;
    while let Some(arg) = args.get(i).map(|a| a.to_string_lossy()) {
        if arg == "-m" || arg == "-c" || !arg.starts_with('-') || arg == "-" {
            break;
        }
        // Options whose value is the next argument.
        i += if matches!(arg.as_ref(), "-X" | "-W" | "--check-hash-based-pycs") {
            2
        } else {
            1
        };
    }
    let i = i.min(args.len());
    (&args[..i], &args[i..])
}

fn display_args(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// memray's `function:file:line`.
fn site(location: &str, bytes: Option<u64>, allocations: Option<u64>) -> Site {
    let (function, rest) = location.split_once(':').unwrap_or((location, ""));
    let (file, line) = match rest.rsplit_once(':') {
        Some((file, line)) if line.parse::<u32>().is_ok() => (file, line.parse().unwrap_or(0)),
        _ => (rest, 0),
    };
    Site {
        function: function.to_string(),
        file: file.to_string(),
        line,
        bytes,
        allocations,
    }
}

/// The part of `memray stats --json` that is used.
#[derive(Deserialize)]
struct Stats {
    total_num_allocations: u64,
    total_bytes_allocated: u64,
    #[serde(default)]
    top_allocations_by_size: Vec<SizeEntry>,
    #[serde(default)]
    top_allocations_by_count: Vec<CountEntry>,
    metadata: StatsMetadata,
}

#[derive(Deserialize)]
struct SizeEntry {
    location: String,
    size: u64,
}

#[derive(Deserialize)]
struct CountEntry {
    location: String,
    count: u64,
}

#[derive(Deserialize)]
struct StatsMetadata {
    peak_memory: u64,
}

/// Bytes for people: `812 B`, `4.0 KiB`, `50.0 MiB`, `1.20 GiB`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let digits = if unit >= 2 { 2 } else { 1 };
    format!("{value:.digits$} {}", UNITS[unit])
}

/// Writes the report as a short table for people.
pub fn write_table<W: Write>(report: &MemoryReport, mut w: W) -> std::io::Result<()> {
    writeln!(w, "peak memory      {}", format_bytes(report.peak_bytes))?;
    writeln!(w, "allocations      {}", report.allocations)?;
    writeln!(
        w,
        "allocated bytes  {}",
        format_bytes(report.allocated_bytes)
    )?;
    let place = |s: &Site| {
        if s.line > 0 {
            format!("{} ({}:{})", s.function, s.file, s.line)
        } else {
            format!("{} ({})", s.function, s.file)
        }
    };
    if !report.top_by_bytes.is_empty() {
        writeln!(w, "\nlargest allocating sites (bytes over the run)")?;
        for s in &report.top_by_bytes {
            let bytes = format_bytes(s.bytes.unwrap_or(0));
            writeln!(w, "  {bytes:>10}  {}", place(s))?;
        }
    }
    if !report.top_by_count.is_empty() {
        writeln!(
            w,
            "\nmost frequent allocating sites (allocations over the run)"
        )?;
        for s in &report.top_by_count {
            writeln!(w, "  {:>10}  {}", s.allocations.unwrap_or(0), place(s))?;
        }
    }
    Ok(())
}

/// Writes the report as JSON (the `version` 1 schema of docs/profiling.md).
pub fn write_json<W: Write>(report: &MemoryReport, mut w: W) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut w, report).context("writing the memory report")?;
    writeln!(w).context("writing the memory report")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(format_bytes(812), "812 B");
        assert_eq!(format_bytes(4096), "4.0 KiB");
        assert_eq!(format_bytes(50 * 1024 * 1024), "50.0 MiB");
        assert_eq!(format_bytes(3 * 1024 * 1024 * 1024 / 2), "1.50 GiB");
    }

    #[test]
    fn memray_locations_split() {
        let s = site(
            "get_data:<frozen importlib._bootstrap_external>:1131",
            Some(5),
            None,
        );
        assert_eq!(
            (s.function.as_str(), s.file.as_str(), s.line),
            ("get_data", "<frozen importlib._bootstrap_external>", 1131)
        );
        let s = site("<module>:mem.py:2", None, Some(1));
        assert_eq!(
            (s.function.as_str(), s.file.as_str(), s.line),
            ("<module>", "mem.py", 2)
        );
    }

    #[test]
    fn interpreter_options_stay_with_the_interpreter() {
        let args: Vec<OsString> = ["-X", "dev", "-u", "s.py", "-x"]
            .iter()
            .map(OsString::from)
            .collect();
        let (opts, prog) = split_interpreter_options(&args);
        assert_eq!(opts.len(), 3);
        assert_eq!(prog, &args[3..]);
        let args: Vec<OsString> = ["-m", "pytest"].iter().map(OsString::from).collect();
        assert_eq!(split_interpreter_options(&args).1, &args[..]);
    }
}
