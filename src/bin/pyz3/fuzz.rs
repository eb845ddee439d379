//! `pyz3 fuzz MODULE:FUNC`: zero-code libFuzzer fuzzing of an extension function, plus
//! `pyz3 fuzz repro` (artifact → Python source and reproducer) and `pyz3 fuzz cmin`.

use pyz3::process::Within;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use pyz3::check::discover::{describe, ModuleSpec};
use pyz3::fuzz::build::{build_generic, workspace_crate, LinkedCrate, TRIPLE};
use pyz3::fuzz::run::{run_fuzzer, RunResult};
use pyz3::fuzz::{TargetSpec, DESCRIBE_ENV, SPEC_ENV};
use pyz3::report::FindingKind;

use crate::coverage_args::CoverageArgs;
use crate::fuzz_findings::{kind_of, report_finding, sidecar, write_repro};
use crate::Outcome;

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
}

/// Runs `pyz3 fuzz`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        Some(Sub::Repro {
            artifact,
            target,
            dirs,
            repro_dir,
        }) => repro_cmd(&artifact, &target, &dirs, repro_dir),
        Some(Sub::Cmin {
            target,
            corpus,
            dirs,
            sanitize,
        }) => cmin_cmd(&target, corpus, &dirs, &sanitize),
        Some(Sub::Coverage {
            target,
            corpus,
            dirs,
            project,
            coverage,
        }) => coverage_cmd(&target, corpus, &dirs, &project, &coverage),
        None => {
            let target = args.target.unwrap_or_default();
            fuzz_cmd(&target, args.run)
        }
    }
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

/// A resolved `MODULE:FUNC`: its spec and the Rust crate to link in, if any.
struct Resolved {
    spec: TargetSpec,
    link: Option<LinkedCrate>,
    name: String,
}

fn resolve_target(
    text: &str,
    stubs: Option<&Path>,
    property: Option<String>,
    interpreter: &pyz3::project::Interpreter,
) -> anyhow::Result<Resolved> {
    let Some((module_text, func)) = text
        .rsplit_once(':')
        .filter(|(_, f)| !f.is_empty() && !f.contains('/'))
    else {
        bail!("`{text}` must be MODULE:FUNC (e.g. mymod:parse)");
    };
    let spec = ModuleSpec::parse(module_text)?;
    if let Some(s) = stubs {
        if !s.exists() {
            bail!("stub path {} does not exist", s.display());
        }
    }
    let found = describe(
        interpreter,
        &spec,
        stubs,
        std::time::Duration::from_secs(120),
    )?;
    let Some(info) = found.functions.iter().find(|f| f.name == func) else {
        let known: Vec<&str> = found.functions.iter().map(|f| f.name.as_str()).collect();
        bail!(
            "`{}` has no public callable `{func}` (it has: {})",
            spec.module,
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        );
    };
    let Some(params) = &info.params else {
        bail!("the signature of `{func}` is unknown: give a stub with --stubs");
    };
    let mut target = TargetSpec {
        module: spec.module.clone(),
        function: func.to_string(),
        path: found.import_root(&spec),
        param_names: params.iter().map(|p| p.0.clone()).collect(),
        param_types: params
            .iter()
            .map(|p| p.1.clone().unwrap_or_else(|| "Any".into()))
            .collect(),
        property,
        no_refcount: false,
    };
    if let Some(stub) = &found.stub {
        eprintln!("pyz3: signature from {}", stub.display());
    }
    let top = spec
        .module
        .rsplit('.')
        .next()
        .unwrap_or(&spec.module)
        .to_string();
    let link = workspace_crate(&top);
    if link.is_some() {
        // Linked in, the module is a built-in: no path needed (and none must shadow it).
        target.path = None;
    }
    Ok(Resolved {
        name: format!("{}.{func}", spec.module),
        spec: target,
        link,
    })
}

/// The interpreter a fuzz target embeds: one pyo3 can embed (free-threaded builds from 3.14).
fn fuzz_interpreter(explicit: Option<&Path>) -> anyhow::Result<pyz3::project::Interpreter> {
    let interpreter = crate::project_args::interpreter(explicit)?;
    interpreter.require_harness()?;
    let minor: u32 = interpreter
        .version
        .split_once('.')
        .and_then(|(_, m)| m.parse().ok())
        .unwrap_or(0);
    if interpreter.free_threaded && minor < 14 {
        bail!(
            "{} at {} cannot host a fuzz target: pyo3 embeds free-threaded CPython only from \
             3.14 (fuzz with a GIL build of {}, or check it with `pyz3 check --python`)",
            interpreter.describe(),
            interpreter.executable.display(),
            interpreter.version
        );
    }
    Ok(interpreter)
}

