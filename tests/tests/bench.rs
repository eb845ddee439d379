//! `pyz3 bench` on temp git repositories holding a small PyO3 extension and a bench file
//! (tests/fixtures/bench/): A/A stability in both modes, a 2× slowdown found by `--compare main`
//! with the working tree left intact, the table formats, and bad input.

use crate::util::{Assert, Project, Pyz3};
use std::path::Path;
use std::process::Output;

use serde_json::Value;

/// A git repository (branch `main`, one commit) with the example extension as `module`; each
/// test uses its own module name, so builds sharing one target directory never mix.
fn project(module: &str) -> Project {
    Project::new()
        .var("module", module)
        .file(
            "Cargo.toml",
            &format!(
                "[package]\nname = \"{module}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\n\
                 crate-type = [\"cdylib\"]\n\n[dependencies]\npyo3 = \"0.30\"\n\n[profile.release]\n\
                 debug = 1\n\n[workspace]\n"
            ),
        )
        .fixture("src/lib.rs", "bench/lib.rs")
        .fixture("benches/bench_ops.py", "bench/bench_ops.py")
        .file(".gitignore", "target/\nCargo.lock\n")
        .git_init()
}

/// `pyz3` in `dir`, plain text, with one shared cargo target directory for the example crates.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).no_color().target_dir("bench-tests")
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}\n{}", o.shown()))
}

fn verdicts(v: &Value) -> Vec<(String, String)> {
    v["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap().to_string(),
                b["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const NAMES: [&str; 4] = [
    "bench_ops::bench_join[100]",
    "bench_ops::bench_join[10]",
    "bench_ops::bench_sum_squares",
    "bench_ops::bench_vowels",
];

#[test]
fn a_a_is_unchanged_in_wall_and_instruction_mode() {
    let _cores = crate::util::cores();
    // Wall mode: the current tree against `main` (the same commit), measured interleaved —
    // the way a branch is checked — while the other tests load the machine.
    let dir = project("bench_aa");
    let mut clean = 0;
    let mut seen = Vec::new();
    for _ in 0..20 {
        let out = pyz3(dir.path())
            .args(["bench", "--compare", "main", "--format", "json"])
            .run();
        let v = json_of(&out);
        assert_eq!(v["version"], 1);
        assert_eq!(v["mode"], "wall");
        assert_eq!(v["baseline"], "main");
        let names: Vec<String> = verdicts(&v).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, NAMES);
        if out.status.code() == Some(0) {
            clean += 1;
        } else {
            seen.push(verdicts(&v));
        }
    }
    assert!(
        clean >= 19,
        "A/A regressed in {} of 20 runs: {seen:?}",
        20 - clean
    );

    let out = pyz3(dir.path())
        .args(["bench", "--instructions", "--save-baseline", "i"])
        .run();
    out.assert_exit(0);
    // The baseline keeps the calls per loop, so the runs compared with it (calibrated on a
    // loaded machine or not) make the same calls.
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".pyz3/bench/i.json")).unwrap(),
    )
    .unwrap();
    for (name, b) in saved["benchmarks"].as_object().unwrap() {
        let calls = b["calls"].as_u64().unwrap_or(0);
        assert!(calls.is_power_of_two(), "{name}: calls {calls}");
    }
    for _ in 0..2 {
        let out = pyz3(dir.path())
            .args([
                "bench",
                "--instructions",
                "--baseline",
                "i",
                "--format",
                "json",
            ])
            .run();
        out.assert_exit(0);
        let v = json_of(&out);
        assert_eq!(v["mode"], "instructions");
        for b in v["benchmarks"].as_array().unwrap() {
            let change = b["change"].as_f64().unwrap();
            assert!(
                change.abs() < 0.001,
                "instruction counts moved {change} in A/A: {b}"
            );
        }
    }
}

