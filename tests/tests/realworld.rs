//! What `pyz3 check` got wrong on real extensions, each fenced: stubs shipped as a package
//! beside a single-file extension, private names checked when named, a run that checks nothing,
//! related exceptions from an oracle, memory checks of functions that mutate their arguments,
//! results without value equality, interpreters without NumPy, slow inputs that are not hangs,
//! and parameters with defaults.

use crate::util::{venv_python, Assert, Project, Pyz3};
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

/// `pyz3` in `dir` with the project virtualenv active.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).project_venv()
}

/// (function, cases, [kind]) of the report `r.json` in `dir`.
fn report(dir: &Path) -> Vec<(String, u64, Vec<String>)> {
    let r: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    r["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["cases"].as_u64().unwrap(),
                f["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x["kind"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

fn py_eval(code: &str) -> String {
    let out = Command::new(venv_python())
        .args(["-c", code])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Compiles the C extension `name` from `source` into `dir` (for the project's interpreter).
fn build_c(dir: &Path, name: &str, source: &str) {
    std::fs::write(dir.join(format!("{name}.c")), source).unwrap();
    let include = py_eval("import sysconfig; print(sysconfig.get_paths()['include'])");
    let suffix = py_eval("import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))");
    let cc = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(format!("{name}{suffix}"))
        .arg(format!("{name}.c"))
        .arg(format!("-I{include}"))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(cc.status.success(), "{}", cc.stderr_text());
}

/// A single-file extension `single.cpython-*.so` with its stubs as a package directory beside
/// it (`single/__init__.pyi`), as some wheels ship them: the stub is found and used.
#[test]
fn stub_package_beside_a_single_file_extension_is_found() {
    let tmp = Project::new();
    let dir = tmp.path();
    build_c(
        dir,
        "single",
        r#"#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *twice(PyObject *self, PyObject *arg) { return PyNumber_Add(arg, arg); }
static PyMethodDef methods[] = {{"twice", twice, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "single", NULL, -1, methods};
PyMODINIT_FUNC PyInit_single(void) { return PyModule_Create(&def); }
"#,
    );
    std::fs::create_dir(dir.join("single")).unwrap();
    std::fs::write(
        dir.join("single/__init__.pyi"),
        "def twice(x: int, /) -> int: ...\n",
    )
    .unwrap();
    let out = pyz3(dir)
        .args(["check", "single", "--cases", "20", "--json", "r.json"])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(
        out.stderr_text().contains("signatures from") && out.stderr_text().contains("__init__.pyi"),
        "{}",
        out.stderr_text()
    );
    assert_eq!(report(dir), vec![("twice".into(), 20, vec![])]);
}

const MODULE: &str = r#"
import json

def _inner(x: int) -> int:
    return x if x < 100 else -1

def loads_strict(s: str) -> object:
    return json.loads(s)

def loads_loose(s: str) -> object:
    try:
        return json.loads(s)
    except json.JSONDecodeError:
        raise ValueError("not JSON")

def append_one(xs: list[int]) -> int:
    xs += [1, 2, 3, 4, 5, 6, 7, 8]
    return len(xs)

def make_getter(x: int):
    return lambda: x

def bound_append(x: int):
    return [x].append
"#;

/// `MODULE:_private` checks a private callable; without the name it is not checked.
#[test]
fn private_names_are_checked_when_named() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("m.py"), MODULE).unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "m.py:_inner",
            "--property",
            "_inner=result == x",
            "--cases",
            "200",
            "--json",
            "r.json",
        ])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    assert_eq!(
        report(dir),
        vec![("_inner".into(), 200, vec!["property-failed".into()])]
    );
}

/// A run that checks no function says so and exits 2: a module without public callables, and
/// one whose only callable is imported from elsewhere.
#[test]
fn a_run_that_checks_nothing_is_exit_2() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("empty.py"), "X = 1\n_hidden = lambda x: x\n").unwrap();
    let out = pyz3(dir).args(["check", "empty.py"]).run();
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("no function of `empty` was checked"),
        "{}",
        out.stderr_text()
    );
    assert_eq!(
        out.stderr_text().trim().lines().count(),
        1,
        "{}",
        out.stderr_text()
    );
    // `len` has no text signature pyz3 can type... every callable skipped.
    std::fs::write(
        dir.join("opaque.py"),
        "from operator import add as plus\n__all__ = ['plus']\n",
    )
    .unwrap();
    let out = pyz3(dir).args(["check", "opaque.py"]).run();
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("no function of `opaque` was checked"),
        "{}",
        out.stderr_text()
    );
}

