//! The project's Rust criterion benches: found through `cargo metadata` (bench targets of
//! packages that depend on `criterion`), run with `cargo bench`, and read back from criterion's
//! `sample.json` files into the same results as the Python benchmarks, named `rust::<id>`.

use crate::process::Within;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context};

use super::baseline::{import_criterion, BenchResult};
use crate::report::Progress;
use crate::toolchain::rust::{cargo, Channel};

/// Prefix of criterion benchmarks' names in results and tables.
pub const PREFIX: &str = "rust::";

/// One criterion bench target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriterionBench {
    /// The package's manifest.
    pub manifest: PathBuf,
    /// The package name.
    pub package: String,
    /// The bench target name (`cargo bench --bench NAME`).
    pub bench: String,
}

/// The criterion bench targets of the cargo workspace at `root` (none without a Cargo.toml).
pub fn find(root: &Path) -> anyhow::Result<Vec<CriterionBench>> {
    let manifest = root.join("Cargo.toml");
    if !manifest.is_file() {
        return Ok(Vec::new());
    }
    let meta = cargo_metadata::MetadataCommand::new()
        .cargo_path(crate::toolchain::rust::cargo_program())
        .manifest_path(&manifest)
        .no_deps()
        .exec()
        .with_context(|| format!("cargo metadata failed for {}", manifest.display()))?;
    let mut out = Vec::new();
    for p in meta.workspace_packages() {
        if !p.dependencies.iter().any(|d| d.name == "criterion") {
            continue;
        }
        for t in &p.targets {
            if t.kind.iter().any(|k| k.to_string() == "bench") {
                out.push(CriterionBench {
                    manifest: p.manifest_path.clone().into_std_path_buf(),
                    package: p.name.to_string(),
                    bench: t.name.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// Runs `benches` (found in `root`, the project or a worktree of it) with `cargo bench`,
/// criterion writing into `home` (cleared first), and reads the results. `target_dir`
/// overrides cargo's target directory.
pub fn run(
    root: &Path,
    benches: &[CriterionBench],
    target_dir: Option<&Path>,
    home: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<BTreeMap<String, BenchResult>> {
    if home.exists() {
        std::fs::remove_dir_all(home)
            .with_context(|| format!("cannot clear {}", home.display()))?;
    }
    std::fs::create_dir_all(home).with_context(|| format!("cannot create {}", home.display()))?;
    // The same targets in `root` (a worktree has its own manifests, and an older commit may
    // lack a bench: its results are then "new").
    let here = find(root)?;
    let mut ran = 0;
    for b in benches {
        let Some(manifest) = here
            .iter()
            .find(|c| c.package == b.package && c.bench == b.bench)
            .map(|c| c.manifest.clone())
        else {
            progress.note(&format!(
                "{} has no bench `{}` in package `{}`",
                root.display(),
                b.bench,
                b.package
            ));
            continue;
        };
        progress.note(&format!(
            "cargo bench -p {} --bench {} (criterion)",
            b.package, b.bench
        ));
        let mut cmd = cargo(Channel::Default);
        cmd.arg("bench")
            .arg("--manifest-path")
            .arg(&manifest)
            .args(["-p", &b.package, "--bench", &b.bench, "--", "--noplot"])
            .env("CRITERION_HOME", home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(t) = target_dir {
            cmd.env("CARGO_TARGET_DIR", t);
        }
        let status = cmd
            .status_within(crate::process::BUILD_LIMIT)
            .context("cannot run cargo")?;
        if !status.success() {
            bail!(
                "`cargo bench -p {} --bench {}` failed (output above)",
                b.package,
                b.bench
            );
        }
        ran += 1;
    }
    if ran == 0 {
        return Ok(BTreeMap::new());
    }
    Ok(import_criterion(home)?
        .into_iter()
        .map(|(name, r)| (format!("{PREFIX}{name}"), r))
        .collect())
}