#[test]
fn a_2x_slowdown_is_found_by_compare_main_and_the_tree_is_left_alone() {
    let _cores = crate::util::cores();
    let dir = project("bench_2x");
    dir.git(&["checkout", "-q", "-b", "feature"]);
    let lib = dir.path().join("src/lib.rs");
    let edited = std::fs::read_to_string(&lib)
        .unwrap()
        .replace("const REPEAT: u64 = 1;", "const REPEAT: u64 = 2;");
    std::fs::write(&lib, &edited).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "untracked, uncommitted\n").unwrap();

    for mode in [&[][..], &["--instructions"][..]] {
        let mut args = vec!["bench", "--compare", "main", "--format", "json"];
        args.extend(mode);
        let out = pyz3(dir.path()).args(&args).run();
        out.assert_exit(1);
        let v = json_of(&out);
        // Instruction counts do not move with the load other tests put on the machine: there
        // the other benchmarks are exactly unchanged and the change is about +100%. Wall time
        // on a loaded machine is only asked for the regression itself.
        let counted = !mode.is_empty();
        for (name, verdict) in verdicts(&v) {
            if name.ends_with("bench_sum_squares") {
                assert_eq!(verdict, "regressed", "{name} in {mode:?}\n{}", out.shown());
            } else if counted {
                assert_eq!(verdict, "unchanged", "{name} in {mode:?}\n{}", out.shown());
            }
        }
        let change = v["benchmarks"][2]["change"].as_f64().unwrap();
        let expected = if counted { 0.6..1.5 } else { 0.3..4.0 };
        assert!(
            expected.contains(&change),
            "sum_squares changed by {change} in {mode:?}"
        );
    }
    // The uncommitted edit, the untracked file and the branch are as they were.
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), edited);
    assert!(dir.path().join("notes.txt").exists());
    let head = dir.git(&["rev-parse", "--abbrev-ref", "HEAD"]);
    assert_eq!(head.trim(), "feature");
    let wt = dir.git(&["worktree", "list"]);
    assert_eq!(wt.lines().count(), 1, "a worktree was left behind");

    // Markdown for PR comments.
    let out = pyz3(dir.path())
        .args([
            "bench",
            "--compare",
            "main",
            "--format",
            "markdown",
            "--instructions",
            "sum_squares",
        ])
        .run();
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("| benchmark | baseline | current | change | 95% CI | verdict |"),
        "{md}"
    );
    assert!(md.contains("|:--|--:|--:|--:|--:|:--|"), "{md}");
    assert!(
        md.contains("| bench_ops::bench_sum_squares |") && md.contains("**regressed**"),
        "{md}"
    );

    // Flamegraphs of the benchmark on both sides and a differential one: Python and native
    // frames of the extension together.
    let flames = dir.path().join("flames");
    let out = pyz3(dir.path())
        .args([
            "bench",
            "--compare",
            "main",
            "--flamegraph",
            flames.to_str().unwrap(),
            "sum_squares",
            "--processes",
            "2",
            "--samples",
            "3",
        ])
        .run();
    // Three samples a side give no verdict worth asserting on a loaded machine; this run is
    // about the flamegraphs, and it must not be a usage or environment error.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}\n{}",
        out.status.code(),
        out.shown()
    );
    for file in [
        "bench_ops--bench_sum_squares.svg",
        "bench_ops--bench_sum_squares.main.svg",
        "bench_ops--bench_sum_squares.diff.svg",
    ] {
        let svg = std::fs::read_to_string(flames.join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}\n{}", out.shown()));
        assert!(svg.contains("<svg"), "{file}");
        assert!(
            svg.contains("bench_sum_squares"),
            "{file}: no Python frame of the benchmark"
        );
        assert!(
            svg.contains("bench_2x::sum_squares"),
            "{file}: no native frame of the extension"
        );
    }

    // Allocations per call: join builds a list of n strings and the joined string.
    let out = pyz3(dir.path())
        .args([
            "bench",
            "--memory",
            "join",
            "--processes",
            "3",
            "--samples",
            "3",
        ])
        .run();
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    let row = shown
        .lines()
        .find(|l| l.starts_with("bench_ops::bench_join[100]") && l.ends_with("memray"))
        .unwrap_or_else(|| panic!("no memory row\n{}", out.shown()));
    let allocs: f64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!((100.0..200.0).contains(&allocs), "{row}");
}

