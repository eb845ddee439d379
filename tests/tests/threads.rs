//! `pyz3 check --threads`: functions called from several threads at once, on CPython 3.11
//! (GIL) and a free-threaded 3.13. Fixtures (tests/fixtures/threads/) are built in temp dirs:
//! a C extension with a static scratch buffer used while the GIL is released, a one-entry
//! global cache swapped without a lock and a list read through borrowed items; a PyO3 crate
//! with an unsynchronised global cache used inside `py.detach`. Each has a correct twin (the
//! fixes after the `PLANTED:` markers) that must stay clean.

use crate::util::report::{finding, found};
use crate::util::{cores, fixture, render, venv_python, Project, Pyz3};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

use crate::common::with_fixes;
use crate::interpreters::{ft_python, py_eval};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/threads");

fn source(name: &str, module: &str, planted: bool) -> String {
    let text = render(&fixture(&format!("threads/{name}")), &[("module", module)]);
    if planted {
        text
    } else {
        with_fixes(&text)
    }
}

/// Builds the C fixture as `module` for `python` in `dir` (with `-D<define>` flags), and its
/// stub.
fn c_module(python: &Path, dir: &Path, module: &str, planted: bool, defines: &[&str]) {
    std::fs::write(
        dir.join(format!("{module}.c")),
        source("ts_c.c", module, planted),
    )
    .unwrap();
    std::fs::copy(
        Path::new(FIXTURES).join("ts_c.pyi"),
        dir.join(format!("{module}.pyi")),
    )
    .unwrap();
    let include = py_eval(
        python,
        "import sysconfig; print(sysconfig.get_paths()['include'])",
    );
    let suffix = py_eval(
        python,
        "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))",
    );
    let cc = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(format!("{module}{suffix}"))
        .arg(format!("{module}.c"))
        .arg(format!("-I{include}"))
        .args(defines.iter().map(|d| format!("-D{d}")))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
}

/// Builds the PyO3 fixture as `module` (for the project virtualenv's 3.11) in `dir`.
fn pyo3_module(dir: &Path, module: &str, planted: bool) {
    let crate_dir = Project::new()
        .pyo3(module, &source("ts_rs.rs", module, planted))
        .file("tests/test_ext.py", "");
    crate::util::build_pyo3_module(crate_dir.path(), module, dir);
    std::fs::copy(
        Path::new(FIXTURES).join("ts_rs.pyi"),
        dir.join(format!("{module}.pyi")),
    )
    .unwrap();
}

/// `pyz3` in `dir` with no virtualenv: each test names its interpreter.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).no_venv()
}

