//! One build-and-test cycle of `pyz3 test`: build (unless the last build still holds), run
//! pytest over the build, and collect the test report and, when asked, the coverage report.

use std::path::PathBuf;

use crate::coverage::{CoverageReport, Session};
use crate::project::{build, BuildOptions, Built, Interpreter, Project};
use crate::report::Progress;
use crate::sanitize::{run_tests, TestOptions, TestReport};

/// How the suite is built and run.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    /// How the extensions are built (sanitizers, profile, coverage instrumentation).
    pub build: BuildOptions,
    /// Arguments passed to pytest.
    pub pytest_args: Vec<String>,
    /// Run every test in this many threads at once through pytest-run-parallel (0: off).
    pub parallel_threads: u32,
}

/// A project's test suite, keeping its last build for reruns.
#[derive(Debug)]
pub struct Suite {
    /// The project.
    pub project: Project,
    /// The interpreter it is built for and tested with.
    pub python: Interpreter,
    /// How it is built and run.
    pub options: SuiteOptions,
    built: Option<Built>,
}

/// What one build-and-test cycle gave.
#[derive(Debug)]
pub struct Cycle {
    /// pytest's outcome and the sanitizers' findings.
    pub report: TestReport,
    /// The coverage of the project's native sources, when measured.
    pub coverage: Option<CoverageReport>,
    /// Seconds the build took (`None` when the last build was reused).
    pub build_seconds: Option<f64>,
}

impl Cycle {
    /// Whether the tests fail the run: a finding, a crashed test or a pytest failure.
    pub fn failed(&self) -> bool {
        self.report.failed()
    }

    /// A one-line summary: tests, findings, coverage.
    pub fn summary(&self) -> String {
        let report = &self.report;
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
        if let Some(cov) = &self.coverage {
            summary.push_str(&format!(
                ", line coverage {:.1}%",
                cov.totals().lines.percent()
            ));
        }
        summary
    }

    /// The `pyz3 test --json` document: the test report (schema in docs/sanitizers.md), with
    /// the coverage report (schema in docs/coverage.md) under `coverage` when it was measured.
    pub fn to_json(&self, module: &str) -> serde_json::Value {
        let mut doc = self.report.to_json(module);
        if let Some(cov) = &self.coverage {
            doc["coverage"] = cov.to_json();
        }
        doc
    }
}

impl Suite {
    /// A suite of `project`, run with `python`, not built yet.
    pub fn new(project: Project, python: Interpreter, options: SuiteOptions) -> Suite {
        Suite {
            project,
            python,
            options,
            built: None,
        }
    }

    /// The project's name (its directory's), as the reports name it.
    pub fn name(&self) -> String {
        self.project
            .root
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }

    /// Builds (when `rebuild`, or never built) and runs pytest; `tests` narrows the run to
    /// these test files (empty: the whole suite).
    pub fn cycle(
        &mut self,
        rebuild: bool,
        tests: &[PathBuf],
        progress: &mut dyn Progress,
    ) -> anyhow::Result<Cycle> {
        let mut build_seconds = None;
        if rebuild || self.built.is_none() {
            self.built = None;
            let built = build(&self.project, &self.python, &self.options.build, progress)?;
            crate::project::imports::require_built_modules_first(&self.python, &built)?;
            progress.note(&format!(
                "built {} module{} in {:.1} s: {}",
                built.modules.len(),
                if built.modules.len() == 1 { "" } else { "s" },
                built.seconds,
                built.names()
            ));
            build_seconds = Some(built.seconds);
            self.built = Some(built);
        }
        let built = self.built.as_ref().expect("built above");
        let session = if self.options.build.coverage {
            Some(Session::start(&self.project, built)?)
        } else {
            None
        };
        let mut pytest_args = self.options.pytest_args.clone();
        pytest_args.extend(tests.iter().map(|t| t.display().to_string()));
        let report = run_tests(
            &self.project,
            &self.python,
            built,
            &TestOptions {
                pytest_args,
                env: session.as_ref().map(Session::env).unwrap_or_default(),
                parallel_threads: self.options.parallel_threads,
                ..TestOptions::default()
            },
            progress,
        )?;
        let coverage = match session {
            Some(session) => Some(session.report()?),
            None => None,
        };
        Ok(Cycle {
            report,
            coverage,
            build_seconds,
        })
    }
}
