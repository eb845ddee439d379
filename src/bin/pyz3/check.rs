//! `pyz3 check MODULE[:FUNC]`: find bugs in an extension's functions with zero code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use pyz3::check::discover::ModuleSpec;
use pyz3::check::{CheckOptions, ModulePlan};
use pyz3::report::Progress;

use crate::coverage_args::CoverageArgs;
use crate::Outcome;

/// Arguments of `pyz3 check`.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// The module: an importable name (`pkg.mod`) or a path to its `.so`/`.py`; `:FUNC` checks one
    /// function.
    #[arg(value_name = "MODULE[:FUNC]")]
    pub target: String,
    /// Check only this function (repeatable).
    #[arg(long = "function", value_name = "F")]
    pub functions: Vec<String>,
    /// A `.pyi` stub file or a directory of stubs (PEP 561 layout) to read signatures from.
    #[arg(long, value_name = "PATH")]
    pub stubs: Option<PathBuf>,
    /// Compare F's results with a reference callable: `F=module:callable` (repeatable).
    #[arg(long = "oracle", value_name = "F=MODULE:CALLABLE")]
    pub oracles: Vec<String>,
    /// A Python expression that must be true after each call of F, over its parameters, `args`,
    /// `result` and `exception`: `F=<expression>` (repeatable).
    #[arg(long = "property", value_name = "F=EXPR")]
    pub properties: Vec<String>,
    /// F is meant to mutate its arguments (no input-mutation check).
    #[arg(long = "mutates", value_name = "F")]
    pub mutates: Vec<String>,
    /// F is meant to be nondeterministic (no nondeterminism check).
    #[arg(long = "nondeterministic", value_name = "F")]
    pub nondeterministic: Vec<String>,
    /// Cases per function [default: 200].
    #[arg(long)]
    pub cases: Option<u64>,
    /// Seed: the same seed checks the same cases [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Per-call time limit in milliseconds [default: 1000].
    #[arg(long = "timeout-ms")]
    pub timeout_ms: Option<u64>,
    /// How long importing the module may take, in milliseconds, before the run stops (exit 2)
    /// [default: 30000, or 10 × --timeout-ms if longer].
    #[arg(long = "import-timeout-ms", value_name = "MS")]
    pub import_timeout_ms: Option<u64>,
    /// Write the report as JSON (schema in docs/check.md).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Where reproducers go [default: .pyz3/repro].
    #[arg(long = "repro-dir", value_name = "DIR")]
    pub repro_dir: Option<PathBuf>,
    /// When F and its oracle both raise, they agree if the exception types are: `related` (one
    /// a subclass of the other, e.g. ValueError and json.JSONDecodeError), `exact`, or `any`.
    #[arg(long = "oracle-exceptions", value_enum)]
    pub oracle_exceptions: Option<OracleExceptions>,
    /// Relative and absolute tolerance for float comparisons with oracles.
    #[arg(long = "float-tolerance", default_value_t = 0.0)]
    pub float_tolerance: f64,
    /// Size scale of generated values: 1 tiny, 8 default, 32 large.
    #[arg(long, default_value_t = 8)]
    pub size: usize,
    /// After the ordinary cases, call each function from N threads at once (own arguments,
    /// shared arguments, shared arguments another thread changes); 0 turns it off [default:
    /// the CPUs, at least 4, on a free-threaded interpreter; 0 otherwise].
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// Share of cases (0 to 1) whose `Any` and `Callable` positions get hostile values: objects
    /// whose dunder methods clear or shrink the container being walked, remove themselves from
    /// it, raise or return a wrong type when the extension calls them [default: 0.2].
    #[arg(
        long = "hostile-share",
        value_name = "F",
        allow_negative_numbers = true
    )]
    pub hostile_share: Option<f64>,
    /// No hostile values (the same as --hostile-share 0).
    #[arg(long = "no-hostile")]
    pub no_hostile: bool,
    /// Hostile cases also put hostile subclasses where an `int`, `float`, `str`, `bytes`,
    /// `list[...]`, `dict[...]` or `tuple[...]` is expected (`PyLong_Check`, `PyList_Check`
    /// accept subclasses).
    #[arg(long = "hostile-subclasses")]
    pub hostile_subclasses: bool,
    /// Longest time spent shrinking one finding, in seconds (0: report findings as first seen)
    /// [default: 30].
    #[arg(long = "shrink-time", value_name = "SECS")]
    pub shrink_time: Option<u64>,
    /// Run the memory-growth check on every N-th case (0: off) [default: cases 0, 1, 2, 4, 8, ...].
    #[arg(long = "memory-every")]
    pub memory_every: Option<u64>,
    #[command(flatten)]
    pub coverage: CoverageArgs,
    /// The interpreter to run the module in [default: $VIRTUAL_ENV/bin/python, else python3 on
    /// PATH; or `python` under [tool.pyz3] in pyproject.toml].
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// With --coverage: the extension project to build instrumented (the module is imported
    /// from that build).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
}

