//! Flamegraphs of a Python program with its native extension frames, for `pyz3 profile
//! --flamegraph` and `pyz3 bench --flamegraph`: which sampler this machine has, recording a
//! program's stacks as folded lines, and drawing them, or the difference of two, as SVG.
//!
//! Stacks are sampled from outside the program, by one of two samplers, chosen at run time by
//! [`detect`]:
//!
//! - **py-spy** (preferred; `pip install py-spy`): `py-spy record --native` reads the
//!   interpreter's frame list and unwinds the native stack in one go, so one stack holds both:
//!   `<module> (script.py);hot_loop (script.py);pyz3_demo::mean (lib.rs);...`;
//! - **perf** (fallback; `apt-get install linux-perf`): `perf record --call-graph dwarf` on the
//!   software `cpu-clock` event (it works where no hardware counters are exposed, as in most
//!   virtual machines). It sees native frames only: Python functions show as the interpreter's
//!   `_PyEval_EvalFrameDefault`. pyz3 sets `PYTHONPERFSUPPORT=1`, with which CPython 3.12+
//!   publishes its Python functions to perf as `py::` frames.
//!
//! pyz3 starts the program itself and the sampler attaches to its pid (which is also what
//! `py-spy record -- prog` does inside), so the program runs with exactly the
//! [`Command`]'s arguments, environment and working directory, and its exit status is known.
//! A program that is a `python` (a pyenv or virtualenv shim included) is first replaced by the
//! interpreter it runs, [`Program::resolve`]: a sampler pointed at a shell shim samples the
//! shell.
//!
//! Frame names are cleaned for reading: Rust symbols are demangled without their hash
//! (`pyz3_demo::mean`, not `pyz3_demo::mean::hba2d98f879603413`), and native frames without a
//! symbol become `[unknown]` (with their library), so they merge instead of splitting the graph
//! by address. Folded stacks are text: one line per distinct stack, frames from the outermost,
//! separated by `;`, then a space and the number of samples; [`render`] and [`render_diff`] take
//! that text, whoever produced it.
//!
//! ```no_run
//! use std::path::Path;
//! use pyz3::profile::flamegraph::{self, Program};
//!
//! let sampler = flamegraph::detect(None)?;
//! let program = Program::resolve(&["python".into(), "script.py".into()])?;
//! let folded = flamegraph::record(&sampler, &mut program.command(), 100)?;
//! flamegraph::render(&folded, "script.py", Path::new("profile.svg"))?;
//! # anyhow::Ok(())
//! ```

use crate::process::{Within, BUILD_LIMIT, TOOL_LIMIT};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{bail, ensure, Context};

use crate::project::Interpreter;
use crate::toolchain::find_on_path;

/// The sampling profiler that records stacks, with the path of its executable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sampler {
    /// py-spy: Python and native frames together.
    PySpy(PathBuf),
    /// perf on the software `cpu-clock` event: native frames only.
    Perf(PathBuf),
}

/// Which sampler, without a path: what a user asks for with `--sampler`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SamplerKind {
    /// py-spy.
    PySpy,
    /// perf.
    Perf,
}

impl Sampler {
    /// Which sampler this is.
    pub fn kind(&self) -> SamplerKind {
        match self {
            Sampler::PySpy(_) => SamplerKind::PySpy,
            Sampler::Perf(_) => SamplerKind::Perf,
        }
    }

    /// Its executable.
    pub fn path(&self) -> &Path {
        match self {
            Sampler::PySpy(p) | Sampler::Perf(p) => p,
        }
    }

    /// `py-spy` or `perf`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

impl SamplerKind {
    /// `py-spy` or `perf`.
    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::PySpy => "py-spy",
            SamplerKind::Perf => "perf",
        }
    }

    /// What to install to get it.
    pub fn install_hint(self) -> &'static str {
        match self {
            SamplerKind::PySpy => "`pip install py-spy` into the program's Python",
            SamplerKind::Perf => "`apt-get install linux-perf` (Ubuntu: linux-tools-$(uname -r))",
        }
    }
}

