//! `pyz3 check` in the user's interpreter: the same C extension, compiled here for the project's
//! CPython 3.11 (shared libpython) and for a free-threaded CPython 3.13 with a static libpython
//! (`scripts/python-ft.sh`), and for a debug 3.13 (`--debug`), gives the same findings on all
//! (a debug build also sees references leaked outside the arguments); reproducers name and use that
//! interpreter; a free-threaded import that re-enables the GIL is reported; bad `--python`
//! values and modules built for another interpreter are one line and exit 2.

use crate::util::{venv_python, Assert, Project, Pyz3};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value as Json;

const SOURCE: &str = include_str!("../fixtures/interpreters/kinds.c");
const STUB: &str = include_str!("../fixtures/interpreters/kinds.pyi");

/// The free-threaded interpreter's virtualenv python: `PYZ3_TEST_PYTHON_FT` (set by
/// scripts/test.sh), else where scripts/python-ft.sh puts it. Missing is a failure, not a skip.
pub fn ft_python() -> PathBuf {
    cached_python("PYZ3_TEST_PYTHON_FT", "venv-3.13t", "")
}

/// An interpreter of scripts/python-ft.sh: `$var`, else `<cache>/<venv>/bin/python`.
pub(crate) fn cached_python(var: &str, venv: &str, flag: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("PYZ3_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/pyz3"));
    let p = cache.join(venv).join("bin/python");
    assert!(
        p.exists(),
        "no interpreter at {}: run scripts/python-ft.sh {flag} (scripts/test.sh does)",
        p.display()
    );
    p
}

/// `pyz3` in `dir` with no virtualenv: each test names its interpreter.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).no_venv()
}

/// What `python -c code` prints, trimmed (it must succeed).
pub fn py_eval(python: &Path, code: &str) -> String {
    let out = Command::new(python).args(["-c", code]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Compiles the fixture as module `name` for `python` into `dir`; `gil_slot` declares
/// `Py_mod_gil` (free-threaded builds keep the GIL off). Returns the file name.
fn build(python: &Path, dir: &Path, name: &str, gil_slot: bool) -> String {
    std::fs::write(dir.join("kinds.c"), SOURCE).unwrap();
    std::fs::write(dir.join(format!("{name}.pyi")), STUB).unwrap();
    let include = py_eval(
        python,
        "import sysconfig; print(sysconfig.get_paths()['include'])",
    );
    let suffix = py_eval(
        python,
        "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))",
    );
    let file = format!("{name}{suffix}");
    let cc = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O1", "-o", &file, "kinds.c"])
        .arg(format!("-I{include}"))
        .arg(format!("-DMODNAME={name}"))
        .arg(format!("-DGIL_SLOT={}", u8::from(gil_slot)))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    file
}

/// (function, [kinds]) from a JSON report, sorted.
fn kinds(report: &Json) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x["kind"].as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The findings the fixture must give: one per planted function, none on the twins. On a
/// debug build a new object never released is a `refcount` finding (the interpreter's total
/// reference count), elsewhere a `memory-leak`.
fn expected(debug: bool) -> Vec<(String, Vec<String>)> {
    let planted = [
        (
            "leak_new_list",
            if debug { "refcount" } else { "memory-leak" },
        ),
        ("crash_on_big", "crash"),
        ("spin_on_7", "timeout"),
        ("leak_ref", "refcount"),
        ("leak_mem", "memory-leak"),
        ("null_on_7", "system-error"),
        ("append_zero", "input-mutation"),
        ("counter", "nondeterministic"),
        ("bad_abs", "oracle-mismatch"),
        ("bad_double", "property-failed"),
    ];
    let twins = [
        "ident",
        "list_len",
        "no_leak_mem",
        "sorted_copy",
        "good_abs",
        "good_double",
    ];
    let mut out: Vec<(String, Vec<String>)> = planted
        .iter()
        .map(|(f, k)| (f.to_string(), vec![k.to_string()]))
        .chain(twins.iter().map(|f| (f.to_string(), vec![])))
        .collect();
    out.sort();
    out
}

/// Runs the fixture's check in `python` and checks findings, report fields and reproducers.
fn planted_defects_found_in(python: &Path, free_threaded: bool, debug: bool) {
    let tmp = Project::new();
    let dir = tmp.path();
    build(python, dir, "kinds", true);
    let py = python.to_str().unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "kinds",
            "--python",
            py,
            "--timeout-ms",
            "300",
            "--oracle",
            "bad_abs=builtins:abs",
            "--oracle",
            "good_abs=builtins:abs",
            "--property",
            "bad_double=result == 2 * x",
            "--property",
            "good_double=result == 2 * x",
            "--json",
            "r.json",
            "--repro-dir",
            "repro",
        ])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(
        kinds(&report),
        expected(debug),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        out.stderr_text()
    );
    let interp = report["interpreter"].as_str().unwrap();
    assert_eq!(interp.contains("free-threaded"), free_threaded, "{interp}");
    assert_eq!(interp.contains("debug"), debug, "{interp}");
    assert_eq!(report["gil_reenabled"], false);
    let ran_in = PathBuf::from(report["python"].as_str().unwrap());
    // Every reproducer names its interpreter on its first line and reproduces with it.
    for f in report["functions"].as_array().unwrap() {
        for x in f["findings"].as_array().unwrap() {
            let path = dir.join(x["reproducer"].as_str().unwrap());
            let text = std::fs::read_to_string(&path).unwrap();
            let first = text.lines().next().unwrap();
            assert_eq!(
                first,
                format!("#!{}", ran_in.display()),
                "{}",
                path.display()
            );
            let kind = x["kind"].as_str().unwrap();
            crate::common::assert_reproduces(&ran_in, &path, kind, debug, false);
        }
    }
}

