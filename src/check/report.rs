//! The check report: data, a JSON writer (versioned schema) and a terminal writer.
//!
//! Writers are generic over `io::Write` so output can be tested. JSON schema, version 1:
//! `{"version": 1, "module": "...", "python": "<interpreter>", "interpreter": "CPython 3.13
//! (free-threaded, static)", "gil_reenabled": false, "functions": [{"name": "...", "cases": N, "findings":
//! [{"kind": "...", "input": "<python source>", "message": "...", "reproducer": "<path>",
//! "traceback": "...", "imports": [...]}]}], "slow": [{"function": "...", "input": "...",
//! "elapsed_ms": N, "limit_ms": N}]}` — `kind` is one of the [`super::FindingKind`] names.

use std::io::{self, Write};

use serde::Serialize;

use super::runner::FunctionReport;
use crate::report::{call_source, printable, Finding};

/// The report of one `pyz3 check` run.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// Schema version.
    pub version: u32,
    /// The module checked.
    pub module: String,
    /// The interpreter the functions ran in (reproducers run with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<std::path::PathBuf>,
    /// What that interpreter is (`CPython 3.13 (free-threaded, static)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// On a free-threaded interpreter, importing the module turned the GIL back on (the module
    /// does not declare `Py_mod_gil`): calls were serialised.
    pub gil_reenabled: bool,
    /// Threads each function was also called from at once (`--threads`; 0: not done).
    pub threads: u32,
    /// One entry per function.
    pub functions: Vec<FunctionEntry>,
    /// Inputs on which a call went over the time limit but finished within ten times it: not
    /// findings (see [`super::slow`]).
    pub slow: Vec<SlowEntry>,
}

/// A slow input of one function.
#[derive(Clone, Debug, Serialize)]
pub struct SlowEntry {
    /// The function.
    pub function: String,
    /// The input and the time it took.
    #[serde(flatten)]
    pub input: super::slow::SlowInput,
}

/// One function in the report.
#[derive(Clone, Debug, Serialize)]
pub struct FunctionEntry {
    /// Function name.
    pub name: String,
    /// Cases run.
    pub cases: u64,
    /// Findings (shrunk).
    pub findings: Vec<Finding>,
    /// Cases over the time limit that were not retried (after a few slow inputs).
    #[serde(skip_serializing_if = "is_zero")]
    pub slow_not_retried: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl CheckReport {
    /// A report over these function results.
    pub fn new(module: &str, functions: &[FunctionReport]) -> Self {
        CheckReport {
            version: 1,
            module: module.to_string(),
            python: None,
            interpreter: None,
            gil_reenabled: functions.iter().any(|f| f.gil_enabled == Some(true)),
            threads: 0,
            functions: functions
                .iter()
                .map(|f| FunctionEntry {
                    name: f.name.clone(),
                    cases: f.cases,
                    findings: f.findings.clone(),
                    slow_not_retried: f.slow_more,
                })
                .collect(),
            slow: functions
                .iter()
                .flat_map(|f| {
                    f.slow.iter().map(|s| SlowEntry {
                        function: f.name.clone(),
                        input: s.clone(),
                    })
                })
                .collect(),
        }
    }

    /// The same report, naming the interpreter the functions ran in.
    pub fn ran_in(mut self, interpreter: &crate::project::python::Interpreter) -> Self {
        self.python = Some(interpreter.executable.clone());
        self.interpreter = Some(interpreter.describe());
        self
    }

    /// The same report, saying the functions were also called from `threads` threads at once.
    pub fn with_threads(mut self, threads: u32) -> Self {
        self.threads = threads;
        self
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
            let kinds: Vec<&str> = f.findings.iter().map(|x| x.kind.name()).collect();
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
        if self.gil_reenabled {
            writeln!(out)?;
            writeln!(
                out,
                "note: importing {} re-enabled the GIL (it does not declare Py_mod_gil): its calls \
                 ran serialised{}",
                self.module,
                if self.threads > 0 {
                    ", also under --threads (only code that releases the GIL ran in parallel)"
                } else {
                    ""
                }
            )?;
        }
        if self.threads > 0 {
            writeln!(out)?;
            writeln!(
                out,
                "threads: each function was also called from {} threads at once (own arguments, \
                 shared arguments, shared arguments another thread changes)",
                self.threads
            )?;
        }
        self.write_slow(out)?;
        let python = self
            .python
            .as_ref()
            .map_or_else(|| "python3".to_string(), |p| p.display().to_string());
        for f in &self.functions {
            for x in &f.findings {
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

impl CheckReport {
    /// The note on slow inputs, after the table.
    fn write_slow(&self, out: &mut impl Write) -> io::Result<()> {
        let more: u64 = self.functions.iter().map(|f| f.slow_not_retried).sum();
        if self.slow.is_empty() && more == 0 {
            return Ok(());
        }
        writeln!(out)?;
        writeln!(
            out,
            "note: slow inputs (over the time limit, finished within {} times it; not findings):",
            super::slow::RETRY_FACTOR
        )?;
        for s in &self.slow {
            writeln!(
                out,
                "  {}{}: {} (limit {})",
                printable(&s.function),
                printable(&call_source(&s.input.input)),
                super::slow::duration_text(s.input.elapsed_ms),
                super::slow::duration_text(s.input.limit_ms)
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
