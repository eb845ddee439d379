//! Replaying a fuzz corpus for coverage: every input decoded into the call it stands for, and
//! the calls run against a coverage build of the extension.
//!
//! For `pyz3 fuzz coverage` and `pyz3 fuzz --coverage`: the fuzzer's own coverage counts only
//! what was instrumented for it; replayed in a coverage build, the corpus shows which lines
//! and branches of the extension it never reached.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::spec::decode;
use crate::coverage::replay::Replayed;
use crate::project::Interpreter;
use crate::report::Progress;
use crate::target::Target;

/// A corpus decoded into calls.
#[derive(Clone, Debug, Default)]
pub struct CorpusCalls {
    /// One call per input (`f(b'\x00')`), in file-name order per directory.
    pub calls: Vec<String>,
    /// Modules the calls need imported, each once.
    pub imports: Vec<String>,
}

/// Decodes every file of the `corpus` directories for `target`.
pub fn corpus_calls(target: &Target, corpus: &[PathBuf]) -> anyhow::Result<CorpusCalls> {
    let mut inputs = Vec::new();
    for dir in corpus {
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("corpus {} does not exist", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        inputs.extend(files);
    }
    let mut out = CorpusCalls::default();
    for input in &inputs {
        let data =
            std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
        let (call, needs) = target.call_source(&decode(target, &data)?);
        for i in needs {
            if !out.imports.contains(&i) {
                out.imports.push(i);
            }
        }
        out.calls.push(call);
    }
    Ok(out)
}

/// Replays the `corpus` directories' inputs for `target` in `python` (a coverage build's
/// interpreter, with its environment `env`), working in `work`; one call may take 10 s.
pub fn replay(
    python: &Interpreter,
    env: &[(String, String)],
    work: &Path,
    target: &Target,
    corpus: &[PathBuf],
    progress: &mut dyn Progress,
) -> anyhow::Result<Replayed> {
    let calls = corpus_calls(target, corpus)?;
    let shown = corpus
        .iter()
        .map(|c| c.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    if calls.calls.is_empty() {
        progress.warn(&format!(
            "no inputs in {shown}: nothing to replay, every line counts zero"
        ));
    }
    let n = calls.calls.len();
    progress.note(&format!(
        "replaying {n} input{} of {shown} against the coverage build",
        if n == 1 { "" } else { "s" },
    ));
    let done = crate::coverage::replay::replay(
        python,
        env,
        work,
        &target.module,
        &target.function,
        &calls.imports,
        &calls.calls,
        Duration::from_secs(10),
    )?;
    if done.lost > 0 {
        progress.note(&format!(
            "{} input{} crashed or hung the replay and were skipped (their counts up to the crash are kept)",
            done.lost,
            if done.lost == 1 { "" } else { "s" }
        ));
    }
    Ok(done)
}
