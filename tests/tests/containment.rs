//! Containing the target: pyz3's own work on what a function returns never becomes the
//! function's finding, and a crash or hang in an oracle or a property is reported as that
//! oracle's or property's failure, not the function's crash.

use crate::util::{Assert, Project, Pyz3};
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

/// `pyz3` in `dir` with the project virtualenv active.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).project_venv()
}

const MODULE: &str = r#"
import os

def ok(x: int) -> int:
    return x

def self_referential(x: int) -> list:
    items = [x]
    items.append(items)
    return items

def nested_deep(x: int) -> list:
    r = [x]
    for _ in range(5000):
        r = [r]
    return r

class Opaque:
    def __eq__(self, other):
        raise ValueError("no comparison")
    def __hash__(self):
        raise ValueError("no hash")
    def __repr__(self):
        return "<Opaque at 0x%x>" % id(self)

def opaque(x: int) -> object:
    return Opaque()

def self_referential_dict(x: int) -> dict:
    d = {"x": x}
    d["self"] = d
    return d

def aborting_oracle(x):
    os.abort()
"#;

fn findings(dir: &Path) -> Vec<(String, String, String)> {
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let mut out = Vec::new();
    for f in report["functions"].as_array().unwrap() {
        for x in f["findings"].as_array().unwrap() {
            out.push((
                f["name"].as_str().unwrap().to_string(),
                x["kind"].as_str().unwrap().to_string(),
                x["message"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

/// Results that are self-referential (a list, a dict), 5,000 deep, or refuse comparison and
/// hashing are no finding: the function is correct.
#[test]
fn hostile_results_are_not_the_functions_findings() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("hostile.py"), MODULE).unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "hostile.py",
            "--function",
            "self_referential",
            "--function",
            "nested_deep",
            "--function",
            "opaque",
            "--function",
            "self_referential_dict",
            "--cases",
            "50",
            "--json",
            "r.json",
        ])
        .run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(findings(dir), vec![], "{err}");
}

const OWN_WORK: &str = r#"
class Clashing:
    """Equal hashes, and an `__eq__` that raises: a set of two cannot be compared as a set."""
    def __init__(self, x):
        self.x = x
    def __hash__(self):
        return 1
    def __eq__(self, other):
        raise ValueError("no comparison")

def clashing_set(x: int) -> frozenset:
    return frozenset([Clashing(x), Clashing(x + 1)])

class Disguised:
    """Its `__class__` raises: `isinstance` checks on it fail inside pyz3's own code."""
    @property
    def __class__(self):
        raise ValueError("no class")

def disguised(x: int) -> object:
    return Disguised()

def shouting(x: int) -> int:
    raise SystemError("A" * 20_000_000 + "END")
"#;

/// Errors in pyz3's own checking code on what a function returned are not the function's
/// finding: a set whose elements refuse comparison, checked against an oracle returning the
/// same, agrees; a result on which pyz3's determinism check raises is a skipped case with a
/// warning, not a `property-failed` finding. Both were findings before.
#[test]
fn errors_in_pyz3s_own_checking_code_are_not_findings() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("own.py"), OWN_WORK).unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "own.py",
            "--oracle",
            "clashing_set=own:clashing_set",
            "--function",
            "clashing_set",
            "--function",
            "disguised",
            "--cases",
            "30",
            "--json",
            "r.json",
        ])
        .run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(findings(dir), vec![], "{err}");
    assert!(
        err.contains(
            "disguised: case 0 skipped: pyz3 could not check the case: ValueError: no class"
        ),
        "{err}"
    );
    // A few cases named, then one line for the rest.
    assert_eq!(
        err.matches("skipped: pyz3 could not check").count(),
        4,
        "{err}"
    );
    assert!(!err.contains("clashing_set: case"), "{err}");

    // A 20 MB exception message travels and prints capped.
    let out = pyz3(dir)
        .args([
            "check",
            "own.py:shouting",
            "--cases",
            "5",
            "--json",
            "r.json",
        ])
        .run();
    out.assert_exit(1);
    let found = findings(dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "system-error");
    assert!(found[0].2.len() < 20_000, "{} bytes", found[0].2.len());
    assert!(
        found[0].2.contains("characters cut"),
        "{}",
        &found[0].2[found[0].2.len() - 100..]
    );
    assert!(
        out.stdout.len() < 100_000,
        "{} bytes of report",
        out.stdout.len()
    );
}

