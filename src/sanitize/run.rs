//! Running a project's pytest suite over built modules and turning what the sanitizers report
//! into findings.
//!
//! pytest runs with pyz3's plugin (`plugin.py`), which points the runtimes' report files at one
//! file per test. When a test kills the interpreter (ASan stops at its first report), pytest is
//! started again without the tests already run, so one bad test does not hide the others.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use serde::Serialize;

use super::report::{self, Report};
use super::runtime::{Environment, TSAN_SUPPRESSIONS};
use super::std_race;
use crate::project::build::{Built, Language};
use crate::project::{Interpreter, Project};
use crate::report::run::{ReportedFinding, TestRun};
use crate::report::{Finding, FindingKind, Frame, Progress, RunReport};
use crate::toolchain::{Sanitizer, SanitizerSet};

/// The pytest plugin, written next to the build and loaded with `-p _pyz3_sanitize`.
pub const PLUGIN: &str = include_str!("plugin.py");

/// The version of the plugin's files (`FORMAT` in `plugin.py`; docs/formats.md).
pub const PLUGIN_VERSION: u32 = 1;

/// How to run the tests.
#[derive(Clone, Debug, Default)]
pub struct TestOptions {
    /// Extra pytest arguments (after `--`).
    pub pytest_args: Vec<String>,
    /// How many times pytest is resumed after the interpreter died (default 100 when 0).
    pub max_resumes: usize,
    /// Extra environment variables for pytest (coverage profile paths, ...).
    pub env: Vec<(String, String)>,
    /// Run every test in this many threads at once through pytest-run-parallel (0: off).
    pub parallel_threads: u32,
}

pub use crate::report::run::PytestSummary;

/// One finding with the log file it came from.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// Which sanitizer reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sanitizer: Option<String>,
    /// The report file.
    #[serde(skip)]
    pub log: Option<PathBuf>,
}

/// The result of `pyz3 test`.
#[derive(Clone, Debug, Serialize)]
pub struct TestReport {
    /// The sanitizers used.
    #[serde(serialize_with = "ser_set")]
    pub sanitizers: SanitizerSet,
    /// pytest's outcome.
    pub pytest: PytestSummary,
    /// The findings, in the order found.
    pub findings: Vec<Entry>,
}

fn ser_set<S: serde::Serializer>(set: &SanitizerSet, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(set.iter().map(Sanitizer::name))
}

impl TestReport {
    /// Whether the run should exit 1: a finding, a crashed test or a pytest failure.
    pub fn failed(&self) -> bool {
        !self.findings.is_empty() || self.pytest.failed || !self.pytest.crashed.is_empty()
    }

    /// The JSON form, in the harness's report format (schema version 1): findings grouped by
    /// test under `functions`, each of kind `sanitizer` with `subkind`, `frames` and `test`.
    pub fn write_json(&self, module: &str, out: &mut impl Write) -> io::Result<()> {
        self.run_report(module).write_json(out)
    }

    /// The versioned run report of these tests (what [`TestReport::write_json`] writes).
    pub fn run_report(&self, module: &str) -> RunReport {
        let run = TestRun {
            sanitizers: self
                .sanitizers
                .iter()
                .map(|s| s.name().to_string())
                .collect(),
            pytest: self.pytest.clone(),
        };
        let findings = self.findings.iter().map(|e| ReportedFinding {
            finding: e.finding.clone(),
            sanitizer: e.sanitizer.clone(),
        });
        RunReport::tests(module, run, findings)
    }

    /// The document [`TestReport::write_json`] writes, as a JSON value.
    pub fn to_json(&self, module: &str) -> serde_json::Value {
        serde_json::to_value(self.run_report(module)).unwrap_or(serde_json::Value::Null)
    }

