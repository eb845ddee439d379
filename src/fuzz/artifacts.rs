//! What an artifact (an input libFuzzer saved) is a finding of: its kind, the call as Python
//! source, the reproducer, and the sidecar file that names its target.
//!
//! For `pyz3 fuzz` (after a run that saved one) and `pyz3 fuzz repro` (for one saved earlier,
//! perhaps by another target). The sidecar is `ARTIFACT.pyz3.json`: `{"version": 1,
//! "target": {...}, "kind": "refcount"}`; sidecars written before it had a `version` read as
//! version 1, with the same fields, and a newer version is refused with one line.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::run::RunResult;
use super::spec::{decode, ReportLine};
use crate::report::{repro, Finding, FindingKind};
use crate::target::Target;

/// The version of the sidecar format this pyz3 writes.
pub const SIDECAR_VERSION: u32 = 1;

fn sidecar_version() -> u32 {
    1
}

/// What pyz3 keeps beside an artifact: whose it is and what it found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sidecar {
    /// The format's version ([`SIDECAR_VERSION`]; sidecars written without one are version 1).
    #[serde(default = "sidecar_version")]
    pub version: u32,
    /// The target the artifact was found with.
    pub target: Target,
    /// The finding kind's name.
    pub kind: String,
}

impl Sidecar {
    /// The finding kind, when the name is one pyz3 knows.
    pub fn finding_kind(&self) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.name() == self.kind)
    }
}

/// The sidecar's path: the artifact's with `.pyz3.json` appended.
pub fn sidecar_path(artifact: &Path) -> PathBuf {
    let mut s = artifact.as_os_str().to_owned();
    s.push(".pyz3.json");
    PathBuf::from(s)
}

/// Where the crash report of `artifact` is kept: `ARTIFACT.report.txt`, the lines the fuzzer
/// printed for it (a sanitizer's report, libFuzzer's for a signal or a timeout).
pub fn report_path(artifact: &Path) -> PathBuf {
    let mut s = artifact.as_os_str().to_owned();
    s.push(".report.txt");
    PathBuf::from(s)
}

/// Writes the sidecar of `artifact` (atomically).
pub fn write_sidecar(artifact: &Path, target: &Target, kind: FindingKind) -> anyhow::Result<()> {
    let side = Sidecar {
        version: SIDECAR_VERSION,
        target: target.clone(),
        kind: kind.name().to_string(),
    };
    crate::fs::write_atomic(
        &sidecar_path(artifact),
        serde_json::to_string_pretty(&side)?.as_bytes(),
    )?;
    Ok(())
}

/// The sidecar of `artifact`: `None` when there is none (or it is not JSON), an error when it
/// is JSON but not a sidecar.
pub fn read_sidecar(artifact: &Path) -> anyhow::Result<Option<Sidecar>> {
    let path = sidecar_path(artifact);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(None);
    };
    crate::report::version::check_json(
        format_args!("sidecar {}", path.display()),
        &json,
        SIDECAR_VERSION,
    )?;
    let side = serde_json::from_value(json)
        .with_context(|| format!("{} is not a pyz3 sidecar", path.display()))?;
    Ok(Some(side))
}

/// The kind of the finding `artifact` was saved for: what the target reported, else a timeout
/// for libFuzzer's `timeout-` files and a crash for the others.
pub fn kind_of(report: Option<&ReportLine>, artifact: &Path) -> FindingKind {
    report
        .and_then(ReportLine::finding_kind)
        .unwrap_or_else(|| {
            let file = artifact.file_name().and_then(|f| f.to_str()).unwrap_or("");
            if file.starts_with("timeout-") {
                FindingKind::Timeout
            } else {
                FindingKind::Crash
            }
        })
}

/// Checks that `artifact` belongs to `target` (named `name` on the command line): its sidecar
/// must name the same function, or, without one, an artifact in an `artifacts/DIR` directory
/// must be in the target's own. Returns the kind the sidecar records.
pub fn owned_kind(
    artifact: &Path,
    target: &Target,
    name: &str,
) -> anyhow::Result<Option<FindingKind>> {
    if let Some(side) = read_sidecar(artifact)? {
        if !side.target.same_function(target) {
            bail!(
                "artifact {} comes from {}:{}, not from target `{name}`",
                artifact.display(),
                side.target.module,
                side.target.function
            );
        }
        return Ok(side.finding_kind());
    }
    let parent = artifact.parent();
    if let Some(dir) = parent.and_then(|d| d.file_name()).and_then(|d| d.to_str()) {
        let own = [name.to_string(), target.qualified_name()];
        let in_artifacts = parent
            .and_then(|d| d.parent())
            .and_then(|d| d.file_name())
            .is_some_and(|d| d == "artifacts");
        if in_artifacts && !own.iter().any(|o| o == dir) {
            bail!(
                "artifact {} is in the artifacts of target `{dir}`, not `{name}`",
                artifact.display()
            );
        }
    }
    Ok(None)
}