/// An oracle that aborts the process is the oracle's failure; a property that ends the process
/// is the property's.
#[test]
fn crashing_oracles_and_properties_are_blamed_for_themselves() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("hostile.py"), MODULE).unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "hostile.py:ok",
            "--oracle",
            "ok=hostile:aborting_oracle",
            "--cases",
            "5",
            "--json",
            "r.json",
        ])
        .run();
    out.assert_exit(1);
    let found = findings(dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "oracle-mismatch", "{found:?}");
    assert!(
        found[0]
            .2
            .contains("the oracle hostile:aborting_oracle ended the process")
            && found[0].2.contains("SIGABRT"),
        "{found:?}"
    );
    let out = pyz3(dir)
        .args([
            "check",
            "hostile.py:ok",
            "--property",
            "ok=__import__('os')._exit(0)",
            "--cases",
            "5",
            "--json",
            "r.json",
        ])
        .run();
    out.assert_exit(1);
    let found = findings(dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "property-failed", "{found:?}");
    assert!(found[0].2.contains("ended the process"), "{found:?}");
}

/// A target that signals its own process group reaches only its worker: pyz3 goes on and
/// reports the crash.
#[test]
fn a_target_signalling_its_group_does_not_reach_pyz3() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("grp.py"),
        "import os, signal\ndef kill_group(x: int) -> int:\n    if x > 3:\n        os.killpg(os.getpgrp(), signal.SIGTERM)\n    return x\n",
    )
    .unwrap();
    let out = pyz3(dir)
        .args(["check", "grp.py", "--cases", "30", "--json", "r.json"])
        .run();
    out.assert_exit(1);
    let found = findings(dir);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "crash");
    assert!(found[0].2.contains("SIGTERM"), "{found:?}");
}