    /// The terminal summary: one line per finding, then each finding's frames and log file.
    pub fn write_text(&self, root: &Path, out: &mut impl Write) -> io::Result<()> {
        let p = &self.pytest;
        let count = |k: &str| p.counts.get(k).copied().unwrap_or(0);
        writeln!(
            out,
            "\npyz3 test [{}]: {} passed, {} failed, {} errors, {} crashed in {} pytest run{} ({:.1} s); {} finding{}",
            if self.sanitizers.is_empty() { "no sanitizer".to_string() } else { self.sanitizers.to_string() },
            count("passed"),
            count("failed"),
            count("error"),
            count("crashed"),
            p.runs,
            if p.runs == 1 { "" } else { "s" },
            p.seconds,
            self.findings.len(),
            if self.findings.len() == 1 { "" } else { "s" },
        )?;
        for t in &p.crashed {
            writeln!(out, "  the interpreter died in {t}")?;
        }
        if self.findings.is_empty() {
            return Ok(());
        }
        let rows: Vec<[String; 4]> = self
            .findings
            .iter()
            .map(|e| {
                let f = &e.finding;
                [
                    e.sanitizer
                        .clone()
                        .unwrap_or_else(|| f.kind.name().to_string()),
                    f.subkind
                        .clone()
                        .unwrap_or_else(|| f.kind.name().to_string()),
                    f.test.clone().unwrap_or_else(|| "(outside tests)".into()),
                    f.frames
                        .first()
                        .map_or_else(|| "?".into(), |fr| fr.to_string()),
                ]
            })
            .collect();
        let headers = ["sanitizer", "subkind", "test", "where"];
        let widths: Vec<usize> = (0..3)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].len())
                    .chain([headers[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let header = headers.map(String::from);
        for r in std::iter::once(&header).chain(&rows) {
            writeln!(
                out,
                "  {:<w0$}  {:<w1$}  {:<w2$}  {}",
                r[0],
                r[1],
                r[2],
                r[3],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            )?;
        }
        for (n, e) in self.findings.iter().enumerate() {
            let f = &e.finding;
            writeln!(
                out,
                "\n[{}] {} {} in {}",
                n + 1,
                f.kind,
                f.subkind.as_deref().unwrap_or(""),
                f.test.as_deref().unwrap_or("(outside tests)")
            )?;
            writeln!(out, "    {}", f.message)?;
            for fr in &f.frames {
                writeln!(out, "      at {fr}")?;
            }
            if let Some(log) = &e.log {
                let shown = log.strip_prefix(root).unwrap_or(log);
                writeln!(out, "    full report: {}", shown.display())?;
            }
        }
        Ok(())
    }
}

/// Runs the project's tests over `built` and collects the findings.
pub fn run_tests(
    project: &Project,
    python: &Interpreter,
    built: &Built,
    opts: &TestOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<TestReport> {
    if !project.has_tests() && !opts.pytest_args.iter().any(|a| !a.starts_with('-')) {
        bail!(
            "no tests found in {}: no pytest `testpaths` configured and no tests/ or test/ directory",
            project.root.display()
        );
    }
    if !python.has_module("pytest") {
        bail!(
            "pytest is not installed in {}: run `{} -m pip install pytest`",
            python.executable.display(),
            python.executable.display()
        );
    }
    if opts.parallel_threads > 0 && !python.has_module("pytest_run_parallel") {
        bail!(
            "--parallel-threads runs the tests through pytest-run-parallel, which is not \
             installed in {}: run `{} -m pip install pytest-run-parallel`",
            python.executable.display(),
            python.executable.display()
        );
    }
    let sans = built.sanitizers;
    let work = project.work_dir().join("sanitize").join(sans.label());
    let log_dir = work.join("run");
    if log_dir.exists() {
        std::fs::remove_dir_all(&log_dir)
            .with_context(|| format!("cannot clear {}", log_dir.display()))?;
    }
    let plugin_dir = work.join("plugin");
    for d in [&log_dir, &plugin_dir] {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    crate::fs::write(plugin_dir.join("_pyz3_sanitize.py"), PLUGIN)?;
    let supp = work.join("tsan.supp");
    crate::fs::write(&supp, TSAN_SUPPRESSIONS)?;
    let env = Environment::new(built, Some(&log_dir), Some(&supp), &[plugin_dir])?;

    let start = Instant::now();
    let mut summary = PytestSummary::default();
    let mut crash_status = BTreeMap::new();
    // Zig's safety panics go to stderr, not to a sanitizer's log file: for pyZ3 modules pytest's
    // stderr is kept per run, with pytest capturing at the Python level only (a panic written
    // to a captured file descriptor would die with the process), and the framework's own pytest
    // plugin (which would build into the project) is left out.
    let zig = built.modules.iter().any(|m| m.language == Language::Zig);
    let mut crash_logs: BTreeMap<String, PathBuf> = BTreeMap::new();
    let max = if opts.max_resumes == 0 {
        100
    } else {
        opts.max_resumes
    };
    loop {
        summary.runs += 1;
        let sessions_before = read_lines(&log_dir.join("session.json")).len();
        let started_before = read_lines(&log_dir.join("tests.jsonl")).len();
        let mut cmd = Command::new(&python.executable);
        if python.safe_path {
            // The project root first on sys.path could shadow the built modules.
            cmd.arg("-P");
        }
        cmd.args(["-m", "pytest", "-p", "_pyz3_sanitize"]);
        let stderr_log = log_dir.join(format!("stderr.{}.log", summary.runs));
        if zig {
            cmd.args(["-p", "no:pyz3", "--capture=sys"]);
            let file = std::fs::File::create(&stderr_log)
                .with_context(|| format!("cannot create {}", stderr_log.display()))?;
            cmd.stderr(file);
        }
        let names_tests = opts
            .pytest_args
            .iter()
            .any(|a| !a.starts_with('-') && (a.contains("::") || project.root.join(a).exists()));
        if !names_tests {
            cmd.args(&project.test_paths);
        }
        if opts.parallel_threads > 0 {
            cmd.args(["-p", "pytest_run_parallel"])
                .arg(format!("--parallel-threads={}", opts.parallel_threads));
        }
        cmd.args(&opts.pytest_args)
            .envs(env.vars.iter().map(|(k, v)| (k, v)))
            .envs(opts.env.iter().map(|(k, v)| (k, v)))
            .env("PYZ3_SANITIZE_DIR", &log_dir)
            .env(
                "PYZ3_SANITIZE_LEAKS",
                if sans.contains(Sanitizer::Leak) {
                    "1"
                } else {
                    "0"
                },
            )
            .current_dir(&project.root)
            .stdin(Stdio::null());
        // The suite stays in pyz3's process group, so that Ctrl-C reaches pytest itself (and
        // `--watch` goes on after it); it is the user's own work: the build's generous limit.
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot run {}", python.executable.display()))?;
        let status = crate::process::wait_foreground(&mut child, crate::process::BUILD_LIMIT)
            .context("the test suite")?;
        if zig {
            let text = std::fs::read_to_string(&stderr_log).unwrap_or_default();
            // llvm-symbolizer complains about Zig's DWARF address tables, once per entry.
            let shown: Vec<&str> = text
                .lines()
                .filter(|l| !l.starts_with("warning: address range table at offset"))
                .collect();
            let shown = shown.join("\n");
            if !shown.trim().is_empty() && super::zig::parse(&text).is_none() {
                progress.warn(&format!("pytest's stderr:\n{}", shown.trim_end()));
            }
        }
        let sessions = read_lines(&log_dir.join("session.json"));
        if sessions.len() > sessions_before {
            let s: serde_json::Value =
                serde_json::from_str(sessions.last().expect("non-empty")).unwrap_or_default();
            crate::report::version::check_json(
                log_dir.join("session.json").display(),
                &s,
                PLUGIN_VERSION,
            )?;
            let exit = s["exitstatus"].as_i64().unwrap_or(-1);
            match exit {
                0 => {}
                1 => summary.failed = true,
                5 if summary.runs == 1 => {
                    bail!("pytest collected no tests in {}", project.root.display())
                }
                5 => {}
                4 => bail!("pytest refused its arguments (usage error, output above)"),
                2 | 3 => bail!("pytest was interrupted or failed internally (output above)"),
                _ => summary.failed = true,
            }
            break;
        }
        // The interpreter died: find the test it died in and resume after it.
        let lines = read_lines(&log_dir.join("tests.jsonl"));
        let mut started = Vec::new();
        let mut done = BTreeSet::new();
        for l in &lines[started_before.min(lines.len())..] {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            if let Some(t) = v["test"].as_str() {
                started.push(t.to_string());
            } else if let Some(i) = v["done"].as_u64() {
                done.insert(i);
            }
        }
        let last_open = lines[started_before.min(lines.len())..]
            .iter()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| {
                v["test"].is_string() && !done.contains(&v["i"].as_u64().unwrap_or(u64::MAX))
            });
        let index = last_open.as_ref().and_then(|v| v["i"].as_u64());
        let Some(crashed) = last_open.and_then(|v| v["test"].as_str().map(str::to_string)) else {
            if summary.runs == 1 {
                bail!(
                    "pytest died before running any test ({}); output above",
                    describe_status(&status)
                );
            }
            break;
        };
        // A sanitizer that failed in its own work (LeakSanitizer's check after the test could
        // not stop the world) killed the interpreter, not the test: a warning, not a crash.
        let internal = index.and_then(|i| super::fatal::sanitizer_failure(&log_dir, i));
        if let Some(line) = &internal {
            progress.warn(&format!(
                "the sanitizer failed after {crashed}, not the test ({line}); its leaks are not \
                 checked; resuming pytest after it"
            ));
        } else {
            crash_status.insert(crashed.clone(), describe_status(&status));
            summary.crashed.push(crashed.clone());
        }
        if zig {
            crash_logs.insert(crashed.clone(), stderr_log.clone());
        }
        let mut skip = read_lines(&log_dir.join("skip"));
        skip.extend(started);
        crate::fs::write(log_dir.join("skip"), skip.join("\n") + "\n")?;
        let collected: BTreeSet<String> = read_lines(&log_dir.join("collected.jsonl"))
            .iter()
            .filter_map(|l| serde_json::from_str::<String>(l).ok())
            .collect();
        let skipped: BTreeSet<&String> = skip.iter().collect();
        let remaining = collected.iter().filter(|t| !skipped.contains(t)).count();
        crate::fs::write(log_dir.join("collected.jsonl"), "")?;
        if remaining == 0 || summary.runs > max {
            break;
        }
        if let Some(status) = crash_status.get(&crashed) {
            progress.note(&format!(
                "the interpreter died in {crashed} ({status}); resuming pytest with the {remaining} tests not yet run"
            ));
        }
    }
    summary.seconds = start.elapsed().as_secs_f64();
    summary.counts = outcome_counts(&log_dir);

    let tests = test_index(&log_dir);
    let mut findings = collect_reports(project, built, &log_dir, &tests)?;
    if sans.contains(Sanitizer::Undefined) {
        findings.extend(panic_findings(&log_dir));
    }
    for (crashed, log) in &crash_logs {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(mut panic) = super::zig::parse(&text) {
            panic.frames = own_frames_first(panic.frames, &project.root);
            // The panic ends in abort(), which AddressSanitizer also reports: one finding.
            findings.retain(|e| {
                e.finding.test.as_ref() != Some(crashed)
                    || e.finding.subkind.as_deref() != Some("abrt")
            });
            findings.push(Entry {
                finding: finding(
                    FindingKind::Sanitizer,
                    Some(panic.subkind),
                    format!("Zig safety check: {}", panic.message),
                    panic.frames,
                    Some(panic.text),
                    Some(crashed.clone()),
                ),
                sanitizer: Some("zig-safety".into()),
                log: Some(log.clone()),
            });
        }
    }
    for crashed in &summary.crashed {
        if !findings
            .iter()
            .any(|e| e.finding.test.as_ref() == Some(crashed))
        {
            findings.push(Entry {
                finding: finding(
                    FindingKind::Crash,
                    None,
                    format!(
                        "the interpreter died while running this test ({})",
                        crash_status[crashed]
                    ),
                    Vec::new(),
                    None,
                    Some(crashed.clone()),
                ),
                sanitizer: None,
                log: None,
            });
        }
    }
    Ok(TestReport {
        sanitizers: sans,
        pytest: summary,
        findings,
    })
}

/// The frames in the project's own sources (named relative to its root), or all of them when
/// none is.
fn own_frames_first(frames: Vec<Frame>, root: &Path) -> Vec<Frame> {
    let own: Vec<Frame> = frames
        .iter()
        .filter_map(|f| {
            let rel = Path::new(f.file.as_deref()?).strip_prefix(root).ok()?;
            Some(Frame {
                file: Some(rel.display().to_string()),
                ..f.clone()
            })
        })
        .collect();
    if own.is_empty() {
        frames
    } else {
        own
    }
}

fn describe_status(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "unknown status".into(),
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Outcome counts over every run, from the plugin's record; a test that never finished counts
/// as `crashed` (one that finished and then lost the interpreter to the leak check after it
/// counts with its own outcome).
fn outcome_counts(log_dir: &Path) -> BTreeMap<String, u64> {
    let mut outcome: BTreeMap<u64, String> = BTreeMap::new();
    for v in read_lines(&log_dir.join("tests.jsonl"))
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
    {
        if let Some(i) = v["i"].as_u64() {
            outcome.insert(i, "crashed".into());
        } else if let (Some(i), Some(o)) = (
            v["done"].as_u64().or(v["checking"].as_u64()),
            v["outcome"].as_str(),
        ) {
            outcome.insert(i, o.to_string());
        }
    }
    let mut counts = BTreeMap::new();
    for o in outcome.into_values() {
        *counts.entry(o).or_default() += 1;
    }
    counts
}

/// Test index → test id, from the plugin's record.
fn test_index(log_dir: &Path) -> BTreeMap<u64, String> {
    read_lines(&log_dir.join("tests.jsonl"))
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v["i"].as_u64()?, v["test"].as_str()?.to_string())))
        .collect()
}

