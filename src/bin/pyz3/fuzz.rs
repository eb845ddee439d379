//! `pyz3 fuzz MODULE:FUNC`: zero-code libFuzzer fuzzing of an extension function, plus
//! `pyz3 fuzz repro` (artifact → Python source and reproducer), `pyz3 fuzz cmin` and
//! `pyz3 fuzz coverage`. The work is in [`pyz3::fuzz`]; this file is the options and the
//! output.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use pyz3::fuzz::artifacts::{self, ReproOptions};
use pyz3::fuzz::build::{build_generic, sanitizer};
use pyz3::fuzz::campaign::{Campaign, Limits};
use pyz3::fuzz::run::RunResult;
use pyz3::fuzz::spec::generic_env;
use pyz3::fuzz::{cmin, locate, replay};
use pyz3::report::Progress;
use pyz3::target::Target;

use crate::coverage_args::CoverageArgs;
use crate::fuzz_findings::{print_finding, show_tool_output, Terminal};
use crate::Outcome;
use pyz3::suite::CoverageBuild;

/// Arguments of `pyz3 fuzz`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Sub>,
    /// The function to fuzz: an importable module (or a path to its `.so`) and a function name.
    #[arg(value_name = "MODULE:FUNC", required = true)]
    pub target: Option<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options of a fuzzing run.
#[derive(clap::Args, Debug, Default)]
pub struct RunArgs {
    /// A `.pyi` stub file or a directory of stubs to read the signature from.
    #[arg(long, value_name = "PATH")]
    pub stubs: Option<PathBuf>,
    /// The interpreter the target embeds and imports the module with [default:
    /// $VIRTUAL_ENV/bin/python, else python3 on PATH; or `python` under [tool.pyz3]].
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Stop after this many seconds (0: run until a finding or Ctrl-C).
    #[arg(long = "max-time", value_name = "S", default_value_t = 60)]
    pub max_time: u64,
    /// Fuzzing processes (libFuzzer `-fork`).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub jobs: u32,
    /// Sanitizer the target is built with: `address` or `none` (faster, finds less).
    #[arg(long, value_name = "S", default_value = "address")]
    pub sanitize: String,
    /// A call running longer than this many seconds is a `timeout` finding.
    #[arg(long = "timeout", value_name = "S", default_value_t = 10)]
    pub timeout: u64,
    /// A Python expression that must hold after each call (names: the parameters, `args`,
    /// `result`, `exception`).
    #[arg(long, value_name = "EXPR")]
    pub property: Option<String>,
    /// Inputs never select hostile values (objects whose dunder methods mutate the arguments,
    /// raise or re-enter; callbacks that do so for `Callable` parameters). By default a few
    /// tag bytes of any-typed positions pick them. Give the same to `pyz3 fuzz repro`.
    #[arg(long = "no-hostile")]
    pub no_hostile: bool,
    /// Corpus directory (grows as the fuzzer finds new coverage) [default:
    /// .pyz3/fuzz/corpus/MODULE.FUNC].
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,
    /// Extra read-only seed directories (repeatable); `corpora/FUNC` is used when it exists.
    #[arg(long = "seeds", value_name = "DIR")]
    pub seeds: Vec<PathBuf>,
    /// Where reproducers go [default: .pyz3/repro].
    #[arg(long = "repro-dir", value_name = "DIR")]
    pub repro_dir: Option<PathBuf>,
    /// Extra libFuzzer flags, after `--` (e.g. `-- -dict=words.txt -max_len=256`).
    #[arg(last = true, value_name = "LIBFUZZER-ARGS")]
    pub libfuzzer: Vec<String>,
    /// After the run, report the native coverage the corpus reaches (see `pyz3 fuzz coverage`).
    #[command(flatten)]
    pub coverage: CoverageArgs,
    /// With --coverage: the extension project to build instrumented.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub project: PathBuf,
}

