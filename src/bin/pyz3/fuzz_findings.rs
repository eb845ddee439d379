//! What `pyz3 fuzz` makes of an artifact: the finding's kind, the call as Python source, the
//! sidecar that names its target, and the reproducer.

use std::path::{Path, PathBuf};

use anyhow::Context;
use pyz3::check::{repro, FunctionTarget};
use pyz3::fuzz::run::RunResult;
use pyz3::fuzz::TargetSpec;
use pyz3::report::{Finding, FindingKind};

pub(crate) fn kind_of(report: Option<&serde_json::Value>, artifact: &Path) -> FindingKind {
    let by_name = report
        .and_then(|r| r["kind"].as_str())
        .and_then(|k| FindingKind::ALL.into_iter().find(|x| x.name() == k));
    by_name.unwrap_or_else(|| {
        let file = artifact.file_name().and_then(|f| f.to_str()).unwrap_or("");
        if file.starts_with("timeout-") {
            FindingKind::Timeout
        } else {
            FindingKind::Crash
        }
    })
}

pub(crate) fn function_target(spec: &TargetSpec) -> FunctionTarget {
    FunctionTarget {
        module: spec.module.clone(),
        path: spec.path.clone(),
        function: spec.function.clone(),
        param_names: spec.param_names.clone(),
        param_types: spec.param_types.clone(),
        property: spec.property.clone(),
        ..FunctionTarget::default()
    }
}

/// Decodes the artifact, prints it as Python source and writes the reproducer and a sidecar
/// naming the target.
pub(crate) fn report_finding(
    spec: &TargetSpec,
    artifact: &Path,
    r: &RunResult,
    repro_dir: Option<PathBuf>,
    timeout_s: u64,
) -> anyhow::Result<()> {
    let kind = kind_of(r.report.as_ref(), artifact);
    let (finding, call) = write_repro(spec, artifact, kind, r, repro_dir, timeout_s)?;
    let side = sidecar(artifact);
    let meta = serde_json::json!({"target": spec, "kind": kind.name()});
    pyz3::fs::write_atomic(&side, serde_json::to_string_pretty(&meta)?.as_bytes())?;
    println!("pyz3: {} in {}.{}", kind.name(), spec.module, spec.function);
    for i in &finding.imports {
        println!("  import {i}");
    }
    println!("  {call}");
    for l in finding.message.lines().take(8) {
        println!("  {l}");
    }
    println!("  artifact:   {}", artifact.display());
    if let Some(p) = &finding.reproducer {
        // Its first line names the interpreter it runs with.
        let python = std::fs::read_to_string(p)
            .ok()
            .and_then(|t| {
                t.lines()
                    .next()
                    .and_then(|l| l.strip_prefix("#!"))
                    .map(String::from)
            })
            .unwrap_or_else(|| "python3".into());
        println!("  reproducer: {python} {}", p.display());
    }
    Ok(())
}

pub(crate) fn sidecar(artifact: &Path) -> PathBuf {
    let mut s = artifact.as_os_str().to_owned();
    s.push(".pyz3.json");
    PathBuf::from(s)
}

pub(crate) fn write_repro(
    spec: &TargetSpec,
    artifact: &Path,
    kind: FindingKind,
    r: &RunResult,
    repro_dir: Option<PathBuf>,
    timeout_s: u64,
) -> anyhow::Result<(Finding, String)> {
    let data =
        std::fs::read(artifact).with_context(|| format!("cannot read {}", artifact.display()))?;
    let args = spec.decode(&data)?;
    let (call, imports) = spec.call_source(&args);
    let input = format!(
        "({},)",
        args.iter()
            .map(|a| a.python_source().expr)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let message = r
        .report
        .as_ref()
        .and_then(|j| j["message"].as_str().map(str::to_string))
        .or_else(|| {
            r.crash_lines
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
        message,
        traceback: (!r.crash_lines.is_empty()).then(|| r.crash_lines.join("\n")),
        reproducer: None,
        subkind: None,
        frames: Vec::new(),
        test: None,
        threads: None,
    };
    let dir = repro_dir.unwrap_or_else(|| PathBuf::from(".pyz3/repro"));
    // The fuzz binary embeds the interpreter chosen by the rule when it was built.
    let python = crate::project_args::interpreter(None)
        .map(|i| i.executable)
        .unwrap_or_else(|_| PathBuf::from("python3"));
    finding.reproducer = Some(
        repro::write(
            &dir,
            &function_target(spec),
            &finding,
            timeout_s * 1000,
            &python,
        )
        .with_context(|| format!("cannot write a reproducer into {}", dir.display()))?,
    );
    Ok((finding, call))
}
