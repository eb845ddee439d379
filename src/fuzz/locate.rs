//! Which function a fuzz target calls: a `MODULE:FUNC` resolved from its signature, or a
//! `cargo fuzz` target that describes itself.
//!
//! For `pyz3 fuzz` and its subcommands, which name targets either way on the command line.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

use super::build::{workspace_crate, LinkedCrate, TRIPLE};
use super::spec::DESCRIBE_ENV;
use crate::check::discover::{describe, ModuleSpec};
use crate::process::Within;
use crate::project::Interpreter;
use crate::report::Progress;
use crate::target::Target;

/// A resolved `MODULE:FUNC`: what to call, and the Rust crate to link in, if any.
pub struct Resolved {
    /// The function, its parameters and property.
    pub target: Target,
    /// The workspace crate that builds the module, linked into the fuzz binary.
    pub link: Option<LinkedCrate>,
}

impl Resolved {
    /// What a campaign should know first when the module is not linked in: the fuzzer's
    /// coverage guidance then comes only from instrumented code.
    pub fn guidance_note(&self) -> Option<String> {
        self.link.is_none().then(|| {
            format!(
                "note: `{}` is a prebuilt extension: coverage guidance comes from its own code only if \
                 it was compiled with -fsanitize=fuzzer-no-link (`pyz3 build --fuzz`), else from the \
                 arguments' shapes; a Rust crate of this cargo workspace with an rlib is linked in instead",
                self.target.module
            )
        })
    }
}

/// Whether a target named on the command line is a `MODULE:FUNC` (else a `cargo fuzz` target).
pub fn is_module_func(name: &str) -> bool {
    name.contains(':')
}

/// Resolves `MODULE:FUNC` (`text`) with the signature from `stubs` or the module itself, as
/// `interpreter` imports it. A module built by a Rust crate of the current cargo workspace is
/// linked in (and then imported as a built-in, from no path).
pub fn resolve(
    text: &str,
    stubs: Option<&Path>,
    property: Option<String>,
    interpreter: &Interpreter,
    progress: &mut dyn Progress,
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
    let found = describe(interpreter, &spec, stubs, Duration::from_secs(120))?;
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
    let mut target = Target {
        module: spec.module.clone(),
        function: func.to_string(),
        path: found.import_root(&spec),
        param_names: params.iter().map(|p| p.0.clone()).collect(),
        param_types: params
            .iter()
            .map(|p| p.1.clone().unwrap_or_else(|| "Any".into()))
            .collect(),
        property,
        ..Target::default()
    };
    if let Some(stub) = &found.stub {
        progress.note(&format!("signature from {}", stub.display()));
    }
    let top = spec.module.rsplit('.').next().unwrap_or(&spec.module);
    let link = workspace_crate(top, progress);
    if link.is_some() {
        // Linked in, the module is a built-in: no path needed (and none must shadow it).
        target.path = None;
    }
    Ok(Resolved { target, link })
}

/// Refuses an interpreter a fuzz target cannot embed: pyo3 embeds free-threaded CPython only
/// from 3.14.
pub fn check_interpreter(interpreter: &Interpreter) -> anyhow::Result<()> {
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
    Ok(())
}

/// The built binary of `cargo fuzz` target `name` of the crate in `fuzz_dir` (the newest under
/// `fuzz_dir/target`, `target_dir` and `$CARGO_TARGET_DIR`), and the target it describes.
pub fn cargo_fuzz_target(
    fuzz_dir: &Path,
    target_dir: Option<&Path>,
    name: &str,
) -> anyhow::Result<(PathBuf, Target)> {
    let manifest = fuzz_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!(
            "no cargo-fuzz crate at {} (use --fuzz-dir, or MODULE:FUNC)",
            fuzz_dir.display()
        )
    })?;
    if !text.contains(&format!("name = \"{name}\"")) {
        bail!(
            "unknown fuzz target `{name}` (see `cargo fuzz list` in {})",
            fuzz_dir.display()
        );
    }
    let mut candidates = vec![fuzz_dir.join("target")];
    candidates.extend(target_dir.map(Path::to_path_buf));
    candidates.extend(std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from));
    let bin = candidates
        .iter()
        .map(|d| d.join(TRIPLE).join("release").join(name))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok());
    let Some(bin) = bin else {
        bail!("fuzz target `{name}` is not built: run `cargo fuzz build {name}`");
    };
    let scratch = crate::fs::scratch_dir("describe")?;
    let tmp = scratch.path().join("describe.json");
    let status = Command::new(&bin)
        .env(DESCRIBE_ENV, &tmp)
        .arg("-runs=0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status_within(crate::process::TOOL_LIMIT)
        .with_context(|| format!("running {}", bin.display()))?;
    let text = std::fs::read_to_string(&tmp).ok();
    drop(scratch);
    let target: Target = match (status.success(), text) {
        (true, Some(t)) => serde_json::from_str(&t)?,
        _ => bail!("fuzz target `{name}` is not a pyz3 target (it did not describe itself)"),
    };
    Ok((bin, target))
}

/// The corpus of a target named `name` on the command line, when none is given:
/// `.pyz3/fuzz/corpus/MODULE.FUNC` for a `MODULE:FUNC`, `FUZZ_DIR/corpus/NAME` for a
/// `cargo fuzz` target.
pub fn default_corpus(name: &str, target: &Target, fuzz_dir: &Path) -> PathBuf {
    if is_module_func(name) {
        PathBuf::from(".pyz3/fuzz/corpus").join(target.qualified_name())
    } else {
        fuzz_dir.join("corpus").join(name)
    }
}