fn sanitizer(s: &str) -> anyhow::Result<&'static str> {
    match s {
        "address" => Ok("address"),
        "none" => Ok("none"),
        other => bail!("--sanitize must be `address` or `none`, not `{other}`"),
    }
}

fn fuzz_cmd(text: &str, a: RunArgs) -> anyhow::Result<Outcome> {
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
    let resolved = resolve_target(text, a.stubs.as_deref(), a.property.clone(), &interpreter)?;
    if resolved.link.is_none() {
        eprintln!(
            "pyz3: note: `{}` is a prebuilt extension: coverage guidance comes only from instrumented \
             code (pyz3's decoding, and the extension only if it was compiled with \
             -fsanitize=fuzzer-no-link); a Rust crate of this cargo workspace with an rlib is linked in instead",
            resolved.spec.module
        );
    }
    let bin = build_generic(
        resolved.link.as_ref(),
        sanitize,
        Some(&interpreter.executable),
    )?;
    let name = resolved.name.clone();
    let corpus = a
        .corpus
        .clone()
        .unwrap_or_else(|| PathBuf::from(".pyz3/fuzz/corpus").join(&name));
    let artifacts = PathBuf::from(".pyz3/fuzz/artifacts").join(&name);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("cannot create {}", corpus.display()))?;
    std::fs::create_dir_all(&artifacts)?;
    let mut seeds = a.seeds.clone();
    for s in &seeds {
        if !s.is_dir() {
            bail!("seed directory {} does not exist", s.display());
        }
    }
    for auto in [
        PathBuf::from("corpora").join(&resolved.spec.function),
        PathBuf::from("corpora").join(&name),
    ] {
        if auto.is_dir() && !seeds.contains(&auto) {
            eprintln!("pyz3: seeds from {}", auto.display());
            seeds.push(auto);
        }
    }
    let mut args: Vec<String> = vec![corpus.to_string_lossy().into()];
    args.extend(seeds.iter().map(|s| s.to_string_lossy().to_string()));
    args.push(format!("-artifact_prefix={}/", artifacts.display()));
    args.push(format!("-timeout={}", a.timeout.max(1)));
    if a.max_time > 0 {
        args.push(format!("-max_total_time={}", a.max_time));
    }
    if a.jobs > 1 {
        args.push(format!("-fork={}", a.jobs));
    }
    args.push("-print_final_stats=1".into());
    args.extend(a.libfuzzer.iter().cloned());
    let mut envs: Vec<(&str, String)> = fuzz_env(&resolved.spec)?;
    if let Some(cb) = &coverage {
        // The fuzzer imports the instrumented build and writes its profiles for it.
        envs.extend(cb.env.iter().map(|(k, v)| (k.as_str(), v.clone())));
    }
    eprintln!(
        "pyz3: fuzzing {name}({}) for {}",
        resolved.spec.param_types.join(", "),
        if a.max_time > 0 {
            format!("{} s", a.max_time)
        } else {
            "ever".into()
        }
    );
    let r = run_fuzzer(&bin, &envs, &args, &name)?;
    let outcome = match &r.artifact {
        Some(artifact) => {
            report_finding(&resolved.spec, artifact, &r, a.repro_dir.clone(), a.timeout)?;
            Outcome::Found
        }
        None if r.status == Some(0) => {
            println!(
                "pyz3: {name}: no findings ({} execs, {} exec/s, coverage {}, corpus {} in {})",
                r.execs,
                r.exec_s,
                r.cov,
                r.corpus,
                corpus.display()
            );
            Outcome::Clean
        }
        _ => {
            for l in &r.tail {
                eprintln!("{l}");
            }
            bail!(
                "the fuzzer stopped with status {:?} and no artifact (output above)",
                r.status
            )
        }
    };
    if let Some(cb) = &coverage {
        let dirs = FuzzDirs {
            fuzz_dir: PathBuf::from("fuzz"),
            target_dir: None,
            stubs: a.stubs.clone(),
        };
        let below = replay_corpus(
            cb,
            &resolved.spec,
            text,
            vec![corpus.clone()],
            &dirs,
            &a.coverage,
        )?;
        if matches!(below, Outcome::Found) {
            return Ok(Outcome::Found);
        }
    }
    Ok(outcome)
}

fn fuzz_env(spec: &TargetSpec) -> anyhow::Result<Vec<(&'static str, String)>> {
    Ok(vec![
        (SPEC_ENV, serde_json::to_string(spec)?),
        ("PYTHONMALLOC", "malloc".into()),
        (
            "ASAN_OPTIONS",
            std::env::var("ASAN_OPTIONS").unwrap_or_else(|_| {
                "detect_leaks=0:allocator_may_return_null=1:detect_stack_use_after_return=0".into()
            }),
        ),
    ])
}

