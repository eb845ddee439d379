//! `pyz3 fuzz` of a prebuilt module: the generic target built once into the user cache and
//! reused from another directory, a corrupt cache entry rebuilt, and every finding kind still
//! reported on trivial functions.

use super::*;
use std::time::{Instant, SystemTime};

/// Trivial C functions with planted defects, compiled here with gcc (no coverage
/// instrumentation): `crash` writes through a null pointer for a list holding 7 after another
/// element, `leak` keeps a reference to a list of two or more, `null_error` returns NULL without
/// an exception for a list of three or more.
fn plant(dir: &Path) {
    let c = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static long sum(PyObject *xs, int *seven) {
    long t = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(xs); i++) {
        long v = PyLong_AsLong(PyList_GET_ITEM(xs, i));
        if (v == -1 && PyErr_Occurred()) { PyErr_Clear(); continue; }
        if (v == 7 && i > 0) *seven = 1;
        t += v;
    }
    return t;
}
static PyObject *crash(PyObject *self, PyObject *xs) {
    if (!PyList_Check(xs)) { PyErr_SetString(PyExc_TypeError, "a list"); return NULL; }
    int seven = 0;
    long t = sum(xs, &seven);
    if (seven) *(volatile long *)0 = t;
    return PyLong_FromLong(t);
}
static PyObject *leak(PyObject *self, PyObject *xs) {
    if (!PyList_Check(xs)) { PyErr_SetString(PyExc_TypeError, "a list"); return NULL; }
    int seven = 0;
    if (PyList_GET_SIZE(xs) >= 2) Py_INCREF(xs);
    return PyLong_FromLong(sum(xs, &seven));
}
static PyObject *null_error(PyObject *self, PyObject *xs) {
    if (!PyList_Check(xs)) { PyErr_SetString(PyExc_TypeError, "a list"); return NULL; }
    if (PyList_GET_SIZE(xs) >= 3) return NULL;
    int seven = 0;
    return PyLong_FromLong(sum(xs, &seven));
}
static PyMethodDef methods[] = {
    {"crash", crash, METH_O, ""}, {"leak", leak, METH_O, ""},
    {"null_error", null_error, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "plant", NULL, -1, methods};
PyMODINIT_FUNC PyInit_plant(void) { return PyModule_Create(&mod); }
"#;
    std::fs::write(dir.join("plant.c"), c).unwrap();
    std::fs::write(
        dir.join("plant.pyi"),
        "def crash(xs: list[int]) -> int: ...\n\
         def leak(xs: list[int]) -> int: ...\n\
         def null_error(xs: list[int]) -> int: ...\n",
    )
    .unwrap();
    crate::util::compile_c_extension(dir, "plant");
}

/// `pyz3 fuzz plant:FUNC` in `dir` (with `cache` as the user cache when given): its exit code
/// must be 1 and its output name a finding of `kind`. Returns the output.
fn finds(dir: &Path, cache: Option<&Path>, func: &str, kind: &str) -> String {
    let mut cmd = pyz3(dir).args(["fuzz", &format!("plant:{func}"), "--max-time", "60"]);
    if let Some(cache) = cache {
        cmd = cmd.env("PYZ3_CACHE_DIR", cache);
    }
    let out = cmd.run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains(&format!("pyz3: {kind} in plant.{func}")),
        "{log}"
    );
    assert!(
        log.contains(&format!("  {func}([")),
        "the input as Python source: {log}"
    );
    assert!(log.contains("reproducer: "), "{log}");
    log
}

