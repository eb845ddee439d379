//! The baseline store: versioned JSON files under `.pyz3/bench/`, one per saved name.
//!
//! For keeping results across commits. Schema (version 1): `{"version": 1, "name": "...",
//! "mode": "wall"|"instructions", "created": <unix seconds>, "commit": "<sha>"|null,
//! "dirty": bool, "machine": {...}, "python": {...}, "benchmarks": {"<name>": {"unit": "ns"|
//! "instructions", "estimate": X, "processes": [[...samples...], ...], "cycles": Y, "calls": N}}}`
//! (`calls`: instructions mode, the calls per measured loop; a later run compared with this
//! baseline makes the same number of calls, so the counts compare exactly).
//! Writes are atomic ([`crate::fs::write_atomic`]), so an interrupted run never leaves a
//! half-written baseline.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// The schema version written.
pub const VERSION: u32 = 1;

/// What was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Wall time per call, in nanoseconds.
    Wall,
    /// Instructions per call under callgrind.
    Instructions,
}

impl Mode {
    /// The contract name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Wall => "wall",
            Mode::Instructions => "instructions",
        }
    }
}

/// One benchmark's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchResult {
    /// `ns` or `instructions`.
    pub unit: String,
    /// The estimate per call: the median of the per-process fastest samples (wall), or the
    /// exact count.
    pub estimate: f64,
    /// Samples per call, one list per process (wall mode).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<Vec<f64>>,
    /// Estimated cycles per call (instructions mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycles: Option<f64>,
    /// Calls per measured loop (instructions mode). Amortized costs (the allocator's, the
    /// garbage collector's) fall differently for another number of calls, so a comparison
    /// reuses the baseline's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<u64>,
}

impl BenchResult {
    /// A wall-time result from samples per call, one list per process.
    pub fn wall(processes: Vec<Vec<f64>>) -> BenchResult {
        BenchResult {
            unit: "ns".into(),
            estimate: super::stats::estimate(&processes),
            processes,
            cycles: None,
            calls: None,
        }
    }
}

/// The machine a baseline was measured on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Host name.
    pub hostname: String,
    /// `linux-x86_64`.
    pub platform: String,
    /// Logical CPUs.
    pub cpus: usize,
}

impl Machine {
    /// This machine.
    pub fn current() -> Machine {
        Machine {
            hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// The interpreter a baseline was measured with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PythonInfo {
    /// `major.minor`.
    pub version: String,
    /// The executable.
    pub executable: String,
}

fn version_one() -> u32 {
    1
}

/// A saved set of results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Schema version (1 when the file has none).
    #[serde(default = "version_one")]
    pub version: u32,
    /// The name it was saved under.
    pub name: String,
    /// What was measured.
    pub mode: Mode,
    /// Unix seconds.
    pub created: u64,
    /// The commit measured, when in a git repository.
    pub commit: Option<String>,
    /// Whether the working tree had uncommitted changes.
    pub dirty: bool,
    /// Where.
    pub machine: Machine,
    /// With which Python.
    pub python: PythonInfo,
    /// Results by benchmark name.
    pub benchmarks: BTreeMap<String, BenchResult>,
}

/// The store in a project: `.pyz3/bench/`.
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// The store of the project whose pyz3 working directory is `work_dir`.
    pub fn new(work_dir: &Path) -> Store {
        Store {
            dir: work_dir.join("bench"),
        }
    }

    /// Checks that `name` can be saved (letters, digits, `.`, `_`, `-`).
    pub fn check_name(&self, name: &str) -> anyhow::Result<()> {
        self.path(name).map(|_| ())
    }

    fn path(&self, name: &str) -> anyhow::Result<PathBuf> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            || name.starts_with('.')
        {
            bail!("bad baseline name `{name}`: use letters, digits, `.`, `_` and `-`");
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Saves `baseline` under its name, atomically.
    pub fn save(&self, baseline: &Baseline) -> anyhow::Result<PathBuf> {
        let path = self.path(&baseline.name)?;
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let mut json = serde_json::to_vec_pretty(baseline)?;
        json.push(b'\n');
        crate::fs::write_atomic(&path, &json)?;
        Ok(path)
    }

    /// Loads the baseline saved as `name`. An unknown name lists the saved ones; a file that is
    /// not a baseline is named.
    pub fn load(&self, name: &str) -> anyhow::Result<Baseline> {
        let path = self.path(name)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(_) => {
                let saved = self.names();
                bail!(
                    "no baseline named `{name}` in {} (saved: {})",
                    self.dir.display(),
                    if saved.is_empty() {
                        "none".to_string()
                    } else {
                        saved.join(", ")
                    }
                );
            }
        };
        Self::parse(&path, &text)
    }

