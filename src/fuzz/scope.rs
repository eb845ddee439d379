//! Which crates of a fuzz binary carry libFuzzer's coverage instrumentation.
//!
//! For `pyz3 fuzz` and for cargo-fuzz crates with pyz3 targets (the repository's `fuzz/`).
//! cargo-fuzz instruments every crate it builds, pyz3's runtime and decoder included. Those
//! counters cost time on every input (libFuzzer scans and clears all of them, and the decoder's
//! traced comparisons run before each call) and they add features that say nothing about the
//! extension. The rustc wrapper [`WRAPPER`] keeps the instrumentation only for the crates named in
//! [`CRATES_ENV`]: the extension linked into the binary and the crates it depends on, pyo3 aside
//! ([`instrumented_crates`]). On the demo's `parse_string` this took the counters from 60,977 to
//! 8,140 and the executions per second from 21k to 28–46k with AddressSanitizer, from 64–71k to
//! 98–119k without (see docs/fuzzing.md).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use cargo_metadata::{DependencyKind, MetadataCommand, PackageId};

/// The rustc wrapper (a POSIX shell script): cargo runs it as `WRAPPER RUSTC ARGS...`.
pub const WRAPPER: &str = include_str!("rustc-wrapper.sh");

/// Environment variable naming the crates (space-separated crate names) that keep the coverage
/// instrumentation under [`WRAPPER`].
pub const CRATES_ENV: &str = "PYZ3_SANCOV_CRATES";

/// The crate names (`-` as `_`) of `package` and of every crate it depends on through normal
/// dependencies, in the dependency graph of the cargo project at `manifest` (the fuzz crate, so
/// that features resolve as they are built). Left out: proc-macro crates (they run in the
/// compiler) and the binding layer, pyo3 and its parts ([`is_binding_layer`]).
pub fn instrumented_crates(manifest: &Path, package: &str) -> crate::Result<Vec<String>> {
    let mut cmd = MetadataCommand::new();
    cmd.manifest_path(manifest);
    cmd.cargo_path(crate::toolchain::rust::cargo_program());
    let meta = cmd.exec().map_err(|e| {
        crate::Error::Usage(format!(
            "`cargo metadata` failed for {}: {}",
            manifest.display(),
            e.to_string()
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
        ))
    })?;
    let packages: HashMap<&PackageId, &cargo_metadata::Package> =
        meta.packages.iter().map(|p| (&p.id, p)).collect();
    let root = meta
        .packages
        .iter()
        .find(|p| p.name.as_str() == package)
        .ok_or_else(|| {
            crate::Error::Usage(format!(
                "package `{package}` is not in the dependency graph of {}",
                manifest.display()
            ))
        })?;
    let resolve = meta.resolve.as_ref().ok_or_else(|| {
        crate::Error::Usage(format!(
            "`cargo metadata` gave no dependency graph for {}",
            manifest.display()
        ))
    })?;
    let nodes: HashMap<&PackageId, &cargo_metadata::Node> =
        resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let mut seen: BTreeSet<&PackageId> = BTreeSet::new();
    let mut stack = vec![&root.id];
    while let Some(id) = stack.pop() {
        // A proc-macro crate and what only it uses run in the compiler, never in the fuzzer;
        // the binding layer runs for the harness's own conversions on every input.
        let skipped = packages.get(id).is_some_and(|p| {
            p.targets.iter().any(|t| t.is_proc_macro()) || is_binding_layer(p.name.as_str())
        });
        if skipped || !seen.insert(id) {
            continue;
        }
        for dep in nodes.get(id).map_or(&[][..], |n| &n.deps[..]) {
            if dep
                .dep_kinds
                .iter()
                .any(|k| k.kind == DependencyKind::Normal)
            {
                stack.push(&dep.pkg);
            }
        }
    }
    let mut names: Vec<String> = seen
        .iter()
        .filter_map(|id| packages.get(id))
        .flat_map(|p| &p.targets)
        .filter(|t| t.is_lib() || t.is_cdylib() || t.is_rlib() || t.is_dylib())
        .map(|t| t.name.replace('-', "_"))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// pyo3 and its parts. pyz3's harness is built on them too: every input's arguments are made
/// and checked through them, so their counters say as much about the harness as about the
/// extension, and they are hit on every call (on the demo's parser, with pyo3 instrumented, the
/// counters doubled and the executions per second without a sanitizer were 70–74k instead of
/// 74–119k). The extension's own crates and its other dependencies keep their instrumentation.
pub fn is_binding_layer(package: &str) -> bool {
    package == "pyo3" || package.starts_with("pyo3-")
}