fn shown(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `pyz3 check MODULE --python PYTHON --json r.json ARGS`: exit code, report, output.
fn check(dir: &Path, python: &Path, module: &str, args: &[&str]) -> (i32, Json, String) {
    let mut all = vec![
        "check",
        module,
        "--python",
        python.to_str().unwrap(),
        "--json",
        "r.json",
        "--repro-dir",
        "repro",
    ];
    all.extend_from_slice(args);
    let out = pyz3(dir).args(&all).run();
    let text = shown(&out);
    let report = std::fs::read_to_string(dir.join("r.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_else(|_| panic!("no report\n{text}"));
    (out.status.code().unwrap_or(-1), report, text)
}

/// Asserts a thread-safety finding's JSON contract and that its reproducer reproduces with
/// `python` (exit 1, or the crash itself).
fn assert_thread_finding(dir: &Path, report: &Json, function: &str, python: &Path) {
    let x = finding(report, function);
    assert_eq!(x["kind"], "thread-safety", "{x:#}");
    let ctx = &x["threads"];
    let scenario = ctx["scenario"].as_str().unwrap();
    assert!(
        ["own-arguments", "shared-arguments", "shared-changing"].contains(&scenario),
        "{x:#}"
    );
    let threads = ctx["threads"].as_u64().unwrap();
    assert!(threads >= 2, "{x:#}");
    assert!(ctx["round"].is_u64(), "{x:#}");
    let inputs = ctx["inputs"].as_array().unwrap();
    if scenario == "own-arguments" {
        assert_eq!(inputs.len() as u64, threads, "{x:#}");
    } else {
        assert!((1..=2).contains(&inputs.len()), "{x:#}");
    }
    assert_eq!(x["input"], inputs[0], "{x:#}");
    let message = x["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{threads} threads, round ")),
        "{message}"
    );
    // A race shows in some runs and not others: the reproducer gets three runs (each up to
    // 20,000 rounds) to show it.
    let path = dir.join(x["reproducer"].as_str().unwrap());
    let mut runs = Vec::new();
    for _ in 0..3 {
        let run = Command::new(python)
            .arg(&path)
            .current_dir("/")
            .output()
            .unwrap();
        let code = run.status.code();
        // Exit 1: the failure showed in a round, or a round hung and faulthandler ended it.
        let reproduced = code.is_none()
            || (code == Some(1)
                && (String::from_utf8_lossy(&run.stdout).contains("reproduced in round ")
                    || String::from_utf8_lossy(&run.stderr).starts_with("Timeout (")));
        if reproduced {
            return;
        }
        assert_eq!(code, Some(0), "{}: {}", path.display(), shown(&run));
        runs.push(shown(&run));
    }
    panic!(
        "{} did not reproduce in 3 runs\n{}",
        path.display(),
        runs.join("\n")
    );
}

/// Runs `pyz3 check` on `functions` of `module` up to `tries` times (each run on the functions
/// not found yet), and asserts that each had a `thread-safety` finding, and nothing else, in
/// some run: races show in some runs and not others. Returns the directory's reports by
/// function, for [`assert_thread_finding`].
fn found_within(
    dir: &Path,
    python: &Path,
    module: &str,
    functions: &[&str],
    args: &[&str],
    tries: usize,
) -> Vec<(String, Json, PathBuf)> {
    let mut out: Vec<(String, Json, PathBuf)> = Vec::new();
    let mut log = String::new();
    for attempt in 0..tries {
        let left: Vec<&str> = functions
            .iter()
            .copied()
            .filter(|f| !out.iter().any(|(g, _, _)| g == f))
            .collect();
        if left.is_empty() {
            break;
        }
        let run_dir = dir.join(format!("run{attempt}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, run_dir.join(p.file_name().unwrap())).unwrap();
            }
        }
        let mut all: Vec<&str> = args.to_vec();
        for f in &left {
            all.extend(["--function", f]);
        }
        let (code, report, text) = check(&run_dir, python, module, &all);
        assert!(code == 0 || code == 1, "{text}");
        for (f, kind) in found(&report) {
            assert_eq!(kind, "thread-safety", "{f}: {text}");
            out.push((f, report.clone(), run_dir.clone()));
        }
        log.push_str(&text);
    }
    let missing: Vec<&&str> = functions
        .iter()
        .filter(|f| !out.iter().any(|(g, _, _)| g == *f))
        .collect();
    assert!(
        missing.is_empty(),
        "not found in {tries} runs: {missing:?}\n{log}"
    );
    out
}

#[test]
fn a_static_buffer_used_without_the_gil_is_found_on_311_and_its_twin_is_clean() {
    let _cores = cores();
    let python = venv_python();
    let tmp = Project::new();
    let dir = tmp.path();
    c_module(&python, dir, "ts_c_planted", true, &[]);
    c_module(&python, dir, "ts_c_fixed", false, &[]);
    // The cache and the list are safe under the GIL (nothing releases it there): the whole
    // module is checked and only `upper` may have a finding.
    let (code, report, text) = check(dir, &python, "ts_c_planted", &["--threads", "4"]);
    assert!(code == 0 || code == 1, "{text}");
    assert!(
        found(&report)
            .iter()
            .all(|(f, k)| f == "upper" && k == "thread-safety"),
        "{text}"
    );
    assert_eq!(report["threads"], 4);
    assert!(
        text.contains("threads: each function was also called from 4 threads"),
        "{text}"
    );
    for (f, report, run_dir) in found_within(
        dir,
        &python,
        "ts_c_planted",
        &["upper"],
        &["--threads", "4"],
        3,
    ) {
        assert_thread_finding(&run_dir, &report, &f, &python);
    }
    let (code, report, text) = check(dir, &python, "ts_c_fixed", &["--threads", "4"]);
    assert_eq!(code, 0, "{text}");
    assert!(found(&report).is_empty(), "{text}");
}

#[test]
fn free_threaded_finds_the_buffer_the_cache_and_borrowed_items_by_default() {
    let _cores = cores();
    let python = ft_python();
    let tmp = Project::new();
    let dir = tmp.path();
    c_module(&python, dir, "ts_c_planted", true, &[]);
    c_module(&python, dir, "ts_c_fixed", false, &[]);
    // No --threads: on by default on a free-threaded interpreter. `square`'s race is a window
    // of a few instructions between the cache's key and value: on 2 cores shared with other
    // tests it was once missed in 3 runs (found in 1 run in most), so it gets up to 6.
    let functions = ["square", "total", "upper"];
    for (f, report, run_dir) in found_within(dir, &python, "ts_c_planted", &functions, &[], 6) {
        assert!(report["threads"].as_u64().unwrap() >= 4, "{report:#}");
        assert_thread_finding(&run_dir, &report, &f, &python);
    }
    let (code, report, text) = check(dir, &python, "ts_c_fixed", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(found(&report).is_empty(), "{text}");
    // --threads 0 turns it off.
    let (code, report, text) = check(dir, &python, "ts_c_planted", &["--threads", "0"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(report["threads"], 0);
    assert!(!text.contains("threads: each function"), "{text}");
}

#[test]
fn a_pyo3_cache_inside_detach_is_found_on_311() {
    let _cores = cores();
    let python = venv_python();
    let tmp = Project::new();
    let dir = tmp.path();
    pyo3_module(dir, "ts_rs_planted", true);
    pyo3_module(dir, "ts_rs_fixed", false);
    for (f, report, run_dir) in found_within(
        dir,
        &python,
        "ts_rs_planted",
        &["scaled"],
        &["--threads", "4"],
        3,
    ) {
        assert_thread_finding(&run_dir, &report, &f, &python);
    }
    let (code, report, text) = check(dir, &python, "ts_rs_fixed", &["--threads", "4"]);
    assert_eq!(code, 0, "{text}");
    assert!(found(&report).is_empty(), "{text}");
}

/// The correct twins (private buffer, lock, critical section; a mutex in Rust) over 20 seeds.
#[test]
fn correct_twins_stay_clean_over_20_seeds() {
    let _cores = cores();
    let tmp = Project::new();
    let dir = tmp.path();
    let ft = ft_python();
    c_module(&ft, dir, "ts_c_fixed", false, &[]);
    pyo3_module(dir, "ts_rs_fixed", false);
    for seed in 0..20 {
        let seed = seed.to_string();
        for (python, module) in [(&ft, "ts_c_fixed"), (&venv_python(), "ts_rs_fixed")] {
            let args = ["--threads", "4", "--cases", "20", "--seed", &seed];
            let (code, report, text) = check(dir, python, module, &args);
            assert_eq!(code, 0, "seed {seed}: {text}");
            assert!(found(&report).is_empty(), "seed {seed}: {text}");
        }
    }
}

#[test]
fn a_module_that_re_enables_the_gil_says_its_calls_are_serialised() {
    let python = ft_python();
    let tmp = Project::new();
    let dir = tmp.path();
    c_module(&python, dir, "ts_c_gil", false, &["NO_GIL_SLOT"]);
    let (code, report, text) = check(dir, &python, "ts_c_gil:square", &["--cases", "20"]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(report["gil_reenabled"], true);
    assert!(
        text.contains("ran serialised, also under --threads"),
        "{text}"
    );
}

#[test]
fn bad_thread_counts_are_one_line_and_exit_2() {
    let tmp = Project::new();
    let dir = tmp.path();
    for (n, expected) in [
        ("1", "--threads must be 0 (off) or at least 2 (not 1)"),
        ("1000", "--threads must be at most 256 (not 1000)"),
    ] {
        let out = pyz3(dir)
            .args(["check", "binascii:crc32", "--threads", n])
            .run();
        assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(expected), "{err}");
    }
    // The same from [tool.pyz3.check].
    std::fs::write(
        dir.join("pyproject.toml"),
        "[tool.pyz3.check]\nthreads = 1\n",
    )
    .unwrap();
    let out = pyz3(dir).args(["check", "binascii:crc32"]).run();
    assert_eq!(out.status.code(), Some(2), "{}", shown(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--threads must be 0 (off) or at least 2"),
        "{}",
        shown(&out)
    );
}

/// `pyz3 test ARGS` in `dir` (the project virtualenv's Python unless `--python` is given), with
/// the sanitizer tests' shared cargo target directory.
fn pyz3_test(dir: &Path, args: &[&str]) -> (i32, Option<Json>, String) {
    let json = dir.join("report.json");
    let mut all = vec!["test", "--json", json.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = Pyz3::new(dir).args(&all).target_dir("sanitize-tests").run();
    let report = std::fs::read_to_string(&json)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (out.status.code().unwrap_or(-1), report, shown(&out))
}

/// A PyO3 project whose one test calls the cached function once per argument, with no threads
/// of its own: pytest-run-parallel runs it in several.
fn parallel_project(module: &str, planted: bool) -> Project {
    Project::new()
        .pyo3(module, &source("ts_rs.rs", module, planted))
        .file(
            "tests/test_ext.py",
            &format!(
                "import {module}\n\n\ndef test_scaled():\n    for n in range(50):\n        \
             assert isinstance({module}.scaled(n), int)\n"
            ),
        )
}

#[test]
fn parallel_threads_under_thread_sanitizer_report_the_race_with_its_test() {
    let dir = parallel_project("ts_par_planted", true);
    let (code, report, text) = pyz3_test(
        dir.path(),
        &["--parallel-threads", "4", "--sanitize", "thread"],
    );
    assert_eq!(code, 1, "{text}");
    let report = report.unwrap_or_else(|| panic!("no report\n{text}"));
    let races: Vec<&Json> = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap())
        .filter(|f| f["subkind"] == "data-race")
        .collect();
    assert!(!races.is_empty(), "no data race reported\n{text}");
    for race in &races {
        assert!(
            race["test"]
                .as_str()
                .is_some_and(|t| t.ends_with("test_ext.py::test_scaled")),
            "{race:#}"
        );
        let top = &race["frames"][0];
        assert!(
            top["function"].as_str().unwrap().contains("scaled")
                && top["file"].as_str().unwrap().ends_with("src/lib.rs"),
            "the race's top frame is not the extension's: {race:#}"
        );
    }
    // The twin (a lock around the cache) is clean under the same run.
    let dir = parallel_project("ts_par_fixed", false);
    let (code, report, text) = pyz3_test(
        dir.path(),
        &["--parallel-threads", "4", "--sanitize", "thread"],
    );
    assert_eq!(code, 0, "{text}");
    let report = report.unwrap();
    assert!(
        report["functions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["findings"].as_array().unwrap().is_empty()),
        "{text}"
    );
    // pytest-run-parallel ran the test in threads (its report says so).
    assert!(text.contains("All tests were run in parallel"), "{text}");
}

#[test]
fn thread_sanitizer_is_refused_on_a_free_threaded_interpreter_without_it() {
    let ft = ft_python();
    let dir = Project::new()
        .setuptools("ts_refused", &source("ts_c.c", "ts_refused", false))
        .file("tests/test_ext.py", "def test_nothing():\n    pass\n");
    let (code, _, text) = pyz3_test(
        dir.path(),
        &[
            "--python",
            ft.to_str().unwrap(),
            "--parallel-threads",
            "4",
            "--sanitize",
            "thread",
        ],
    );
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("needs a free-threaded interpreter built with ThreadSanitizer")
            && text.contains("--with-thread-sanitizer"),
        "{text}"
    );
    assert!(
        !dir.path().join(".pyz3/build").exists(),
        "built before refusing\n{text}"
    );
}

/// Two locks taken in an order that depends on the argument: alone never a problem, under
/// threads a deadlock. The round's hang is the finding (with a reproducer that ends on it).
#[test]
fn a_deadlock_between_threads_is_a_thread_safety_hang() {
    let _cores = cores();
    let python = venv_python();
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("ts_locks.py"),
        "import threading, time\nA = threading.Lock()\nB = threading.Lock()\n\n\n\
         def transfer(x: int) -> int:\n    first, second = (A, B) if x % 2 else (B, A)\n    \
         with first:\n        time.sleep(0.0005)\n        with second:\n            return x + 1\n",
    )
    .unwrap();
    let (code, report, text) = check(
        dir,
        &python,
        "ts_locks",
        &["--threads", "4", "--timeout-ms", "200"],
    );
    assert_eq!(code, 1, "{text}");
    let x = finding(&report, "transfer");
    assert_eq!(x["kind"], "thread-safety", "{x:#}");
    let message = x["message"].as_str().unwrap();
    assert!(
        message.contains("the round was still running after"),
        "{message}"
    );
    assert_thread_finding(dir, &report, "transfer", &python);
}
