//! Measuring benchmarks: wall time in several interleaved processes, and instruction counts
//! under callgrind.
//!
//! For `pyz3 bench`. Each process runs `runner.py` (shipped in pyz3) over the bench files with
//! one side's built modules first on `PYTHONPATH`. Wall time: iterations per sample are
//! calibrated once, then processes alternate between sides (current, baseline, current, ...) and
//! each takes samples of every benchmark round by round, so machine drift hits both sides alike.
//! Instructions: the real interpreter runs under callgrind with collection only inside the
//! benchmark loop, twice (N and 2N calls); the difference over N is the count per call, free of
//! start-up and import costs.
//!
//! Every step of a benchmark process has a time limit ([`Bench::step_limit`]): the runner marks
//! each step in a page shared with pyz3, and a step that outlives its limit has the process's
//! group killed and is named in the error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::baseline::BenchResult;
use crate::process::{SharedPage, TOOL_LIMIT};
use crate::project::Interpreter;
use crate::toolchain::find_on_path;

/// The runner script.
pub const RUNNER: &str = include_str!("runner.py");

/// One side of a measurement: a build of the extension.
#[derive(Clone, Debug)]
pub struct Side {
    /// `current`, or the baseline's ref.
    pub label: String,
    /// The directory with its built modules.
    pub lib_dir: PathBuf,
}

/// What every process needs.
#[derive(Clone, Debug)]
pub struct Bench {
    /// The interpreter.
    pub python: Interpreter,
    /// The runner script on disk.
    pub runner: PathBuf,
    /// The bench files.
    pub files: Vec<PathBuf>,
    /// The working directory (the project root).
    pub cwd: PathBuf,
    /// Longest one step of a benchmark may run: importing its file, its setup and warm-up
    /// call, one calibration, one sample. A loop of many calls (profiles, memory, callgrind)
    /// gets ten times as long, at least 10 minutes; pyz3's own work in the process (starting
    /// the interpreter, writing results) at least 60 s.
    pub step_limit: std::time::Duration,
}

/// The default of [`Bench::step_limit`] (`--timeout-ms`).
pub const DEFAULT_STEP_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The fd the watch page has in a benchmark process.
const WATCH_FD: i32 = 3;

/// Kinds of step in the watch page (word 0), as `runner.py` writes them.
const IMPORT: u64 = 1;
const LOOPS: u64 = 3;

/// How much to measure in wall mode.
#[derive(Clone, Copy, Debug)]
pub struct WallPlan {
    /// Processes per side.
    pub processes: usize,
    /// Samples per benchmark per process.
    pub samples: usize,
    /// Minimum duration of one sample, in nanoseconds.
    pub min_sample_ns: u64,
}

impl Default for WallPlan {
    fn default() -> Self {
        WallPlan {
            processes: 6,
            samples: 1000,
            min_sample_ns: 20_000,
        }
    }
}

impl Bench {
    /// Writes the runner into `work` and prepares a bench over `files`.
    pub fn new(
        python: Interpreter,
        work: &Path,
        files: Vec<PathBuf>,
        cwd: &Path,
    ) -> anyhow::Result<Bench> {
        crate::fs::create_dir_all(work)?;
        let runner = work.join("pyz3_bench_runner.py");
        std::fs::write(&runner, RUNNER)
            .with_context(|| format!("cannot write {}", runner.display()))?;
        Ok(Bench {
            python,
            runner,
            files,
            cwd: cwd.to_path_buf(),
            step_limit: DEFAULT_STEP_LIMIT,
        })
    }