    fn parse(path: &Path, text: &str) -> anyhow::Result<Baseline> {
        let value: serde_json::Value = serde_json::from_str(text)
            .with_context(|| format!("corrupt baseline file {}", path.display()))?;
        // A file without `version` is version 1; a newer one is refused.
        crate::report::version::check_json(
            format_args!("baseline file {}", path.display()),
            &value,
            VERSION,
        )?;
        serde_json::from_value(value)
            .with_context(|| format!("corrupt baseline file {}", path.display()))
    }

    /// The saved names.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json")
                    .filter(|n| !n.starts_with('.'))
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        names
    }

    /// The newest saved baseline of `commit` in `mode` (measured on a clean tree).
    pub fn for_commit(&self, commit: &str, mode: Mode) -> Option<Baseline> {
        self.names()
            .iter()
            .filter_map(|n| self.load(n).ok())
            .filter(|b| b.commit.as_deref() == Some(commit) && !b.dirty && b.mode == mode)
            .max_by_key(|b| b.created)
    }
}

/// Reads criterion's results (`target/criterion/**/new/sample.json`) as wall-mode results:
/// one "process" per benchmark holding its samples per iteration, named by the path under
/// `dir` with `/` as `::` (`group::function::parameter`).
pub fn import_criterion(dir: &Path) -> anyhow::Result<BTreeMap<String, BenchResult>> {
    fn walk(
        base: &Path,
        dir: &Path,
        out: &mut BTreeMap<String, BenchResult>,
    ) -> anyhow::Result<()> {
        for entry in
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if !path.is_dir() {
                continue;
            }
            let sample = path.join("new").join("sample.json");
            if sample.is_file() {
                let v: serde_json::Value =
                    serde_json::from_str(&crate::fs::read_to_string(&sample)?)
                        .with_context(|| format!("corrupt criterion file {}", sample.display()))?;
                let (Some(iters), Some(times)) = (v["iters"].as_array(), v["times"].as_array())
                else {
                    bail!(
                        "corrupt criterion file {}: no iters/times",
                        sample.display()
                    );
                };
                let per: Vec<f64> = iters
                    .iter()
                    .zip(times)
                    .filter_map(|(i, t)| Some(t.as_f64()? / i.as_f64().filter(|i| *i > 0.0)?))
                    .collect();
                let name = path
                    .strip_prefix(base)
                    .unwrap_or(&path)
                    .iter()
                    .map(|c| c.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("::");
                out.insert(name, BenchResult::wall(vec![per]));
            }
            walk(base, &path, out)?;
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    if out.is_empty() {
        bail!(
            "no criterion results (*/new/sample.json) under {}",
            dir.display()
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Baseline {
        Baseline {
            version: VERSION,
            name: name.into(),
            mode: Mode::Wall,
            created: 1,
            commit: Some("abc".into()),
            dirty: false,
            machine: Machine::current(),
            python: PythonInfo::default(),
            benchmarks: BTreeMap::from([(
                "b::bench_x".to_string(),
                BenchResult {
                    unit: "ns".into(),
                    estimate: 10.0,
                    processes: vec![vec![10.0, 11.0]],
                    cycles: None,
                    calls: None,
                },
            )]),
        }
    }

    #[test]
    fn criterion_results_import() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("group/f/10/new");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("sample.json"),
            r#"{"sampling_mode":"Linear","iters":[1.0,2.0],"times":[10.0,22.0]}"#,
        )
        .unwrap();
        let r = import_criterion(dir.path()).unwrap();
        assert_eq!(r["group::f::10"].processes, vec![vec![10.0, 11.0]]);
        assert_eq!(r["group::f::10"].estimate, 10.0);
        assert!(import_criterion(&dir.path().join("group/f/10/new")).is_err());
    }

    #[test]
    fn round_trip_corrupt_and_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.save(&sample("main")).unwrap();
        assert_eq!(store.load("main").unwrap(), sample("main"));
        assert_eq!(store.names(), ["main"]);
        assert!(store.for_commit("abc", Mode::Wall).is_some());
        let e = store.load("nope").unwrap_err().to_string();
        assert!(
            e.contains("no baseline named `nope`") && e.contains("main"),
            "{e}"
        );
        std::fs::write(dir.path().join("bench/bad.json"), "{not json").unwrap();
        let e = format!("{:#}", store.load("bad").unwrap_err());
        assert!(e.contains("corrupt baseline file"), "{e}");
        assert!(store.path("../x").is_err());
        // Without `version` a baseline is version 1; a newer version is refused.
        let mut v = serde_json::to_value(sample("old")).unwrap();
        v.as_object_mut().unwrap().remove("version");
        std::fs::write(dir.path().join("bench/old.json"), v.to_string()).unwrap();
        assert_eq!(store.load("old").unwrap(), sample("old"));
        v["version"] = serde_json::json!(VERSION + 1);
        std::fs::write(dir.path().join("bench/new.json"), v.to_string()).unwrap();
        let e = format!("{:#}", store.load("new").unwrap_err());
        assert!(e.contains("has format version 2;"), "{e}");
    }
}