/// Both sides raising related exceptions (`json.JSONDecodeError` is a `ValueError`) agree by
/// default; `--oracle-exceptions exact` tells them apart.
#[test]
fn related_oracle_exceptions_agree_by_default() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("m.py"), MODULE).unwrap();
    let run = |mode: Option<&str>| {
        let mut args = vec![
            "check",
            "m.py:loads_loose",
            "--oracle",
            "loads_loose=m:loads_strict",
            "--cases",
            "100",
            "--json",
            "r.json",
        ];
        if let Some(m) = mode {
            args.extend(["--oracle-exceptions", m]);
        }
        let out = pyz3(dir).args(&args).run();
        (out.status.code(), report(dir)[0].2.clone())
    };
    assert_eq!(run(None), (Some(0), vec![]));
    assert_eq!(run(Some("related")), (Some(0), vec![]));
    assert_eq!(
        run(Some("exact")),
        (Some(1), vec!["oracle-mismatch".to_string()])
    );
    let out = pyz3(dir)
        .args(["check", "m.py:loads_loose", "--oracle-exceptions", "some"])
        .run();
    assert_eq!(out.status.code(), Some(2));
}

/// A function declared `--mutates` that grows its argument is called on fresh arguments in the
/// memory check: the growing list is not a leak.
#[test]
fn mutating_functions_get_fresh_arguments_in_the_memory_check() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("m.py"), MODULE).unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "m.py:append_one",
            "--mutates",
            "append_one",
            "--nondeterministic",
            "append_one",
            "--cases",
            "20",
            "--memory-every",
            "1",
            "--json",
            "r.json",
        ])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert_eq!(report(dir)[0].2, Vec::<String>::new());
}

/// A fresh callable per call (a closure, a bound method) is not nondeterminism.
#[test]
fn fresh_callables_are_not_nondeterministic() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("m.py"), MODULE).unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "m.py",
            "--function",
            "make_getter",
            "--function",
            "bound_append",
            "--cases",
            "50",
            "--json",
            "r.json",
        ])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    for (name, _, kinds) in report(dir) {
        assert!(kinds.is_empty(), "{name}: {kinds:?}");
    }
}