fn assert_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", out.shown());
    assert!(
        stderr.contains(needle),
        "expected `{needle}`\n{}",
        out.shown()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_is_an_error_and_nothing_is_overwritten() {
    let dir = project("bench_bad");
    let store = dir.path().join(".pyz3/bench");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("broken.json"), "{\"version\": 1, \"name\": ").unwrap();
    assert_error(
        &pyz3(dir.path())
            .args(["bench", "--baseline", "broken"])
            .run(),
        "corrupt baseline file",
    );
    assert_eq!(
        std::fs::read_to_string(store.join("broken.json")).unwrap(),
        "{\"version\": 1, \"name\": "
    );
    assert_error(
        &pyz3(dir.path()).args(["bench", "--baseline", "nope"]).run(),
        "no baseline named `nope`",
    );
    assert_error(
        &pyz3(dir.path())
            .args(["bench", "--compare", "no-such-branch"])
            .run(),
        "no such git ref",
    );
    assert_error(
        &pyz3(dir.path())
            .args(["bench", "nothing-matches-this"])
            .run(),
        "no benchmark matches",
    );

    // A good baseline, then a bench function that raises: exit 2, the baseline untouched.
    let out = pyz3(dir.path())
        .args([
            "bench",
            "--save-baseline",
            "good",
            "--processes",
            "2",
            "--samples",
            "3",
        ])
        .run();
    out.assert_exit(0);
    let saved = std::fs::read(store.join("good.json")).unwrap();
    let bench = dir.path().join("benches/bench_ops.py");
    let mut code = std::fs::read_to_string(&bench).unwrap();
    code.push_str("\n\ndef bench_broken():\n    raise ValueError('broken on purpose')\n");
    std::fs::write(&bench, code).unwrap();
    assert_error(
        &pyz3(dir.path())
            .args(["bench", "--save-baseline", "good"])
            .run(),
        "bench function bench_ops::bench_broken raised: ValueError: broken on purpose",
    );
    assert_eq!(std::fs::read(store.join("good.json")).unwrap(), saved);
    let empty = Project::new();
    assert_error(
        &pyz3(empty.path()).args(["bench"]).run(),
        "is not an extension project",
    );
}

/// Adds a criterion bench of the extension's Rust code (`benches/rust_ops.rs`) to `dir`'s
/// project and commits it.
fn add_criterion_bench(project: &Project, module: &str) {
    let dir = project.path();
    let cargo = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&cargo)
        .unwrap()
        .replace(
            "crate-type = [\"cdylib\"]",
            "crate-type = [\"cdylib\", \"rlib\"]",
        )
        .replace(
            "[profile.release]",
            "[dev-dependencies]\ncriterion = { version = \"0.7\", default-features = false, \
             features = [\"cargo_bench_support\"] }\n\n[[bench]]\nname = \"rust_ops\"\n\
             harness = false\n\n[profile.release]",
        );
    std::fs::write(&cargo, text).unwrap();
    std::fs::write(
        dir.join("benches/rust_ops.rs"),
        format!(
            "use criterion::{{criterion_group, criterion_main, Criterion}};\n\
             use std::time::Duration;\n\n\
             fn sum_squares(c: &mut Criterion) {{\n    \
                 c.bench_function(\"sum_squares_rs\", |b| b.iter(|| {module}::sum_squares_rs(20_000)));\n\
             }}\n\n\
             criterion_group! {{\n    name = benches;\n    config = Criterion::default()\n        \
                 .sample_size(30)\n        .warm_up_time(Duration::from_millis(300))\n        \
                 .measurement_time(Duration::from_secs(1));\n    targets = sum_squares\n}}\n\
             criterion_main!(benches);\n"
        ),
    )
    .unwrap();
    project.git(&["add", "-A"]);
    project.git(&["commit", "-q", "-m", "criterion bench"]);
}