fn finding(
    kind: FindingKind,
    subkind: Option<String>,
    message: String,
    frames: Vec<Frame>,
    traceback: Option<String>,
    test: Option<String>,
) -> Finding {
    Finding {
        kind,
        input: String::new(),
        imports: Vec::new(),
        definitions: Vec::new(),
        message,
        traceback,
        reproducer: None,
        subkind,
        frames,
        test,
        threads: None,
    }
}

/// Parses every report file in `log_dir` (`t<i>.<rt>.<pid>` during test i, `s<i>...` after it,
/// `session...`/`exit...` outside tests).
fn collect_reports(
    project: &Project,
    built: &Built,
    log_dir: &Path,
    tests: &BTreeMap<u64, String>,
) -> anyhow::Result<Vec<Entry>> {
    let mut files: Vec<(u64, u64, PathBuf)> = Vec::new();
    for entry in crate::fs::read_dir(log_dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut parts = name.split('.');
        let prefix = parts.next().unwrap_or("");
        let is_log = matches!(parts.next(), Some("asan" | "tsan" | "ubsan" | "lsan"));
        if !is_log {
            continue;
        }
        // Order: session start, then by test index (during before after), then exit.
        let order = match prefix {
            "session" => (0, 0),
            "exit" => (u64::MAX, 0),
            p if p.starts_with('t') => (p[1..].parse::<u64>().unwrap_or(0) + 1, 0),
            p if p.starts_with('s') => (p[1..].parse::<u64>().unwrap_or(0) + 1, 1),
            _ => continue,
        };
        files.push((order.0, order.1, path));
    }
    files.sort();
    let modules: Vec<String> = built
        .modules
        .iter()
        .filter_map(|m| Some(m.path.file_name()?.to_string_lossy().into_owned()))
        .collect();
    let mut out: Vec<Entry> = Vec::new();
    let mut seen = BTreeSet::new();
    for (order, after, path) in files {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let test = if after == 0 && order > 0 && order < u64::MAX {
            tests.get(&(order - 1)).cloned()
        } else {
            None
        };
        for r in report::parse(&text) {
            let frames = extension_frames(&r, &modules, &project.root, &built.compile_dirs);
            let ours = !frames.is_empty();
            // Leaks and races need the extension's code in them: CPython's exit-time leaks and
            // races inside uninstrumented code are not the extension's findings.
            if !ours && matches!(r.sanitizer, Sanitizer::Leak | Sanitizer::Thread) {
                continue;
            }
            // Races inside std's synchronization, which TSan cannot see (std is uninstrumented);
            // blocks allocated at import and lost at exit (module state CPython never frees).
            if std_race::inside_std(&r) || (order == u64::MAX && r.allocated_at_import()) {
                continue;
            }
            let frames = if ours {
                frames
            } else {
                r.frames.iter().take(5).cloned().collect()
            };
            // LeakSanitizer's checks list every leak still present: a leak belongs to the first
            // test whose check found it.
            let owner = if r.sanitizer == Sanitizer::Leak {
                None
            } else {
                test.clone()
            };
            let key = (
                r.subkind.clone(),
                frames.first().map(|f| f.to_string()),
                owner,
            );
            if !seen.insert(key) {
                continue;
            }
            out.push(Entry {
                sanitizer: Some(r.sanitizer.name().to_string()),
                finding: finding(
                    FindingKind::Sanitizer,
                    Some(r.subkind.clone()),
                    r.message.clone(),
                    frames,
                    Some(r.text.clone()),
                    test.clone(),
                ),
                log: Some(path.clone()),
            });
        }
    }
    Ok(out)
}