    fn command(
        &self,
        program: Option<(&str, Vec<String>)>,
        side: &Side,
        args: &[String],
    ) -> Command {
        let mut cmd = match &program {
            Some((p, pre)) => {
                let mut c = Command::new(p);
                c.args(pre).arg(&self.python.executable);
                c
            }
            None => Command::new(&self.python.executable),
        };
        if self.python.safe_path {
            cmd.arg("-P");
        }
        cmd.arg(&self.runner).args(args).args(&self.files);
        let mut path = vec![side.lib_dir.display().to_string()];
        if let Ok(old) = std::env::var("PYTHONPATH") {
            if !old.is_empty() {
                path.push(old);
            }
        }
        cmd.env("PYTHONPATH", path.join(":"))
            .env("PYTHONHASHSEED", "0")
            .env_remove("PYTHONMALLOC")
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// What the watch page says is running: (kind, name, started ns), when a read is whole.
    fn step(page: &SharedPage) -> Option<(u64, Vec<u8>, u64)> {
        let read = || {
            let start = page.word(1);
            let kind = page.word(0);
            let len = page.word(2).min(1024) as usize;
            (kind, page.bytes(64, len), start)
        };
        let (a, b) = (read(), read());
        (a == b && a.2 != 0).then_some(a)
    }

    /// Runs one benchmark process, stopping a step that outlives its limit.
    fn run_json(&self, mut cmd: Command) -> anyhow::Result<serde_json::Value> {
        let page = SharedPage::new(c"pyz3-bench-watch")?;
        page.pass_to(&mut cmd, WATCH_FD);
        cmd.env("PYZ3_BENCH_WATCH_FD", WATCH_FD.to_string());
        let started = std::time::Instant::now();
        let limit = self.step_limit;
        let long = (limit * 10).max(std::time::Duration::from_secs(600));
        let own = limit.max(TOOL_LIMIT);
        // Whether the runner has marked a step yet: after that, a read that is not whole (the
        // runner is writing a mark) is no reason to stop.
        let mut marked = false;
        let watched = crate::process::output_watched(&mut cmd, || match Self::step(&page) {
            Some((kind, name, start)) => {
                marked = true;
                let running = std::time::Duration::from_nanos(
                    crate::process::monotonic_ns().saturating_sub(start),
                );
                let allowed = match kind {
                    0 => own,
                    LOOPS => long,
                    _ => limit,
                };
                (running > allowed)
                    .then(|| (kind, String::from_utf8_lossy(&name).into_owned(), allowed))
            }
            // Nothing marked yet: the interpreter is starting.
            None if !marked => (started.elapsed() > own).then(|| (0, String::new(), own)),
            None => None,
        })
        .with_context(|| format!("cannot run {}", self.python.executable.display()))?;
        if let Some((kind, name, allowed)) = watched.stopped {
            let name = crate::report::printable(&name);
            let within = crate::process::seconds(allowed);
            match kind {
                IMPORT => bail!("bench file {name} did not finish importing within {within}; it was stopped"),
                0 => bail!("the benchmark process did not finish its own work within {within}; it was stopped"),
                _ => bail!(
                    "benchmark {name} did not finish within {within} (--timeout-ms, or timeout-ms \
                     under [tool.pyz3.bench]); it was stopped"
                ),
            }
        }
        let out = std::process::Output {
            status: watched.status.expect("not stopped"),
            stdout: watched.stdout,
            stderr: watched.stderr,
        };
        let value: Option<serde_json::Value> = serde_json::from_slice(&out.stdout).ok();
        if let Some(err) = value.as_ref().and_then(|v| v.get("error")) {
            let tb = err["traceback"].as_str().unwrap_or("");
            let last = tb
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            match err["what"].as_str() {
                Some("import") => bail!(
                    "bench file {} does not import: {last}",
                    err["name"].as_str().unwrap_or("?")
                ),
                _ => bail!(
                    "bench function {} raised: {last}\n{}",
                    err["name"].as_str().unwrap_or("?"),
                    tb.trim_end()
                ),
            }
        }
        match value {
            Some(v) if out.status.success() => Ok(v),
            _ => bail!(
                "the benchmark process failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no output")
            ),
        }
    }

    /// The benchmark names in the bench files.
    pub fn list(&self, side: &Side) -> anyhow::Result<Vec<String>> {
        let v = self.run_json(self.command(None, side, &["list".into()]))?;
        Ok(serde_json::from_value(v)?)
    }