#[test]
fn criterion_benches_run_beside_the_python_ones_and_compare() {
    let _cores = crate::util::cores();
    let dir = project("bench_crit");
    add_criterion_bench(&dir, "bench_crit");
    // Only the Rust bench (the filter), against a saved baseline.
    let out = pyz3(dir.path())
        .args([
            "bench",
            "sum_squares",
            "--save-baseline",
            "before",
            "--format",
            "json",
        ])
        .run();
    out.assert_exit(0);
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".pyz3/bench/before.json")).unwrap(),
    )
    .unwrap();
    let names: Vec<&String> = saved["benchmarks"].as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        ["bench_ops::bench_sum_squares", "rust::sum_squares_rs"],
        "{}",
        out.shown()
    );
    let rust = &saved["benchmarks"]["rust::sum_squares_rs"];
    assert_eq!(rust["unit"], "ns");
    assert!(rust["estimate"].as_f64().unwrap() > 1000.0, "{rust}");

    // Four times the work in the Rust function (twice was lost in the noise of a loaded
    // machine now and then): both the Python and the criterion bench regress,
    // against the saved baseline and against `main` built in a worktree.
    let lib = dir.path().join("src/lib.rs");
    let code = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        code.replace("const REPEAT: u64 = 1;", "const REPEAT: u64 = 4;"),
    )
    .unwrap();
    for against in [["--baseline", "before"], ["--compare", "main"]] {
        let mut args = vec!["bench", "sum_squares", "--format", "json"];
        args.extend(against);
        let out = pyz3(dir.path()).args(&args).run();
        assert_eq!(out.status.code(), Some(1), "{against:?}: {}", out.shown());
        let v = json_of(&out);
        assert_eq!(
            verdicts(&v),
            [
                (
                    "bench_ops::bench_sum_squares".to_string(),
                    "regressed".to_string()
                ),
                ("rust::sum_squares_rs".to_string(), "regressed".to_string()),
            ],
            "{against:?}: {}",
            out.shown()
        );
        // `change` is current/baseline - 1 (the JSON contract). Four times the work reads as a clear
        // rise; its size moves with the load the other tests put on the machine between the
        // two measurements (criterion's samples are not interleaved with the baseline's).
        let rust = &v["benchmarks"][1];
        let change = rust["change"].as_f64().unwrap();
        let ratio = rust["current"].as_f64().unwrap() / rust["baseline"].as_f64().unwrap();
        assert!((change - (ratio - 1.0)).abs() < 1e-9, "{against:?}: {rust}");
        assert!(
            (0.5..12.0).contains(&change),
            "{against:?}: about +300%: {rust}"
        );
    }
    // The working tree is untouched by the comparison.
    assert!(std::fs::read_to_string(&lib)
        .unwrap()
        .contains("const REPEAT: u64 = 4;"));
}

