//! Running a libFuzzer binary and reading what it prints.
//!
//! For `pyz3 fuzz` and its `cmin`: progress (executions, exec/s, coverage, corpus size) as the
//! fuzzer reports it, the artifact it saved, the finding a pyz3 target printed, and the crash
//! report's lines. Progress goes to a [`Progress`]: the run is one step, and each status line
//! is a note (see [`run_fuzzer`]).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

use super::spec::{ReportLine, GUIDANCE_PREFIX, REPORT_PREFIX};
use crate::report::Progress;

/// What one fuzzing process reported.
#[derive(Debug, Default)]
pub struct RunResult {
    /// The input libFuzzer saved for a crash or a finding.
    pub artifact: Option<PathBuf>,
    /// The finding the target reported (the line after [`REPORT_PREFIX`]).
    pub report: Option<ReportLine>,
    /// The crash report's lines (sanitizer or libFuzzer), at most 200.
    pub crash_lines: Vec<String>,
    /// Executions so far.
    pub execs: u64,
    /// Executions per second: as libFuzzer last printed it for one process; for `-fork`, all
    /// jobs' executions over the supervisor's time (its own `exec/s` is the last job's alone).
    pub exec_s: u64,
    /// Coverage (libFuzzer's `cov:`).
    pub cov: u64,
    /// Corpus size (`corp:`, e.g. `42/1234b`).
    pub corpus: String,
    /// Where the target said its coverage comes from (after [`GUIDANCE_PREFIX`]).
    pub guidance: Option<String>,
    /// The process's exit code.
    pub status: Option<i32>,
    /// The last 60 lines of output.
    pub tail: VecDeque<String>,
}

/// A tool pyz3 ran (cargo, a fuzz binary) failed. Its message says "output above": whoever
/// shows the error shows `output`, the end of what the tool printed, first.
#[derive(Debug)]
pub struct ToolFailed {
    /// What failed, in one line.
    pub message: String,
    /// The last lines the tool printed.
    pub output: Vec<String>,
}

impl std::fmt::Display for ToolFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolFailed {}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let i = line.find(key)? + key.len();
    line[i..].split_whitespace().next()
}

/// Reads a libFuzzer status line (`#EXECS ... cov: ... corp: ... exec/s: ...`) into `r`;
/// whether it was one. The supervisor of `-fork` prints, after each job, every job's executions
/// so far with that one job's `exec/s` and its own running `time: Ns`: the rate of all of them
/// is the executions over that time.
fn read_status(line: &str, r: &mut RunResult) -> bool {
    let Some(stats) = line.strip_prefix('#') else {
        return false;
    };
    if let Some(n) = stats
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
    {
        r.execs = n;
    }
    if let Some(c) = field(line, "cov: ") {
        r.cov = c.parse().unwrap_or(r.cov);
    }
    if let Some(c) = field(line, "corp: ") {
        r.corpus = c.to_string();
    }
    let supervisor = field(line, " job: ").and(field(line, " time: "));
    match supervisor.and_then(|t| t.strip_suffix('s')?.parse::<u64>().ok()) {
        Some(secs) => r.exec_s = r.execs / secs.max(1),
        None => {
            // (Older libFuzzers printed `exec/s N` on some lines.)
            if let Some(e) = field(line, "exec/s: ").or_else(|| field(line, "exec/s ")) {
                r.exec_s = e.parse().unwrap_or(r.exec_s);
            }
        }
    }
    true
}

/// Whether `line` opens a crash report (a sanitizer's, or libFuzzer's for a signal or a
/// timeout).
fn starts_crash(line: &str) -> bool {
    line.contains("==ERROR:")
        || line.contains("deadly signal")
        || line.contains("ALARM: working on the last Unit")
}

