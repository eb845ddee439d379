//! `pyz3 fuzz init-ci` (the ClusterFuzzLite files of a project) and `pyz3 fuzz export` (a
//! target built into a directory as a standalone libFuzzer target, what those files' build.sh
//! runs). The work is in [`pyz3::fuzz::cflite`] and [`pyz3::fuzz::export`].

use std::path::PathBuf;

use anyhow::Context;

use pyz3::fuzz::build::{build_generic, sanitizer};
use pyz3::fuzz::cflite::{self, CiOptions, CiTarget};
use pyz3::fuzz::locate;
use pyz3::report::Progress;

use crate::fuzz_findings::Terminal;
use crate::Outcome;

/// Arguments of `pyz3 fuzz init-ci`.
#[derive(clap::Args, Debug)]
pub struct InitCiArgs {
    /// The functions to fuzz in CI: an importable module (dotted name) and a function name
    /// each; a MODULE alone stands for each of its public functions with a known signature
    /// (imported here to find them, as `pyz3 check MODULE` does).
    #[arg(value_name = "MODULE[:FUNC]", required = true)]
    pub targets: Vec<String>,
    /// A `.pyi` stub file or a directory of stubs, for the signatures of a MODULE's functions.
    #[arg(long, value_name = "PATH")]
    pub stubs: Option<PathBuf>,
    /// The project's root directory, where .clusterfuzzlite/ and .github/ are written.
    #[arg(long, value_name = "PROJECT", default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite files that exist already.
    #[arg(long)]
    pub force: bool,
    /// The git URL the Dockerfile installs pyz3 from (its `ARG PYZ3_GIT`; left empty to be set
    /// by hand otherwise).
    #[arg(long = "pyz3-git", value_name = "URL")]
    pub pyz3_git: Option<String>,
}

/// Arguments of `pyz3 fuzz export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The function: an importable module (or a path to its `.so`) and a function name.
    #[arg(value_name = "MODULE:FUNC")]
    pub target: String,
    /// The directory the target goes to (ClusterFuzzLite's $OUT); created when missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Sanitizer the target is built with: `address` or `none`.
    #[arg(long, value_name = "S", default_value = "address")]
    pub sanitize: String,
    /// Seed directories for the seed corpus (repeatable); `corpora/FUNC` and
    /// `corpora/MODULE.FUNC` are used when they exist.
    #[arg(long = "seeds", value_name = "DIR")]
    pub seeds: Vec<PathBuf>,
    /// A `.pyi` stub file or a directory of stubs to read the signature from.
    #[arg(long, value_name = "PATH")]
    pub stubs: Option<PathBuf>,
    /// The interpreter the target embeds and imports the module with.
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// A call running longer than this many seconds is a timeout (the options file's
    /// `timeout`).
    #[arg(long = "timeout", value_name = "S", default_value_t = 10)]
    pub timeout: u64,
    /// Copy the interpreter's shared library and standard library into OUT/pyz3-python and run
    /// the target with them, so it runs where that Python is not installed (ClusterFuzzLite
    /// runs targets in another image than the one that built them).
    #[arg(long = "bundle-python")]
    pub bundle_python: bool,
    /// A Python expression that must hold after each call (as for `pyz3 fuzz --property`).
    #[arg(long, value_name = "EXPR")]
    pub property: Option<String>,
}

/// Runs `pyz3 fuzz init-ci`.
pub fn init_ci(a: InitCiArgs) -> anyhow::Result<Outcome> {
    let mut targets: Vec<CiTarget> = Vec::new();
    let mut interpreter = None;
    let mut skipped = Vec::new();
    for t in &a.targets {
        let found = if t.contains(':') {
            vec![CiTarget::parse(t)?]
        } else {
            if interpreter.is_none() {
                interpreter = Some(crate::fuzz::fuzz_interpreter(None)?);
            }
            let python = interpreter.as_ref().context("no interpreter")?;
            cflite::discover(t, python, a.stubs.as_deref(), &mut skipped)?
        };
        for f in found {
            if !targets.contains(&f) {
                targets.push(f);
            }
        }
    }
    let options = CiOptions {
        project: cflite::project_name(&a.dir),
        pyz3_git: a.pyz3_git,
    };
    let files = cflite::files(&targets, &options)?;
    for s in &skipped {
        eprintln!("pyz3: {s}: skipped, its signature is unknown (give a stub with --stubs)");
    }
    for path in cflite::write(&a.dir, &files, a.force)? {
        println!("pyz3: wrote {}", path.display());
    }
    if options.pyz3_git.is_none() {
        eprintln!(
            "pyz3: set ARG PYZ3_GIT in .clusterfuzzlite/Dockerfile to the git URL pyz3 is installed from (or use --pyz3-git)"
        );
    }
    Ok(Outcome::Clean)
}

/// Runs `pyz3 fuzz export`.
pub fn export(a: ExportArgs, p: &mut Terminal) -> anyhow::Result<Outcome> {
    let sanitize = sanitizer(&a.sanitize)?;
    pyz3::fs::check_output_dir(&a.out)?;
    for s in &a.seeds {
        if !s.is_dir() {
            anyhow::bail!("seed directory {} does not exist", s.display());
        }
    }
    let interpreter = crate::fuzz::fuzz_interpreter(a.python.as_deref())?;
    let resolved = locate::resolve(
        &a.target,
        a.stubs.as_deref(),
        a.property.clone(),
        &interpreter,
        p,
    )?;
    let target = &resolved.target;
    // The name is checked before the build.
    pyz3::fuzz::export::target_name(&target.module, &target.function)?;
    let bin = build_generic(
        resolved.link.as_ref(),
        sanitize,
        Some(&interpreter.executable),
        p,
    )?;
    let mut seeds = a.seeds;
    for auto in [
        PathBuf::from("corpora").join(&target.function),
        PathBuf::from("corpora").join(target.qualified_name()),
    ] {
        if auto.is_dir() && !seeds.contains(&auto) {
            p.note(&format!("seeds from {}", auto.display()));
            seeds.push(auto);
        }
    }
    let options = pyz3::fuzz::export::ExportOptions {
        seeds,
        timeout_s: a.timeout,
        bundle_python: a.bundle_python.then(|| interpreter.executable.clone()),
    };
    let done = pyz3::fuzz::export::export(target, &bin, &a.out, &options)?;
    println!(
        "pyz3: {}: the fuzz target of {} ({} seed inputs in {})",
        done.script.display(),
        a.target,
        done.seed_count,
        done.seeds.display()
    );
    Ok(Outcome::Clean)
}