/// The report's frames in extension code (a built module), preferring the project's own sources
/// over dependencies and the standard library; at most 8. A relative source path that names an
/// existing file from one of `compile_dirs` (where the compiler ran) is read from there.
fn extension_frames(
    r: &Report,
    modules: &[String],
    root: &Path,
    compile_dirs: &[PathBuf],
) -> Vec<Frame> {
    let in_module = |f: &Frame| {
        f.module.as_deref().is_some_and(|m| {
            let name = Path::new(m)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            modules.iter().any(|x| *x == name)
        })
    };
    let root_s = root.display().to_string();
    let own_source = |f: &Frame| {
        f.file.as_deref().is_some_and(|file| {
            let dep = file.starts_with("/rustc/")
                || file.contains("/.cargo/registry/")
                || file.contains("/.rustup/")
                || file.contains("/target/")
                || file.contains("/include/python");
            !dep && (!file.starts_with('/') || file.starts_with(&root_s))
        })
    };
    let ext: Vec<&Frame> = r.frames.iter().filter(|f| in_module(f)).collect();
    // Without module names (a runtime that ignored the format), the project's sources decide.
    let ext: Vec<&Frame> = if ext.is_empty() && r.frames.iter().all(|f| f.module.is_none()) {
        r.frames.iter().filter(|f| own_source(f)).collect()
    } else {
        ext
    };
    let own: Vec<&Frame> = ext.iter().copied().filter(|f| own_source(f)).collect();
    let chosen = if own.is_empty() { ext } else { own };
    let mut seen = BTreeSet::new();
    chosen
        .into_iter()
        .filter(|f| seen.insert((f.function.clone(), f.file.clone(), f.line)))
        .take(8)
        .map(|f| {
            let mut f = f.clone();
            if let Some(file) = &f.file {
                let file = from_compile_dir(file, compile_dirs);
                let file = if file.is_relative() && root.join(&file).is_file() {
                    root.join(&file)
                } else {
                    file
                };
                if let Ok(rel) = file.strip_prefix(root) {
                    f.file = Some(rel.display().to_string());
                }
                // C that Cython generated: the `.pyx` line and the Python function instead.
                if file.extension().is_some_and(|e| e == "c" || e == "cpp") {
                    super::cython::to_pyx(&mut f, &file);
                }
            }
            f
        })
        .collect()
}