/// A target's binary (when built), spec, and the environment to run it with.
type Located = (Option<PathBuf>, TargetSpec, Vec<(&'static str, String)>);

/// The binary and spec of a target named on the command line: MODULE:FUNC (generic) or a
/// cargo-fuzz target of `fuzz_dir`.
fn locate(target: &str, dirs: &FuzzDirs, sanitize: &str, build: bool) -> anyhow::Result<Located> {
    if target.contains(':') {
        let interpreter = fuzz_interpreter(None)?;
        let resolved = resolve_target(target, dirs.stubs.as_deref(), None, &interpreter)?;
        let envs = fuzz_env(&resolved.spec)?;
        let bin = if build {
            Some(build_generic(
                resolved.link.as_ref(),
                sanitizer(sanitize)?,
                Some(&interpreter.executable),
            )?)
        } else {
            None
        };
        return Ok((bin, resolved.spec, envs));
    }
    let fuzz_dir = dirs.fuzz_dir.as_path();
    let manifest = fuzz_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "no cargo-fuzz crate at {} (use --fuzz-dir, or MODULE:FUNC)",
            fuzz_dir.display()
        )
    })?;
    if !text.contains(&format!("name = \"{target}\"")) {
        bail!(
            "unknown fuzz target `{target}` (see `cargo fuzz list` in {})",
            fuzz_dir.display()
        );
    }
    let mut candidates = vec![fuzz_dir.join("target")];
    candidates.extend(dirs.target_dir.clone());
    candidates.extend(std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from));
    let bin = candidates
        .iter()
        .map(|d| d.join(TRIPLE).join("release").join(target))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok());
    let Some(bin) = bin else {
        bail!("fuzz target `{target}` is not built: run `cargo fuzz build {target}`");
    };
    let scratch = pyz3::fs::scratch_dir("describe")?;
    let tmp = scratch.path().join("describe.json");
    let status = Command::new(&bin)
        .env(DESCRIBE_ENV, &tmp)
        .arg("-runs=0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status_within(pyz3::process::TOOL_LIMIT)
        .with_context(|| format!("running {}", bin.display()))?;
    let text = std::fs::read_to_string(&tmp).ok();
    drop(scratch);
    let spec: TargetSpec = match (status.success(), text) {
        (true, Some(t)) => serde_json::from_str(&t)?,
        _ => bail!("fuzz target `{target}` is not a pyz3 target (it did not describe itself)"),
    };
    Ok((Some(bin), spec, vec![("PYTHONMALLOC", "malloc".into())]))
}

