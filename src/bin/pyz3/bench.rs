//! `pyz3 bench`: run the project's Python benchmarks against its release build, compare with a
//! baseline or a git ref, print a regression table.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::bail;
use pyz3::bench::baseline::Mode;
use pyz3::bench::measure::WallPlan;
use pyz3::bench::report;
use pyz3::bench::session::{self, BenchOptions};
use pyz3::project::Project;

use crate::progress::Stderr;
use crate::Outcome;

/// Output formats of the table.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns, coloured verdicts (unless NO_COLOR is set or stdout is not a terminal).
    Terminal,
    /// A Markdown table for PR comments and CI step summaries.
    Markdown,
    /// JSON, schema version 1.
    Json,
}

/// Arguments of `pyz3 bench`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Bench files: benches/bench_*.py (or [tool.pyz3.bench] paths in \
pyproject.toml) with bench_* functions; `f.params = [...]` and `f.setup = callable` are optional. \
Baselines live in .pyz3/bench/<NAME>.json.\n\nExit codes: 0 no regression, 1 a benchmark \
regressed, 2 an error (a corrupt or unknown baseline, a ref that does not exist, a bench \
function that raises). See docs/benchmarks.md."
)]
pub struct Args {
    /// Run only benchmarks whose name contains this.
    filter: Option<String>,
    /// Count instructions (and estimate cycles) under callgrind instead of timing.
    #[arg(long)]
    instructions: bool,
    /// Save the results as a baseline under this name.
    #[arg(long, value_name = "NAME")]
    save_baseline: Option<String>,
    /// Compare with a saved baseline.
    #[arg(long, value_name = "NAME", conflicts_with = "compare")]
    baseline: Option<String>,
    /// Compare with a git ref: its saved baseline if there is one, else it is built in a
    /// temporary worktree and measured interleaved with the current tree.
    #[arg(long, value_name = "REF")]
    compare: Option<String>,
    /// Changes smaller than this are `unchanged` (`5%`, or `0.05`).
    #[arg(long, default_value = "5%")]
    threshold: String,
    /// Table format.
    #[arg(long, value_enum, default_value = "terminal")]
    format: Format,
    /// Also write the table (in --format) to this file.
    #[arg(long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Processes per side (wall mode).
    #[arg(long, default_value_t = 6)]
    processes: usize,
    /// Samples per benchmark per process (wall mode).
    #[arg(long, default_value_t = 1000)]
    samples: usize,
    /// Also write a flamegraph SVG per benchmark into this directory (with --compare, a
    /// differential one too).
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = ".pyz3/bench/flamegraphs")]
    flamegraph: Option<PathBuf>,
    /// Also measure allocations per call (Python and native) and growth across calls.
    #[arg(long)]
    memory: bool,
    /// Import criterion's results from this directory (e.g. target/criterion, after `cargo
    /// bench`) into the baseline store under --save-baseline NAME, instead of running anything.
    #[arg(long, value_name = "DIR", requires = "save_baseline")]
    import_criterion: Option<PathBuf>,
    /// Longest one step of a benchmark may run, in ms: importing its file, its setup and
    /// warm-up call, one calibration, one sample [default: `timeout-ms` under
    /// [tool.pyz3.bench], else 60000]. A step past it is stopped, with what it started.
    #[arg(long = "timeout-ms", value_name = "MS")]
    timeout_ms: Option<u64>,
    /// The Python to build for and run with (default: the active virtualenv's, else python3).
    #[arg(long, value_name = "PATH")]
    python: Option<PathBuf>,
    /// The project root (default: the current directory).
    #[arg(long, value_name = "DIR", default_value = ".")]
    project: PathBuf,
}

fn threshold(s: &str) -> anyhow::Result<f64> {
    let t = s.trim();
    let v: f64 = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t
            .parse::<f64>()
            .map(|v| if v >= 1.0 { v / 100.0 } else { v }),
    }
    .map_err(|_| anyhow::anyhow!("--threshold must be a percentage like 5% (got `{s}`)"))?;
    if !(0.0..10.0).contains(&v) {
        bail!("--threshold must be between 0% and 1000% (got `{s}`)");
    }
    Ok(v)
}