/// Workers die with pyz3, however it ends: killed with SIGKILL in the middle of a hanging call,
/// it leaves no worker behind.
#[test]
fn workers_do_not_outlive_pyz3() {
    let tmp = Project::new();
    let dir = tmp.path();
    // The worker writes its pid, then spins (holding the GIL) until it is killed.
    std::fs::write(
        dir.join("spin.py"),
        "import os\ndef spin(x: int) -> int:\n    open('worker.pid', 'w').write(str(os.getpid()))\n    while True:\n        pass\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyz3"))
        .args(["check", "spin.py", "--timeout-ms", "60000"])
        .current_dir(dir)
        .env("VIRTUAL_ENV", concat!(env!("CARGO_MANIFEST_DIR"), "/.venv"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid_file = dir.join("worker.pid");
    let start = std::time::Instant::now();
    while !pid_file.exists() || std::fs::read_to_string(&pid_file).unwrap().is_empty() {
        assert!(start.elapsed().as_secs() < 60, "the worker never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let worker: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // SAFETY: signal 0 only asks whether the process exists.
    let alive = || unsafe { libc::kill(worker, 0) } == 0 && !zombie(worker);
    let start = std::time::Instant::now();
    while alive() && start.elapsed().as_secs() < 5 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!alive(), "worker {worker} outlived pyz3");
}

/// Whether `pid` has exited and waits to be reaped (it no longer runs).
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// SIGTERM or SIGINT (Ctrl-C) to pyz3 in the middle of a call that forked a busy child and
/// hangs: pyz3 exits 143 or 130, and neither the worker nor the process it forked (which
/// `PR_SET_PDEATHSIG` does not reach) is left running. SIGKILL gives pyz3 no time to clean up:
/// its reaper (a process that outlives it) kills the worker's group.
#[test]
fn interrupting_pyz3_kills_what_the_target_forked() {
    use crate::common::{process_gone, wait_for_pid_file};
    use std::time::{Duration, Instant};
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("forky.py"),
        "import os, time\n\
         def forks(x: int) -> int:\n    \
             if os.fork() == 0:\n        \
                 open('child.pid', 'w').write(str(os.getpid()))\n        \
                 while True:\n            pass\n    \
             open('worker.pid', 'w').write(str(os.getpid()))\n    \
             time.sleep(3600)\n    \
             return x\n",
    )
    .unwrap();
    use std::os::unix::process::ExitStatusExt;
    for (signal, code) in [
        (libc::SIGTERM, Some(143)),
        (libc::SIGINT, Some(130)),
        (libc::SIGKILL, None),
    ] {
        for f in ["child.pid", "worker.pid"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
        let mut pyz3 = Pyz3::new(dir)
            .command()
            .args(["check", "forky.py", "--timeout-ms", "600000"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let child = wait_for_pid_file(&dir.join("child.pid"), Duration::from_secs(60));
        let worker = wait_for_pid_file(&dir.join("worker.pid"), Duration::from_secs(60));
        // SAFETY: signals the pyz3 started above.
        unsafe { libc::kill(pyz3.id() as i32, signal) };
        let start = Instant::now();
        let status = loop {
            if let Some(s) = pyz3.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                let _ = pyz3.kill();
                panic!("pyz3 did not exit within 20 s of signal {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), code, "signal {signal}: {status:?}");
        if code.is_none() {
            assert_eq!(status.signal(), Some(signal), "{status:?}");
        }
        let start = Instant::now();
        while !(process_gone(child) && process_gone(worker)) && start.elapsed().as_secs() < 5 {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            process_gone(worker),
            "signal {signal}: worker {worker} survived"
        );
        assert!(
            process_gone(child),
            "signal {signal}: forked child {child} survived"
        );
    }
}

/// A result whose `__eq__` never returns, or whose `__repr__` never returns when a finding is
/// rendered, costs one case and one warning, not the per-call limit on every case: 200 cases
/// finish in seconds. The function has no finding from it; a property that fails on every
/// result is still reported, with the result not shown.
#[test]
fn a_result_that_hangs_pyz3s_own_work_costs_once() {
    use std::time::{Duration, Instant};
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("sticky.py"),
        "import time\n\
         class Spins:\n    \
             def __eq__(self, other):\n        \
                 while True:\n            pass\n    \
             __hash__ = object.__hash__\n\
         class Mute:\n    \
             def __repr__(self):\n        \
                 time.sleep(3600)\n\
         def spins(x: int) -> object:\n    \
             return Spins()\n\
         def mute(x: int) -> object:\n    \
             return Mute()\n",
    )
    .unwrap();
    for (function, property) in [("spins", None), ("mute", Some("mute=result is None"))] {
        let mut cmd = Pyz3::new(dir).command();
        cmd.args(["check", &format!("sticky.py:{function}"), "--cases", "200"])
            .args(["--json", "r.json"]);
        if let Some(p) = property {
            cmd.args(["--property", p]);
        }
        let start = Instant::now();
        let out = crate::common::output_within(&mut cmd, Duration::from_secs(300));
        let took = start.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        let warnings: Vec<&str> = err
            .lines()
            .filter(|l| l.contains("pyz3's own work on the result"))
            .collect();
        assert_eq!(warnings.len(), 1, "{function}: {err}");
        assert!(
            warnings[0].contains(function) && warnings[0].contains("not compared"),
            "{function}: {err}"
        );
        assert!(
            took < Duration::from_secs(15),
            "{function}: {took:?}\n{err}"
        );
        let report: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
        assert_eq!(report["functions"][0]["cases"], 200, "{report}");
        let found = findings(dir);
        if property.is_none() {
            assert_eq!(out.status.code(), Some(0), "{function}: {err}");
            assert_eq!(found, vec![], "{function}: {err}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{function}: {err}");
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].1, "property-failed", "{found:?}");
            assert!(found[0].2.contains("<a result, not shown>"), "{found:?}");
        }
    }
}

/// A module whose import never returns: `pyz3 check` gives up at the import limit (30 s) with
/// one line and exit 2, instead of waiting forever.
#[test]
fn an_import_that_never_returns_is_exit_2_at_its_limit() {
    use std::time::{Duration, Instant};
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("stuck.py"),
        "import time\ntime.sleep(3600)\ndef f(x: int) -> int:\n    return x\n",
    )
    .unwrap();
    // The default limit, then a configured one: given up at it, with one line.
    let runs: [(&[&str], &str, u64); 2] = [
        (&[], "30 s", 40),
        (&["--import-timeout-ms", "1500"], "1.5 s", 5),
    ];
    for (extra, limit, most) in runs {
        let start = Instant::now();
        let out = crate::common::output_within(
            Pyz3::new(dir)
                .command()
                .args(["check", "stuck.py"])
                .args(extra),
            Duration::from_secs(120),
        );
        let took = start.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("importing `stuck` did not finish within {limit}")),
            "{err}"
        );
        assert!(took < Duration::from_secs(most), "{took:?}");
    }
}

/// A target that writes garbage on every inherited file descriptor (the worker's private reply
/// stream among them) once: that case is skipped with a warning, a fresh worker goes on, and
/// every case is counted.
#[test]
fn garbage_on_the_protocol_stream_costs_one_case() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("garble.py"),
        "import os\n\
         def garbles(x: int) -> int:\n    \
             if not os.path.exists('garbled'):\n        \
                 open('garbled', 'w').close()\n        \
                 for fd in range(3, 64):\n            \
                     try:\n                \
                         os.write(fd, b'{not json\\n')\n            \
                     except OSError:\n                \
                         pass\n    \
             return x\n",
    )
    .unwrap();
    let out = pyz3(dir)
        .args(["check", "garble.py", "--cases", "100", "--json", "r.json"])
        .run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(findings(dir), vec![], "{err}");
    let skipped: Vec<&str> = err.lines().filter(|l| l.contains("skipped")).collect();
    assert_eq!(skipped.len(), 1, "{err}");
    assert!(
        skipped[0].contains("unreadable reply from the worker"),
        "{err}"
    );
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(report["functions"][0]["cases"], 100, "{report}");
}