/// The report's slow inputs: (function, input, elapsed ms).
fn slow_list(dir: &Path) -> Vec<(String, String, u64)> {
    let r: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    r["slow"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["function"].as_str().unwrap().to_string(),
                s["input"].as_str().unwrap().to_string(),
                s["elapsed_ms"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// An interpreter without NumPy (a virtualenv made here): `Any` and buffer parameters get no
/// arrays (one warning says so), a function taking an array is skipped with a warning naming
/// it, and the others are checked: a planted `SystemError` is found, the rest are clean.
#[test]
fn an_interpreter_without_numpy_checks_any_parameters_without_arrays() {
    let tmp = Project::new();
    let dir = tmp.path();
    let venv = dir.join("venv");
    let made = Command::new(venv_python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", made.stderr_text());
    let python = venv.join("bin/python");
    let probe = Command::new(&python)
        .args(["-c", "import numpy"])
        .output()
        .unwrap();
    assert!(
        !probe.status.success(),
        "NumPy is importable in the new venv"
    );
    std::fs::write(
        dir.join("m.py"),
        "def describe(x, y):\n    return type(x).__name__ + type(y).__name__\n\
         def length(data):\n    return len(bytes(data))\n\
         def total(a):\n    return float(a.sum())\n\
         def strict(x):\n    if isinstance(x, list) and len(x) >= 3:\n        \
         raise SystemError('three or more')\n    return x\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("m.pyi"),
        "from typing import Any\nfrom collections.abc import Buffer\n\
         import numpy as np\nfrom numpy.typing import NDArray\n\
         def describe(x: Any, y) -> str: ...\ndef length(data: Buffer) -> int: ...\n\
         def total(a: NDArray[np.float64]) -> float: ...\ndef strict(x: Any) -> Any: ...\n",
    )
    .unwrap();
    let py = python.to_str().unwrap();
    let out = pyz3(dir)
        .args(["check", "m.py", "--python", py, "--json", "r.json"])
        .run();
    let err = out.stderr_text();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!err.contains("ModuleNotFoundError"), "{err}");
    assert_eq!(
        err.matches("NumPy is not importable in").count(),
        2,
        "one warning for arrays left out, one for the skipped function:\n{err}"
    );
    assert!(
        err.contains("warning: total: parameter `a` is a NumPy array and NumPy is not importable"),
        "{err}"
    );
    assert_eq!(
        report(dir),
        vec![
            ("describe".into(), 200, vec![]),
            ("length".into(), 200, vec![]),
            ("strict".into(), 200, vec!["system-error".into()]),
        ]
    );
    let out = pyz3(dir)
        .args([
            "check",
            "m.py",
            "--python",
            py,
            "--function",
            "describe",
            "--function",
            "length",
        ])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
}

const SLOW_C: &str = r#"#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <time.h>

/* Sleeps |n| ms for 300 <= |n| <= 400: slow on some inputs, never hung. */
static PyObject *grow(PyObject *self, PyObject *arg) {
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 0) n = -n;
    if (n >= 300 && n <= 400) {
        struct timespec ts = {0, (long)n * 1000000L};
        nanosleep(&ts, NULL);
    }
    return PyLong_FromLongLong(n);
}

/* Spins forever on positive multiples of 7, holding the GIL: a real hang. */
static PyObject *spin(PyObject *self, PyObject *arg) {
    long long n = PyLong_AsLongLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    volatile unsigned long long i = 0;
    if (n > 0 && n % 7 == 0) for (;;) i++;
    return PyLong_FromLongLong(n);
}

static PyMethodDef methods[] = {
    {"grow", grow, METH_O, NULL}, {"spin", spin, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "slowmod", NULL, -1, methods};
PyMODINIT_FUNC PyInit_slowmod(void) { return PyModule_Create(&def); }
"#;

/// A function whose time grows with its argument (300 to 400 ms, limit 200 ms) is reported
/// slow, not as a timeout, and the run exits 0; a call that spins forever is still a `timeout`.
#[test]
fn slow_inputs_are_not_hangs_and_hangs_still_are() {
    let tmp = Project::new();
    let dir = tmp.path();
    build_c(dir, "slowmod", SLOW_C);
    std::fs::write(
        dir.join("slowmod.pyi"),
        "def grow(x: int, /) -> int: ...\ndef spin(x: int, /) -> int: ...\n",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let out = pyz3(dir)
        .args([
            "check",
            "slowmod:grow",
            "--timeout-ms",
            "200",
            "--json",
            "r.json",
        ])
        .run();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}{}", out.stderr_text());
    assert_eq!(report(dir), vec![("grow".into(), 200, vec![])]);
    // Retried as they came (up to three), not shrunk: more than one, each as drawn.
    let slow = slow_list(dir);
    assert!(slow.len() >= 2, "{text}");
    for (function, input, ms) in &slow {
        assert_eq!(function, "grow");
        let n: i64 = input.trim_matches(|c| "(,)".contains(c)).parse().unwrap();
        assert!((300..=400).contains(&n.abs()), "{input}");
        assert!((300..2000).contains(ms), "{input}: {ms} ms");
    }
    assert!(text.contains("note: slow inputs"), "{text}");
    // No shrinking of slow inputs: the run stays short.
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());

    let out = pyz3(dir)
        .args([
            "check",
            "slowmod:spin",
            "--timeout-ms",
            "200",
            "--json",
            "r.json",
        ])
        .run();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}{}", out.stderr_text());
    assert_eq!(
        report(dir),
        vec![("spin".into(), 200, vec!["timeout".into()])]
    );
    assert!(text.contains("  spin(7)\n"), "{text}");
}

/// Reading a missing key of a `defaultdict` inserts it with its default value (simplejson's
/// `simple_first(kv)` reads `kv[1]`): a read, not an input mutation; writing another value
/// still is one. A function named as random (bitarray's `urandom`, `random_k`) is meant to
/// differ between equal calls: not checked for determinism, with a note.
#[test]
fn defaultdict_reads_and_random_functions_are_no_findings() {
    let tmp = Project::new();
    let dir = tmp.path();
    build_c(
        dir,
        "reads",
        r#"#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
static PyObject *first(PyObject *self, PyObject *kv) {
    PyObject *k = PyLong_FromLong(1);
    PyObject *v = PyObject_GetItem(kv, k);
    Py_DECREF(k);
    return v;
}
static PyObject *put_one(PyObject *self, PyObject *kv) {
    PyObject *k = PyLong_FromLong(1), *one = PyLong_FromLong(7);
    int r = PyObject_SetItem(kv, k, one);
    Py_DECREF(k);
    Py_DECREF(one);
    if (r < 0) return NULL;
    return PyLong_FromLong(0);
}
static PyObject *urandom_bits(PyObject *self, PyObject *n) {
    return PyLong_FromLong(random() & 0xffff);
}
static PyMethodDef methods[] = {
    {"first", first, METH_O, NULL},
    {"put_one", put_one, METH_O, NULL},
    {"urandom_bits", urandom_bits, METH_O, NULL},
    {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "reads", NULL, -1, methods};
PyMODINIT_FUNC PyInit_reads(void) { return PyModule_Create(&def); }"#,
    );
    std::fs::write(
        dir.join("reads.pyi"),
        "from collections import defaultdict\n\
         def first(kv: defaultdict[int, int]) -> int: ...\n\
         def put_one(kv: defaultdict[int, int]) -> int: ...\n\
         def urandom_bits(n: int) -> int: ...\n",
    )
    .unwrap();
    let out = pyz3(dir)
        .args(["check", "reads", "--cases", "300", "--json", "r.json"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let found = report(dir);
    assert_eq!(
        found,
        vec![
            ("first".to_string(), 300, vec![]),
            (
                "put_one".to_string(),
                300,
                vec!["input-mutation".to_string()]
            ),
            ("urandom_bits".to_string(), 300, vec![]),
        ],
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stderr_text()
            .contains("urandom_bits: random by its name: not checked for determinism"),
        "{}",
        out.stderr_text()
    );
}

const SLOW_MODULE: &str = r#"
import time

_kept = []

def _busy(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

def slow_leak(x: int) -> int:
    _busy(0.003)
    _kept.append(bytearray(2000))
    return 0

def too_slow(x: int) -> int:
    _busy(0.02)
    _kept.append(bytearray(2000))
    return 0
"#;

/// The memory check makes at least 100 calls a round, slow functions included: a leak in a
/// 3 ms function is found with rounds of 100 calls; a 20 ms function, for which 100-call rounds
/// would take too long, is not checked for memory growth, and a warning says so.
#[test]
fn slow_functions_get_100_calls_a_round_or_a_warning() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("slow.py"), SLOW_MODULE).unwrap();
    let out = pyz3(dir)
        .args(["check", "slow.py", "--cases", "3", "--json", "r.json"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let found = report(dir);
    let kinds = |name: &str| found.iter().find(|f| f.0 == name).unwrap().2.clone();
    assert_eq!(kinds("slow_leak"), ["memory-leak"]);
    assert_eq!(kinds("too_slow"), Vec::<String>::new());
    let text = out.stdout_text();
    assert!(text.contains("rounds of 100 calls"), "{text}");
    let warnings = out.stderr_text();
    let warning = "too_slow: memory growth not checked: a call takes";
    assert_eq!(warnings.matches(warning).count(), 1, "{warnings}");
}
