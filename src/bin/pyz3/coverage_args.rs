//! Options shared by the subcommands that measure native coverage (`test`, `check`, `fuzz`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use pyz3::coverage::CoverageReport;
use pyz3::suite::CoverageBuild;

/// What to write when coverage is measured.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct CoverageArgs {
    /// Measure line, region and function coverage of the extensions' own native sources
    /// (Rust: -Cinstrument-coverage; C: clang source-based coverage, or gcov without clang).
    #[arg(long)]
    pub coverage: bool,
    /// Write a browsable HTML report with per-line counts into DIR (implies --coverage).
    #[arg(long, value_name = "DIR")]
    pub html: Option<PathBuf>,
    /// Write an lcov tracefile for coverage services (implies --coverage).
    #[arg(long, value_name = "PATH")]
    pub lcov: Option<PathBuf>,
    /// Write the coverage report as JSON (implies --coverage; schema in docs/coverage.md).
    #[arg(long = "coverage-json", id = "coverage_json", value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Exit 1 when total line coverage is below PCT percent (implies --coverage).
    #[arg(long = "fail-under", value_name = "PCT")]
    pub fail_under: Option<f64>,
}

impl CoverageArgs {
    /// Whether coverage is measured at all.
    pub fn enabled(&self) -> bool {
        self.coverage
            || self.html.is_some()
            || self.lcov.is_some()
            || self.json.is_some()
            || self.fail_under.is_some()
    }

    /// Checks the options, and that the files asked for can be written, before any work is
    /// done.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(p) = self.fail_under {
            if !(0.0..=100.0).contains(&p) {
                anyhow::bail!("--fail-under {p} is not a percentage between 0 and 100");
            }
        }
        for path in self.lcov.iter().chain(&self.json) {
            pyz3::fs::check_output_path(path)?;
        }
        Ok(())
    }

    /// Prints the table and writes the files asked for. Returns whether the line coverage is
    /// below `--fail-under`.
    pub fn emit(&self, report: &CoverageReport) -> anyhow::Result<bool> {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        report.write_table(&mut std::io::stdout().lock(), color)?;
        if let Some(dir) = &self.html {
            let index = report.write_html(dir)?;
            eprintln!("pyz3: HTML coverage report: {}", index.display());
        }
        if let Some(path) = &self.lcov {
            let mut buf = Vec::new();
            report.write_lcov(&mut buf)?;
            pyz3::fs::write_atomic(path, &buf)?;
            eprintln!("pyz3: lcov tracefile: {}", path.display());
        }
        if let Some(path) = &self.json {
            let mut text = serde_json::to_vec_pretty(&report.to_json())?;
            text.push(b'\n');
            pyz3::fs::write_atomic(path, &text)?;
        }
        let lines = report.totals().lines.percent();
        match self.fail_under {
            Some(min) if lines < min => {
                eprintln!("pyz3: line coverage {lines:.1}% is below --fail-under {min}%");
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Builds the project at `dir` with coverage instrumentation for `python` (by pyz3's rule when
/// `None`) and starts a measurement. Processes that run the build get its environment
/// explicitly ([`CoverageBuild::env`], also the interpreter's own).
pub fn coverage_build(dir: &Path, python: Option<&Path>) -> anyhow::Result<CoverageBuild> {
    pyz3::suite::coverage_build(
        dir,
        crate::project_args::interpreter(python)?,
        &mut crate::progress::Stderr::new("pyz3"),
    )
}
