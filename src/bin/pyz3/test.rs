//! `pyz3 test`: build the project's extensions (optionally with sanitizers or coverage) and run
//! its pytest suite, turning sanitizer reports into findings; `--watch` keeps doing it on change.

use std::path::PathBuf;

use pyz3::suite::{Suite, SuiteOptions};

use crate::coverage_args::CoverageArgs;
use crate::progress::Stderr;
use crate::project_args::ProjectArgs;
use crate::watch::Shown;
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
    /// Write the report as JSON: the harness's format with `sanitizer` findings, and with
    /// --coverage the coverage report under `coverage`.
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
    let options = SuiteOptions {
        build: args.project.build_options(args.coverage.enabled())?,
        pytest_args: args.pytest_args.clone(),
        parallel_threads: args.parallel_threads.unwrap_or(0),
    };
    let mut suite = Suite::new(project, python, options);
    let cycle =
        |suite: &mut Suite, rebuild: bool, tests: &[PathBuf]| cycle(&args, suite, rebuild, tests);
    if args.watch {
        return crate::watch::run(&mut suite, cycle);
    }
    Ok(if cycle(&mut suite, true, &[])?.clean {
        Outcome::Clean
    } else {
        Outcome::Found
    })
}

/// One build-and-test cycle, shown: the test summary, the coverage table and files, the JSON
/// report.
fn cycle(
    args: &Args,
    suite: &mut Suite,
    rebuild: bool,
    tests: &[PathBuf],
) -> anyhow::Result<Shown> {
    let cycle = suite.cycle(rebuild, tests, &mut Stderr::new("pyz3"))?;
    cycle
        .report
        .write_text(&suite.project.root, &mut std::io::stdout().lock())?;
    let mut failed = cycle.failed();
    if let Some(cov) = &cycle.coverage {
        failed |= args.coverage.emit(cov)?;
    }
    if let Some(path) = &args.json {
        let mut json = serde_json::to_vec_pretty(&cycle.to_json(&suite.name()))?;
        json.push(b'\n');
        pyz3::fs::write_atomic(path, &json)?;
    }
    Ok(Shown {
        clean: !failed,
        summary: cycle.summary(),
        build_seconds: cycle.build_seconds,
    })
}
