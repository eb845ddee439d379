//! One `pyz3 bench` run: find the bench files, build the extension (and the compared ref in a
//! temporary worktree), measure, compare, save.
//!
//! For the command line and for users driving benchmarks from Rust: [`run`] returns data; the
//! writers in [`super::report`] print it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use super::baseline::{Baseline, BenchResult, Machine, Mode, PythonInfo, Store, VERSION};
use super::compare::Comparison;
use super::criterion;
use super::git;
use super::measure::{Bench, Side, WallPlan, DEFAULT_STEP_LIMIT};
use crate::project::build::copy_tree;
use crate::project::{build, BuildOptions, Interpreter, Project};
use crate::report::Progress;
use crate::sanitize::SanitizerSet;

/// What to run and compare.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Only benchmarks whose name contains this.
    pub filter: Option<String>,
    /// Wall time or instruction counts.
    pub mode: Mode,
    /// Processes and samples (wall mode).
    pub plan: WallPlan,
    /// Noise threshold (0.05 = 5%).
    pub threshold: f64,
    /// Save the current results under this name.
    pub save_baseline: Option<String>,
    /// Compare with this saved baseline.
    pub baseline: Option<String>,
    /// Compare with this git ref (its saved baseline, else built and measured now).
    pub compare: Option<String>,
    /// Longest one step of a benchmark may run, in ms (see [`Bench::step_limit`]); `None`:
    /// `timeout-ms` under `[tool.pyz3.bench]`, else 60 s.
    pub timeout_ms: Option<u64>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            filter: None,
            mode: Mode::Wall,
            plan: WallPlan::default(),
            threshold: 0.05,
            save_baseline: None,
            baseline: None,
            compare: None,
            timeout_ms: None,
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct BenchRun {
    /// The current tree's results.
    pub results: BTreeMap<String, BenchResult>,
    /// The comparison, when a baseline or ref was given.
    pub comparison: Option<Comparison>,
    /// Where the results were saved, when asked.
    pub saved: Option<PathBuf>,
    /// The measuring set-up (to profile the same benchmarks afterwards).
    pub bench: Bench,
    /// The sides measured: the current tree first, then the ref when one was built.
    pub sides: Vec<Side>,
    /// The benchmarks selected.
    pub names: Vec<String>,
}

/// `[tool.pyz3.bench]` of the project's pyproject.toml, when it has one.
fn bench_table(root: &Path) -> anyhow::Result<Option<toml::Table>> {
    let pyproject = root.join("pyproject.toml");
    let Ok(text) = std::fs::read_to_string(&pyproject) else {
        return Ok(None);
    };
    let t = text
        .parse::<toml::Table>()
        .with_context(|| format!("{} does not parse", pyproject.display()))?;
    Ok(t.get("tool")
        .and_then(|t| t.get("pyz3"))
        .and_then(|t| t.get("bench"))
        .and_then(|t| t.as_table())
        .cloned())
}

/// The limit of one benchmark step: `opts.timeout_ms`, else `timeout-ms` under
/// `[tool.pyz3.bench]`, else [`DEFAULT_STEP_LIMIT`]; zero is refused.
pub fn step_limit(root: &Path, opts: &BenchOptions) -> anyhow::Result<Duration> {
    let ms = match opts.timeout_ms {
        Some(ms) => Some(ms),
        None => match bench_table(root)?.and_then(|t| t.get("timeout-ms").cloned()) {
            None => None,
            Some(toml::Value::Integer(ms)) if ms >= 0 => Some(ms as u64),
            Some(other) => bail!(
                "pyproject.toml [tool.pyz3.bench] timeout-ms must be a number of milliseconds (got {other})"
            ),
        },
    };
    match ms {
        Some(0) => bail!("--timeout-ms must be at least 1"),
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Ok(DEFAULT_STEP_LIMIT),
    }
}

