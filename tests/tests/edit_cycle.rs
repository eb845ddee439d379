//! The edit cycle on every kind of project: `pyz3 test --watch` and `pyz3 bench --compare REF`
//! go through the same discovery and build as everything else, measured here on a C extension
//! (tests/fixtures/backends/race.c) built by setuptools, by meson-python and, compiled as C++,
//! by scikit-build-core, on the nanobind, pybind11 and Cython example projects of
//! `bindings.rs`, and on the pyZ3 (Zig) project of `zig.rs`.
//!
//! - `--watch`: a source edit rebuilds through the backend and reruns the suite (one test now
//!   fails), an edit that does not compile is shown and the watch goes on, the fix is green
//!   again, Ctrl-C stops it with exit 0;
//! - `bench --compare main`: both sides built through the backend (the base in a worktree), the
//!   benchmarked function's work doubled on the branch found by instruction counts, the working
//!   tree left as it was.

use crate::backends::{cmake_race_project, meson_race_project, source, Variant};
use crate::bindings::Kind as Binding;
use crate::coverage::{edit, lines_of, wait_for};
use crate::util::{Assert, Project, Pyz3};
use serde_json::Value;

#[derive(Clone, Copy)]
enum Kind {
    Setuptools,
    MesonPython,
    ScikitBuildCore,
    Binding(Binding),
    Zig,
}

/// One kind's project and the edits made to it.
struct Case {
    dir: Project,
    /// The file the edits are made in.
    file: String,
    /// The suite's size.
    tests: u64,
    /// A line of `file`; the same line making one test fail; the same line not compiling.
    ok: &'static str,
    failing: &'static str,
    broken: &'static str,
    /// The benchmark (benches/bench_ext.py), and an edit of `slow.0` that doubles its work.
    bench: String,
    slow: (&'static str, String, &'static str),
}

fn case(kind: Kind) -> Case {
    let race_bench =
        |m: &str| format!("import {m}\n\n\ndef bench_bump():\n    {m}.bump(20000, 1)\n");
    let race = |dir: Project, m: &str, file: String| Case {
        dir,
        tests: 2,
        ok: "return PyLong_FromLong(n);",
        failing: "return PyLong_FromLong(n + 1);",
        broken: "return PyLong_FromLong(n +);",
        bench: race_bench(m),
        slow: ("i < n; i++) {", file.clone(), "i < 2 * n; i++) {"),
        file,
    };
    match kind {
        Kind::Setuptools => {
            let m = "st_race";
            let dir = Project::new()
                .setuptools(m, &source("backends/race.c", m, Variant::Clean))
                .file(
                    "tests/test_ext.py",
                    &source("backends/race_test.py", m, Variant::Clean),
                );
            race(dir, m, format!("{m}.c"))
        }
        Kind::MesonPython => race(
            meson_race_project(Variant::Clean),
            "mes_race",
            "mes_race.c".into(),
        ),
        Kind::ScikitBuildCore => race(
            cmake_race_project(Variant::Clean),
            "skb_race",
            "skb_race.cpp".into(),
        ),
        Kind::Binding(b) => {
            let m = b.module();
            let file = b.source().1;
            let cython = matches!(b, Binding::CythonSetuptools | Binding::CythonMeson);
            let (ok, failing, broken, slow) = if cython {
                (
                    "return \"hello, \" + name",
                    "return \"hello \" + name",
                    "return \"hello, \" +",
                    (
                        "n = min(max(n, 0), 100000)",
                        "n = 2 * min(max(n, 0), 100000)",
                    ),
                )
            } else {
                (
                    "return \"hello, \" + name;",
                    "return \"hello \" + name;",
                    "return \"hello, \" + ;",
                    (
                        "n = std::clamp(n, 0L, 100000L);",
                        "n = 2 * std::clamp(n, 0L, 100000L);",
                    ),
                )
            };
            Case {
                dir: crate::bindings::project(b),
                tests: 6,
                ok,
                failing,
                broken,
                bench: format!("import {m}\n\n\ndef bench_bump():\n    {m}.bump(20000)\n"),
                slow: (slow.0, file.clone(), slow.1),
                file,
            }
        }
        Kind::Zig => {
            let m = "zig_ext";
            let dir = crate::zig::project();
            dir.write(
                "src/helper.c",
                &crate::zig::source("zig/helper.c", Variant::Clean),
            );
            Case {
                dir,
                file: format!("src/{m}.zig"),
                tests: 6,
                ok: "return args.a +% args.b;",
                failing: "return args.a +% args.b +% 1;",
                broken: "return args.a +% ;",
                bench: format!(
                    "from zpkg import {m}\n\n\ndef bench_fill():\n    {m}.fill(20000, 1)\n"
                ),
                slow: (
                    "long *buf = malloc(n * sizeof(long));",
                    "src/helper.c".into(),
                    "n *= 2;\n    long *buf = malloc(n * sizeof(long));",
                ),
            }
        }
    }
}