/// Subcommands of `pyz3 fuzz`.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Decode a saved input (artifact) into Python source and write a reproducer.
    Repro {
        /// The artifact (e.g. fuzz/artifacts/parse_string/crash-...).
        artifact: PathBuf,
        /// The target it belongs to: a `cargo fuzz` target name or MODULE:FUNC.
        #[arg(long, value_name = "T")]
        target: String,
        #[command(flatten)]
        dirs: FuzzDirs,
        /// Where the reproducer goes [default: .pyz3/repro].
        #[arg(long = "repro-dir", value_name = "DIR")]
        repro_dir: Option<PathBuf>,
        /// The input was fuzzed with `--no-hostile` (it decodes without hostile values).
        #[arg(long = "no-hostile")]
        no_hostile: bool,
    },
    /// Minimize a corpus: keep the smallest set of inputs with the same coverage. The original
    /// directory is kept beside it as CORPUS.orig-<time>.
    Cmin {
        /// A `cargo fuzz` target name or MODULE:FUNC.
        target: String,
        /// The corpus [default: fuzz/corpus/T, or .pyz3/fuzz/corpus/MODULE.FUNC].
        corpus: Option<PathBuf>,
        #[command(flatten)]
        dirs: FuzzDirs,
        /// Sanitizer of the build to use for a MODULE:FUNC target.
        #[arg(long, value_name = "S", default_value = "address")]
        sanitize: String,
    },
    /// Report the native coverage a corpus reaches: each input is decoded and replayed against
    /// a coverage build of the extension project (--project), so the table and the HTML report
    /// show the branches the fuzzer never hit.
    Coverage {
        /// A `cargo fuzz` target name or MODULE:FUNC.
        target: String,
        /// Corpus directories [default: fuzz/corpus/T, or .pyz3/fuzz/corpus/MODULE.FUNC].
        corpus: Vec<PathBuf>,
        #[command(flatten)]
        dirs: FuzzDirs,
        /// The extension project to build instrumented.
        #[arg(long, value_name = "DIR", default_value = ".")]
        project: PathBuf,
        #[command(flatten)]
        coverage: CoverageArgs,
    },
    /// Write the ClusterFuzzLite files of the project, to fuzz MODULE:FUNC in CI.
    ///
    /// Writes .clusterfuzzlite/project.yaml, .clusterfuzzlite/Dockerfile,
    /// .clusterfuzzlite/build.sh and the GitHub Actions workflows
    /// .github/workflows/cflite_pr.yml (each pull request) and cflite_batch.yml (every 6 hours).
    /// build.sh builds each target with `pyz3 fuzz export`: the same binary `pyz3 fuzz` runs.
    /// Every path is checked before any is written: an existing file is kept unless --force,
    /// and a symbolic link on the way is refused.
    #[command(name = "init-ci")]
    InitCi(crate::fuzz_ci::InitCiArgs),
    /// Build the fuzz target of MODULE:FUNC into a directory as a standalone libFuzzer target.
    ///
    /// Writes NAME (a script that runs the binary `pyz3 fuzz` runs, with its environment),
    /// NAME.pkg (the binary), NAME.pyz3.json (the target), NAME.pylib/ (the module's files),
    /// NAME.options and NAME_seed_corpus.zip, where NAME is MODULE_FUNC, then exits. This is
    /// what the build.sh of `pyz3 fuzz init-ci` puts in ClusterFuzzLite's $OUT.
    Export(crate::fuzz_ci::ExportArgs),
}

/// Runs `pyz3 fuzz`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let p = &mut Terminal::default();
    let result = match args.command {
        Some(Sub::Repro {
            artifact,
            target,
            dirs,
            repro_dir,
            no_hostile,
        }) => repro_cmd(&artifact, &target, &dirs, repro_dir, no_hostile, p),
        Some(Sub::Cmin {
            target,
            corpus,
            dirs,
            sanitize,
        }) => cmin_cmd(&target, corpus, &dirs, &sanitize, p),
        Some(Sub::Coverage {
            target,
            corpus,
            dirs,
            project,
            coverage,
        }) => {
            coverage.validate()?;
            let cb = crate::coverage_args::coverage_build(&project, None)?;
            let spec = if locate::is_module_func(&target) {
                // The module is described from the coverage build.
                let mut interpreter = fuzz_interpreter(None)?;
                interpreter.env = cb.env.clone();
                locate::resolve(&target, dirs.stubs.as_deref(), None, &interpreter, p)?.target
            } else {
                locate_target(&target, &dirs, "address", false, p)?.1
            };
            replay_corpus(&cb, &spec, &target, corpus, &dirs, &coverage, p)
        }
        Some(Sub::InitCi(a)) => crate::fuzz_ci::init_ci(a),
        Some(Sub::Export(a)) => crate::fuzz_ci::export(a, p),
        None => fuzz_cmd(&args.target.unwrap_or_default(), args.run, p),
    };
    result.inspect_err(show_tool_output)
}

/// Where a target named on the command line is found: a cargo-fuzz crate and its built
/// binaries, or stubs for a MODULE:FUNC target.
#[derive(clap::Args, Debug)]
pub struct FuzzDirs {
    /// The cargo-fuzz crate directory.
    #[arg(long = "fuzz-dir", value_name = "DIR", default_value = "fuzz")]
    fuzz_dir: PathBuf,
    /// Where `cargo fuzz build --target-dir` put the binaries [default: FUZZ_DIR/target].
    #[arg(long = "target-dir", value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Stub path for a MODULE:FUNC target.
    #[arg(long, value_name = "PATH")]
    stubs: Option<PathBuf>,
}

