//! `pyz3 check` end to end: the demo extension's planted defects, a C extension compiled here,
//! reproducers in a fresh python3, exit codes, the JSON report, and bad input.

use crate::util::{venv_python, Project, Pyz3};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value as Json;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

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
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
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
        stderr(&out)
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
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
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
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("unreadable"), "{}", stderr(&out));
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
        assert_eq!(out.status.code(), Some(1), "{cases}: {}", stderr(&out));
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

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let tmp = Project::new();
    let dir = tmp.path();
    let one_line = |o: &Output, needle: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
        let err = stderr(o);
        let last = err
            .trim_end()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        assert!(last.starts_with("pyz3: error: "), "{err}");
        assert!(last.contains(needle), "expected `{needle}` in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    one_line(
        &Pyz3::new(dir).args(["check", "no_such_module_xyz"]).run(),
        "no_such_module_xyz",
    );
    let so = demo().join("pyz3_demo.so");
    let so = so.to_str().unwrap();
    one_line(
        &Pyz3::new(dir).args(["check", &format!("{so}:nope")]).run(),
        "nope",
    );
    one_line(
        &Pyz3::new(dir)
            .args(["check", so, "--function", "nope2"])
            .run(),
        "nope2",
    );
    one_line(
        &Pyz3::new(dir)
            .args([
                "check",
                &format!("{so}:bad_abs"),
                "--oracle",
                "bad_abs=no_such_mod:abs",
            ])
            .run(),
        "no_such_mod",
    );
    one_line(
        &Pyz3::new(dir)
            .args([
                "check",
                &format!("{so}:bad_abs"),
                "--oracle",
                "bad_abs=builtins:no_such_fn",
            ])
            .run(),
        "no_such_fn",
    );
    one_line(
        &Pyz3::new(dir)
            .args([
                "check",
                &format!("{so}:add"),
                "--oracle",
                "typo=builtins:abs",
            ])
            .run(),
        "typo",
    );
    std::fs::write(
        dir.join("broken.pyi"),
        "def add(a: int, b: int -> int: ...\n",
    )
    .unwrap();
    one_line(
        &Pyz3::new(dir)
            .args(["check", so, "--stubs", "broken.pyi"])
            .run(),
        "does not parse",
    );
    one_line(
        &Pyz3::new(dir)
            .args(["check", so, "--stubs", "missing.pyi"])
            .run(),
        "missing.pyi",
    );
    // A module whose import crashes the interpreter.
    std::fs::write(
        dir.join("segv_on_import.py"),
        "import ctypes\nctypes.string_at(0)\n",
    )
    .unwrap();
    one_line(
        &Pyz3::new(dir).args(["check", "segv_on_import"]).run(),
        "crashed",
    );
}

#[test]
fn unknown_stub_type_falls_back_with_a_warning() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("plain.py"), "def ident(x):\n    return x\n").unwrap();
    std::fs::write(
        dir.join("plain.pyi"),
        "def ident(x: Frobnicator) -> Frobnicator: ...\n",
    )
    .unwrap();
    let out = Pyz3::new(dir)
        .args(["check", "plain", "--cases", "100"])
        .run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains("Frobnicator"),
        "{err}"
    );
}

