//! Corpus minimization: the smallest set of a corpus's inputs with the same coverage, put in
//! the corpus's place, the original kept beside it.
//!
//! For `pyz3 fuzz cmin`. libFuzzer's `-merge=1` writes the minimized set into a fresh
//! directory `CORPUS.cmin-<time>`; only when it succeeds is the corpus renamed to
//! `CORPUS.orig-<time>` and the fresh directory to `CORPUS`, so a failure leaves the corpus as
//! it was.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::run::{run_fuzzer, ToolFailed};
use crate::report::Progress;

/// What a minimization did.
#[derive(Clone, Debug)]
pub struct Minimized {
    /// Inputs before.
    pub before: usize,
    /// Inputs after.
    pub after: usize,
    /// Where the original corpus now is.
    pub kept: PathBuf,
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Minimizes `corpus` with the fuzz binary `bin` (run with `envs`; progress under `name`).
pub fn minimize(
    bin: &Path,
    envs: &[(&str, String)],
    corpus: &Path,
    name: &str,
    progress: &mut dyn Progress,
) -> anyhow::Result<Minimized> {
    if !corpus.is_dir() {
        bail!("corpus {} does not exist", corpus.display());
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let base = corpus
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("corpus")
        .to_string();
    let fresh = corpus.with_file_name(format!("{base}.cmin-{stamp}"));
    let kept = corpus.with_file_name(format!("{base}.orig-{stamp}"));
    std::fs::create_dir_all(&fresh)
        .with_context(|| format!("cannot create {}", fresh.display()))?;
    let args = vec![
        "-merge=1".to_string(),
        fresh.to_string_lossy().into(),
        corpus.to_string_lossy().into(),
    ];
    let before = count(corpus);
    let r = run_fuzzer(bin, envs, &args, name, progress)?;
    if r.status != Some(0) {
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(ToolFailed {
            message: format!(
                "corpus minimization failed; {} is unchanged",
                corpus.display()
            ),
            output: r.tail.into_iter().collect(),
        }
        .into());
    }
    std::fs::rename(corpus, &kept)
        .with_context(|| format!("cannot rename {} to {}", corpus.display(), kept.display()))?;
    std::fs::rename(&fresh, corpus)
        .with_context(|| format!("cannot rename {} to {}", fresh.display(), corpus.display()))?;
    Ok(Minimized {
        before,
        after: count(corpus),
        kept,
    })
}