/// The bench files: `[tool.pyz3.bench] paths` (files or directories) in pyproject.toml, else
/// `benches/bench_*.py`.
pub fn bench_files(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let pyproject = root.join("pyproject.toml");
    let configured: Option<Vec<String>> = std::fs::read_to_string(&pyproject)
        .ok()
        .map(|t| {
            t.parse::<toml::Table>()
                .with_context(|| format!("{} does not parse", pyproject.display()))
        })
        .transpose()?
        .and_then(|t| {
            let paths = t
                .get("tool")?
                .get("pyz3")?
                .get("bench")?
                .get("paths")?
                .as_array()?
                .clone();
            Some(
                paths
                    .iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect(),
            )
        });
    let is_configured = configured.is_some();
    let entries: Vec<PathBuf> = match configured {
        Some(paths) => paths.iter().map(|p| root.join(p)).collect(),
        None => vec![root.join("benches")],
    };
    let mut files = Vec::new();
    for e in entries {
        if e.is_file() {
            files.push(e);
        } else if e.is_dir() {
            let mut found: Vec<PathBuf> = crate::fs::read_dir(&e)?
                .flatten()
                .map(|d| d.path())
                .filter(|p| {
                    let n = p.file_name().unwrap_or_default().to_string_lossy();
                    n.starts_with("bench_") && n.ends_with(".py")
                })
                .collect();
            found.sort();
            files.extend(found);
        } else if is_configured {
            bail!("[tool.pyz3.bench] paths: {} does not exist", e.display());
        }
    }
    if files.is_empty() {
        bail!(
            "no bench files in {}: write benches/bench_*.py with bench_* functions, or list \
             files under [tool.pyz3.bench] paths in pyproject.toml",
            root.display()
        );
    }
    Ok(files)
}

fn build_side(
    project: &Project,
    python: &Interpreter,
    label: &str,
    progress: &mut dyn Progress,
) -> anyhow::Result<Side> {
    let built = build(
        project,
        python,
        &BuildOptions {
            sanitizers: SanitizerSet::NONE,
            release: true,
            coverage: false,
            fuzz: false,
        },
        progress,
    )?;
    Ok(Side {
        label: label.to_string(),
        lib_dir: built.lib_dir,
    })
}

/// The target directory for builds of a compared ref: its own, kept between runs (warm after
/// the first), since sharing the current one would let cargo reuse one tree's build for the
/// other.
fn compare_target(project: &Project) -> PathBuf {
    project
        .cargo_target
        .clone()
        .unwrap_or_else(|| project.root.join("target"))
        .join("pyz3-compare")
}

/// The built modules of `commit`: cached under `.pyz3/bench/refs/<commit>-<python>/` (a commit's
/// sources do not change), else built in a temporary worktree that is removed afterwards.
fn ref_side(
    project: &Project,
    python: &Interpreter,
    work: &Path,
    reference: &str,
    commit: &str,
    progress: &mut dyn Progress,
) -> anyhow::Result<Side> {
    let short = &commit[..12.min(commit.len())];
    let cache = work
        .join("bench")
        .join("refs")
        .join(format!("{commit}-py{}", python.version));
    let lib = cache.join("lib");
    if lib.is_dir() {
        progress.note(&format!(
            "using the build of {reference} ({short}) from {}",
            cache.display()
        ));
        return Ok(Side {
            label: reference.to_string(),
            lib_dir: lib,
        });
    }
    progress.note(&format!(
        "building {reference} ({short}) in a temporary worktree"
    ));
    let wt = git::Worktree::add(
        &project.root,
        commit,
        &work.join("bench").join("worktrees").join(short),
    )?;
    let mut other =
        Project::discover(&wt.dir).with_context(|| format!("{reference} is not buildable"))?;
    other.cargo_target = Some(compare_target(project));
    let built = build_side(&other, python, reference, progress)?;
    // Keep the modules (not the worktree): copy, then rename into place in one step.
    let tmp = cache.with_file_name(format!("{commit}-py{}.tmp", python.version));
    let _ = std::fs::remove_dir_all(&tmp);
    let _scratch = crate::process::register_path(&tmp);
    copy_tree(&built.lib_dir, &tmp.join("lib"))?;
    std::fs::rename(&tmp, &cache).with_context(|| {
        format!(
            "cannot move the build of {reference} into {}",
            cache.display()
        )
    })?;
    drop(wt);
    Ok(Side {
        label: reference.to_string(),
        lib_dir: lib,
    })
}