fn repro_cmd(
    artifact: &Path,
    target: &str,
    dirs: &FuzzDirs,
    repro_dir: Option<PathBuf>,
) -> anyhow::Result<Outcome> {
    if !artifact.is_file() {
        bail!("artifact {} does not exist", artifact.display());
    }
    let (_, spec, _) = locate(target, dirs, "address", false)?;
    // Whose artifact is it? The sidecar says; else the directory libFuzzer put it in.
    let side = std::fs::read_to_string(sidecar(artifact))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let mut kind = None;
    if let Some(meta) = &side {
        let owner: TargetSpec = serde_json::from_value(meta["target"].clone())?;
        if owner.module != spec.module || owner.function != spec.function {
            bail!(
                "artifact {} comes from {}:{}, not from target `{target}`",
                artifact.display(),
                owner.module,
                owner.function
            );
        }
        kind = meta["kind"]
            .as_str()
            .and_then(|k| FindingKind::ALL.into_iter().find(|x| x.name() == k));
    } else if let Some(dir) = artifact
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|d| d.to_str())
    {
        let own = [
            target.to_string(),
            format!("{}.{}", spec.module, spec.function),
        ];
        let in_artifacts = artifact
            .parent()
            .and_then(|d| d.parent())
            .and_then(|d| d.file_name())
            .is_some_and(|d| d == "artifacts");
        if in_artifacts && !own.iter().any(|o| o == dir) {
            bail!(
                "artifact {} is in the artifacts of target `{dir}`, not `{target}`",
                artifact.display()
            );
        }
    }
    let kind = kind.unwrap_or_else(|| kind_of(None, artifact));
    let r = RunResult::default();
    let (finding, call) = write_repro(&spec, artifact, kind, &r, repro_dir, 10)?;
    for i in &finding.imports {
        println!("import {i}");
    }
    println!("{call}");
    if let Some(p) = &finding.reproducer {
        eprintln!(
            "pyz3: reproducer ({}): python3 {}",
            kind.name(),
            p.display()
        );
    }
    Ok(Outcome::Clean)
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn cmin_cmd(
    target: &str,
    corpus: Option<PathBuf>,
    dirs: &FuzzDirs,
    sanitize: &str,
) -> anyhow::Result<Outcome> {
    let (bin, spec, envs) = locate(target, dirs, sanitize, true)?;
    let bin = bin.context("no fuzz binary")?;
    let corpus = corpus.unwrap_or_else(|| {
        if target.contains(':') {
            PathBuf::from(".pyz3/fuzz/corpus").join(format!("{}.{}", spec.module, spec.function))
        } else {
            dirs.fuzz_dir.join("corpus").join(target)
        }
    });
    if !corpus.is_dir() {
        bail!("corpus {} does not exist", corpus.display());
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let name = corpus
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("corpus")
        .to_string();
    let fresh = corpus.with_file_name(format!("{name}.cmin-{stamp}"));
    let kept = corpus.with_file_name(format!("{name}.orig-{stamp}"));
    std::fs::create_dir_all(&fresh)?;
    let args = vec![
        "-merge=1".to_string(),
        fresh.to_string_lossy().into(),
        corpus.to_string_lossy().into(),
    ];
    let before = count(&corpus);
    let r = run_fuzzer(&bin, &envs, &args, target)?;
    if r.status != Some(0) {
        let _ = std::fs::remove_dir_all(&fresh);
        for l in &r.tail {
            eprintln!("{l}");
        }
        bail!(
            "corpus minimization failed; {} is unchanged",
            corpus.display()
        );
    }
    std::fs::rename(&corpus, &kept)?;
    std::fs::rename(&fresh, &corpus)?;
    println!(
        "pyz3: {}: {before} → {} inputs; the original is kept in {}",
        corpus.display(),
        count(&corpus),
        kept.display()
    );
    Ok(Outcome::Clean)
}

/// `pyz3 fuzz coverage`: decode every input of the corpus and replay it against a coverage
/// build of `project`.
fn coverage_cmd(
    target: &str,
    corpus: Vec<PathBuf>,
    dirs: &FuzzDirs,
    project: &Path,
    cov: &CoverageArgs,
) -> anyhow::Result<Outcome> {
    cov.validate()?;
    let cb = crate::coverage_args::coverage_build(project, None)?;
    let spec = if target.contains(':') {
        // The module is described from the coverage build.
        let mut interpreter = fuzz_interpreter(None)?;
        interpreter.env = cb.env.clone();
        resolve_target(target, dirs.stubs.as_deref(), None, &interpreter)?.spec
    } else {
        locate(target, dirs, "address", false)?.1
    };
    replay_corpus(&cb, &spec, target, corpus, dirs, cov)
}

/// Decodes every input of `corpus` for `spec`, replays the calls against the coverage build,
/// and prints the report.
fn replay_corpus(
    cb: &pyz3::suite::CoverageBuild,
    spec: &TargetSpec,
    target: &str,
    corpus: Vec<PathBuf>,
    dirs: &FuzzDirs,
    cov: &CoverageArgs,
) -> anyhow::Result<Outcome> {
    let corpus = if corpus.is_empty() {
        vec![if target.contains(':') {
            PathBuf::from(".pyz3/fuzz/corpus").join(format!("{}.{}", spec.module, spec.function))
        } else {
            dirs.fuzz_dir.join("corpus").join(target)
        }]
    } else {
        corpus
    };
    let mut inputs = Vec::new();
    for dir in &corpus {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("corpus {} does not exist", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        inputs.extend(files);
    }
    let mut calls = Vec::new();
    let mut imports: Vec<String> = Vec::new();
    for input in &inputs {
        let data =
            std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
        let (call, needs) = spec.call_source(&spec.decode(&data)?);
        for i in needs {
            if !imports.contains(&i) {
                imports.push(i);
            }
        }
        calls.push(call);
    }
    let shown = corpus
        .iter()
        .map(|c| c.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if calls.is_empty() {
        eprintln!("pyz3: warning: no inputs in {shown}: nothing to replay, every line counts zero");
    }
    eprintln!(
        "pyz3: replaying {} input{} of {shown} against the coverage build",
        calls.len(),
        if calls.len() == 1 { "" } else { "s" },
    );
    let done = pyz3::coverage::replay::replay(
        &cb.python,
        &cb.env,
        &cb.session.dir().join("replay"),
        &spec.module,
        &spec.function,
        &imports,
        &calls,
        Duration::from_secs(10),
    )?;
    if done.lost > 0 {
        eprintln!(
            "pyz3: {} input{} crashed or hung the replay and were skipped (their counts up to the crash are kept)",
            done.lost,
            if done.lost == 1 { "" } else { "s" }
        );
    }
    let below = cov.emit(&cb.session.report()?)?;
    Ok(if below {
        Outcome::Found
    } else {
        Outcome::Clean
    })
}