#[test]
fn pyproject_settings_and_stub_packages_are_used() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("sums.py"),
        "def total(xs):\n    return sum(xs)\n\ndef bad_total(xs):\n    return sum(xs) + (1 if len(xs) > 2 else 0)\n",
    )
    .unwrap();
    // A PEP 561 stub-only package for a top-level module.
    std::fs::create_dir(dir.join("sums-stubs")).unwrap();
    std::fs::write(
        dir.join("sums-stubs/__init__.pyi"),
        "def total(xs: list[int]) -> int: ...\ndef bad_total(xs: list[int]) -> int: ...\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        "[tool.pyz3.check]\ncases = 150\noracle = { bad_total = \"builtins:sum\", total = \"builtins:sum\" }\n",
    )
    .unwrap();
    let out = Pyz3::new(dir)
        .args(["check", "sums", "--json", "r.json"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("sums-stubs"), "{}", stderr(&out));
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let by_fn = findings_by_function(&report);
    let get = |n: &str| by_fn.iter().find(|f| f.0 == n).unwrap().clone();
    assert_eq!(get("total").1, 150);
    assert!(get("total").2.is_empty());
    assert_eq!(
        get("bad_total").2,
        vec![("oracle-mismatch".to_string(), "([0, 0, 0],)".to_string())]
    );
    // A bad setting in pyproject.toml is a one-line error, exit 2.
    std::fs::write(
        dir.join("pyproject.toml"),
        "[tool.pyz3.check]\ncasess = 3\n",
    )
    .unwrap();
    let out = Pyz3::new(dir).args(["check", "sums"]).run();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("casess"), "{}", stderr(&out));
}

/// Options for calling the library harness from this test binary (workers run the project's
/// virtualenv python; a Rust property runs in this process's embedded interpreter).
fn library_options(dir: &Path) -> pyz3::check::CheckOptions {
    crate::common::python(|_| ());
    let python = pyz3::project::Interpreter::probe(&venv_python()).unwrap();
    let mut options = pyz3::check::CheckOptions::new(python);
    options.repro_dir = Some(dir.join("repro"));
    options
}

#[test]
fn library_harness_takes_strategies_per_argument() {
    use pyz3::check::{check_function, FunctionTarget};
    use pyz3::report::FindingKind;
    use pyz3::strategy::{container, scalar, Size};
    let tmp = Project::new();
    std::fs::write(
        tmp.path().join("libtarget.py"),
        "def first_negative_crashes(xs):\n    if xs and xs[0] < -5:\n        raise SystemError('negative head')\n    return len(xs)\n",
    )
    .unwrap();
    let mut options = library_options(tmp.path());
    options.cases = 150;
    let target = FunctionTarget {
        module: "libtarget".into(),
        path: Some(tmp.path().to_path_buf()),
        function: "first_negative_crashes".into(),
        param_names: vec!["xs".into()],
        strategies: Some(vec![container::list(scalar::int(Size::default()), 6)]),
        ..FunctionTarget::default()
    };
    let mut seen = 0;
    let report = check_function(&target, &options, &mut |n| seen = n).unwrap();
    assert_eq!(report.cases, 150);
    assert_eq!(seen, 150);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.kind, FindingKind::SystemError);
    assert_eq!(f.input, "([-6],)");
    assert!(f.reproducer.as_ref().unwrap().exists());
}

#[test]
fn rust_property_closures_are_checked_and_shrunk() {
    use pyo3::prelude::*;
    use pyz3::check::{check_function, FunctionTarget, RustProperty};
    use pyz3::report::FindingKind;
    use pyz3::value::Value;
    let so = demo().join("pyz3_demo.so");
    let tmp = Project::new();
    let options = library_options(tmp.path());
    // bad_abs must agree with a Rust computation of |x|.
    let prop = RustProperty::new(|_py, args, result| {
        let Value::Int(x) = &args[0] else {
            return Ok(());
        };
        let Ok(r) = result else { return Ok(()) };
        let got: num_bigint::BigInt = r.extract().map_err(|e: PyErr| e.to_string())?;
        let want = num_traits::Signed::abs(x);
        if got == want {
            Ok(())
        } else {
            Err(format!("abs({x}) gave {got}, expected {want}"))
        }
    });
    let target = FunctionTarget {
        module: "pyz3_demo".into(),
        path: Some(so.parent().unwrap().to_path_buf()),
        function: "bad_abs".into(),
        param_names: vec!["x".into()],
        param_types: vec!["int".into()],
        rust_property: Some(prop),
        ..FunctionTarget::default()
    };
    let report = check_function(&target, &options, &mut |_| {}).unwrap();
    let kinds: Vec<FindingKind> = report.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![FindingKind::PropertyFailed],
        "{:?}",
        report.findings
    );
    assert_eq!(report.findings[0].input, "(-1001,)");
    assert!(
        report.findings[0].message.contains("expected 1001"),
        "{}",
        report.findings[0].message
    );
}