/// Where a reproducer goes and how it runs.
#[derive(Clone, Debug)]
pub struct ReproOptions {
    /// The directory (created if missing).
    pub dir: PathBuf,
    /// The interpreter named in its first line (the one the fuzz binary embeds).
    pub python: PathBuf,
    /// The per-call time limit it applies, in seconds.
    pub timeout_s: u64,
}

/// The finding `artifact` is an input of (the call decoded for `target`, the message the
/// target or the sanitizer reported in `run`), with its reproducer written; and the call as
/// Python source.
pub fn finding(
    target: &Target,
    artifact: &Path,
    kind: FindingKind,
    run: &RunResult,
    repro: &ReproOptions,
) -> anyhow::Result<(Finding, String)> {
    let data =
        std::fs::read(artifact).with_context(|| format!("cannot read {}", artifact.display()))?;
    let args = decode(target, &data)?;
    let (call, imports) = target.call_source(&args);
    // One renderer for all the arguments: hostile values' classes are defined once.
    let mut renderer = crate::value::Renderer::new();
    let parts: Vec<String> = args.iter().map(|a| renderer.render(a)).collect();
    let input = format!("({},)", parts.join(", "));
    let definitions = renderer.definitions();
    let message = run
        .report
        .as_ref()
        .map(|r| r.message.clone())
        .or_else(|| {
            run.crash_lines
                .iter()
                .find(|l| l.contains("SUMMARY:"))
                .cloned()
        })
        .unwrap_or_else(|| {
            format!(
                "{} (libFuzzer artifact {})",
                kind.name(),
                artifact.display()
            )
        });
    let mut finding = Finding {
        kind,
        input,
        imports,
        definitions,
        message,
        traceback: (!run.crash_lines.is_empty()).then(|| run.crash_lines.join("\n")),
        reproducer: None,
        subkind: None,
        frames: Vec::new(),
        test: None,
        threads: None,
    };
    finding.reproducer = Some(
        repro::write(
            &repro.dir,
            target,
            &finding,
            repro.timeout_s * 1000,
            &repro.python,
        )
        .with_context(|| format!("cannot write a reproducer into {}", repro.dir.display()))?,
    );
    Ok((finding, call))
}

/// What a run's artifact is a finding of ([`finding`]), with its sidecar written.
pub fn record(
    target: &Target,
    artifact: &Path,
    run: &RunResult,
    repro: &ReproOptions,
) -> anyhow::Result<(Finding, String)> {
    let kind = kind_of(run.report.as_ref(), artifact);
    let found = finding(target, artifact, kind, run, repro)?;
    write_sidecar(artifact, target, kind)?;
    if let Some(tb) = &found.0.traceback {
        crate::fs::write_atomic(&report_path(artifact), format!("{tb}\n").as_bytes())?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidecars_without_a_version_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let artifact = dir.path().join("crash-1");
        std::fs::write(&artifact, b"x").unwrap();
        let old = r#"{"target": {"module": "m", "function": "f", "param_names": ["s"],
                      "param_types": ["str"], "no_refcount": false}, "kind": "refcount"}"#;
        std::fs::write(sidecar_path(&artifact), old).unwrap();
        let side = read_sidecar(&artifact).unwrap().expect("a sidecar");
        assert_eq!(side.version, 1);
        assert_eq!(side.finding_kind(), Some(FindingKind::Refcount));
        let newer = old.replacen('{', r#"{"version": 2, "#, 1);
        std::fs::write(sidecar_path(&artifact), newer).unwrap();
        let e = read_sidecar(&artifact).unwrap_err().to_string();
        assert!(e.contains("has format version 2"), "{e}");

        write_sidecar(
            &artifact,
            &Target::new("m", "f", &["str"]),
            FindingKind::Crash,
        )
        .unwrap();
        let side = read_sidecar(&artifact).unwrap().expect("a sidecar");
        assert_eq!(side.version, SIDECAR_VERSION);
        assert_eq!(side.finding_kind(), Some(FindingKind::Crash));
        let other = Target::new("m", "g", &["str"]);
        let err = owned_kind(&artifact, &other, "m:g")
            .unwrap_err()
            .to_string();
        assert!(err.contains("comes from m:f"), "{err}");
    }

    #[test]
    fn kind_falls_back_to_the_artifact_name() {
        assert_eq!(
            kind_of(None, Path::new("a/timeout-12")),
            FindingKind::Timeout
        );
        assert_eq!(kind_of(None, Path::new("a/crash-12")), FindingKind::Crash);
    }
}