/// The interpreter a fuzz target embeds: one pyo3 can embed (free-threaded builds from 3.14).
pub fn fuzz_interpreter(explicit: Option<&Path>) -> anyhow::Result<pyz3::project::Interpreter> {
    let interpreter = crate::project_args::interpreter(explicit)?;
    interpreter.require_harness()?;
    locate::check_interpreter(&interpreter)?;
    Ok(interpreter)
}

fn fuzz_cmd(text: &str, a: RunArgs, p: &mut Terminal) -> anyhow::Result<Outcome> {
    let sanitize = sanitizer(&a.sanitize)?;
    a.coverage.validate()?;
    // With --coverage the module is described (and, when not linked in, imported by the
    // fuzzer) from the coverage build.
    let coverage = if a.coverage.enabled() {
        Some(crate::coverage_args::coverage_build(
            &a.project,
            a.python.as_deref(),
        )?)
    } else {
        None
    };
    let mut interpreter = fuzz_interpreter(a.python.as_deref())?;
    if let Some(cb) = &coverage {
        interpreter.env = cb.env.clone();
    }
    let resolved = locate::resolve(
        text,
        a.stubs.as_deref(),
        a.property.clone(),
        &interpreter,
        p,
    )?;
    let mut target = resolved.target.clone();
    target.no_hostile = a.no_hostile;
    let target = &target;
    if let Some(note) = resolved.guidance_note() {
        p.note(&note);
    }
    let bin = build_generic(
        resolved.link.as_ref(),
        sanitize,
        Some(&interpreter.executable),
        p,
    )?;
    let limits = Limits {
        max_time_s: a.max_time,
        timeout_s: a.timeout,
        jobs: a.jobs,
    };
    let campaign = Campaign::new(target, a.corpus, a.seeds, limits, a.libfuzzer, p)?;
    let mut envs = generic_env(target)?;
    if let Some(cb) = &coverage {
        // The fuzzer imports the instrumented build and writes its profiles for it.
        envs.extend(cb.env.iter().map(|(k, v)| (k.as_str(), v.clone())));
    }
    let mut r = campaign.run(target, &bin, &envs, p)?;
    if let Some(artifact) = r.artifact.clone() {
        with_allocation_stacks(&bin, &envs, &artifact, a.timeout, &mut r, p);
    }
    let outcome = match &r.artifact {
        Some(artifact) => {
            let repro = repro_options(a.repro_dir, a.timeout);
            let (finding, call) = artifacts::record(target, artifact, &r, &repro)?;
            print_finding(target, artifact, &finding, &call);
            Outcome::Found
        }
        None => {
            println!(
                "pyz3: {}: no findings ({} execs, {} exec/s, coverage {}, corpus {} in {})",
                campaign.name,
                r.execs,
                r.exec_s,
                r.cov,
                r.corpus,
                campaign.corpus.display()
            );
            Outcome::Clean
        }
    };
    if let Some(cb) = &coverage {
        let dirs = FuzzDirs {
            fuzz_dir: PathBuf::from("fuzz"),
            target_dir: None,
            stubs: a.stubs.clone(),
        };
        let corpus = vec![campaign.corpus.clone()];
        if let Outcome::Found = replay_corpus(cb, target, text, corpus, &dirs, &a.coverage, p)? {
            return Ok(Outcome::Found);
        }
    }
    Ok(outcome)
}

/// A sanitizer report of the fuzzing run about a heap block, made without allocation stacks
/// ([`ASAN_FUZZING`](pyz3::fuzz::spec::ASAN_FUZZING): only the allocator's own frame is shown),
/// is made again with them by running its input alone; the run's own report stays when the
/// replay does not end the same way.
fn with_allocation_stacks(
    bin: &Path,
    envs: &[(&str, String)],
    artifact: &Path,
    timeout_s: u64,
    r: &mut RunResult,
    p: &mut Terminal,
) {
    if std::env::var_os("ASAN_OPTIONS").is_some()
        || !r
            .crash_lines
            .iter()
            .any(|l| l.contains("allocated by thread") || l.contains("freed by thread"))
    {
        return;
    }
    let Some(summary) = r
        .crash_lines
        .iter()
        .find(|l| l.starts_with("SUMMARY: "))
        .cloned()
    else {
        return;
    };
    p.note("running the input again for the allocation stacks of the sanitizer's report");
    let envs: Vec<(&str, String)> = envs
        .iter()
        .map(|(k, v)| match *k {
            "ASAN_OPTIONS" => (*k, pyz3::fuzz::spec::asan_options(false)),
            _ => (*k, v.clone()),
        })
        .collect();
    match pyz3::fuzz::run::replay_report(bin, &envs, artifact, timeout_s, &summary) {
        Some(lines) => r.crash_lines = lines,
        None => p.note("the input alone did not end in the same report: the report is the fuzzing run's, without allocation stacks"),
    }
}