/// Runs the benchmarks of `project` and compares them as `opts` asks.
pub fn run(
    project: &Project,
    python: &Interpreter,
    opts: &BenchOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<BenchRun> {
    let work = project.work_dir();
    let store = Store::new(&work);
    let rust_benches = if opts.mode == Mode::Wall {
        criterion::find(&project.root)?
    } else {
        Vec::new()
    };
    let files = match bench_files(&project.root) {
        Ok(files) => files,
        // A project may have only Rust criterion benches.
        Err(_) if !rust_benches.is_empty() => Vec::new(),
        Err(e) => return Err(e),
    };
    // Everything that can be refused is checked before anything is built or measured.
    let saved_baseline = match &opts.baseline {
        Some(name) => {
            let b = store.load(name)?;
            if b.mode != opts.mode {
                bail!(
                    "baseline `{name}` holds {} results; run with{} --instructions to compare",
                    b.mode.name(),
                    if b.mode == Mode::Wall { "out" } else { "" }
                );
            }
            Some(b)
        }
        None => None,
    };
    let compare_commit = match &opts.compare {
        Some(r) => Some(git::resolve(&project.root, r)?),
        None => None,
    };
    if let Some(name) = &opts.save_baseline {
        store.check_name(name)?;
    }
    let limit = step_limit(&project.root, opts)?;

    let current = build_side(project, python, "current", progress)?;
    let mut bench = Bench::new(
        python.clone(),
        &work.join("bench").join("run"),
        files,
        &project.root,
    )?;
    bench.step_limit = limit;
    let mut all = if bench.files.is_empty() {
        Vec::new()
    } else {
        bench.list(&current)?
    };
    // Criterion's ids are known once it has run: all of them are selected, then filtered.
    all.extend(
        rust_benches
            .iter()
            .map(|b| format!("{}{}", criterion::PREFIX, b.bench)),
    );
    let names: Vec<String> = all
        .iter()
        .filter(|n| {
            n.starts_with(criterion::PREFIX) || opts.filter.as_deref().is_none_or(|f| n.contains(f))
        })
        .cloned()
        .collect();
    if names.is_empty() {
        match &opts.filter {
            Some(f) => bail!("no benchmark matches `{f}` (there are: {})", all.join(", ")),
            None => bail!("the bench files define no bench_* functions"),
        }
    }

    // The compared ref: its saved baseline, else a build in a temporary worktree.
    let mut sides = vec![current];
    let mut ref_baseline = None;
    if let (Some(reference), Some(commit)) = (&opts.compare, &compare_commit) {
        match store.for_commit(commit, opts.mode) {
            Some(b) => {
                progress.note(&format!(
                    "using the saved baseline `{}` of {reference}",
                    b.name
                ));
                ref_baseline = Some(b);
            }
            None => sides.push(ref_side(
                project, python, &work, reference, commit, progress,
            )?),
        }
    }

    let python_names: Vec<String> = names
        .iter()
        .filter(|n| !n.starts_with(criterion::PREFIX))
        .cloned()
        .collect();
    let mut measured = if python_names.is_empty() {
        vec![BTreeMap::new(); sides.len()]
    } else {
        let none = BTreeMap::new();
        let reuse = saved_baseline
            .as_ref()
            .or(ref_baseline.as_ref())
            .map_or(&none, |b| &b.benchmarks);
        measure(&bench, &sides, &python_names, opts, reuse, progress)?
    };
    let mut names = python_names.clone();
    let mut ref_results = (measured.len() > 1).then(|| measured[1].clone());
    if !rust_benches.is_empty() {
        let keep = |m: BTreeMap<String, BenchResult>| -> BTreeMap<String, BenchResult> {
            m.into_iter()
                .filter(|(k, _)| opts.filter.as_deref().is_none_or(|f| k.contains(f)))
                .collect()
        };
        let home = work.join("bench").join("criterion");
        let current_rust = keep(criterion::run(
            &project.root,
            &rust_benches,
            None,
            &home.join("current"),
            progress,
        )?);
        names.extend(current_rust.keys().cloned());
        measured[0].extend(current_rust);
        if let (Some(reference), Some(commit), None) =
            (&opts.compare, &compare_commit, &ref_baseline)
        {
            let short = &commit[..12.min(commit.len())];
            progress.note(&format!(
                "criterion benches of {reference} ({short}) in a temporary worktree"
            ));
            let wt = git::Worktree::add(
                &project.root,
                commit,
                &work
                    .join("bench")
                    .join("worktrees")
                    .join(format!("{short}-criterion")),
            )?;
            let target = compare_target(project);
            let ref_rust = keep(criterion::run(
                &wt.dir,
                &rust_benches,
                Some(&target),
                &home.join("ref"),
                progress,
            )?);
            drop(wt);
            ref_results
                .get_or_insert_with(BTreeMap::new)
                .extend(ref_rust);
        }
    }
    if names.is_empty() {
        match &opts.filter {
            Some(f) => bail!("no benchmark matches `{f}`"),
            None => bail!("the benches define no benchmarks"),
        }
    }
    let results = measured[0].clone();
    let comparison = if let Some(b) = &saved_baseline {
        Some(Comparison::new(
            &b.name,
            opts.mode,
            &select(&b.benchmarks, &names),
            &results,
            opts.threshold,
        ))
    } else if let Some(b) = &ref_baseline {
        Some(Comparison::new(
            opts.compare.as_deref().unwrap_or(""),
            opts.mode,
            &select(&b.benchmarks, &names),
            &results,
            opts.threshold,
        ))
    } else {
        ref_results.as_ref().map(|r| {
            Comparison::new(
                opts.compare.as_deref().unwrap_or(""),
                opts.mode,
                r,
                &results,
                opts.threshold,
            )
        })
    };
    let saved = match &opts.save_baseline {
        Some(name) => Some(
            store.save(&Baseline {
                version: VERSION,
                name: name.clone(),
                mode: opts.mode,
                created: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                commit: git::head(&project.root),
                dirty: git::dirty(&project.root),
                machine: Machine::current(),
                python: PythonInfo {
                    version: python.version.clone(),
                    executable: python.executable.display().to_string(),
                },
                benchmarks: results.clone(),
            })?,
        ),
        None => None,
    };
    Ok(BenchRun {
        results,
        comparison,
        saved,
        bench,
        sides,
        names: python_names,
    })
}

fn select(all: &BTreeMap<String, BenchResult>, names: &[String]) -> BTreeMap<String, BenchResult> {
    // A filtered run compares only what it measured (others are not "missing").
    all.iter()
        .filter(|(k, _)| names.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Calls per measured loop in instructions mode. A benchmark in `reuse` (the compared baseline)
/// makes as many calls as it did there: the allocator's and the collector's amortized work falls
/// differently for another number of calls, so only the same number compares exactly. The others
/// get about 2 ms of calls (enough that start-up cancels, short under valgrind), rounded down to
/// a power of two so that timing noise in the calibration rarely changes it.
fn instruction_calls(
    bench: &Bench,
    side: &Side,
    names: &[String],
    reuse: &BTreeMap<String, BenchResult>,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let mut calls: BTreeMap<String, u64> = names
        .iter()
        .filter_map(|n| Some((n.clone(), reuse.get(n)?.calls?)))
        .collect();
    let fresh: Vec<String> = names
        .iter()
        .filter(|n| !calls.contains_key(*n))
        .cloned()
        .collect();
    if !fresh.is_empty() {
        let iters = bench.calibrate(side, &fresh, 2_000_000)?;
        for n in fresh {
            let c = iters.get(&n).copied().unwrap_or(128).clamp(16, 2048);
            calls.insert(n, 1 << c.ilog2());
        }
    }
    Ok(calls)
}

fn measure(
    bench: &Bench,
    sides: &[Side],
    names: &[String],
    opts: &BenchOptions,
    reuse: &BTreeMap<String, BenchResult>,
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<BTreeMap<String, BenchResult>>> {
    match opts.mode {
        Mode::Wall => {
            let iters = bench.calibrate(&sides[0], names, opts.plan.min_sample_ns)?;
            progress.note(&format!(
                "{} benchmark{} × {} processes{} × {} samples",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                opts.plan.processes,
                if sides.len() > 1 {
                    " per side, interleaved"
                } else {
                    ""
                },
                opts.plan.samples
            ));
            let mut started = false;
            let r = bench.wall(sides, &iters, opts.plan, |done, total| {
                if !started {
                    progress.start("process", Some(total as u64));
                    started = true;
                }
                progress.advance(done as u64);
            });
            progress.finish();
            r
        }
        Mode::Instructions => {
            let calls = instruction_calls(bench, &sides[0], names, reuse)?;
            let mut out = Vec::new();
            for (s, side) in sides.iter().enumerate() {
                progress.start(
                    &format!("callgrind {}/{}: {}", s + 1, sides.len(), side.label),
                    None,
                );
                let work = bench
                    .runner
                    .parent()
                    .map_or_else(std::env::temp_dir, Path::to_path_buf);
                out.push(bench.instructions(side, &calls, &work)?);
                progress.finish();
            }
            Ok(out)
        }
    }
}