    /// Iterations per sample for each of `names`.
    pub fn calibrate(
        &self,
        side: &Side,
        names: &[String],
        min_ns: u64,
    ) -> anyhow::Result<BTreeMap<String, u64>> {
        let v = self.run_json(self.command(
            None,
            side,
            &[
                "calibrate".into(),
                min_ns.to_string(),
                serde_json::to_string(names)?,
            ],
        ))?;
        Ok(serde_json::from_value(v)?)
    }

    /// Wall-time samples (ns per call) of each side: `result[side][name]` holds one list per
    /// process. `progress` is called after each process with (done, total).
    pub fn wall(
        &self,
        sides: &[Side],
        iters: &BTreeMap<String, u64>,
        plan: WallPlan,
        mut progress: impl FnMut(usize, usize),
    ) -> anyhow::Result<Vec<BTreeMap<String, BenchResult>>> {
        let mut samples: Vec<BTreeMap<String, Vec<Vec<f64>>>> = vec![BTreeMap::new(); sides.len()];
        let total = plan.processes * sides.len();
        let request = serde_json::json!({"samples": plan.samples, "iters": iters}).to_string();
        for p in 0..plan.processes {
            // Alternate which side goes first, so neither always runs on a warmer machine.
            let order: Vec<usize> = if p % 2 == 0 {
                (0..sides.len()).collect()
            } else {
                (0..sides.len()).rev().collect()
            };
            for (k, &s) in order.iter().enumerate() {
                let v = self.run_json(self.command(
                    None,
                    &sides[s],
                    &["sample".into(), request.clone()],
                ))?;
                let got: BTreeMap<String, Vec<f64>> = serde_json::from_value(v)?;
                for (name, xs) in got {
                    samples[s].entry(name).or_default().push(xs);
                }
                progress(p * sides.len() + k + 1, total);
            }
        }
        Ok(samples
            .into_iter()
            .map(|side| {
                side.into_iter()
                    .map(|(name, processes)| (name, BenchResult::wall(processes)))
                    .collect()
            })
            .collect())
    }

