//! `pyz3 profile`: a flamegraph (`--flamegraph OUT.svg`) or the memory use (`--memory`) of a
//! program, with Python and native extension code together.
//!
//! A program that exits non-zero still gets its flamegraph or memory table, then the command
//! says so and exits 2: the figures describe a run that did not finish as intended.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use pyz3::profile::flamegraph::{self, Program, SamplerKind};
use pyz3::profile::memory::{self, MemoryOptions};
use pyz3::profile::{flamegraph_of, FlamegraphRun};

use crate::progress::Stderr;
use crate::Outcome;

/// Arguments of `pyz3 profile`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["flamegraph", "memory"])))]
pub struct Args {
    /// Sample the program's stacks (Python and native frames) and draw them as an SVG flamegraph
    /// at this path.
    #[arg(long, value_name = "OUT.svg")]
    pub flamegraph: Option<PathBuf>,
    /// Measure peak memory, allocation count and allocated bytes under memray.
    #[arg(long)]
    pub memory: bool,
    /// Samples per second.
    #[arg(
        long,
        default_value_t = 100,
        value_name = "HZ",
        requires = "flamegraph"
    )]
    pub rate: u32,
    /// The sampler: py-spy (Python and native frames) if installed, else perf (native only).
    #[arg(long, value_enum, default_value_t = SamplerArg::Auto, requires = "flamegraph")]
    pub sampler: SamplerArg,
    /// Also write the folded stacks (one stack and its sample count per line) to this path.
    #[arg(long, value_name = "PATH", requires = "flamegraph")]
    pub folded: Option<PathBuf>,
    /// Draw a differential flamegraph instead: this run against earlier folded stacks (red:
    /// more samples than before, blue: fewer).
    #[arg(long, value_name = "BEFORE.folded", requires = "flamegraph")]
    pub diff_from: Option<PathBuf>,
    /// The flamegraph's title (default: the command line).
    #[arg(long, requires = "flamegraph")]
    pub title: Option<String>,
    /// Also write the memory report as JSON (`"version": 1`) to this path.
    #[arg(long, value_name = "PATH", requires = "memory")]
    pub json: Option<PathBuf>,
    /// Keep memray's capture file at this path (for `python -m memray flamegraph PATH`).
    #[arg(long, value_name = "PATH", requires = "memory")]
    pub capture: Option<PathBuf>,
    /// The interpreter that runs the program (`pyz3 profile --python PATH -- script.py`): the
    /// command after `--` is then its arguments [default: as the command says, a `.py` file
    /// by $VIRTUAL_ENV/bin/python, else python3].
    #[arg(long, value_name = "PATH")]
    pub python: Option<std::path::PathBuf>,
    /// The program and its arguments, after `--` (`-- python script.py`).
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub command: Vec<OsString>,
}

/// `--sampler`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SamplerArg {
    /// py-spy if it is installed, else perf.
    Auto,
    /// py-spy.
    PySpy,
    /// perf (software cpu-clock event).
    Perf,
}

/// Runs `pyz3 profile`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    for path in [&args.flamegraph, &args.folded, &args.json, &args.capture]
        .into_iter()
        .flatten()
    {
        pyz3::fs::check_output_path(path)?;
    }
    // A script (`-- script.py`) runs in the configured interpreter when none is given.
    let configured = match (&args.python, args.command.first()) {
        (None, Some(first)) if first.to_string_lossy().ends_with(".py") => {
            crate::project_args::configured_python()?
        }
        _ => None,
    };
    let command = match args.python.as_ref().or(configured.as_ref()) {
        Some(python) => {
            let mut argv = vec![python.clone().into_os_string()];
            argv.extend(args.command.iter().cloned());
            argv
        }
        None => args.command.clone(),
    };
    let program = Program::resolve(&command)?;
    match &args.flamegraph {
        Some(out) => flamegraph_run(&args, &program, out),
        None => memory_run(&args, &program),
    }
}

fn flamegraph_run(args: &Args, program: &Program, out: &Path) -> anyhow::Result<Outcome> {
    let sampler = match args.sampler {
        SamplerArg::Auto => flamegraph::detect(program.bin_dir())?,
        SamplerArg::PySpy => flamegraph::find(SamplerKind::PySpy, program.bin_dir())?,
        SamplerArg::Perf => flamegraph::find(SamplerKind::Perf, program.bin_dir())?,
    };
    let before = match &args.diff_from {
        Some(p) => Some(
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
        ),
        None => None,
    };
    flamegraph_of(
        &FlamegraphRun {
            sampler: &sampler,
            program,
            rate: args.rate,
            out,
            folded: args.folded.as_deref(),
            before: before.as_deref(),
            title: args.title.as_deref(),
        },
        &mut Stderr::new("pyz3"),
    )?;
    Ok(Outcome::Clean)
}

fn memory_run(args: &Args, program: &Program) -> anyhow::Result<Outcome> {
    let python = program.python.as_deref().with_context(|| {
        format!(
            "--memory runs the program under memray, which needs a Python program (`-- python \
             script.py`, `-- python -m module`, or a script with a python `#!` line), not `{}`",
            program.display()
        )
    })?;
    eprintln!("pyz3: measuring `{}` under memray", program.display());
    let options = MemoryOptions {
        capture: args.capture.clone(),
        ..MemoryOptions::default()
    };
    let report = memory::profile(python, program.script_args(), &options)?;
    memory::write_table(&report, std::io::stdout().lock()).context("writing to stdout")?;
    if let Some(path) = &args.json {
        let mut json = Vec::new();
        memory::write_json(&report, &mut json).context("rendering the memory report")?;
        pyz3::fs::write_atomic(path, &json)?;
        eprintln!("pyz3: memory report written to {}", path.display());
    }
    if let Some(path) = &args.capture {
        eprintln!("pyz3: memray capture kept at {}", path.display());
    }
    if !report.program_succeeded() {
        let ended = match report.exit_code {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".to_string(),
        };
        bail!(
            "`{}` failed ({ended}); the figures cover the run until then",
            program.display()
        );
    }
    Ok(Outcome::Clean)
}
