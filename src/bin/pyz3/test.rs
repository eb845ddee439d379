//! `pyz3 test`: build the project's extensions (optionally with sanitizers) and run its pytest
//! suite, turning sanitizer reports into findings.

use std::path::PathBuf;

use anyhow::Context;
use pyz3::sanitize::{run_tests, TestOptions};

use crate::project_args::ProjectArgs;
use crate::Outcome;

/// Arguments of `pyz3 test`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit codes: 0 tests passed and no sanitizer report; 1 a report, a \
crashed test or a pytest failure; 2 a usage or environment problem (no nightly toolchain, a \
runtime missing, a crate that does not compile).\n\nReports are kept under \
.pyz3/sanitize/<sanitizers>/run/. See docs/sanitizers.md."
)]
pub struct Args {
    #[command(flatten)]
    project: ProjectArgs,
    /// Write the report as JSON (the harness's format, with `sanitizer` findings).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Arguments passed to pytest (after `--`).
    #[arg(last = true, value_name = "PYTEST-ARGS")]
    pytest_args: Vec<String>,
}

/// Runs `pyz3 test`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let (project, python, built) = args.project.build()?;
    eprintln!(
        "pyz3: built {} module{} in {:.1} s: {}",
        built.modules.len(),
        if built.modules.len() == 1 { "" } else { "s" },
        built.seconds,
        built
            .modules
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let report = run_tests(
        &project,
        &python,
        &built,
        &TestOptions {
            pytest_args: args.pytest_args,
            ..TestOptions::default()
        },
    )?;
    report.write_text(&project.root, &mut std::io::stdout().lock())?;
    if let Some(path) = &args.json {
        let name = project
            .root
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let mut file = std::fs::File::create(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        report.write_json(&name, &mut file)?;
    }
    Ok(if report.failed() {
        Outcome::Found
    } else {
        Outcome::Clean
    })
}
