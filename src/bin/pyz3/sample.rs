//! `pyz3 sample TYPE`: generated examples of a type expression, one per line.

use std::io::Write;

use anyhow::Context;
use pyz3::strategy::{Registry, Size};

use crate::Outcome;

/// Arguments of `pyz3 sample`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A Python type expression, e.g. 'list[dict[str, int]]' or 'numpy.typing.NDArray[numpy.int64]'.
    #[arg(value_name = "TYPE")]
    pub type_expr: String,
    /// Number of examples.
    #[arg(short = 'n', long = "count", default_value_t = 10)]
    pub n: usize,
    /// Random seed: the same seed prints the same examples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Size scale: 1 tiny, 8 default, 32 large (container lengths, nesting, array sizes).
    #[arg(long, default_value_t = 8)]
    pub size: usize,
    /// Print the import lines the examples need before them.
    #[arg(long)]
    pub imports: bool,
    /// Print only the count, elapsed time and examples per second (generation plus conversion to
    /// live Python objects in the interpreter), and how big the ints drawn are, not the examples.
    #[arg(long)]
    pub stats: bool,
    /// With --stats: the interpreter the objects are built in [default: $VIRTUAL_ENV/bin/python,
    /// else python3 on PATH; or `python` under [tool.pyz3] in pyproject.toml].
    #[arg(long, value_name = "PATH", requires = "stats")]
    pub python: Option<std::path::PathBuf>,
}

/// Runs `pyz3 sample`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let size = if args.size == 8 {
        Size::default()
    } else {
        Size::scaled(args.size)
    };
    let ts = Registry::new(size).resolve(&args.type_expr)?;
    for w in &ts.warnings {
        eprintln!("pyz3: warning: {w}");
    }
    if args.stats {
        let interpreter = crate::project_args::interpreter(args.python.as_deref())?;
        interpreter.require_harness()?;
        let stats = pyz3::sample::measure(&interpreter, &ts.strategy, args.n, args.seed)?;
        println!("count: {}", stats.count);
        println!("elapsed: {:.6} s", stats.elapsed.as_secs_f64());
        println!("examples/s: {:.1}", stats.per_second());
        let m = pyz3::sample::IntMagnitudes::of(&ts.strategy, args.n, args.seed);
        if m.total() > 0 {
            let mut labels: Vec<String> = pyz3::sample::MAGNITUDE_BITS
                .iter()
                .map(|b| format!("<2^{b}"))
                .collect();
            labels.push(format!(">=2^{}", pyz3::sample::MAGNITUDE_BITS[4]));
            let shares: Vec<String> = labels
                .iter()
                .zip(m.buckets)
                .map(|(l, c)| format!("{l} {:.1}%", 100.0 * c as f64 / m.total() as f64))
                .collect();
            println!("ints: {} ({})", m.total(), shares.join(", "));
        }
        return Ok(Outcome::Clean);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // One example at a time, so memory holds one value however many are asked for. The
    // imports come first: a first pass (the same seed draws the same values) collects them.
    if args.imports {
        let mut renderer = pyz3::value::Renderer::new();
        for v in pyz3::sample::sample(&ts.strategy, args.n, args.seed) {
            renderer.render(&v);
        }
        for m in renderer.into_imports() {
            writeln!(out, "import {m}").context("writing to stdout")?;
        }
    }
    let mut renderer = pyz3::value::Renderer::new();
    for v in pyz3::sample::sample(&ts.strategy, args.n, args.seed) {
        writeln!(out, "{}", renderer.render(&v)).context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(Outcome::Clean)
}