#[test]
fn every_finding_kind_on_cpython_311_shared() {
    planted_defects_found_in(&venv_python(), false, false);
}

#[test]
fn every_finding_kind_on_free_threaded_313_static() {
    let python = ft_python();
    assert_eq!(
        py_eval(&python, "import sys; print(sys._is_gil_enabled())"),
        "False"
    );
    planted_defects_found_in(&python, true, false);
}

#[test]
fn every_finding_kind_on_debug_313_static() {
    let python = cached_python("PYZ3_TEST_PYTHON_DEBUG", "venv-3.13d", "--debug");
    assert_eq!(
        py_eval(
            &python,
            "import sys; print(hasattr(sys, 'gettotalrefcount'))"
        ),
        "True"
    );
    planted_defects_found_in(&python, false, true);
}

#[test]
fn a_module_that_re_enables_the_gil_is_reported() {
    let python = ft_python();
    let tmp = Project::new();
    let dir = tmp.path();
    build(&python, dir, "gilmod", false);
    let out = pyz3(dir)
        .args([
            "check",
            "gilmod:ident",
            "--python",
            python.to_str().unwrap(),
            "--cases",
            "20",
            "--json",
            "r.json",
        ])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(report["gil_reenabled"], true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("re-enabled the GIL"), "{text}");
}

#[test]
fn bad_interpreters_and_foreign_modules_are_one_line_and_exit_2() {
    let tmp = Project::new();
    let dir = tmp.path();
    let one_line = |o: &Output, needle: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", o.stderr_text());
        let err = o.stderr_text();
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{needle} not in: {err}");
    };
    // Not there; not an interpreter; one that answers like an old or another Python.
    one_line(
        &pyz3(dir)
            .args(["check", "json", "--python", "/nonexistent/python"])
            .run(),
        "/nonexistent/python",
    );
    one_line(
        &pyz3(dir)
            .args(["check", "json", "--python", "/bin/false"])
            .run(),
        "not a usable Python 3 interpreter",
    );
    let fake = |name: &str, implementation: &str, version: &str| {
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\necho '{{\"executable\": \"{}\", \"version\": \"{version}\", \
                 \"ext_suffix\": \".so\", \"safe_path\": false, \"implementation\": \
                 \"{implementation}\"}}'\n",
                p.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let old = fake("old-python", "cpython", "3.8");
    one_line(
        &pyz3(dir)
            .args(["check", "json", "--python", old.to_str().unwrap()])
            .run(),
        "needs CPython 3.9 or newer",
    );
    let pypy = fake("pypy", "pypy", "3.10");
    one_line(
        &pyz3(dir)
            .args(["check", "json", "--python", pypy.to_str().unwrap()])
            .run(),
        "is pypy 3.10",
    );
    // A module built for the free-threaded 3.13, given to 3.11.
    let file = build(&ft_python(), dir, "kinds", true);
    let venv = venv_python();
    one_line(
        &pyz3(dir)
            .args(["check", &file, "--python", venv.to_str().unwrap()])
            .run(),
        "was built for cpython-313t",
    );
}

