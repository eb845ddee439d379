//! `pyz3 test --watch`: poll the extensions' sources and the tests; on a change rebuild
//! (incrementally: cargo's own incremental build, setuptools only when C sources changed) and
//! rerun the affected tests. A build error is shown and the watch goes on. Ctrl-C stops it.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use pyz3::project::{ExtKind, Project};

use crate::test::Runner;
use crate::Outcome;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Directories never looked into.
const SKIP_DIRS: [&str; 10] = [
    "target",
    ".pyz3",
    ".git",
    ".venv",
    "venv",
    "build",
    "__pycache__",
    ".pytest_cache",
    ".tox",
    "node_modules",
];
const SOURCE_EXTS: [&str; 13] = [
    "rs", "toml", "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "pyx", "pxd", "pxi", "py",
];

/// What is watched: the modules' source directories and the tests.
struct WatchSet {
    sources: Vec<PathBuf>,
    tests: Vec<PathBuf>,
    root: PathBuf,
}

/// File → modification time and size.
type Snapshot = BTreeMap<PathBuf, (SystemTime, u64)>;

impl WatchSet {
    fn new(project: &Project) -> WatchSet {
        let mut sources = Vec::new();
        for m in &project.modules {
            match &m.kind {
                ExtKind::Rust {
                    manifest,
                    python_source,
                    ..
                } => {
                    sources.extend(manifest.parent().map(Path::to_path_buf));
                    sources.extend(python_source.clone());
                }
                ExtKind::Setuptools { dir, .. } => sources.push(dir.clone()),
            }
        }
        let tests = if project.test_paths.is_empty() {
            vec![project.root.clone()]
        } else {
            project
                .test_paths
                .iter()
                .map(|t| project.root.join(t))
                .collect()
        };
        WatchSet {
            sources,
            tests,
            root: project.root.clone(),
        }
    }

    fn is_test(&self, path: &Path) -> bool {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let test_like =
            name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py";
        path.extension().is_some_and(|e| e == "py")
            && self.tests.iter().any(|t| path.starts_with(t))
            && (test_like || self.tests.iter().all(|t| t != &self.root))
    }

    fn scan(&self) -> Snapshot {
        let mut out = Snapshot::new();
        for dir in self.sources.iter().chain(&self.tests) {
            walk(dir, &mut out);
        }
        out.retain(|p, _| {
            self.is_test(p)
                || (self.sources.iter().any(|s| p.starts_with(s))
                    && p.extension()
                        .is_some_and(|e| SOURCE_EXTS.iter().any(|x| e == *x)))
        });
        out
    }
}

fn walk(path: &Path, out: &mut Snapshot) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() {
        out.insert(
            path.to_path_buf(),
            (
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                meta.len(),
            ),
        );
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if SKIP_DIRS.iter().any(|s| name == *s) || name.to_string_lossy().starts_with('.') {
            continue;
        }
        walk(&e.path(), out);
    }
}

fn changed(old: &Snapshot, new: &Snapshot) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = new
        .iter()
        .filter(|(p, v)| old.get(*p) != Some(v))
        .map(|(p, _)| p.clone())
        .collect();
    out.extend(old.keys().filter(|p| !new.contains_key(*p)).cloned());
    out
}

fn clock() -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r writes only into the tm we own.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&now, &mut tm) };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

/// The tests to rerun: changed test files, plus the test files that import a module whose
/// sources changed; the whole suite when a source changed and no test names its module.
fn affected(set: &WatchSet, runner: &Runner<'_>, files: &[PathBuf]) -> (bool, Vec<PathBuf>) {
    let rebuild = files.iter().any(|f| !set.is_test(f));
    if files
        .iter()
        .any(|f| f.file_name().is_some_and(|n| n == "conftest.py"))
    {
        // A fixture changed: any test may depend on it.
        return (rebuild, Vec::new());
    }
    let mut tests: Vec<PathBuf> = files
        .iter()
        .filter(|f| set.is_test(f) && f.exists())
        .cloned()
        .collect();
    if rebuild {
        let names: Vec<String> = runner
            .project
            .modules
            .iter()
            .filter(|m| {
                let dir = match &m.kind {
                    ExtKind::Rust { manifest, .. } => manifest.parent().map(Path::to_path_buf),
                    ExtKind::Setuptools { dir, .. } => Some(dir.clone()),
                };
                dir.is_some_and(|d| files.iter().any(|f| f.starts_with(&d)))
            })
            .flat_map(import_names)
            .collect();
        let all: Vec<PathBuf> = set.scan().into_keys().filter(|p| set.is_test(p)).collect();
        let users: Vec<PathBuf> = all
            .into_iter()
            .filter(|t| {
                std::fs::read_to_string(t)
                    .is_ok_and(|text| names.iter().any(|n| mentions(&text, n)))
            })
            .collect();
        if users.is_empty() {
            return (true, Vec::new());
        }
        for u in users {
            if !tests.contains(&u) {
                tests.push(u);
            }
        }
    }
    tests.sort();
    (rebuild, tests)
}