/// A bench function that never returns (after forking a child that spins) is stopped at its
/// step limit, `--timeout-ms` or `timeout-ms` under `[tool.pyz3.bench]`: one line naming it,
/// exit 2, and nothing it started is left running.
#[test]
fn a_bench_that_hangs_is_stopped_and_named() {
    use crate::common::{output_within, process_gone};
    use std::time::{Duration, Instant};
    let dir = project("stall_ext");
    let bench = dir.path().join("benches/bench_ops.py");
    let mut code = std::fs::read_to_string(&bench).unwrap();
    code.push_str(
        "\n\nimport os as _os, time as _time\n\n\
         def bench_hang():\n    \
             if _os.fork() == 0:\n        \
                 open('child.pid', 'w').write(str(_os.getpid()))\n        \
                 while True:\n            pass\n    \
             _time.sleep(3600)\n",
    );
    std::fs::write(&bench, code).unwrap();
    let run = |args: &[&str]| {
        let _ = std::fs::remove_file(dir.path().join("child.pid"));
        let mut cmd = pyz3(dir.path()).args(["bench"]).args(args).command();
        let start = Instant::now();
        let out = output_within(&mut cmd, Duration::from_secs(600));
        (out, start.elapsed())
    };
    // A build first, so that the timings below are of the benchmarks alone.
    let (out, _) = run(&["bench_join", "--processes", "1", "--samples", "2"]);
    out.assert_exit(0);

    let (out, took) = run(&["--timeout-ms", "2000", "--processes", "1", "--samples", "2"]);
    assert_error(
        &out,
        "pyz3: error: benchmark bench_ops::bench_hang did not finish within 2 s",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.starts_with("pyz3: error"))
            .count(),
        1,
        "{stderr}"
    );
    assert!(took < Duration::from_secs(60), "{took:?}\n{}", out.shown());
    let child = std::fs::read_to_string(dir.path().join("child.pid")).unwrap();
    let child: i32 = child.trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        process_gone(child),
        "the bench's child {child} outlived the bench"
    );

    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.pyz3.bench]\ntimeout-ms = 1500\n",
    )
    .unwrap();
    let (out, _) = run(&["--processes", "1", "--samples", "2"]);
    assert_error(
        &out,
        "benchmark bench_ops::bench_hang did not finish within 1.5 s",
    );
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.pyz3.bench]\ntimeout-ms = \"soon\"\n",
    )
    .unwrap();
    let (out, _) = run(&[]);
    assert_error(&out, "[tool.pyz3.bench] timeout-ms must be a number");
    let (out, _) = run(&["--timeout-ms", "0"]);
    assert_error(&out, "--timeout-ms must be at least 1");
}

/// Ctrl-C (SIGINT) while `bench --compare HEAD~1` builds the ref in its temporary worktree:
/// pyz3 exits 130, the build is stopped, and the worktree is gone from the disk and from
/// `git worktree list`.
#[test]
fn interrupting_a_compare_removes_its_worktree() {
    use crate::common::{process_gone, wait_for_pid_file};
    use std::time::{Duration, Instant};
    let dir = project("intr_ext");
    let pid_file = dir.path().join("build-script.pid");
    // HEAD~1 has a build script that takes two minutes; HEAD does not.
    std::fs::write(
        dir.path().join("build.rs"),
        format!(
            "fn main() {{\n    std::fs::write({:?}, std::process::id().to_string()).unwrap();\n    \
             std::thread::sleep(std::time::Duration::from_secs(120));\n}}\n",
            pid_file.display().to_string()
        ),
    )
    .unwrap();
    dir.git(&["add", "-A"]);
    dir.git(&["commit", "-q", "-m", "slow build"]);
    dir.git(&["rm", "-q", "build.rs"]);
    dir.git(&["commit", "-q", "-m", "fast build"]);
    let mut cmd = Pyz3::new(dir.path()).target_dir("bench-tests").command();
    cmd.args([
        "bench",
        "--compare",
        "HEAD~1",
        "--processes",
        "1",
        "--samples",
        "2",
    ])
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    let mut pyz3 = cmd.spawn().unwrap();
    let script = wait_for_pid_file(&pid_file, Duration::from_secs(600));
    let worktrees = dir.path().join(".pyz3/bench/worktrees");
    assert_eq!(std::fs::read_dir(&worktrees).unwrap().count(), 1);
    // SAFETY: signals the pyz3 started above.
    unsafe { libc::kill(pyz3.id() as i32, libc::SIGINT) };
    let start = Instant::now();
    let status = loop {
        if let Some(s) = pyz3.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = pyz3.kill();
            panic!("pyz3 did not exit within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    let listed = dir.git(&["worktree", "list", "--porcelain"]);
    assert_eq!(listed.matches("worktree ").count(), 1, "{listed}");
    let left: Vec<_> = std::fs::read_dir(&worktrees)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        process_gone(script),
        "the ref's build script {script} outlived pyz3"
    );
}