/// The `pyz3` command runs every interpreter as a subprocess: its release binary (built
/// without the `embed` feature, as `cargo install` builds it) links no libpython, so it works
/// beside static, shared, free-threaded and debug interpreters alike.
#[test]
fn the_release_binary_links_no_libpython() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--bin", "pyz3"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", build.stderr_text());
    let ldd = Command::new("ldd")
        .arg(format!("{root}/target/release/pyz3"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ldd.stdout);
    assert!(ldd.status.success(), "{text}");
    assert!(text.contains("libc.so"), "{text}");
    assert!(!text.contains("libpython"), "{text}");
}

/// `pyz3 sample --stats` builds the values as live objects in the chosen interpreter, NumPy
/// arrays of every layout, generated enums and surrogates included.
#[test]
fn sample_stats_builds_values_in_both_interpreters() {
    let tmp = Project::new();
    for python in [venv_python(), ft_python()] {
        for ty in [
            "Any",
            "numpy.typing.NDArray[numpy.float64]",
            "dict[str, list[collections.Counter[bytes]]]",
        ] {
            let out = pyz3(tmp.path())
                .args([
                    "sample",
                    ty,
                    "-n",
                    "300",
                    "--stats",
                    "--python",
                    python.to_str().unwrap(),
                ])
                .run();
            assert_eq!(out.status.code(), Some(0), "{ty}: {}", out.stderr_text());
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("count: 300"), "{ty}: {text}");
        }
    }
}

/// `python = "..."` under `[tool.pyz3]` picks the interpreter when `--python` is not given (and
/// over `$VIRTUAL_ENV`); `--python` still wins.
#[test]
fn pyproject_python_is_the_default_interpreter() {
    let ft = ft_python();
    let tmp = Project::new();
    let dir = tmp.path();
    build(&ft, dir, "kinds", true);
    std::fs::write(
        dir.join("pyproject.toml"),
        format!("[tool.pyz3]\npython = \"{}\"\n", ft.display()),
    )
    .unwrap();
    let interpreter_of = |args: &[&str]| {
        let mut all = vec!["check", "kinds:ident", "--cases", "5", "--json", "r.json"];
        all.extend_from_slice(args);
        let out = Command::new(env!("CARGO_BIN_EXE_pyz3"))
            .args(&all)
            .current_dir(dir)
            .env("VIRTUAL_ENV", concat!(env!("CARGO_MANIFEST_DIR"), "/.venv"))
            .output()
            .unwrap();
        let report: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap_or_default())
                .unwrap_or(Json::Null);
        (
            out.status.code(),
            report["interpreter"].as_str().map(String::from),
        )
    };
    let (code, interp) = interpreter_of(&[]);
    assert_eq!(code, Some(0));
    assert!(interp.unwrap().contains("free-threaded"));
    // The module was built for 3.13t: the virtualenv's 3.11, named explicitly, cannot import it.
    let venv = venv_python();
    let (code, _) = interpreter_of(&["--python", venv.to_str().unwrap()]);
    assert_eq!(code, Some(2));
}

/// pyo3 embeds free-threaded CPython only from 3.14: `pyz3 fuzz` says so in one line instead
/// of failing inside a build.
#[test]
fn fuzz_on_free_threaded_313_is_refused_in_one_line() {
    let tmp = Project::new();
    let ft = ft_python();
    let out = pyz3(tmp.path())
        .args(["fuzz", "json:dumps", "--python", ft.to_str().unwrap()])
        .run();
    assert_eq!(out.status.code(), Some(2), "{}", out.stderr_text());
    let err = out.stderr_text();
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("only from 3.14"), "{err}");
}