/// `--oracle-exceptions`.
#[derive(clap::ValueEnum, serde::Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OracleExceptions {
    /// The same exception type.
    Exact,
    /// One type a subclass of the other (the default).
    Related,
    /// Any exception on both sides.
    Any,
}

impl OracleExceptions {
    fn name(self) -> &'static str {
        match self {
            OracleExceptions::Exact => "exact",
            OracleExceptions::Related => "related",
            OracleExceptions::Any => "any",
        }
    }
}

/// `[tool.pyz3.check]` in pyproject.toml.
#[derive(serde::Deserialize, Default, Debug)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    cases: Option<u64>,
    seed: Option<u64>,
    timeout_ms: Option<u64>,
    import_timeout_ms: Option<u64>,
    functions: Option<Vec<String>>,
    stubs: Option<PathBuf>,
    repro_dir: Option<PathBuf>,
    #[serde(default)]
    oracle: BTreeMap<String, String>,
    #[serde(default)]
    property: BTreeMap<String, String>,
    #[serde(default)]
    mutates: Vec<String>,
    #[serde(default)]
    nondeterministic: Vec<String>,
    oracle_exceptions: Option<OracleExceptions>,
    threads: Option<u32>,
    hostile_share: Option<f64>,
    no_hostile: Option<bool>,
    hostile_subclasses: Option<bool>,
}

fn file_config() -> anyhow::Result<FileConfig> {
    let Some(value) = crate::project_args::pyproject()? else {
        return Ok(FileConfig::default());
    };
    let section = value
        .get("tool")
        .and_then(|t| t.get("pyz3"))
        .and_then(|t| t.get("check"));
    match section {
        None => Ok(FileConfig::default()),
        Some(s) => s
            .clone()
            .try_into()
            .context("pyproject.toml [tool.pyz3.check]"),
    }
}

fn split_pairs(items: &[String], what: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for item in items {
        let Some((f, v)) = item.split_once('=') else {
            bail!(
                "--{what} `{item}` must be written F={}",
                what.to_uppercase()
            );
        };
        out.insert(f.trim().to_string(), v.trim().to_string());
    }
    Ok(out)
}