/// `file` (a path from debug information) resolved against the first of `compile_dirs` where it
/// names an existing file, `..` taken away; as it is otherwise.
fn from_compile_dir(file: &str, compile_dirs: &[PathBuf]) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    compile_dirs
        .iter()
        .map(|dir| {
            let mut out = PathBuf::new();
            for c in dir.join(path).components() {
                match c {
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    std::path::Component::CurDir => {}
                    c => out.push(c),
                }
            }
            out
        })
        .find(|p| p.is_file())
        .unwrap_or_else(|| path.to_path_buf())
}

/// Rust panics from overflow checks, debug assertions and UB checks (`--sanitize undefined`).
fn panic_findings(log_dir: &Path) -> Vec<Entry> {
    read_lines(&log_dir.join("panics.jsonl"))
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let message = v["message"].as_str()?.to_string();
            let subkind = if message.contains("with overflow") {
                "integer-overflow"
            } else if message.contains("unsafe precondition") {
                "ub-check"
            } else if message.contains("assertion") {
                "debug-assertion"
            } else {
                return None;
            };
            let stderr = v["stderr"].as_str().unwrap_or("");
            let frames = stderr
                .lines()
                .find_map(|l| {
                    let at = l.split(" panicked at ").nth(1)?.trim_end_matches(':');
                    let mut parts = at.rsplitn(3, ':');
                    let _col = parts.next()?;
                    let line = parts.next()?.parse().ok()?;
                    Some(Frame {
                        function: String::new(),
                        file: Some(parts.next()?.to_string()),
                        line: Some(line),
                        module: None,
                    })
                })
                .into_iter()
                .collect();
            Some(Entry {
                sanitizer: Some("undefined".into()),
                finding: finding(
                    FindingKind::Sanitizer,
                    Some(subkind.into()),
                    format!("Rust panic: {message}"),
                    frames,
                    Some(stderr.to_string()).filter(|s| !s.is_empty()),
                    v["test"].as_str().map(str::to_string),
                ),
                log: None,
            })
        })
        .collect()
}