/// The one installed binary of a cache, and its modification time.
fn cached_binary(cache: &Path) -> (PathBuf, SystemTime) {
    let bins: Vec<PathBuf> = std::fs::read_dir(cache.join("fuzz"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("bin/pyz3_generic"))
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(bins.len(), 1, "{bins:?}");
    let mtime = bins[0].metadata().unwrap().modified().unwrap();
    (bins[0].clone(), mtime)
}

/// The first `pyz3 fuzz` of a prebuilt module builds the generic target into the user cache; a
/// second one from another directory reuses it without running `cargo fuzz build`; a corrupt
/// cache entry is built again, not run.
#[test]
fn pyz3_fuzz_builds_a_prebuilt_modules_target_once_into_the_user_cache() {
    let _g = fuzz_lock();
    let cache = tempfile::tempdir().unwrap();
    let first = Project::new();
    plant(first.path());
    let log = finds(first.path(), Some(cache.path()), "crash", "crash");
    assert!(
        log.contains("building the fuzz target (address sanitizer) into"),
        "{log}"
    );
    assert!(log.contains("built the fuzz target in"), "{log}");
    assert!(!first.path().join(".pyz3/fuzz/project").exists());
    let (bin, built_at) = cached_binary(cache.path());

    // From another directory: cargo is not asked to build (it logs every call here).
    let second = Project::new();
    plant(second.path());
    let calls = second.path().join("cargo-calls");
    let cargo = second.path().join("cargo-logged");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec cargo \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&cargo)
        .status()
        .unwrap();
    let start = Instant::now();
    let out = pyz3(second.path())
        .env("PYZ3_CACHE_DIR", cache.path())
        .env("PYZ3_CARGO", &cargo)
        .args(["fuzz", "plant:crash", "--max-time", "60"])
        .run();
    let took = start.elapsed();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("pyz3: crash in plant.crash"), "{log}");
    assert!(
        log.contains(&format!(
            "reusing the fuzz target built in {}",
            bin.parent().unwrap().parent().unwrap().display()
        )),
        "{log}"
    );
    assert!(!log.contains("building the fuzz target"), "{log}");
    let calls = std::fs::read_to_string(&calls).unwrap_or_default();
    assert!(
        !calls.contains("fuzz build"),
        "cargo was asked to build: {calls}"
    );
    assert_eq!(cached_binary(cache.path()), (bin.clone(), built_at));
    assert!(took.as_secs() < 60, "the reused target took {took:?}");

    // A corrupt entry (the binary cut short) is built again.
    let data = std::fs::read(&bin).unwrap();
    std::fs::write(&bin, &data[..4096]).unwrap();
    let log = finds(second.path(), Some(cache.path()), "crash", "crash");
    assert!(
        log.contains("its binary changed since it was built"),
        "{log}"
    );
    // The target's crate is compiled and linked again, not copied back from cargo's output.
    assert!(log.contains("crates, "), "{log}");
    assert!(log.contains("(pyz3-generic-fuzz)"), "{log}");
    assert!(log.contains("built the fuzz target in"), "{log}");
    let (again, _) = cached_binary(cache.path());
    assert_eq!(again.metadata().unwrap().len(), data.len() as u64);
}

/// Fuzzing trivial functions for a few seconds: a planted crash, a leaked reference and a NULL
/// without an exception are each reported, with the input as Python source and a reproducer.
#[test]
fn pyz3_fuzz_reports_every_finding_kind_on_trivial_functions() {
    let _g = fuzz_lock();
    let dir = Project::new();
    plant(dir.path());
    finds(dir.path(), None, "crash", "crash");
    let log = finds(dir.path(), None, "leak", "refcount");
    assert!(log.contains("reference count +1 per call"), "{log}");
    let log = finds(dir.path(), None, "null_error", "system-error");
    assert!(
        log.contains("returned NULL without setting an exception"),
        "{log}"
    );
}

/// `--jobs 2` (libFuzzer's `-fork=2`): the jobs grow one corpus, the campaign's, and progress
/// reads the supervisor's status (all jobs' executions over its time); the first finding stops
/// them all and is reported as a single job's is (the input as Python source, a reproducer),
/// with one artifact.
#[test]
fn pyz3_fuzz_jobs_share_one_corpus_and_stop_at_the_first_finding() {
    let _g = fuzz_lock();
    let dir = Project::new();
    plant(dir.path());
    // A correct function (the standard library's binascii.crc32): no finding, and what both
    // jobs found is in the one corpus.
    std::fs::write(dir.join("crc.pyi"), "def crc32(data: bytes) -> int: ...\n").unwrap();
    let out = pyz3(dir.path())
        .args([
            "fuzz",
            "binascii:crc32",
            "--stubs",
            "crc.pyi",
            "--jobs",
            "2",
        ])
        .args(["--max-time", "30", "--sanitize", "address"])
        .run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    let stats = log
        .lines()
        .find(|l| l.contains("binascii.crc32: no findings ("))
        .unwrap_or_else(|| panic!("{log}"));
    let exec_s: u64 = stats
        .split(" execs, ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stats}"));
    assert!(exec_s > 0, "{stats}");
    let corpus = dir.join(".pyz3/fuzz/corpus/binascii.crc32");
    let kept = std::fs::read_dir(&corpus).unwrap().count();
    assert!(kept >= 2, "{kept} inputs in {}: {log}", corpus.display());

    // A planted crash: found, reported like a single job's finding, long before the time is up.
    let start = Instant::now();
    let out = pyz3(dir.path())
        .args(["fuzz", "plant:crash", "--jobs", "2", "--max-time", "600"])
        .run();
    let took = start.elapsed();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("pyz3: crash in plant.crash"), "{log}");
    assert!(log.contains("  crash(["), "{log}");
    assert!(log.contains("reproducer: "), "{log}");
    // Stopped at the finding, not at `--max-time` (generous: the machine may be loaded).
    assert!(
        took.as_secs() < 400,
        "the jobs went on after the finding: {took:?}"
    );
    // One reported finding; on disk, each job that reached the crash before the stop may
    // have written its input (at most one a job).
    let found = artifacts(&dir.join(".pyz3/fuzz/artifacts/plant.crash"));
    assert!((1..=2).contains(&found.len()), "{found:?}");
    assert_eq!(
        log.matches("pyz3: crash in plant.crash").count(),
        1,
        "{log}"
    );
}