/// Runs `pyz3 bench`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if args.processes == 0 || args.samples == 0 {
        bail!("--processes and --samples must be at least 1");
    }
    if let Some(path) = &args.output {
        pyz3::fs::check_output_path(path)?;
    }
    let opts = BenchOptions {
        filter: args.filter.clone(),
        mode: if args.instructions {
            Mode::Instructions
        } else {
            Mode::Wall
        },
        plan: WallPlan {
            processes: args.processes,
            samples: args.samples,
            ..WallPlan::default()
        },
        threshold: threshold(&args.threshold)?,
        save_baseline: args.save_baseline.clone(),
        baseline: args.baseline.clone(),
        compare: args.compare.clone(),
        timeout_ms: args.timeout_ms,
    };
    if args.timeout_ms == Some(0) {
        bail!("--timeout-ms must be at least 1");
    }
    if let Some(dir) = &args.import_criterion {
        return import_criterion(&args, dir);
    }
    let project = Project::discover(&args.project)?;
    let python = crate::project_args::interpreter(args.python.as_deref())?;
    let run = session::run(&project, &python, &opts, &mut Stderr::new("pyz3 bench"))?;

    let mut text = Vec::new();
    match (&run.comparison, args.format) {
        (Some(c), Format::Terminal) => {
            let color = std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
            report::write_terminal(c, color, &mut text)?
        }
        (Some(c), Format::Markdown) => report::write_markdown(c, &mut text)?,
        (Some(c), Format::Json) => report::write_json(c, &mut text)?,
        (None, Format::Json) => {
            serde_json::to_writer_pretty(
                &mut text,
                &serde_json::json!({"version": 1, "mode": opts.mode.name(), "results": run.results}),
            )?;
            text.push(b'\n');
        }
        (None, _) => report::write_results(opts.mode, &run.results, &mut text)?,
    }
    std::io::stdout().write_all(&text)?;
    if let Some(path) = &args.output {
        pyz3::fs::write_atomic(path, &text)?;
    }
    if let Some(path) = &run.saved {
        eprintln!("pyz3 bench: saved baseline {}", path.display());
    }
    if let Some(dir) = &args.flamegraph {
        crate::bench_extras::flamegraphs(&run, dir)?;
    }
    if args.memory {
        crate::bench_extras::memory(&run)?;
    }
    Ok(match &run.comparison {
        Some(c) if c.regressed() => Outcome::Found,
        _ => Outcome::Clean,
    })
}

fn import_criterion(args: &Args, dir: &std::path::Path) -> anyhow::Result<Outcome> {
    use pyz3::bench::baseline::{import_criterion, Baseline, Machine, PythonInfo, Store, VERSION};
    let benchmarks = import_criterion(dir)?;
    let root = args
        .project
        .canonicalize()
        .unwrap_or_else(|_| args.project.clone());
    let name = args.save_baseline.clone().expect("required by clap");
    let store = Store::new(&root.join(".pyz3"));
    let path = store.save(&Baseline {
        version: VERSION,
        name,
        mode: Mode::Wall,
        created: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        commit: pyz3::bench::git::head(&root),
        dirty: pyz3::bench::git::dirty(&root),
        machine: Machine::current(),
        python: PythonInfo::default(),
        benchmarks,
    })?;
    eprintln!(
        "pyz3 bench: imported criterion results into {}",
        path.display()
    );
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    #[test]
    fn thresholds() {
        assert_eq!(super::threshold("5%").unwrap(), 0.05);
        assert_eq!(super::threshold("0.02").unwrap(), 0.02);
        assert_eq!(super::threshold("10").unwrap(), 0.1);
        assert!(super::threshold("x").is_err());
    }
}
