//! `pyz3 doctor`: what this machine has for each pyz3 feature, and what to install for the rest.

use std::path::PathBuf;

use anyhow::{bail, Context};
use pyz3::doctor;

use crate::Outcome;

/// Arguments of `pyz3 doctor`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Python interpreter to check [default: $VIRTUAL_ENV/bin/python, else python3 on PATH].
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Also write the checks as JSON to PATH (`-`: to stdout, instead of the table).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

/// Runs `pyz3 doctor`: exit 0 when everything is there, 1 when something is missing.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if let Some(path) = args.json.as_ref().filter(|p| p.as_os_str() != "-") {
        pyz3::fs::check_output_path(path)?;
    }
    let explicit = args.python.is_some();
    let python = match args.python {
        Some(p) => explicit_python(p)?,
        None => match crate::project_args::configured_python()? {
            Some(p) => explicit_python(p)?,
            None => doctor::default_python(),
        },
    };
    let checks = doctor::run_checks(&python);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match &args.json {
        Some(path) if path.as_os_str() == "-" => {
            doctor::write_json(&checks, &mut out).context("writing to stdout")?;
        }
        json => {
            doctor::write_table(&checks, &mut out).context("writing to stdout")?;
            if let Some(path) = json {
                let mut json = Vec::new();
                doctor::write_json(&checks, &mut json).context("rendering the checks")?;
                pyz3::fs::write_atomic(path, &json)?;
            }
        }
    }
    // A `--python` that is not an interpreter is a usage error, shown in the table too.
    if explicit
        && checks
            .iter()
            .any(|c| c.name == "python" && c.found.contains(doctor::NOT_AN_INTERPRETER))
    {
        bail!(
            "--python {} {} (see the python row)",
            python.display(),
            doctor::NOT_AN_INTERPRETER
        );
    }
    Ok(if doctor::all_ok(&checks) {
        Outcome::Clean
    } else {
        Outcome::Found
    })
}

/// A `--python` that names no interpreter is a usage error, not a missing tool.
fn explicit_python(p: PathBuf) -> anyhow::Result<PathBuf> {
    if p.components().count() > 1 {
        if !p.is_file() {
            bail!("--python {}: no such file", p.display());
        }
        return Ok(p);
    }
    match p.to_str().and_then(pyz3::toolchain::find_on_path) {
        Some(_) => Ok(p),
        None => bail!("--python {}: not found on PATH", p.display()),
    }
}
