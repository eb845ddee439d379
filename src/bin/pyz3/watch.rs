//! `pyz3 test --watch`: poll the extensions' sources and the tests; on a change rebuild
//! (incrementally: cargo's own incremental build, setuptools only when C sources changed) and
//! rerun the affected tests. A build error is shown and the watch goes on. Ctrl-C stops it.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use pyz3::suite::{affected, changed, Suite, WatchSet};

use crate::Outcome;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
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

/// What the watch shows of one cycle.
pub struct Shown {
    /// Whether the cycle was clean.
    pub clean: bool,
    /// A one-line summary: tests, findings, coverage.
    pub summary: String,
    /// Seconds the build took (`None` when it was not rebuilt).
    pub build_seconds: Option<f64>,
}

/// Runs the watch loop until Ctrl-C (SIGINT) or SIGTERM; exit 0. `cycle` builds (when asked)
/// and runs the given tests (empty: all), showing their results.
pub fn run<F>(runner: &mut Suite, mut cycle: F) -> anyhow::Result<Outcome>
where
    F: FnMut(&mut Suite, bool, &[PathBuf]) -> anyhow::Result<Shown>,
{
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
    let mut report =
        |runner: &mut Suite, rebuild: bool, tests: &[PathBuf], start: Instant, first: bool| {
            match cycle(runner, rebuild, tests) {
                Ok(c) => {
                    let built = c
                        .build_seconds
                        .map(|s| format!("rebuilt in {s:.1} s, "))
                        .unwrap_or_default();
                    status(&format!(
                        "{}: {built}{} ({:.1} s{}); waiting for changes",
                        if c.clean { "ok" } else { "FAILED" },
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
        let (rebuild, tests) = affected(&set, &runner.project, &files);
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