/// The sanitizer report of `artifact` made again: `bin` runs that one input (with `envs`, for at
/// most `timeout_s` per input and twice that plus a minute in all), and its report's lines (at
/// most 200) are returned when it ends in the same `SUMMARY:` line as `summary`. `pyz3 fuzz`
/// fuzzes without allocation stacks ([`ASAN_FUZZING`](super::spec::ASAN_FUZZING)); the replay
/// has them. `None` when the replay does not report the same error (or cannot run).
pub fn replay_report(
    bin: &Path,
    envs: &[(&str, String)],
    artifact: &Path,
    timeout_s: u64,
    summary: &str,
) -> Option<Vec<String>> {
    let limit = Duration::from_secs(timeout_s.saturating_mul(2).saturating_add(60));
    let out = crate::process::output_or_partial(
        Command::new(bin)
            .arg(format!("-timeout={timeout_s}"))
            .arg(artifact)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null()),
        limit,
    )
    .ok()?;
    let text = String::from_utf8_lossy(&out.2);
    let lines: Vec<String> = text
        .lines()
        .skip_while(|l| !starts_crash(l))
        .take(200)
        .map(String::from)
        .collect();
    lines
        .iter()
        .any(|l| l.trim() == summary.trim())
        .then_some(lines)
}

/// How often a status line is passed on: the progress display may show fewer.
pub const STATUS_EVERY: Duration = Duration::from_millis(500);

/// Runs the fuzz binary `bin` with libFuzzer flags `args` until it stops. `progress` sees one
/// step named `name`; while it lasts, every [`STATUS_EVERY`] at most, a note with the run's
/// status (`NAME: 12 s  3400 execs  280 exec/s  cov 51  corpus 17/211b`), each replacing the
/// one before.
pub fn run_fuzzer(
    bin: &Path,
    envs: &[(&str, String)],
    args: &[String],
    name: &str,
    progress: &mut dyn Progress,
) -> anyhow::Result<RunResult> {
    let mut child = Command::new(bin)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    // libFuzzer bounds its own run (`-max_total_time`; 0 runs until a finding or Ctrl-C, which
    // reaches it directly in pyz3's process group); SIGTERM to pyz3 kills it.
    let _cleanup = crate::process::register_process(child.id());
    let stderr = child.stderr.take().context("fuzzer stderr")?;
    progress.start(name, None);
    let start = Instant::now();
    let mut last_print = Instant::now() - Duration::from_secs(60);
    let mut r = RunResult::default();
    let mut in_crash = false;
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if line.starts_with(REPORT_PREFIX) {
            r.report = ReportLine::parse(&line);
            in_crash = true;
            continue;
        }
        if let Some(g) = line.strip_prefix(GUIDANCE_PREFIX) {
            if r.guidance.is_none() {
                progress.note(&format!("{name}: {g}"));
                r.guidance = Some(g.to_string());
            }
        }
        if let Some(p) = line.split("Test unit written to ").nth(1) {
            r.artifact = Some(PathBuf::from(p.trim()));
        }
        if starts_crash(&line) {
            in_crash = true;
        }
        if in_crash && r.crash_lines.len() < 200 {
            r.crash_lines.push(line.clone());
        }
        if read_status(&line, &mut r) && last_print.elapsed() >= STATUS_EVERY {
            last_print = Instant::now();
            progress.advance(r.execs);
            progress.note(&format!(
                "{name}: {:>5.0} s  {} execs  {} exec/s  cov {}  corpus {}",
                start.elapsed().as_secs_f64(),
                r.execs,
                r.exec_s,
                r.cov,
                r.corpus
            ));
        }
        r.tail.push_back(line);
        if r.tail.len() > 60 {
            r.tail.pop_front();
        }
    }
    progress.finish();
    r.status = child.wait()?.code();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_of_fork_jobs_is_all_their_executions_over_the_supervisors_time() {
        let mut r = RunResult::default();
        // One process: its own average.
        assert!(read_status(
            "#4194304\tpulse  cov: 0 ft: 537 corp: 523/11Kb exec/s: 838860 rss: 61Mb",
            &mut r
        ));
        assert_eq!((r.execs, r.exec_s, r.cov), (4_194_304, 838_860, 0));
        assert_eq!(r.corpus, "523/11Kb");
        // The supervisor of -fork=2: 132,641,178 executions of both jobs in 120 s; the last
        // job alone ran at 643,350 exec/s.
        let mut r = RunResult::default();
        assert!(read_status(
            "#132641178: cov: 0 ft: 591 corp: 591 exec/s: 643350 oom/timeout/crash: 0/0/0 \
             time: 120s job: 21 dft_time: 0",
            &mut r
        ));
        assert_eq!((r.execs, r.exec_s), (132_641_178, 1_105_343));
        assert_eq!(r.corpus, "591");
        assert!(!read_status("INFO: Seed: 1", &mut r));
    }
}