/// The sampler to use on this machine: py-spy if there is one that runs, else perf.
///
/// py-spy is looked for in `python_bin_dir` (the program's interpreter's scripts directory,
/// where `pip install py-spy` puts it), then in `$VIRTUAL_ENV/bin`, then on `PATH`. The error
/// names what to install.
pub fn detect(python_bin_dir: Option<&Path>) -> anyhow::Result<Sampler> {
    if let Some(p) = find_py_spy(python_bin_dir) {
        return Ok(Sampler::PySpy(p));
    }
    if let Some(p) = find_perf() {
        return Ok(Sampler::Perf(p));
    }
    bail!(
        "no sampling profiler found: install py-spy ({}) or perf ({})",
        SamplerKind::PySpy.install_hint(),
        SamplerKind::Perf.install_hint()
    )
}

/// The sampler of the given kind, looked for as [`detect`] does; the error names what to
/// install.
pub fn find(kind: SamplerKind, python_bin_dir: Option<&Path>) -> anyhow::Result<Sampler> {
    let found = match kind {
        SamplerKind::PySpy => find_py_spy(python_bin_dir).map(Sampler::PySpy),
        SamplerKind::Perf => find_perf().map(Sampler::Perf),
    };
    found.with_context(|| {
        format!(
            "{} not found: install it with {}",
            kind.name(),
            kind.install_hint()
        )
    })
}

fn find_py_spy(python_bin_dir: Option<&Path>) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    candidates.extend(python_bin_dir.map(|d| d.join("py-spy")));
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        candidates.push(Path::new(&venv).join("bin/py-spy"));
    }
    candidates.extend(find_on_path("py-spy"));
    candidates.into_iter().find(|p| runs(p))
}

fn find_perf() -> Option<PathBuf> {
    // Debian's /usr/bin/perf is a wrapper that fails without a perf for the running kernel.
    find_on_path("perf").filter(|p| runs(p))
}

/// Whether `exe --version` starts and succeeds.
fn runs(exe: &Path) -> bool {
    Command::new(exe)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status_within(TOOL_LIMIT)
        .is_ok_and(|s| s.success())
}

/// A program to profile, as given after `--`, with its Python interpreter found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    /// The interpreter that runs the program (its `sys.executable`), when it is a Python one.
    pub python: Option<PathBuf>,
    /// The command line to run: the interpreter first when there is one.
    pub argv: Vec<OsString>,
}

impl Program {
    /// Finds out what runs `argv`:
    ///
    /// - `python`, `python3`, `python3.11`, ... (a path or a name on `PATH`, a pyenv or
    ///   virtualenv shim included) is replaced by the interpreter it starts, its
    ///   `sys.executable`;
    /// - a `*.py` file is run by the active virtualenv's python, else `python3`;
    /// - a script whose `#!` line names a python (a console script such as `pytest`) is run by
    ///   that interpreter;
    /// - anything else runs as given, with no interpreter known.
    pub fn resolve(argv: &[OsString]) -> anyhow::Result<Program> {
        let Some(first) = argv.first() else {
            bail!("no program given: put the command to profile after `--`");
        };
        let rest = &argv[1..];
        let name = Path::new(first)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if is_python_name(&name) {
            let python = Interpreter::probe(Path::new(first))?.executable;
            return Ok(Program::with_python(python, rest));
        }
        if name.ends_with(".py") {
            let python = Interpreter::select(None)?.executable;
            return Ok(Program::with_python(python, argv));
        }
        let path = if first.to_string_lossy().contains('/') {
            Some(PathBuf::from(first)).filter(|p| p.exists())
        } else {
            find_on_path(&name)
        };
        let Some(path) = path else {
            bail!(
                "cannot start `{}`: no such program",
                first.to_string_lossy()
            );
        };
        if let Some(interpreter) = python_shebang(&path) {
            let python = Interpreter::probe(&interpreter)?.executable;
            let mut args = vec![path.into_os_string()];
            args.extend(rest.iter().cloned());
            return Ok(Program::with_python(python, &args));
        }
        Ok(Program {
            python: None,
            argv: argv.to_vec(),
        })
    }

    fn with_python(python: PathBuf, args: &[OsString]) -> Program {
        let mut argv = vec![python.clone().into_os_string()];
        argv.extend(args.iter().cloned());
        Program {
            python: Some(python),
            argv,
        }
    }