/// `pyz3 test --watch` through one edit that fails a test, one that does not compile and the fix.
fn watch(kind: Kind) {
    use std::process::Stdio;
    let _cores = crate::util::cores();
    let c = case(kind);
    let src = c.dir.join(&c.file);
    let mut child = Pyz3::new(c.dir.path())
        .args(["test", "--watch"])
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _stdout = lines_of(child.stdout.take().unwrap());
    let rx = lines_of(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let all = format!("{} passed", c.tests);
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("ok: rebuilt in") && line.contains(&all),
        "{line}\n{}",
        seen.join("\n")
    );
    edit(&src, c.ok, c.failing);
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("FAILED: rebuilt in") && line.contains("1 failed"),
        "{line}\n{}",
        seen.join("\n")
    );
    // The edited file alone (nothing the build writes into the tree), and a rebuild.
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("changed: {}; rebuilding", c.file))),
        "{}",
        seen.join("\n")
    );
    edit(&src, c.failing, c.broken);
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(line.contains("error:"), "{line}\n{}", seen.join("\n"));
    assert!(child.try_wait().unwrap().is_none());
    edit(&src, c.broken, c.ok);
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("ok: rebuilt in") && line.contains(&all),
        "{line}\n{}",
        seen.join("\n")
    );
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", seen.join("\n"));
}

/// `pyz3 bench --compare main --instructions` with the benchmark's work doubled on the branch.
fn compare(kind: Kind) {
    let _cores = crate::util::cores();
    let c = case(kind);
    let dir = c.dir.file("benches/bench_ext.py", &c.bench).git_init();
    dir.git(&["checkout", "-q", "-b", "feature"]);
    let (from, file, to) = &c.slow;
    let src = dir.join(file);
    edit(&src, from, to);
    let edited = std::fs::read_to_string(&src).unwrap();
    let out = Pyz3::new(dir.path())
        .args([
            "bench",
            "--compare",
            "main",
            "--instructions",
            "--format",
            "json",
        ])
        .run();
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}\n{}", out.shown()));
    assert_eq!(out.status.code(), Some(1), "{}", out.shown());
    let b = &v["benchmarks"][0];
    assert!(
        b["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("bench_ext::bench_")),
        "{}",
        out.shown()
    );
    assert_eq!(b["verdict"], "regressed", "{}", out.shown());
    let change = b["change"].as_f64().unwrap();
    // Twice the work; the compiler may shape the longer loop differently.
    assert!(
        (0.6..3.0).contains(&change),
        "change {change}\n{}",
        out.shown()
    );
    assert_eq!(std::fs::read_to_string(&src).unwrap(), edited);
    assert_eq!(
        dir.git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "feature"
    );
}

#[test]
fn watch_rebuilds_a_setuptools_project_on_each_edit() {
    watch(Kind::Setuptools);
}

#[test]
fn watch_rebuilds_a_meson_python_project_on_each_edit() {
    watch(Kind::MesonPython);
}

#[test]
fn watch_rebuilds_a_scikit_build_core_project_on_each_edit() {
    watch(Kind::ScikitBuildCore);
}

#[test]
fn watch_rebuilds_nanobind_pybind11_and_cython_projects_on_each_edit() {
    for b in [
        Binding::CythonSetuptools,
        Binding::CythonMeson,
        Binding::Nanobind,
        Binding::Pybind11,
    ] {
        watch(Kind::Binding(b));
    }
}

#[test]
fn watch_rebuilds_a_pyz3_zig_project_on_each_edit() {
    watch(Kind::Zig);
}

#[test]
fn bench_compare_finds_a_2x_slowdown_in_a_setuptools_project() {
    compare(Kind::Setuptools);
}

#[test]
fn bench_compare_finds_a_2x_slowdown_in_a_meson_python_project() {
    compare(Kind::MesonPython);
}

#[test]
fn bench_compare_finds_a_2x_slowdown_in_a_scikit_build_core_project() {
    compare(Kind::ScikitBuildCore);
}

#[test]
fn bench_compare_finds_a_2x_slowdown_in_nanobind_pybind11_and_cython_projects() {
    for b in [
        Binding::CythonSetuptools,
        Binding::CythonMeson,
        Binding::Nanobind,
        Binding::Pybind11,
    ] {
        compare(Kind::Binding(b));
    }
}

#[test]
fn bench_compare_finds_a_2x_slowdown_in_a_pyz3_zig_project() {
    compare(Kind::Zig);
}