#[test]
fn slow_functions_are_not_mistaken_for_hangs() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("slowish.py"),
        "import time\ndef slow(x: int) -> int:\n    time.sleep(0.02)\n    return x\n",
    )
    .unwrap();
    // Whole batches take far longer than the per-case silence deadline would allow.
    let out = Pyz3::new(dir)
        .args([
            "check",
            "slowish",
            "--cases",
            "60",
            "--timeout-ms",
            "100",
            "--memory-every",
            "0",
        ])
        .run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
}

/// When shrinking hits its time limit, pyz3 says so in its own words (a warning naming the
/// finding's kind): nothing on stderr names proptest's environment variables. The check runs in
/// a child process (this test binary, running `shrink_time_limit_child`), whose stderr is its own.
#[test]
fn hitting_the_shrink_time_limit_names_no_proptest_variable() {
    let tmp = Project::new();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "check::shrink_time_limit_child",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("PYZ3_SHRINK_CHILD_DIR", tmp.path())
        .output()
        .unwrap();
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success(), "{stdout}{err}");
    assert!(stdout.contains("FOUND system-error"), "{stdout}{err}");
    assert!(
        stdout.contains("WARNING system-error: shrinking stopped at its time limit, after ")
            && stdout.contains("; the finding is reported as far as it got"),
        "{stdout}{err}"
    );
    assert!(!err.contains("PROPTEST_"), "{err}");
    assert!(!stdout.contains("PROPTEST_"), "{stdout}");
}

/// The child half of `hitting_the_shrink_time_limit_names_no_proptest_variable`: a library
/// check with `max_shrink_time` of 1 ms; prints the findings and warnings.
#[test]
#[ignore = "run by hitting_the_shrink_time_limit_names_no_proptest_variable"]
fn shrink_time_limit_child() {
    use pyz3::check::{check_function, FunctionTarget};
    // Only as the child (`--ignored` alone does nothing).
    let Some(dir) = std::env::var_os("PYZ3_SHRINK_CHILD_DIR").map(PathBuf::from) else {
        return;
    };
    std::fs::write(
        dir.join("bigfail.py"),
        // Each failing call takes 5 ms: longer than the whole time limit.
        "import time\ndef f(x):\n    if x > 10:\n        time.sleep(0.005)\n        raise SystemError('big')\n    return x\n",
    )
    .unwrap();
    let mut options = library_options(&dir);
    options.cases = 50;
    options.max_shrink_time = std::time::Duration::from_millis(1);
    let target = FunctionTarget {
        module: "bigfail".into(),
        path: Some(dir.clone()),
        function: "f".into(),
        param_names: vec!["x".into()],
        param_types: vec!["int".into()],
        ..FunctionTarget::default()
    };
    let report = check_function(&target, &options, &mut |_| {}).unwrap();
    for f in &report.findings {
        println!("FOUND {} {}", f.kind, f.input);
    }
    for w in &report.warnings {
        println!("WARNING {w}");
    }
}

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
        stderr(&run),
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
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
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
    let target = pyz3::check::FunctionTarget {
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
            message: "planted".into(),
            traceback: None,
            reproducer: None,
            subkind: None,
            frames: vec![],
            test: None,
            threads: None,
        };
        let path = pyz3::check::repro::write(
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

#[test]
fn stub_buffer_any_str_and_alias_types_need_no_fallback() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("m.py"),
        "def size(data):\n    if type(data) is bytearray and len(data) == 3:\n        raise SystemError('planted: a bytearray of length 3')\n    return len(bytes(data))\n\n\
def join(a, b):\n    return a + b\n\n\
def count(p):\n    return len(p[0]) + p[1]\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("m.pyi"),
        "from typing import AnyStr\nfrom typing_extensions import TypeAlias\nfrom _typeshed import ReadableBuffer\n\n\
Key = str | bytes\nPair: TypeAlias = tuple[Key, int]\n\n\
def size(data: ReadableBuffer) -> int: ...\n\
def join(a: AnyStr, b: AnyStr) -> AnyStr: ...\n\
def count(p: Pair) -> int: ...\n",
    )
    .unwrap();
    // `join` raises TypeError if its arguments ever mix str and bytes, `count` unless `p` is a
    // (sized, int) pair.
    let out = Pyz3::new(dir)
        .args([
            "check",
            "m.py",
            "--property",
            "join=exception is None",
            "--property",
            "count=exception is None",
            "--json",
            "r.json",
        ])
        .run();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for unwanted in ["unknown", "any-value", "any value", "warning"] {
        assert!(!err.contains(unwanted), "`{unwanted}` on stderr:\n{err}");
    }
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let by_fn = findings_by_function(&report);
    let get = |n: &str| by_fn.iter().find(|f| f.0 == n).unwrap().clone();
    assert_eq!(get("join").2, vec![], "{err}");
    assert_eq!(get("count").2, vec![], "{err}");
    assert_eq!(
        get("size").2,
        vec![(
            "system-error".to_string(),
            "(bytearray(b'\\x00\\x00\\x00'),)".to_string()
        )]
    );
}