/// Runs `pyz3 check`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.json {
        pyz3::fs::check_output_path(path)?;
    }
    let config = file_config()?;
    let repro_dir = args
        .repro_dir
        .clone()
        .or(config.repro_dir.clone())
        .unwrap_or_else(|| PathBuf::from(".pyz3/repro"));
    pyz3::fs::check_output_dir(&repro_dir)?;
    let (module_text, func) = match args.target.rsplit_once(':') {
        Some((m, f)) if !f.contains('/') => (m.to_string(), Some(f.to_string())),
        _ => (args.target.clone(), None),
    };
    let spec = ModuleSpec::parse(&module_text)?;
    let mut interpreter = crate::project_args::interpreter(args.python.as_deref())?;
    interpreter.require_harness()?;
    foreign_module(&module_text, &interpreter)?;
    let coverage = if args.coverage.enabled() {
        let cb = instrumented_build(&args, &module_text)?;
        // The workers import the instrumented build and write their profiles for it.
        interpreter.env = cb.env;
        Some(cb.session)
    } else {
        None
    };
    let stubs = args.stubs.clone().or(config.stubs.clone());
    if let Some(s) = &stubs {
        if !s.exists() {
            bail!("stub path {} does not exist", s.display());
        }
    }
    let mut options = CheckOptions::new(interpreter.clone());
    options.timeout_ms = args.timeout_ms.or(config.timeout_ms).unwrap_or(1000);
    options.import_timeout_ms = args.import_timeout_ms.or(config.import_timeout_ms);
    if options.import_timeout_ms == Some(0) {
        bail!("--import-timeout-ms must be at least 1");
    }
    let mut wanted: Vec<String> = args.functions.clone();
    wanted.extend(func);
    if wanted.is_empty() {
        wanted = config.functions.clone().unwrap_or_default();
    }
    options.cases = args.cases.or(config.cases).unwrap_or(200);
    if options.cases == 0 {
        bail!("--cases must be at least 1");
    }
    if options.timeout_ms == 0 {
        bail!("--timeout-ms must be at least 1");
    }
    if !args.float_tolerance.is_finite() || args.float_tolerance < 0.0 {
        bail!(
            "--float-tolerance must be a finite number, 0 or more (not {})",
            args.float_tolerance
        );
    }
    // Named explicitly, a callable is checked even when its name starts with `_`.
    let mut plan = ModulePlan::discover(spec, wanted, stubs.as_deref(), &options)?;
    plan.oracles = config.oracle.clone();
    plan.oracles.extend(split_pairs(&args.oracles, "oracle")?);
    plan.properties = config.property.clone();
    plan.properties
        .extend(split_pairs(&args.properties, "property")?);
    plan.mutates = args
        .mutates
        .iter()
        .chain(&config.mutates)
        .cloned()
        .collect();
    plan.nondeterministic = args
        .nondeterministic
        .iter()
        .chain(&config.nondeterministic)
        .cloned()
        .collect();
    plan.float_tolerance = args.float_tolerance;
    options.oracle_exceptions = args
        .oracle_exceptions
        .or(config.oracle_exceptions)
        .unwrap_or(OracleExceptions::Related)
        .name()
        .into();
    if let Some(n) = args.threads.or(config.threads) {
        if n == 1 {
            bail!("--threads must be 0 (off) or at least 2 (not 1)");
        }
        if n > 256 {
            bail!("--threads must be at most 256 (not {n})");
        }
        options.threads = n;
    }
    let share = args.hostile_share.or(config.hostile_share);
    if let Some(f) = share {
        if !(0.0..=1.0).contains(&f) {
            bail!("--hostile-share must be a number from 0 to 1 (not {f})");
        }
        options.hostile_per_mille = (f * 1000.0).round() as u32;
    }
    options.hostile_subclasses = args.hostile_subclasses || config.hostile_subclasses == Some(true);
    if args.no_hostile || (config.no_hostile == Some(true) && args.hostile_share.is_none()) {
        options.hostile_per_mille = 0;
    }
    if let Some(secs) = args.shrink_time {
        options.max_shrink_time = std::time::Duration::from_secs(secs);
    }
    options.seed = args.seed.or(config.seed).unwrap_or(0);
    options.size = args.size;
    options.memory_every = args.memory_every.unwrap_or(u64::MAX);
    options.repro_dir = Some(repro_dir);
    plan.validate(&options)?;
    if let Some(stub) = &plan.found.stub {
        eprintln!(
            "pyz3: signatures from {}",
            pyz3::report::printable(&stub.display().to_string())
        );
    }
    let run = plan.run(&options, &mut Cases::new());
    let report = plan.report(&run)?;
    let report = report
        .ran_in(&interpreter.executable, interpreter.describe())
        .with_threads(options.threads);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    report.write_text(&mut out).context("writing to stdout")?;
    if let Some(path) = &args.json {
        let mut json = Vec::new();
        report
            .write_json(&mut json)
            .context("rendering the report")?;
        pyz3::fs::write_atomic(path, &json)?;
    }
    let mut below = false;
    if let Some(session) = coverage {
        below = args.coverage.emit(&session.report()?)?;
    }
    if report.has_findings() || below {
        return Ok(Outcome::Found);
    }
    match run.failed.into_iter().next() {
        Some((name, e)) => Err(anyhow::anyhow!("{name}: {e}")),
        None => Ok(Outcome::Clean),
    }
}

