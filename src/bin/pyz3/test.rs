//! `pyz3 test`: build the project's extensions (optionally with sanitizers or coverage) and run
//! its pytest suite, turning sanitizer reports into findings; `--watch` keeps doing it on change.

use std::path::PathBuf;

use pyz3::coverage::Session;
use pyz3::project::{Built, Interpreter, Project};
use pyz3::sanitize::{run_tests, TestOptions};

use crate::coverage_args::CoverageArgs;
use crate::project_args::ProjectArgs;
use crate::Outcome;

/// Arguments of `pyz3 test`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 tests passed, no sanitizer report and coverage not below \
--fail-under; 1 a report, a crashed test, a pytest failure or coverage below --fail-under; 2 a \
usage or environment problem (no nightly toolchain, a runtime or LLVM tool missing, a crate \
that does not compile, no tests).\n\nReports are kept under .pyz3/sanitize/<sanitizers>/run/, \
coverage data under .pyz3/coverage/. See docs/sanitizers.md and docs/coverage.md."
)]
pub struct Args {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Write the report as JSON: the harness's format with `sanitizer` findings; with
    /// --coverage, the coverage report with the test report under `tests`.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub coverage: CoverageArgs,
    /// Watch the extensions' sources and the tests; on change rebuild incrementally and rerun
    /// the affected tests, until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Run every test in N threads at once (through pytest-run-parallel, which must be
    /// installed in the interpreter's environment); with `--sanitize thread`, races between
    /// them are reported with the test id and the extension's frames.
    #[arg(long = "parallel-threads", value_name = "N")]
    pub parallel_threads: Option<u32>,
    /// Arguments passed to pytest (after `--`).
    #[arg(last = true, value_name = "PYTEST-ARGS")]
    pub pytest_args: Vec<String>,
}

/// Runs `pyz3 test`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    args.coverage.validate()?;
    if args.parallel_threads.is_some_and(|n| n == 0 || n > 256) {
        anyhow::bail!(
            "--parallel-threads must be from 1 to 256 (not {})",
            args.parallel_threads.unwrap_or(0)
        );
    }
    if let Some(path) = &args.json {
        pyz3::fs::check_output_path(path)?;
    }
    let (project, python) = args.project.discover()?;
    let mut runner = Runner {
        args: &args,
        project,
        python,
        built: None,
    };
    if args.watch {
        return crate::watch::run(&mut runner);
    }
    Ok(runner.cycle(true, &[])?.outcome)
}

/// What one build-and-test cycle gave.
pub struct Cycle {
    /// The exit status it stands for.
    pub outcome: Outcome,
    /// A one-line summary: tests, findings, coverage.
    pub summary: String,
    /// Seconds the build took (`None` when it was not rebuilt).
    pub build_seconds: Option<f64>,
}

/// Builds and tests a project, keeping the last build for reruns.
pub struct Runner<'a> {
    /// The command line.
    pub args: &'a Args,
    /// The project.
    pub project: Project,
    /// The interpreter.
    pub python: Interpreter,
    built: Option<Built>,
}

impl Runner<'_> {
    /// Builds (when `rebuild` or never built) and runs pytest; `tests` narrows the run to
    /// these test files (empty: the whole suite).
    pub fn cycle(&mut self, rebuild: bool, tests: &[PathBuf]) -> anyhow::Result<Cycle> {
        let args = self.args;
        let coverage = args.coverage.enabled();
        let mut build_seconds = None;
        if rebuild || self.built.is_none() {
            self.built = None;
            let built = args
                .project
                .build_for(&self.project, &self.python, coverage)?;
            eprintln!(
                "pyz3: built {} module{} in {:.1} s: {}",
                built.modules.len(),
                if built.modules.len() == 1 { "" } else { "s" },
                built.seconds,
                built.names()
            );
            build_seconds = Some(built.seconds);
            self.built = Some(built);
        }
        let built = self.built.as_ref().expect("built above");
        let session = if coverage {
            Some(Session::start(&self.project, built)?)
        } else {
            None
        };
        let mut pytest_args = args.pytest_args.clone();
        pytest_args.extend(tests.iter().map(|t| t.display().to_string()));
        let report = run_tests(
            &self.project,
            &self.python,
            built,
            &TestOptions {
                pytest_args,
                env: session.as_ref().map(Session::env).unwrap_or_default(),
                parallel_threads: args.parallel_threads.unwrap_or(0),
                ..TestOptions::default()
            },
        )?;
        report.write_text(&self.project.root, &mut std::io::stdout().lock())?;
        let name = self
            .project
            .root
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut failed = report.failed();
        let count = |k: &str| report.pytest.counts.get(k).copied().unwrap_or(0);
        let mut summary = format!(
            "{} passed, {} failed",
            count("passed"),
            count("failed") + count("error")
        );
        if !report.pytest.crashed.is_empty() {
            summary.push_str(&format!(", {} crashed", report.pytest.crashed.len()));
        }
        if !report.findings.is_empty() {
            summary.push_str(&format!(", {} sanitizer findings", report.findings.len()));
        }
        if let Some(session) = session {
            let cov = session.report()?;
            let mut tests_json = Vec::new();
            report.write_json(&name, &mut tests_json)?;
            let tests_json: serde_json::Value = serde_json::from_slice(&tests_json)?;
            failed |=
                args.coverage
                    .emit(&cov, args.json.as_deref(), Some(("tests", tests_json)))?;
            summary.push_str(&format!(
                ", line coverage {:.1}%",
                cov.totals().lines.percent()
            ));
        } else if let Some(path) = &args.json {
            let mut json = Vec::new();
            report.write_json(&name, &mut json)?;
            pyz3::fs::write_atomic(path, &json)?;
        }
        Ok(Cycle {
            outcome: if failed {
                Outcome::Found
            } else {
                Outcome::Clean
            },
            summary,
            build_seconds,
        })
    }
}
