//! Leaks on the error path of a C extension: found, and reproduced by scripts that catch the
//! exception.

use super::*;

const ERROR_PATH_SOURCE: &str = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;

/* Leaks a reference to its argument, then raises (for ints > 5). */
static PyObject *leak_ref_then_raise(PyObject *self, PyObject *arg) {
    long x = PyLong_AsLong(arg);
    if (x == -1 && PyErr_Occurred()) return NULL;
    if (x > 5) {
        Py_INCREF(arg);
        PyErr_SetString(PyExc_ValueError, "x");
        return NULL;
    }
    return PyLong_FromLong(x);
}

/* Leaks a heap block, then raises (for ints > 5). */
static PyObject *leak_buf_then_raise(PyObject *self, PyObject *arg) {
    long x = PyLong_AsLong(arg);
    if (x == -1 && PyErr_Occurred()) return NULL;
    if (x > 5) {
        char *p = malloc(4096);
        if (p) memset(p, 1, 4096);
        sink = p;
        PyErr_SetString(PyExc_ValueError, "x");
        return NULL;
    }
    return PyLong_FromLong(x);
}

/* Raises the same way, and leaks nothing. */
static PyObject *raise_only(PyObject *self, PyObject *arg) {
    long x = PyLong_AsLong(arg);
    if (x == -1 && PyErr_Occurred()) return NULL;
    if (x > 5) {
        PyErr_SetString(PyExc_ValueError, "x");
        return NULL;
    }
    return PyLong_FromLong(x);
}

static PyMethodDef methods[] = {
    {"leak_ref_then_raise", leak_ref_then_raise, METH_O, NULL},
    {"leak_buf_then_raise", leak_buf_then_raise, METH_O, NULL},
    {"raise_only", raise_only, METH_O, NULL},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "errpath", NULL, -1, methods};

PyMODINIT_FUNC PyInit_errpath(void) { return PyModule_Create(&def); }
"#;

/// Runs a reproducer with the project's interpreter (`PYTHONMALLOC=malloc`, as the docs say for
/// memory-leak scripts): its exit code and output.
fn run_reproducer(path: &Path) -> (Option<i32>, String, String) {
    let run = Command::new(venv_python())
        .arg(path)
        .current_dir("/")
        .env("PYTHONMALLOC", "malloc")
        .output()
        .unwrap();
    (
        run.status.code(),
        String::from_utf8_lossy(&run.stdout).into_owned(),
        run.stderr_text(),
    )
}

/// Leaks on the error path (a reference, a heap block, then an exception) are found, and their
/// reproducers catch the exception, measure, and exit 1; for a function that raises the same
/// way without leaking there is no finding, and the same scripts exit 0.
#[test]
fn leaks_on_the_error_path_are_found_and_reproduced() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("errpath.c"), ERROR_PATH_SOURCE).unwrap();
    std::fs::write(
        dir.join("errpath.pyi"),
        "def leak_ref_then_raise(x: int, /) -> int: ...\n\
         def leak_buf_then_raise(x: int, /) -> int: ...\n\
         def raise_only(x: int, /) -> int: ...\n",
    )
    .unwrap();
    compile_extension(dir, "errpath");
    let out = Pyz3::new(dir)
        .args([
            "check",
            "errpath",
            "--cases",
            "40",
            "--memory-every",
            "1",
            "--json",
            "r.json",
            "--repro-dir",
            "repro",
        ])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let by_fn = findings_by_function(&report);
    let get = |n: &str| by_fn.iter().find(|f| f.0 == n).unwrap().2.clone();
    assert_eq!(
        get("leak_ref_then_raise"),
        vec![("refcount".into(), "(257,)".into())]
    );
    assert_eq!(
        get("leak_buf_then_raise"),
        vec![("memory-leak".into(), "(6,)".into())]
    );
    assert_eq!(get("raise_only"), vec![]);
    for (function, kind) in [
        ("leak_ref_then_raise", "refcount"),
        ("leak_buf_then_raise", "memory-leak"),
    ] {
        let path = dir.join(format!("repro/errpath.{function}.{kind}.py"));
        let (code, stdout, err) = run_reproducer(&path);
        assert_eq!(code, Some(1), "{function}: {stdout}{err}");
        assert!(!err.contains("Traceback"), "{function}: {err}");
        assert!(
            stdout.contains("the calls raised ValueError"),
            "{function}: {stdout}"
        );
    }
    // The same scripts for the correct function: they measure, find nothing and exit 0.
    let target = pyz3::target::Target {
        module: "errpath".into(),
        path: Some(dir.to_path_buf()),
        function: "raise_only".into(),
        param_names: vec!["x".into()],
        param_types: vec!["int".into()],
        ..Default::default()
    };
    for (kind, input) in [
        (pyz3::report::FindingKind::Refcount, "(257,)"),
        (pyz3::report::FindingKind::MemoryLeak, "(6,)"),
    ] {
        let finding = pyz3::report::Finding {
            kind,
            input: input.into(),
            imports: vec![],
            definitions: vec![],
            message: "planted".into(),
            traceback: None,
            reproducer: None,
            subkind: None,
            frames: vec![],
            test: None,
            threads: None,
        };
        let path = pyz3::report::repro::write(
            &dir.join("correct"),
            &target,
            &finding,
            1000,
            &venv_python(),
        )
        .unwrap();
        let (code, stdout, err) = run_reproducer(&path);
        assert_eq!(code, Some(0), "{kind}: {stdout}{err}");
        assert!(!err.contains("Traceback"), "{kind}: {err}");
        assert!(
            stdout.contains("the calls raised ValueError"),
            "{kind}: {stdout}"
        );
    }
}
