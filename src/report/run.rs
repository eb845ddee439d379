//! One versioned run report: what `pyz3 check --json` and `pyz3 test --json` write, with its
//! terminal form for `pyz3 check`.
//!
//! For every consumer of a finished run (the CLI, CI scripts, library users). Writers are
//! generic over `io::Write` so output can be tested. JSON schema, version [`VERSION`]
//! (docs/formats.md):
//! `{"version": 1, "module": "...", "python": "<interpreter>", "interpreter": "CPython 3.13
//! (free-threaded, static)", "gil_reenabled": false, "threads": 0, "functions": [{"name": "...",
//! "cases": N, "findings": [{"kind": "...", "input": "<python source>", "message": "...",
//! "reproducer": "<path>", "traceback": "...", "imports": [...]}]}], "slow": [{"function":
//! "...", "input": "...", "elapsed_ms": N, "limit_ms": N}]}` from `pyz3 check`; from `pyz3
//! test`, `{"version": 1, "module": "...", "sanitizers": [...], "pytest": {...}, "functions":
//! [...]}` with one function per test id and a `sanitizer` on each finding. `kind` is one of
//! the [`FindingKind`](super::FindingKind) names.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::text::duration_text;
use super::{call_source, printable, Finding};

/// The schema version of the run report.
pub const VERSION: u32 = 1;

/// A call over the time limit is retried with this many times the limit; one that then
/// finishes is a slow input, not a finding.
pub const SLOW_FACTOR: u64 = 10;

/// The report of one run: `pyz3 check` (with [`CheckRun`]) or `pyz3 test` (with [`TestRun`]).
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// Schema version ([`VERSION`]).
    pub version: u32,
    /// The module checked (for `pyz3 test`, the project's name).
    pub module: String,
    /// The interpreter the functions ran in (reproducers run with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<PathBuf>,
    /// What that interpreter is (`CPython 3.13 (free-threaded, static)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// What only a check run has.
    #[serde(flatten)]
    pub check: Option<CheckRun>,
    /// What only a test run has.
    #[serde(flatten)]
    pub tests: Option<TestRun>,
    /// One entry per function (per test for `pyz3 test`).
    pub functions: Vec<FunctionEntry>,
    /// Check runs: inputs on which a call went over the time limit but finished within
    /// [`SLOW_FACTOR`] times it (not findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slow: Option<Vec<SlowEntry>>,
}

/// The part of a [`RunReport`] only `pyz3 check` has.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckRun {
    /// On a free-threaded interpreter, importing the module turned the GIL back on (the module
    /// does not declare `Py_mod_gil`): calls were serialised.
    pub gil_reenabled: bool,
    /// Threads each function was also called from at once (`--threads`; 0: not done).
    pub threads: u32,
}

/// The part of a [`RunReport`] only `pyz3 test` has.
#[derive(Clone, Debug, Serialize)]
pub struct TestRun {
    /// The sanitizers used (`address`, `thread`, ...).
    pub sanitizers: Vec<String>,
    /// pytest's outcome.
    pub pytest: PytestSummary,
}

/// What pytest said, over all its runs.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PytestSummary {
    /// pytest processes started (more than one when resumed after a crash).
    pub runs: usize,
    /// Tests that killed the interpreter.
    pub crashed: Vec<String>,
    /// Outcome counts summed over runs (`passed`, `failed`, `error`, `skipped`, ...).
    pub counts: BTreeMap<String, u64>,
    /// Whether pytest reported failures or errors of its own.
    pub failed: bool,
    /// Seconds the runs took.
    pub seconds: f64,
}

/// An input on which a call took longer than the limit but finished within [`SLOW_FACTOR`]
/// times it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlowInput {
    /// The arguments as Python source (`(32769118,)`).
    pub input: String,
    /// Modules the input needs imported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// How long the retried call took.
    pub elapsed_ms: u64,
    /// The time limit it went over.
    pub limit_ms: u64,
}

/// A slow input of one function.
#[derive(Clone, Debug, Serialize)]
pub struct SlowEntry {
    /// The function.
    pub function: String,
    /// The input and the time it took.
    #[serde(flatten)]
    pub input: SlowInput,
}

/// One function in the report.
#[derive(Clone, Debug, Serialize)]
pub struct FunctionEntry {
    /// Function name (for `pyz3 test`, the test id).
    pub name: String,
    /// Cases run.
    pub cases: u64,
    /// Findings (shrunk).
    pub findings: Vec<ReportedFinding>,
    /// Cases over the time limit that were not retried (after a few slow inputs).
    #[serde(skip_serializing_if = "is_zero")]
    pub slow_not_retried: u64,
}