/// Builds `--project` with coverage instrumentation; its environment points the workers at the
/// build and the profile directory.
fn instrumented_build(args: &Args, module: &str) -> anyhow::Result<pyz3::suite::CoverageBuild> {
    args.coverage.validate()?;
    if module.ends_with(".so") || module.ends_with(".py") || module.contains('/') {
        bail!(
            "--coverage builds the module from --project and imports it by name: give its \
             import name instead of the path {module}"
        );
    }
    let cb = crate::coverage_args::coverage_build(&args.project, args.python.as_deref())?;
    let built = &cb.built;
    let top = module.split('.').next().unwrap_or(module);
    if !built
        .modules
        .iter()
        .any(|m| m.name == module || m.name.split('.').next() == Some(top))
    {
        bail!(
            "{} builds {}, not `{module}`",
            args.project.display(),
            built.names()
        );
    }
    eprintln!(
        "pyz3: checking the coverage build in {}",
        built.lib_dir.display()
    );
    Ok(cb)
}

/// A module file built for another interpreter (its `EXT_SUFFIX` names another ABI): say which.
fn foreign_module(module: &str, interpreter: &pyz3::project::Interpreter) -> anyhow::Result<()> {
    let Some(file) = std::path::Path::new(module)
        .file_name()
        .and_then(|f| f.to_str())
    else {
        return Ok(());
    };
    let Some(rest) = file.split_once('.').map(|(_, r)| r) else {
        return Ok(());
    };
    // `name.cpython-313t-x86_64-linux-gnu.so`: the tag between the name and `.so`.
    let Some(tag) = rest
        .strip_suffix(".so")
        .filter(|t| t.starts_with("cpython-"))
    else {
        return Ok(());
    };
    let own = interpreter.ext_suffix.trim_start_matches('.');
    if own.strip_suffix(".so") != Some(tag) {
        bail!(
            "{module} was built for {tag}, not for {} at {} ({})",
            own.strip_suffix(".so").unwrap_or(own),
            interpreter.executable.display(),
            interpreter.describe()
        );
    }
    Ok(())
}

/// How `pyz3 check` shows its progress: on a terminal, a bar per function redrawn in place;
/// otherwise one `pyz3: checking f (200 cases)` line per function. Notes, warnings and errors
/// are `pyz3: ` lines either way.
struct Cases {
    lines: crate::progress::Stderr,
    tty: bool,
    step: Option<(String, u64)>,
}

impl Cases {
    fn new() -> Cases {
        Cases {
            lines: crate::progress::Stderr::new("pyz3"),
            tty: std::io::stderr().is_terminal(),
            step: None,
        }
    }
}

impl Progress for Cases {
    fn start(&mut self, what: &str, total: Option<u64>) {
        if self.tty {
            self.step = Some((what.to_string(), total.unwrap_or(0)));
            self.advance(0);
        } else {
            self.lines.note(what);
        }
    }

    fn advance(&mut self, done: u64) {
        if let Some((what, total)) = &self.step {
            let filled = (done * 30 / (*total).max(1)).min(30) as usize;
            eprint!(
                "\r{what} [{}{}] {done}/{total}",
                "#".repeat(filled),
                ".".repeat(30 - filled)
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn finish(&mut self) {
        if self.step.take().is_some() {
            eprintln!();
        }
    }

    fn note(&mut self, text: &str) {
        self.lines.note(text);
    }

    fn warn(&mut self, text: &str) {
        self.lines.warn(text);
    }

    fn error(&mut self, text: &str) {
        self.lines.error(text);
    }
}
