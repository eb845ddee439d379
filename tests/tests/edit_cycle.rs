//! The edit cycle on every C kind of project: `pyz3 test --watch` and `pyz3 bench --compare REF`
//! go through the same discovery and build as everything else, measured here on one C extension
//! (tests/fixtures/backends/race.c: `bump` adds 1 to a counter n times) built by setuptools, by
//! meson-python and, compiled as C++, by scikit-build-core with CMake.
//!
//! - `--watch`: a source edit rebuilds through the backend and reruns the suite, a compile error
//!   is shown and the watch goes on, the fix is green again, Ctrl-C stops it with exit 0;
//! - `bench --compare main`: both sides built through the backend (the base in a worktree), a
//!   loop made twice as long on the branch found by instruction counts, the working tree left as
//!   it was.

use crate::backends::{cmake_race_project, meson_race_project, source, Variant};
use crate::coverage::{edit, lines_of, wait_for};
use crate::util::{Assert, Project, Pyz3};
use serde_json::Value;

#[derive(Clone, Copy)]
enum Kind {
    Setuptools,
    MesonPython,
    ScikitBuildCore,
}

/// The clean race project of `kind`: (project, module, source file).
fn project(kind: Kind) -> (Project, &'static str, String) {
    let (dir, m) = match kind {
        Kind::Setuptools => {
            let m = "st_race";
            let dir = Project::new()
                .setuptools(m, &source("backends/race.c", m, Variant::Clean))
                .file(
                    "tests/test_ext.py",
                    &source("backends/race_test.py", m, Variant::Clean),
                );
            (dir, m)
        }
        Kind::MesonPython => (meson_race_project(Variant::Clean), "mes_race"),
        Kind::ScikitBuildCore => (cmake_race_project(Variant::Clean), "skb_race"),
    };
    let file = match kind {
        Kind::ScikitBuildCore => format!("{m}.cpp"),
        _ => format!("{m}.c"),
    };
    (dir, m, file)
}

/// `pyz3 test --watch` through one edit that fails a test, one that does not compile and the fix.
fn watch(kind: Kind) {
    use std::process::Stdio;
    let _cores = crate::util::cores();
    let (dir, _, file) = project(kind);
    let src = dir.join(&file);
    let mut child = Pyz3::new(dir.path())
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
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("ok: rebuilt in") && line.contains("2 passed"),
        "{line}\n{}",
        seen.join("\n")
    );
    edit(
        &src,
        "return PyLong_FromLong(n);",
        "return PyLong_FromLong(n + 1);",
    );
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("FAILED: rebuilt in") && line.contains("1 failed"),
        "{line}\n{}",
        seen.join("\n")
    );
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("changed: {file}; rebuilding"))),
        "{}",
        seen.join("\n")
    );
    edit(
        &src,
        "return PyLong_FromLong(n + 1);",
        "return PyLong_FromLong(n +);",
    );
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(line.contains("error:"), "{line}\n{}", seen.join("\n"));
    assert!(child.try_wait().unwrap().is_none());
    edit(
        &src,
        "return PyLong_FromLong(n +);",
        "return PyLong_FromLong(n);",
    );
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("ok: rebuilt in") && line.contains("2 passed"),
        "{line}\n{}",
        seen.join("\n")
    );
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", seen.join("\n"));
}

/// `pyz3 bench --compare main --instructions` with `bump`'s loop twice as long on the branch.
fn compare(kind: Kind) {
    let _cores = crate::util::cores();
    let (dir, m, file) = project(kind);
    let dir = dir
        .file(
            "benches/bench_ext.py",
            &format!("import {m}\n\n\ndef bench_bump():\n    {m}.bump(20000, 1)\n"),
        )
        .git_init();
    dir.git(&["checkout", "-q", "-b", "feature"]);
    let src = dir.join(&file);
    edit(&src, "i < n; i++) {", "i < 2 * n; i++) {");
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
    assert_eq!(b["name"], "bench_ext::bench_bump", "{}", out.shown());
    assert_eq!(b["verdict"], "regressed", "{}", out.shown());
    let change = b["change"].as_f64().unwrap();
    // Twice the iterations; the compiler may shape the longer loop differently.
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