    /// The arguments after the interpreter (all of `argv` when there is none).
    pub fn script_args(&self) -> &[OsString] {
        match self.python {
            Some(_) => &self.argv[1..],
            None => &self.argv,
        }
    }

    /// The directory of the interpreter, where `pip` puts py-spy.
    pub fn bin_dir(&self) -> Option<&Path> {
        self.python.as_deref().and_then(Path::parent)
    }

    /// A command running the program (inheriting pyz3's environment and directory).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.argv[0]);
        cmd.args(&self.argv[1..]);
        cmd
    }

    /// The command line as one string, for messages.
    pub fn display(&self) -> String {
        join_lossy(self.argv.iter().map(OsString::as_os_str))
    }
}

/// `python`, `python3`, `python3.11`, `python3.13t`.
fn is_python_name(name: &str) -> bool {
    name.strip_prefix("python").is_some_and(|v| {
        let v = v.strip_suffix('t').unwrap_or(v);
        v.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

/// The interpreter a `#!` line names, when it is a python (`#!/usr/bin/env python3` too).
fn python_shebang(script: &Path) -> Option<PathBuf> {
    let mut first = Vec::new();
    let file = std::fs::File::open(script).ok()?;
    BufReader::new(file.take(512))
        .read_until(b'\n', &mut first)
        .ok()?;
    let line = String::from_utf8_lossy(&first);
    let mut words = line.strip_prefix("#!")?.split_whitespace();
    let mut interpreter = words.next()?;
    if interpreter.ends_with("/env") {
        interpreter = words.find(|w| !w.starts_with('-'))?;
    }
    let name = Path::new(interpreter).file_name()?.to_string_lossy();
    is_python_name(&name).then(|| PathBuf::from(interpreter))
}

/// What one profiled run gave.
#[derive(Clone, Debug)]
pub struct Recording {
    /// The folded stacks, one line per distinct stack, sorted, names cleaned.
    pub folded: String,
    /// The number of samples (the sum of the counts in `folded`).
    pub samples: u64,
    /// How the program ended.
    pub status: ExitStatus,
}

/// Runs `cmd` to its end under `sampler`, `rate_hz` samples a second, and returns its folded
/// stacks: an error if the program fails (exits non-zero or by a signal) or nothing was
/// sampled. [`record_program`] keeps the stacks of a failing program.
pub fn record(sampler: &Sampler, cmd: &mut Command, rate_hz: u32) -> anyhow::Result<String> {
    record_within(sampler, cmd, rate_hz, None)
}

/// [`record`] with a time limit: a program still running after `limit` is stopped (with the
/// sampler) and the run is an error.
pub fn record_within(
    sampler: &Sampler,
    cmd: &mut Command,
    rate_hz: u32,
    limit: Option<std::time::Duration>,
) -> anyhow::Result<String> {
    let program = command_line(cmd);
    let rec = record_program_within(sampler, cmd, rate_hz, limit)?;
    if !rec.status.success() {
        bail!("`{program}` failed ({})", describe_status(rec.status));
    }
    ensure!(
        rec.samples > 0,
        "{} collected no samples of `{program}`",
        sampler.name()
    );
    Ok(rec.folded)
}

/// Runs `cmd` to its end under `sampler` and returns what was sampled and how the program
/// ended, whether it succeeded or not.
///
/// The program's stdin, stdout and stderr are the `Command`'s (pyz3's by default). With perf,
/// `PYTHONPERFSUPPORT=1` is added to `cmd`'s environment (see the module docs).
///
/// Errors: the program does not start, or the sampler fails (it cannot attach, the program
/// ended before it could, perf cannot open its event); the program is then stopped.
pub fn record_program(
    sampler: &Sampler,
    cmd: &mut Command,
    rate_hz: u32,
) -> anyhow::Result<Recording> {
    // The user's program runs as long as it runs (Ctrl-C reaches it; SIGTERM to pyz3 kills it).
    record_program_within(sampler, cmd, rate_hz, None)
}

/// [`record_program`] with a time limit (see [`record_within`]).
pub fn record_program_within(
    sampler: &Sampler,
    cmd: &mut Command,
    rate_hz: u32,
    limit: Option<std::time::Duration>,
) -> anyhow::Result<Recording> {
    ensure!(rate_hz > 0, "the sampling rate must be at least 1 Hz");
    let scratch = Scratch::new("flamegraph")?;
    let data = scratch.path().join(match sampler {
        Sampler::PySpy(_) => "stacks.txt",
        Sampler::Perf(_) => "perf.data",
    });
    if let Sampler::Perf(_) = sampler {
        cmd.env("PYTHONPERFSUPPORT", "1");
    }
    let program = command_line(cmd);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start `{program}`"))?;
    let _cleanup = crate::process::register_process(child.id());
    let pid = child.id().to_string();
    let rate = rate_hz.to_string();
    let mut attach = Command::new(sampler.path());
    match sampler {
        Sampler::PySpy(_) => attach
            .args(["record", "--native", "--nolineno", "--format", "raw"])
            .args(["--rate", &rate, "--pid", &pid, "--output"])
            .arg(&data),
        Sampler::Perf(_) => attach
            .args(["record", "--event", "cpu-clock", "--call-graph", "dwarf"])
            .args(["--freq", &rate, "--pid", &pid, "--output"])
            .arg(&data),
    };
    // The sampler stops by itself when the program exits (it polls the pid); in a process group
    // of its own, registered for cleanup.
    let started = std::time::Instant::now();
    let attached = crate::process::output_watched(
        attach
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .env("RUST_BACKTRACE", "0"),
        || limit.filter(|l| started.elapsed() > *l),
    )
    .map(|w| match w.stopped {
        Some(l) => Err(l),
        None => Ok(std::process::Output {
            status: w.status.expect("not stopped"),
            stdout: w.stdout,
            stderr: w.stderr,
        }),
    });
    if let Ok(Err(l)) = attached {
        let _ = child.kill();
        let _ = child.wait();
        bail!(
            "`{program}` did not finish within {}; it was stopped",
            crate::process::seconds(l)
        );
    }
    let attached = attached.map(|a| a.expect("handled above"));
    let failure = match &attached {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(sampler_error(&out.stderr)),
        Err(e) => Some(format!("cannot start {}: {e}", sampler.path().display())),
    };
    if let Some(failure) = failure {
        let status = match child.try_wait() {
            Ok(Some(status)) => format!(" (it had already ended: {})", describe_status(status)),
            _ => {
                let _ = child.kill();
                " (it was stopped)".to_string()
            }
        };
        let _ = child.wait();
        bail!(
            "{} could not sample `{program}`{status}: {failure}",
            sampler.name()
        );
    }
    let status = child
        .wait()
        .with_context(|| format!("waiting for `{program}`"))?;
    let raw = match sampler {
        Sampler::PySpy(_) => std::fs::read_to_string(&data)
            .with_context(|| format!("reading py-spy's output {}", data.display()))?,
        Sampler::Perf(perf) => fold_perf(perf, &data)?,
    };
    let folded = clean_folded(&raw);
    Ok(Recording {
        samples: sample_count(&folded),
        folded,
        status,
    })
}

/// `perf script` on `data`, folded by inferno.
fn fold_perf(perf: &Path, data: &Path) -> anyhow::Result<String> {
    use inferno::collapse::Collapse;
    // No `period` field: inferno would weigh each sample by it (nanoseconds of cpu-clock).
    let out = Command::new(perf)
        .args(["script", "--fields", "comm,pid,tid,time,event,ip,sym,dso"])
        .arg("--input")
        .arg(data)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output_within(BUILD_LIMIT)
        .with_context(|| format!("cannot run {} script", perf.display()))?;
    if !out.status.success() {
        bail!("perf script failed: {}", sampler_error(&out.stderr));
    }
    let mut folded = Vec::new();
    inferno::collapse::perf::Folder::default()
        .collapse(&out.stdout[..], &mut folded)
        .context("folding perf script output")?;
    Ok(String::from_utf8_lossy(&folded).into_owned())
}

/// The line of a sampler's stderr that says what went wrong.
fn sampler_error(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    // py-spy: `Error: message`; perf: `Error:` then the message on the next line.
    let after_error = lines
        .iter()
        .position(|l| *l == "Error:")
        .and_then(|i| lines.get(i + 1).copied());
    lines
        .iter()
        .find_map(|l| l.strip_prefix("Error: "))
        .or(after_error)
        .or_else(|| lines.iter().find(|l| l.contains("rror")).copied())
        .or_else(|| lines.last().copied())
        .unwrap_or("it failed without a message")
        .trim_end_matches('.')
        .to_string()
}

/// "exit status 3", "killed by signal 11".
pub fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

fn command_line(cmd: &Command) -> String {
    join_lossy(std::iter::once(cmd.get_program()).chain(cmd.get_args()))
}

fn join_lossy<'a>(parts: impl Iterator<Item = &'a OsStr>) -> String {
    parts
        .map(|a| a.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The total number of samples in folded stacks (the last field of each line; a differential
/// line counts its second column).
pub fn sample_count(folded: &str) -> u64 {
    folded
        .lines()
        .filter_map(|l| l.trim_end().rsplit_once(' '))
        .filter_map(|(_, n)| n.parse::<u64>().ok())
        .sum()
}

/// Folded stacks with every frame name cleaned (see the module docs), equal stacks merged, and
/// lines sorted. Lines that are not `stack count` are dropped.
pub fn clean_folded(folded: &str) -> String {
    let mut stacks: BTreeMap<String, u64> = BTreeMap::new();
    for line in folded.lines() {
        let Some((stack, count)) = line.trim_end().rsplit_once(' ') else {
            continue;
        };
        let Ok(count) = count.parse::<u64>() else {
            continue;
        };
        let stack: Vec<String> = stack.split(';').map(clean_frame).collect();
        *stacks.entry(stack.join(";")).or_default() += count;
    }
    let mut out = String::new();
    for (stack, count) in stacks {
        out.push_str(&stack);
        out.push(' ');
        out.push_str(&count.to_string());
        out.push('\n');
    }
    out
}

/// One frame: `name` or `name (file)`, the name demangled and without its hash.
fn clean_frame(frame: &str) -> String {
    let (name, place) = match frame.strip_suffix(')').and_then(|f| f.rsplit_once(" (")) {
        Some((name, place)) => (name, Some(place)),
        None => (frame, None),
    };
    let name = clean_name(name);
    match place {
        Some(place) => format!("{name} ({place})"),
        None => name,
    }
}

fn clean_name(name: &str) -> String {
    if name.len() > 2 && name.starts_with("0x") && name[2..].chars().all(|c| c.is_ascii_hexdigit())
    {
        return "[unknown]".to_string();
    }
    if name.starts_with("_R") || name.starts_with("_ZN") {
        if let Ok(d) = rustc_demangle::try_demangle(name) {
            return format!("{d:#}");
        }
    }
    // py-spy joins a Rust symbol's path with `::` but leaves each segment legacy-mangled
    // (`_$LT$impl$u20$...`) and the hash on: mangle it again and demangle properly.
    let segments: Vec<&str> = name.split("::").collect();
    let hashed = segments.last().is_some_and(|h| {
        h.len() == 17 && h.starts_with('h') && h[1..].chars().all(|c| c.is_ascii_hexdigit())
    });
    if segments.len() > 1 && hashed {
        let mut mangled = String::from("_ZN");
        for s in &segments {
            mangled.push_str(&s.len().to_string());
            mangled.push_str(s);
        }
        mangled.push('E');
        if let Ok(d) = rustc_demangle::try_demangle(&mangled) {
            return format!("{d:#}");
        }
        return segments[..segments.len() - 1].join("::");
    }
    name.to_string()
}

fn options(title: &str) -> inferno::flamegraph::Options<'static> {
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_string();
    // Colours from a hash of the name: the same function has the same colour in every graph.
    opts.hash = true;
    opts
}

fn sorted_lines(folded: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = folded
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.sort_unstable();
    lines
}

/// Draws folded stacks as an SVG flamegraph into `writer`. An error if there are no samples.
pub fn write_svg<W: Write>(folded: &str, title: &str, writer: W) -> anyhow::Result<()> {
    let lines = sorted_lines(folded);
    ensure!(sample_count(folded) > 0, "no samples to draw");
    inferno::flamegraph::from_lines(&mut options(title), lines, writer)
        .context("drawing the flamegraph")
}

/// Draws folded stacks as an SVG flamegraph into the file `out`.
pub fn render(folded: &str, title: &str, out: &Path) -> anyhow::Result<()> {
    write_file(out, |w| write_svg(folded, title, w))
}

/// Draws a differential flamegraph of two profiles into `writer`: frames are as wide as in
/// `after_folded`, and coloured by how their share of samples changed from `before_folded`:
/// red grew, blue shrank, the deeper the colour the larger the change. The two profiles are
/// normalized to the same total first, so a longer run alone does not turn everything red.
/// Stacks found only in `before_folded` have no width and do not show.
pub fn write_diff_svg<W: Write>(
    before_folded: &str,
    after_folded: &str,
    title: &str,
    writer: W,
) -> anyhow::Result<()> {
    ensure!(
        sample_count(before_folded) > 0,
        "the earlier profile has no samples"
    );
    ensure!(
        sample_count(after_folded) > 0,
        "the later profile has no samples"
    );
    let opts = inferno::differential::Options {
        normalize: true,
        strip_hex: true,
    };
    let mut diff = Vec::new();
    inferno::differential::from_readers(
        opts,
        before_folded.as_bytes(),
        after_folded.as_bytes(),
        &mut diff,
    )
    .context("comparing the profiles")?;
    let diff = String::from_utf8_lossy(&diff);
    let mut options = options(title);
    options.subtitle = Some("red: more samples than before, blue: fewer".to_string());
    inferno::flamegraph::from_lines(&mut options, sorted_lines(&diff), writer)
        .context("drawing the differential flamegraph")
}

/// Draws a differential flamegraph of two profiles (see [`write_diff_svg`]) into the file
/// `out`.
pub fn render_diff(
    before_folded: &str,
    after_folded: &str,
    out: &Path,
    title: &str,
) -> anyhow::Result<()> {
    write_file(out, |w| {
        write_diff_svg(before_folded, after_folded, title, w)
    })
}

/// Draws into memory, then writes `out` whole with [`crate::fs::write_atomic`].
fn write_file(
    out: &Path,
    draw: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut svg = Vec::new();
    draw(&mut svg)?;
    crate::fs::write_atomic(out, &svg)?;
    Ok(())
}

/// A private temporary directory ([`crate::fs::scratch_dir`]), removed on drop (shared with
/// [`super::memory`]).
pub(crate) struct Scratch(tempfile::TempDir);

impl Scratch {
    pub(crate) fn new(what: &str) -> anyhow::Result<Scratch> {
        Ok(Scratch(crate::fs::scratch_dir(what)?))
    }

    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_demangled_without_hashes() {
        assert_eq!(
            clean_frame("pyz3_demo::mean::hba2d98f879603413 (lib.rs)"),
            "pyz3_demo::mean (lib.rs)"
        );
        assert_eq!(
            clean_frame(
                "_$LT$core..slice..iter..Iter$LT$T$GT$$u20$as$u20$core..iter..traits..iterator..Iterator$GT$::fold::h4b29673d4b22a8f2 (map.rs)"
            ),
            "<core::slice::iter::Iter<T> as core::iter::traits::iterator::Iterator>::fold (map.rs)"
        );
        assert_eq!(
            clean_frame("_RNvMNtCsgEmfK2I1SDS_4core3f64d6is_nan (f64.rs)"),
            "<f64>::is_nan (f64.rs)"
        );
        assert_eq!(
            clean_frame("0x7fd82784524a (libc.so.6)"),
            "[unknown] (libc.so.6)"
        );
        assert_eq!(clean_frame("hot_loop (hot.py)"), "hot_loop (hot.py)");
        assert_eq!(
            clean_frame("_PyEval_EvalFrameDefault"),
            "_PyEval_EvalFrameDefault"
        );
    }

    #[test]
    fn equal_stacks_merge_after_cleaning() {
        let raw = "0x1 (libc.so.6);main (a.py) 2\n0x2 (libc.so.6);main (a.py) 3\nnot a line\n";
        assert_eq!(clean_folded(raw), "[unknown] (libc.so.6);main (a.py) 5\n");
        assert_eq!(sample_count(raw), 5);
    }

    #[test]
    fn python_names() {
        for n in ["python", "python3", "python3.11", "python3.13t"] {
            assert!(is_python_name(n), "{n}");
        }
        for n in ["pythonx", "py", "ipython", "python-config"] {
            assert!(!is_python_name(n), "{n}");
        }
    }
}
