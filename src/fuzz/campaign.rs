//! A fuzzing campaign of `pyz3 fuzz MODULE:FUNC`: where its corpus, seeds and artifacts are,
//! and the libFuzzer command line that runs it.
//!
//! For `pyz3 fuzz` and anyone driving a campaign from Rust: [`Campaign::new`] settles the
//! directories (creating the corpus and artifact directories), [`Campaign::args`] is the
//! command line, and [`Campaign::run`] runs the fuzz binary with it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::run::{run_fuzzer, RunResult, ToolFailed};
use crate::report::Progress;
use crate::target::Target;

/// How long and how hard to fuzz.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Stop after this many seconds (0: until a finding or Ctrl-C).
    pub max_time_s: u64,
    /// A call running longer than this many seconds is a `timeout` finding (at least 1).
    pub timeout_s: u64,
    /// Fuzzing processes (libFuzzer `-fork` when more than one).
    pub jobs: u32,
}

/// One campaign's directories and flags.
#[derive(Clone, Debug)]
pub struct Campaign {
    /// `MODULE.FUNC`: the name of the campaign's directories and of its progress.
    pub name: String,
    /// The corpus, which grows as the fuzzer finds new coverage.
    pub corpus: PathBuf,
    /// Read-only seed directories.
    pub seeds: Vec<PathBuf>,
    /// Where libFuzzer saves the inputs of findings.
    pub artifacts: PathBuf,
    /// Time, timeout and processes.
    pub limits: Limits,
    /// Extra libFuzzer flags, last on the command line.
    pub extra: Vec<String>,
}

impl Campaign {
    /// The campaign for `target`: the corpus (`.pyz3/fuzz/corpus/MODULE.FUNC` unless given)
    /// and the artifact directory `.pyz3/fuzz/artifacts/MODULE.FUNC` are created; `seeds` must
    /// exist, and `corpora/FUNC` and `corpora/MODULE.FUNC` join them when they do (said to
    /// `progress`).
    pub fn new(
        target: &Target,
        corpus: Option<PathBuf>,
        mut seeds: Vec<PathBuf>,
        limits: Limits,
        extra: Vec<String>,
        progress: &mut dyn Progress,
    ) -> anyhow::Result<Campaign> {
        let name = target.qualified_name();
        let corpus = corpus.unwrap_or_else(|| PathBuf::from(".pyz3/fuzz/corpus").join(&name));
        let artifacts = PathBuf::from(".pyz3/fuzz/artifacts").join(&name);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("cannot create {}", corpus.display()))?;
        std::fs::create_dir_all(&artifacts)
            .with_context(|| format!("cannot create {}", artifacts.display()))?;
        for s in &seeds {
            if !s.is_dir() {
                bail!("seed directory {} does not exist", s.display());
            }
        }
        for auto in [
            PathBuf::from("corpora").join(&target.function),
            PathBuf::from("corpora").join(&name),
        ] {
            if auto.is_dir() && !seeds.contains(&auto) {
                progress.note(&format!("seeds from {}", auto.display()));
                seeds.push(auto);
            }
        }
        Ok(Campaign {
            name,
            corpus,
            seeds,
            artifacts,
            limits,
            extra,
        })
    }

    /// The libFuzzer command line: corpus, seeds, artifact prefix, timeout, total time,
    /// processes, final statistics, then the extra flags.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![self.corpus.to_string_lossy().into()];
        args.extend(self.seeds.iter().map(|s| s.to_string_lossy().to_string()));
        args.push(format!("-artifact_prefix={}/", self.artifacts.display()));
        args.push(format!("-timeout={}", self.limits.timeout_s.max(1)));
        if self.limits.max_time_s > 0 {
            args.push(format!("-max_total_time={}", self.limits.max_time_s));
        }
        if self.limits.jobs > 1 {
            args.push(format!("-fork={}", self.limits.jobs));
        }
        args.push("-print_final_stats=1".into());
        args.extend(self.extra.iter().cloned());
        args
    }

    /// Runs the fuzz binary `bin` (with `envs`) on this campaign for `target`. A run that
    /// stops on neither a clean finish nor an artifact is a [`ToolFailed`] with the end of its
    /// output.
    pub fn run(
        &self,
        target: &Target,
        bin: &Path,
        envs: &[(&str, String)],
        progress: &mut dyn Progress,
    ) -> anyhow::Result<RunResult> {
        progress.note(&format!(
            "fuzzing {}({}) for {}",
            self.name,
            target.param_types.join(", "),
            match self.limits.max_time_s {
                0 => "ever".to_string(),
                s => format!("{s} s"),
            }
        ));
        let r = run_fuzzer(bin, envs, &self.args(), &self.name, progress)?;
        if r.artifact.is_none() && r.status != Some(0) {
            return Err(ToolFailed {
                message: format!(
                    "the fuzzer stopped with status {:?} and no artifact (output above)",
                    r.status
                ),
                output: r.tail.iter().cloned().collect(),
            }
            .into());
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_has_every_limit_and_the_extra_flags_last() {
        let c = Campaign {
            name: "m.f".into(),
            corpus: "c".into(),
            seeds: vec!["s".into()],
            artifacts: "a".into(),
            limits: Limits {
                max_time_s: 5,
                timeout_s: 0,
                jobs: 2,
            },
            extra: vec!["-max_len=9".into()],
        };
        assert_eq!(
            c.args(),
            [
                "c",
                "s",
                "-artifact_prefix=a/",
                "-timeout=1",
                "-max_total_time=5",
                "-fork=2",
                "-print_final_stats=1",
                "-max_len=9"
            ]
        );
        let forever = Campaign {
            limits: Limits {
                max_time_s: 0,
                timeout_s: 10,
                jobs: 1,
            },
            extra: vec![],
            ..c
        };
        let args = forever.args();
        assert!(args.contains(&"-timeout=10".to_string()));
        assert!(!args
            .iter()
            .any(|a| a.starts_with("-max_total_time") || a.starts_with("-fork")));
    }
}
