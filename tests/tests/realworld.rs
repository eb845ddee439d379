//! What `pyz3 check` got wrong on real extensions, each fenced: stubs shipped as a package
//! beside a single-file extension, private names checked when named, a run that checks nothing,
//! related exceptions from an oracle, memory checks of functions that mutate their arguments,
//! and results without value equality.

use crate::common::{pyz3_in as pyz3, stderr_of as stderr};
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

fn venv_python() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python"))
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

/// A single-file extension `single.cpython-*.so` with its stubs as a package directory beside
/// it (`single/__init__.pyi`), as some wheels ship them: the stub is found and used.
#[test]
fn stub_package_beside_a_single_file_extension_is_found() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(
        dir.join("single.c"),
        r#"#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *twice(PyObject *self, PyObject *arg) { return PyNumber_Add(arg, arg); }
static PyMethodDef methods[] = {{"twice", twice, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "single", NULL, -1, methods};
PyMODINIT_FUNC PyInit_single(void) { return PyModule_Create(&def); }
"#,
    )
    .unwrap();
    let include = py_eval("import sysconfig; print(sysconfig.get_paths()['include'])");
    let suffix = py_eval("import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))");
    let cc = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(format!("single{suffix}"))
        .arg("single.c")
        .arg(format!("-I{include}"))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(cc.status.success(), "{}", stderr(&cc));
    std::fs::create_dir(dir.join("single")).unwrap();
    std::fs::write(
        dir.join("single/__init__.pyi"),
        "def twice(x: int, /) -> int: ...\n",
    )
    .unwrap();
    let out = pyz3(
        dir,
        &["check", "single", "--cases", "20", "--json", "r.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("signatures from") && stderr(&out).contains("__init__.pyi"),
        "{}",
        stderr(&out)
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
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("m.py"), MODULE).unwrap();
    let out = pyz3(
        dir,
        &[
            "check",
            "m.py:_inner",
            "--property",
            "_inner=result == x",
            "--cases",
            "200",
            "--json",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        report(dir),
        vec![("_inner".into(), 200, vec!["property-failed".into()])]
    );
}

/// A run that checks no function says so and exits 2: a module without public callables, and
/// one whose only callable is imported from elsewhere.
#[test]
fn a_run_that_checks_nothing_is_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("empty.py"), "X = 1\n_hidden = lambda x: x\n").unwrap();
    let out = pyz3(dir, &["check", "empty.py"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no function of `empty` was checked"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    // `len` has no text signature pyz3 can type... every callable skipped.
    std::fs::write(
        dir.join("opaque.py"),
        "from operator import add as plus\n__all__ = ['plus']\n",
    )
    .unwrap();
    let out = pyz3(dir, &["check", "opaque.py"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no function of `opaque` was checked"),
        "{}",
        stderr(&out)
    );
}

/// Both sides raising related exceptions (`json.JSONDecodeError` is a `ValueError`) agree by
/// default; `--oracle-exceptions exact` tells them apart.
#[test]
fn related_oracle_exceptions_agree_by_default() {
    let tmp = tempfile::tempdir().unwrap();
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
        let out = pyz3(dir, &args);
        (out.status.code(), report(dir)[0].2.clone())
    };
    assert_eq!(run(None), (Some(0), vec![]));
    assert_eq!(run(Some("related")), (Some(0), vec![]));
    assert_eq!(
        run(Some("exact")),
        (Some(1), vec!["oracle-mismatch".to_string()])
    );
    let out = pyz3(
        dir,
        &["check", "m.py:loads_loose", "--oracle-exceptions", "some"],
    );
    assert_eq!(out.status.code(), Some(2));
}

/// A function declared `--mutates` that grows its argument is called on fresh arguments in the
/// memory check: the growing list is not a leak.
#[test]
fn mutating_functions_get_fresh_arguments_in_the_memory_check() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("m.py"), MODULE).unwrap();
    let out = pyz3(
        dir,
        &[
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
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report(dir)[0].2, Vec::<String>::new());
}

/// A fresh callable per call (a closure, a bound method) is not nondeterminism.
#[test]
fn fresh_callables_are_not_nondeterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("m.py"), MODULE).unwrap();
    let out = pyz3(
        dir,
        &[
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
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (name, _, kinds) in report(dir) {
        assert!(kinds.is_empty(), "{name}: {kinds:?}");
    }
}
