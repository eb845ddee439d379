//! `pyz3 check` end to end: the demo extension's planted defects, a C extension compiled here,
//! reproducers in a fresh python3, exit codes, the JSON report, and bad input.

use crate::util::{venv_python, Assert, Project, Pyz3};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value as Json;

/// The built demo extension's directory (for other test modules).
pub fn demo_dir() -> &'static Path {
    demo()
}

/// Builds the demo extension once per test run (its own target dir: no lock on ours).
fn demo() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = root.join("target/test-demo");
        let status = Command::new("bash")
            .arg(root.join("scripts/build-demo.sh"))
            .arg(&out)
            .env("CARGO_TARGET_DIR", root.join("target/demo-build"))
            .status()
            .unwrap();
        assert!(status.success(), "building the demo extension failed");
        out
    })
}

/// (function, cases, [(kind, input)]) for each function of a JSON report.
type Summary = Vec<(String, u64, Vec<(String, String)>)>;

fn findings_by_function(report: &Json) -> Summary {
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let findings = f["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    (
                        x["kind"].as_str().unwrap().to_string(),
                        x["input"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (
                f["name"].as_str().unwrap().to_string(),
                f["cases"].as_u64().unwrap(),
                findings,
            )
        })
        .collect()
}

#[test]
fn demo_defects_are_found_shrunk_and_reproducible() {
    let tmp = Project::new();
    let so = demo().join("pyz3_demo.so");
    let out = Pyz3::new(tmp.path())
        .args([
            "check",
            so.to_str().unwrap(),
            "--oracle",
            "bad_abs=builtins:abs",
            "--oracle",
            "checked_abs=builtins:abs",
            "--property",
            "bad_clamp=lo > hi or lo <= result <= hi",
            "--property",
            "clamp=lo > hi or lo <= result <= hi",
            "--json",
            "report.json",
            "--repro-dir",
            "repro",
        ])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["version"], 1);
    assert_eq!(report["module"], "pyz3_demo");
    let by_fn = findings_by_function(&report);
    let get = |name: &str| {
        by_fn
            .iter()
            .find(|f| f.0 == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let expect = [
        ("crash_when_negative_third", "crash", Some("([0, 0, -1],)")),
        ("hang_on_nul", "timeout", Some("('\\x00',)")),
        ("leak_reference", "refcount", Some("([],)")),
        ("over_release", "refcount", None),
        ("leak_memory", "memory-leak", Some("(1,)")),
        ("null_without_error", "system-error", Some("(7,)")),
        // `x % 5 == 3` holds for 3 and for -2 (Python's `%`): -2 is the least magnitude.
        ("result_with_error", "system-error", Some("(-2,)")),
        ("sort_in_place", "input-mutation", None),
        ("flaky_len", "nondeterministic", Some("([],)")),
        ("bad_abs", "oracle-mismatch", Some("(-1001,)")),
        ("bad_clamp", "property-failed", Some("(101, 0, 0)")),
    ];
    for (name, kind, input) in expect {
        let (_, cases, findings) = get(name);
        assert_eq!(*cases, 200, "{name}");
        let kinds: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(kinds, vec![kind], "{name}: {text}");
        if let Some(input) = input {
            assert_eq!(findings[0].1, input, "{name}: shrunk input");
        }
    }
    // Shrunk, not just any failing input.
    let (_, _, f) = get("over_release");
    assert!(
        f[0].1.len() < 30,
        "over_release input not shrunk: {}",
        f[0].1
    );
    let (_, _, f) = get("sort_in_place");
    assert!(
        f[0].1.matches(',').count() <= 2,
        "sort_in_place input not shrunk: {}",
        f[0].1
    );
    for name in [
        "add",
        "reverse",
        "word_count",
        "mean",
        "clamp",
        "checked_abs",
    ] {
        assert!(
            get(name).2.is_empty(),
            "{name} is correct but got {:?}",
            get(name).2
        );
    }
    assert!(
        text.contains("crash_when_negative_third([0, 0, -1])"),
        "{text}"
    );
    // Every reproducer reproduces its finding in a fresh interpreter.
    for f in report["functions"].as_array().unwrap() {
        for x in f["findings"].as_array().unwrap() {
            let path = tmp.path().join(x["reproducer"].as_str().unwrap());
            assert!(path.exists(), "{}", path.display());
            let kind = x["kind"].as_str().unwrap();
            crate::common::assert_reproduces(&venv_python(), &path, kind, false, true);
        }
    }
}

#[test]
fn correct_functions_have_no_findings_over_2000_cases() {
    let tmp = Project::new();
    let so = demo().join("pyz3_demo.so");
    let mut args = vec![
        "check".to_string(),
        so.to_string_lossy().into_owned(),
        "--cases".into(),
        "2000".into(),
        "--oracle".into(),
        "checked_abs=builtins:abs".into(),
        "--property".into(),
        "clamp=lo > hi or lo <= result <= hi".into(),
        "--json".into(),
        "r.json".into(),
    ];
    for f in [
        "add",
        "reverse",
        "word_count",
        "mean",
        "clamp",
        "checked_abs",
    ] {
        args.push("--function".into());
        args.push(f.into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = Pyz3::new(tmp.path()).args(&args).run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        out.stderr_text()
    );
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap()).unwrap();
    for (name, cases, findings) in findings_by_function(&report) {
        assert_eq!(cases, 2000, "{name}");
        assert!(findings.is_empty(), "{name}: {findings:?}");
    }
}

const C_SOURCE: &str = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *good(PyObject *self, PyObject *arg) {
    Py_INCREF(arg);
    return arg;
}

static PyObject *crash_on_big(PyObject *self, PyObject *arg) {
    long x = PyLong_AsLong(arg);
    if (x == -1 && PyErr_Occurred()) return NULL;
    if (x > 1000) { volatile int *p = NULL; *p = 1; }
    return PyLong_FromLong(x);
}

static PyObject *leaky(PyObject *self, PyObject *arg) {
    if (!PyList_Check(arg)) { PyErr_SetString(PyExc_TypeError, "list"); return NULL; }
    Py_INCREF(arg); /* the planted leak */
    return PyLong_FromSsize_t(PyList_GET_SIZE(arg));
}

static PyMethodDef methods[] = {
    {"good", good, METH_O, NULL},
    {"crash_on_big", crash_on_big, METH_O, NULL},
    {"leaky", leaky, METH_O, NULL},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "cdemo", NULL, -1, methods};

PyMODINIT_FUNC PyInit_cdemo(void) { return PyModule_Create(&def); }
"#;

const C_STUB: &str = "def good(x: int, /) -> int: ...\ndef crash_on_big(x: int, /) -> int: ...\ndef leaky(xs: list[int], /) -> int: ...\n";

#[test]
fn c_extension_built_here_crash_and_leak_are_found() {
    let tmp = Project::new();
    let dir = tmp.path();
    build_cdemo(dir);
    let out = Pyz3::new(dir)
        .args(["check", "cdemo", "--json", "r.json"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let by_fn = findings_by_function(&report);
    let kinds =
        |n: &str| -> Vec<(String, String)> { by_fn.iter().find(|f| f.0 == n).unwrap().2.clone() };
    assert_eq!(
        kinds("crash_on_big"),
        vec![("crash".into(), "(1001,)".into())]
    );
    assert_eq!(kinds("leaky"), vec![("refcount".into(), "([],)".into())]);
    assert!(kinds("good").is_empty());
}

/// Past one batch of 256 cases, findings on many inputs (a crash on most of them, a leak on
/// every one) are all kept: the run ends with its table, JSON and exit 1.
#[test]
fn findings_past_one_batch_are_kept_over_2000_cases() {
    let tmp = Project::new();
    let dir = tmp.path();
    build_cdemo(dir);
    let out = Pyz3::new(dir)
        .args(["check", "cdemo", "--cases", "2000", "--json", "r.json"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    assert!(
        !out.stderr_text().contains("unreadable"),
        "{}",
        out.stderr_text()
    );
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let by_fn = findings_by_function(&report);
    let get = |n: &str| by_fn.iter().find(|f| f.0 == n).unwrap().clone();
    assert_eq!(get("crash_on_big").1, 2000);
    assert_eq!(
        get("crash_on_big").2,
        vec![("crash".into(), "(1001,)".into())]
    );
    assert_eq!(get("leaky").1, 2000);
    assert_eq!(get("leaky").2, vec![("refcount".into(), "([],)".into())]);
    assert_eq!(get("good"), ("good".into(), 2000, vec![]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("crash in cdemo.crash_on_big"), "{text}");
}

/// A finding on the last case of a batch used to leave a blank line that the next batch read
/// as its first reply (`--cases 257`, exit 2, every finding lost).
#[test]
fn a_finding_on_a_batch_boundary_is_kept() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("binascii.pyi"),
        "def hexlify(data: bytes, /) -> bytes: ...\n",
    )
    .unwrap();
    for cases in ["256", "257", "1000"] {
        let out = Pyz3::new(dir)
            .args([
                "check",
                "binascii:hexlify",
                "--stubs",
                "binascii.pyi",
                "--cases",
                cases,
                "--property",
                "hexlify=len(data) < 4",
                "--json",
                "r.json",
            ])
            .run();
        assert_eq!(out.status.code(), Some(1), "{cases}: {}", out.stderr_text());
        let report: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
        let by_fn = findings_by_function(&report);
        assert_eq!(by_fn.len(), 1, "{cases}");
        assert_eq!(by_fn[0].1.to_string(), cases);
        assert_eq!(
            by_fn[0].2,
            vec![(
                "property-failed".into(),
                "(b'\\x00\\x00\\x00\\x00',)".into()
            )],
            "{cases}"
        );
    }
}

/// Compiles `C_SOURCE` as `cdemo.so` (with its stub) into `dir` for the project's interpreter.
fn build_cdemo(dir: &Path) {
    std::fs::write(dir.join("cdemo.c"), C_SOURCE).unwrap();
    std::fs::write(dir.join("cdemo.pyi"), C_STUB).unwrap();
    compile_extension(dir, "cdemo");
}

/// Compiles `dir/NAME.c` into `dir/NAME.so` for the project's interpreter.
fn compile_extension(dir: &Path, name: &str) {
    let include = Command::new(venv_python())
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['include'])",
        ])
        .output()
        .unwrap();
    let include = String::from_utf8(include.stdout).unwrap();
    let cc = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(format!("{name}.so"))
        .arg(format!("{name}.c"))
        .arg(format!("-I{}", include.trim()))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
}

#[path = "check/error_paths.rs"]
mod error_paths;
#[path = "check/inputs.rs"]
mod inputs;
#[path = "check/library.rs"]
mod library;
#[path = "check/stubs.rs"]
mod stubs;