/// `_parse_stub` of helpers.py run by `python` on a stub with this text: each function's
/// `[name, annotation]` pairs.
fn parse_stub_in(python: &Path, stub: &str) -> Json {
    let tmp = Project::new();
    let path = tmp.path().join("s.pyi");
    std::fs::write(&path, stub).unwrap();
    let program = concat!(
        "import json, sys\n",
        "exec(open(sys.argv[1]).read())\n",
        "print(json.dumps(_parse_stub(sys.argv[2])))\n"
    );
    let out = Command::new(python)
        .args(["-c", program])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/src/check/helpers.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn stub_type_aliases_are_substituted_into_annotations() {
    let stub = r#"
import typing
from typing import Literal, TypeAlias, TypeVar
import numpy as np

T = TypeVar("T")
Num = int | float
Pair: TypeAlias = tuple[int, "Num"]
Opt = typing.Optional[Num]
Quoted: typing.TypeAlias = "list[Num]"
Lit = Literal["Num", 1]
Json: TypeAlias = dict[str, "Json"] | list["Json"] | str | int | float | bool | None
Doc = list[Json]
A = list["B"]
B = dict[str, A]
LIMIT = 3
Later = Num
Later = set[int]

def f(a: Pair, b: Opt, c: "dict[Num, Pair]", d: Lit, e: Json, g: Doc, h: A, i: np.int8,
      j: T, k: Num | None, l: Quoted, m: LIMIT, n: Later) -> None: ...
"#;
    let want = serde_json::json!({"f": [
        ["a", "tuple[int, int | float]"],
        ["b", "typing.Optional[int | float]"],
        ["c", "dict[int | float, tuple[int, int | float]]"],
        ["d", "Literal['Num', 1]"],
        ["e", "Json"],
        ["g", "list[Json]"],
        ["h", "A"],
        ["i", "np.int8"],
        ["j", "T"],
        ["k", "int | float | None"],
        ["l", "list[int | float]"],
        ["m", "LIMIT"],
        ["n", "set[int]"],
    ]});
    assert_eq!(parse_stub_in(&venv_python(), stub), want);
    // `type X = ...` (3.12+), on the free-threaded 3.13; generic ones are left alone.
    let stub = "type Num = int | float\ntype Rec = list[Rec] | int\ntype G[T] = list[T]\n\
        def f(a: list[Num], b: Rec, c: G[int]) -> None: ...\n";
    assert_eq!(
        parse_stub_in(&crate::interpreters::ft_python(), stub),
        serde_json::json!({"f": [["a", "list[int | float]"], ["b", "Rec"], ["c", "G[int]"]]})
    );
}