/// A finding as reported, with the sanitizer that reported it (`pyz3 test`).
#[derive(Clone, Debug, Serialize)]
pub struct ReportedFinding {
    /// The finding.
    #[serde(flatten)]
    pub finding: Finding,
    /// Which sanitizer reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sanitizer: Option<String>,
}

impl From<Finding> for ReportedFinding {
    fn from(finding: Finding) -> Self {
        ReportedFinding {
            finding,
            sanitizer: None,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RunReport {
    /// The report of a check run over these functions and slow inputs.
    pub fn check(
        module: &str,
        gil_reenabled: bool,
        functions: Vec<FunctionEntry>,
        slow: Vec<SlowEntry>,
    ) -> Self {
        RunReport {
            version: VERSION,
            module: module.to_string(),
            python: None,
            interpreter: None,
            check: Some(CheckRun {
                gil_reenabled,
                threads: 0,
            }),
            tests: None,
            functions,
            slow: Some(slow),
        }
    }

    /// The report of a test run: the findings grouped by the test that was running (one
    /// function entry per test id, in order of the ids; `(outside tests)` for the rest).
    pub fn tests(
        module: &str,
        run: TestRun,
        findings: impl IntoIterator<Item = ReportedFinding>,
    ) -> Self {
        let mut groups: BTreeMap<String, Vec<ReportedFinding>> = BTreeMap::new();
        for f in findings {
            let name = f
                .finding
                .test
                .clone()
                .unwrap_or_else(|| "(outside tests)".into());
            groups.entry(name).or_default().push(f);
        }
        RunReport {
            version: VERSION,
            module: module.to_string(),
            python: None,
            interpreter: None,
            check: None,
            tests: Some(run),
            functions: groups
                .into_iter()
                .map(|(name, findings)| FunctionEntry {
                    name,
                    cases: 1,
                    findings,
                    slow_not_retried: 0,
                })
                .collect(),
            slow: None,
        }
    }

    /// The same report, naming the interpreter the functions ran in: its executable and what
    /// it is (`CPython 3.13 (free-threaded, static)`).
    pub fn ran_in(mut self, executable: &Path, description: String) -> Self {
        self.python = Some(executable.to_path_buf());
        self.interpreter = Some(description);
        self
    }

    /// The same report, saying the functions were also called from `threads` threads at once.
    pub fn with_threads(mut self, threads: u32) -> Self {
        self.check.get_or_insert_with(CheckRun::default).threads = threads;
        self
    }

    /// Threads each function was also called from (0 when not done, or not a check run).
    fn threads(&self) -> u32 {
        self.check.as_ref().map_or(0, |c| c.threads)
    }

    /// The slow inputs (none for a test run).
    fn slow_inputs(&self) -> &[SlowEntry] {
        self.slow.as_deref().unwrap_or_default()
    }
    /// Whether anything was found.
    pub fn has_findings(&self) -> bool {
        self.functions.iter().any(|f| !f.findings.is_empty())
    }

    /// Writes the JSON form.
    pub fn write_json(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }

    /// Writes the human form: a table of functions, then each finding.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let width = self
            .functions
            .iter()
            .map(|f| f.name.len())
            .max()
            .unwrap_or(8)
            .max(8);
        writeln!(
            out,
            "{:<width$}  {:>6}  {:<7}  findings",
            "function", "cases", "verdict"
        )?;
        for f in &self.functions {
            let kinds: Vec<&str> = f.findings.iter().map(|x| x.finding.kind.name()).collect();
            let verdict = if kinds.is_empty() { "ok" } else { "FOUND" };
            writeln!(
                out,
                "{:<width$}  {:>6}  {:<7}  {}",
                printable(&f.name),
                f.cases,
                verdict,
                if kinds.is_empty() {
                    "-".to_string()
                } else {
                    kinds.join(", ")
                }
            )?;
        }
        if self.check.as_ref().is_some_and(|c| c.gil_reenabled) {
            writeln!(out)?;
            writeln!(
                out,
                "note: importing {} re-enabled the GIL (it does not declare Py_mod_gil): its calls \
                 ran serialised{}",
                self.module,
                if self.threads() > 0 {
                    ", also under --threads (only code that releases the GIL ran in parallel)"
                } else {
                    ""
                }
            )?;
        }
        if self.threads() > 0 {
            writeln!(out)?;
            writeln!(
                out,
                "threads: each function was also called from {} threads at once (own arguments, \
                 shared arguments, shared arguments another thread changes)",
                self.threads()
            )?;
        }
        self.write_slow(out)?;
        let python = self
            .python
            .as_ref()
            .map_or_else(|| "python3".to_string(), |p| p.display().to_string());
        for f in &self.functions {
            for x in f.findings.iter().map(|r| &r.finding) {
                writeln!(out)?;
                writeln!(
                    out,
                    "{} in {}.{}",
                    x.kind,
                    printable(&self.module),
                    printable(&f.name)
                )?;
                for m in &x.imports {
                    writeln!(out, "  import {m}")?;
                }
                match &x.threads {
                    Some(ctx) if ctx.inputs.len() > 1 => {
                        for (i, input) in ctx.inputs.iter().enumerate() {
                            writeln!(
                                out,
                                "  thread {i}: {}{}",
                                printable(&f.name),
                                printable(&call_source(input))
                            )?;
                        }
                    }
                    _ => writeln!(
                        out,
                        "  {}{}",
                        printable(&f.name),
                        printable(&x.input_call())
                    )?,
                }
                for line in x.message.lines() {
                    writeln!(out, "  | {}", printable(line))?;
                }
                if let Some(tb) = &x.traceback {
                    let lines: Vec<&str> = tb.lines().collect();
                    for line in &lines[lines.len().saturating_sub(12)..] {
                        writeln!(out, "  > {}", printable(line))?;
                    }
                }
                if let Some(p) = &x.reproducer {
                    writeln!(out, "  reproducer: {python} {}", p.display())?;
                }
            }
        }
        Ok(())
    }
}

impl RunReport {
    /// The note on slow inputs, after the table.
    fn write_slow(&self, out: &mut impl Write) -> io::Result<()> {
        let more: u64 = self.functions.iter().map(|f| f.slow_not_retried).sum();
        if self.slow_inputs().is_empty() && more == 0 {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(
            out,
            "note: slow inputs (over the time limit, finished within {} times it; not findings):",
            SLOW_FACTOR
        )?;
        for s in self.slow_inputs() {
            writeln!(
                out,
                "  {}{}: {} (limit {})",
                printable(&s.function),
                printable(&call_source(&s.input.input)),
                duration_text(s.input.elapsed_ms),
                duration_text(s.input.limit_ms)
            )?;
        }
        for f in self.functions.iter().filter(|f| f.slow_not_retried > 0) {
            writeln!(
                out,
                "  {}: {} more cases over the limit, not retried",
                printable(&f.name),
                f.slow_not_retried
            )?;
        }
        Ok(())
    }
}

impl Finding {
    /// The input as call arguments: `(1, 'a')` → `(1, 'a')`, `(x,)` → `(x)`.
    pub fn input_call(&self) -> String {
        call_source(&self.input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{FindingKind, Observation};

    fn finding(test: Option<&str>) -> Finding {
        let mut f = Finding::observed(
            FindingKind::Sanitizer,
            "()".into(),
            Vec::new(),
            Observation {
                kind: FindingKind::Sanitizer,
                message: "heap-buffer-overflow".into(),
                traceback: None,
            },
        );
        f.test = test.map(str::to_string);
        f
    }

    /// The top-level keys of a JSON object, in the order written.
    fn keys(report: &RunReport) -> Vec<String> {
        let mut out = Vec::new();
        report.write_json(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        text.lines()
            .filter_map(|l| {
                l.strip_prefix("  \"")?
                    .split_once('"')
                    .map(|(k, _)| k.to_string())
            })
            .collect()
    }

    #[test]
    fn check_and_test_runs_keep_their_fields() {
        let check = RunReport::check("m", false, Vec::new(), Vec::new())
            .ran_in(Path::new("/py"), "CPython 3.11".into())
            .with_threads(4);
        assert_eq!(
            keys(&check),
            [
                "version",
                "module",
                "python",
                "interpreter",
                "gil_reenabled",
                "threads",
                "functions",
                "slow"
            ]
        );
        let run = TestRun {
            sanitizers: vec!["address".into()],
            pytest: PytestSummary::default(),
        };
        let found = [
            finding(Some("t.py::b")),
            finding(Some("t.py::a")),
            finding(None),
        ];
        let tests = RunReport::tests(
            "proj",
            run,
            found.into_iter().map(|f| ReportedFinding {
                finding: f,
                sanitizer: Some("address".into()),
            }),
        );
        assert_eq!(
            keys(&tests),
            ["version", "module", "sanitizers", "pytest", "functions"]
        );
        let v = serde_json::to_value(&tests).unwrap();
        assert_eq!(v["version"], VERSION);
        let names: Vec<&str> = v["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["(outside tests)", "t.py::a", "t.py::b"]);
        assert_eq!(v["functions"][1]["findings"][0]["sanitizer"], "address");
        assert_eq!(v["functions"][1]["cases"], 1);
        assert!(tests.has_findings());
        assert!(!check.has_findings());
    }
}