/// Reproducers go to `dir` (default `.pyz3/repro`) and run with the interpreter a fuzz binary
/// embeds: the one chosen by the rule when it was built.
fn repro_options(dir: Option<PathBuf>, timeout_s: u64) -> ReproOptions {
    ReproOptions {
        dir: dir.unwrap_or_else(|| PathBuf::from(".pyz3/repro")),
        python: crate::project_args::interpreter(None)
            .map(|i| i.executable)
            .unwrap_or_else(|_| PathBuf::from("python3")),
        timeout_s,
    }
}

/// A target's binary (when built), its target, and the environment to run it with.
type Located = (Option<PathBuf>, Target, Vec<(&'static str, String)>);

/// The binary and target of a target named on the command line: MODULE:FUNC (generic) or a
/// cargo-fuzz target of `dirs.fuzz_dir`.
fn locate_target(
    name: &str,
    dirs: &FuzzDirs,
    sanitize: &str,
    build: bool,
    p: &mut Terminal,
) -> anyhow::Result<Located> {
    if !locate::is_module_func(name) {
        let (bin, target) =
            locate::cargo_fuzz_target(&dirs.fuzz_dir, dirs.target_dir.as_deref(), name)?;
        return Ok((Some(bin), target, vec![("PYTHONMALLOC", "malloc".into())]));
    }
    let interpreter = fuzz_interpreter(None)?;
    let resolved = locate::resolve(name, dirs.stubs.as_deref(), None, &interpreter, p)?;
    let envs = generic_env(&resolved.target)?;
    let bin = if build {
        let python = Some(interpreter.executable.as_path());
        Some(build_generic(
            resolved.link.as_ref(),
            sanitizer(sanitize)?,
            python,
            p,
        )?)
    } else {
        None
    };
    Ok((bin, resolved.target, envs))
}

fn repro_cmd(
    artifact: &Path,
    name: &str,
    dirs: &FuzzDirs,
    repro_dir: Option<PathBuf>,
    no_hostile: bool,
    p: &mut Terminal,
) -> anyhow::Result<Outcome> {
    if !artifact.is_file() {
        bail!("artifact {} does not exist", artifact.display());
    }
    let (_, mut target, _) = locate_target(name, dirs, "address", false, p)?;
    target.no_hostile = no_hostile;
    let kind = artifacts::owned_kind(artifact, &target, name)?
        .unwrap_or_else(|| artifacts::kind_of(None, artifact));
    let repro = repro_options(repro_dir, 10);
    let (finding, call) =
        artifacts::finding(&target, artifact, kind, &RunResult::default(), &repro)?;
    for i in &finding.imports {
        println!("import {i}");
    }
    if !finding.definitions.is_empty() {
        println!("# The hostile classes (the helpers they call and `bind` are in the reproducer):");
        for d in &finding.definitions {
            println!("{d}");
        }
    }
    println!("{call}");
    if let Some(path) = &finding.reproducer {
        eprintln!(
            "pyz3: reproducer ({}): python3 {}",
            kind.name(),
            path.display()
        );
    }
    Ok(Outcome::Clean)
}

fn cmin_cmd(
    name: &str,
    corpus: Option<PathBuf>,
    dirs: &FuzzDirs,
    sanitize: &str,
    p: &mut Terminal,
) -> anyhow::Result<Outcome> {
    let (bin, target, envs) = locate_target(name, dirs, sanitize, true, p)?;
    let bin = bin.context("no fuzz binary")?;
    let corpus = corpus.unwrap_or_else(|| locate::default_corpus(name, &target, &dirs.fuzz_dir));
    let done = cmin::minimize(&bin, &envs, &corpus, name, p)?;
    println!(
        "pyz3: {}: {} → {} inputs; the original is kept in {}",
        corpus.display(),
        done.before,
        done.after,
        done.kept.display()
    );
    Ok(Outcome::Clean)
}

/// Replays the corpus (default: the target's) against the coverage build and prints the
/// report; `Found` when coverage is below the threshold.
fn replay_corpus(
    cb: &CoverageBuild,
    target: &Target,
    name: &str,
    corpus: Vec<PathBuf>,
    dirs: &FuzzDirs,
    cov: &CoverageArgs,
    p: &mut Terminal,
) -> anyhow::Result<Outcome> {
    let corpus = if corpus.is_empty() {
        vec![locate::default_corpus(name, target, &dirs.fuzz_dir)]
    } else {
        corpus
    };
    let work = cb.session.dir().join("replay");
    replay::replay(&cb.python, &cb.env, &work, target, &corpus, p)?;
    let below = cov.emit(&cb.session.report()?)?;
    Ok(if below {
        Outcome::Found
    } else {
        Outcome::Clean
    })
}