/// Names a module can be imported by: its dotted name and its first component.
fn import_names(m: &pyz3::project::ExtModule) -> Vec<String> {
    let mut names = vec![m.name.clone()];
    if let ExtKind::Rust {
        module_name: Some(n),
        ..
    } = &m.kind
    {
        names.push(n.clone());
    }
    let firsts: Vec<String> = names
        .iter()
        .filter_map(|n| n.split('.').next().map(str::to_string))
        .collect();
    names.extend(firsts);
    names.sort();
    names.dedup();
    names
}

fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// Runs the watch loop until Ctrl-C (SIGINT) or SIGTERM; exit 0.
pub fn run(runner: &mut Runner<'_>) -> anyhow::Result<Outcome> {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
    let set = WatchSet::new(&runner.project);
    let mut snapshot = set.scan();
    let tty = std::io::stderr().is_terminal();
    let status = |text: &str| {
        let line = format!("pyz3 watch [{}] {text}", clock());
        if tty {
            eprintln!("\x1b[1m{line}\x1b[0m");
        } else {
            eprintln!("{line}");
        }
    };
    let files = snapshot.len();
    status(&format!(
        "watching {files} file{} under {}; Ctrl-C to stop",
        if files == 1 { "" } else { "s" },
        runner.project.root.display()
    ));
    // `start`: when the change was seen (for the `first` run: when the watch started).
    let report =
        |runner: &mut Runner<'_>, rebuild: bool, tests: &[PathBuf], start: Instant, first: bool| {
            match runner.cycle(rebuild, tests) {
                Ok(c) => {
                    let built = c
                        .build_seconds
                        .map(|s| format!("rebuilt in {s:.1} s, "))
                        .unwrap_or_default();
                    status(&format!(
                        "{}: {built}{} ({:.1} s{}); waiting for changes",
                        if matches!(c.outcome, Outcome::Clean) {
                            "ok"
                        } else {
                            "FAILED"
                        },
                        c.summary,
                        start.elapsed().as_secs_f64(),
                        if first { "" } else { " after the change" }
                    ));
                }
                Err(e) => status(&format!("error: {e:#}; waiting for changes")),
            }
        };
    report(runner, true, &[], Instant::now(), true);
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(200));
        let now = set.scan();
        let mut files = changed(&snapshot, &now);
        if files.is_empty() {
            continue;
        }
        let start = Instant::now();
        // Let a burst of saves settle.
        let mut latest = now;
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let again = set.scan();
            let more = changed(&latest, &again);
            if more.is_empty() {
                break;
            }
            files.extend(more);
            latest = again;
        }
        snapshot = latest;
        if STOP.load(Ordering::SeqCst) {
            break;
        }
        files.sort();
        files.dedup();
        let (rebuild, tests) = affected(&set, runner, &files);
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                f.strip_prefix(&runner.project.root)
                    .unwrap_or(f)
                    .display()
                    .to_string()
            })
            .collect();
        status(&format!(
            "changed: {}; {}running {}",
            names.join(", "),
            if rebuild { "rebuilding, " } else { "" },
            if tests.is_empty() {
                "all tests".to_string()
            } else {
                tests
                    .iter()
                    .map(|t| {
                        t.strip_prefix(&runner.project.root)
                            .unwrap_or(t)
                            .display()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        ));
        report(runner, rebuild, &tests, start, false);
    }
    status("stopped");
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_mentions_are_whole_words() {
        assert!(mentions("import demo_ext\n", "demo_ext"));
        assert!(mentions("from demo_ext import f", "demo_ext"));
        assert!(!mentions("import demo_ext2", "demo_ext"));
        assert!(!mentions("x = my_demo_ext", "demo_ext"));
    }
}