    /// Instructions and estimated cycles per call of each benchmark in `calls` (name → calls
    /// per loop), in one callgrind run of the real interpreter on `side`. Address-space
    /// randomization is off (`setarch -R`) and `PYTHONHASHSEED=0`, so counts repeat exactly.
    pub fn instructions(
        &self,
        side: &Side,
        calls: &BTreeMap<String, u64>,
        work: &Path,
    ) -> anyhow::Result<BTreeMap<String, BenchResult>> {
        if find_on_path("valgrind").is_none() {
            bail!(
                "valgrind is not installed: `apt-get install valgrind` (needed for --instructions)"
            );
        }
        let dir = work.join(format!("callgrind-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        crate::fs::create_dir_all(&dir)?;
        let spec: Vec<(&String, &u64)> = calls.iter().collect();
        let mut pre = Vec::new();
        let program = if find_on_path("setarch").is_some() {
            pre.extend([
                std::env::consts::ARCH.to_string(),
                "-R".into(),
                "valgrind".into(),
            ]);
            "setarch"
        } else {
            "valgrind"
        };
        pre.extend([
            "--tool=callgrind".to_string(),
            format!("--callgrind-out-file={}", dir.join("cg.out").display()),
            "--collect-atstart=no".into(),
            "--toggle-collect=builtin_exec".into(),
            "--dump-after=builtin_exec".into(),
            "--cache-sim=yes".into(),
        ]);
        let cmd = self.command(
            Some((program, pre)),
            side,
            &["loops".into(), serde_json::to_string(&spec)?],
        );
        self.run_json(cmd)?;
        // Profile parts in order; the last three per benchmark are its loops (warm-up, N, 2N).
        let mut parts: Vec<(u64, [f64; 2])> = Vec::new();
        for entry in crate::fs::read_dir(&dir)? {
            let text = crate::fs::read_to_string(entry?.path())?;
            let part = text
                .lines()
                .find_map(|l| l.strip_prefix("part:"))
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(0);
            if let Ok(t) = callgrind_totals(&text) {
                parts.push((part, t));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        parts.sort_by_key(|p| p.0);
        // The final dump at exit comes after the loops.
        if parts.last().is_some_and(|p| p.1[0] == 0.0) {
            parts.pop();
        }
        if parts.len() < 3 * spec.len() {
            bail!(
                "callgrind recorded {} profile parts, expected at least {}",
                parts.len(),
                3 * spec.len()
            );
        }
        let ours = &parts[parts.len() - 3 * spec.len()..];
        Ok(spec
            .iter()
            .enumerate()
            .map(|(i, (name, n))| {
                let (once, twice) = (ours[3 * i + 1].1, ours[3 * i + 2].1);
                let per = |k: usize| (twice[k] - once[k]) / **n as f64;
                let r = BenchResult {
                    unit: "instructions".into(),
                    estimate: per(0),
                    processes: Vec::new(),
                    cycles: Some(per(1)),
                    calls: Some(**n),
                };
                ((*name).clone(), r)
            })
            .collect())
    }
}

/// Allocations of `calls` calls of one benchmark (`runner.py memory`).
#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
pub struct MemoryUse {
    /// `memray` (Python and native allocators) or `tracemalloc` (Python only).
    pub tool: String,
    /// Calls measured.
    pub iters: u64,
    /// Allocations over all calls (memray only).
    pub allocations: Option<u64>,
    /// Bytes allocated over all calls (memray only).
    pub allocated_bytes: Option<u64>,
    /// The peak of memory in use while tracking.
    pub peak_bytes: u64,
    /// Bytes still held after the calls and a garbage collection: growth across calls.
    pub retained_bytes: u64,
}

impl Bench {
    /// Memory use of `calls` calls of `name` on `side`.
    pub fn memory(&self, side: &Side, name: &str, calls: u64) -> anyhow::Result<MemoryUse> {
        let v = self.run_json(self.command(
            None,
            side,
            &["memory".into(), name.to_string(), calls.to_string()],
        ))?;
        Ok(serde_json::from_value(v)?)
    }

    /// `python runner.py loop NAME CALLS FILES` for `side`, to run under a profiler.
    pub fn loop_command(&self, side: &Side, name: &str, calls: u64) -> Command {
        let mut cmd = self.command(
            None,
            side,
            &["loop".into(), name.to_string(), calls.to_string()],
        );
        cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
        cmd
    }
}

/// `[instructions, estimated cycles]` from a callgrind profile's `events:` and `summary:`
/// (or `totals:`) lines. Cycles = Ir + 10 × L1 misses + 100 × last-level misses.
pub fn callgrind_totals(text: &str) -> anyhow::Result<[f64; 2]> {
    let events: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("events:"))
        .context("callgrind profile without an `events:` line")?
        .split_whitespace()
        .collect();
    let values: Vec<f64> = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .context("callgrind profile without totals")?
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let get = |e: &str| {
        events
            .iter()
            .position(|x| *x == e)
            .and_then(|i| values.get(i).copied())
            .unwrap_or(0.0)
    };
    let ir = get("Ir");
    let l1 = get("I1mr") + get("D1mr") + get("D1mw");
    let ll = get("ILmr") + get("DLmr") + get("DLmw");
    Ok([ir, ir + 10.0 * l1 + 100.0 * ll])
}

#[cfg(test)]
mod tests {
    #[test]
    fn callgrind_totals_parse() {
        let text =
            "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nsummary: 1000 10 10 1 2 3 1 0 1\n";
        let [ir, cyc] = super::callgrind_totals(text).unwrap();
        assert_eq!(ir, 1000.0);
        assert_eq!(cyc, 1000.0 + 60.0 + 200.0);
    }
}
