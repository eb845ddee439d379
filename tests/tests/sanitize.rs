//! `pyz3 test --sanitize`, `pyz3 build` and `pyz3 env` on example projects built in temp dirs: a
//! PyO3 crate and a setuptools C extension (sources in tests/fixtures/sanitize/), each with
//! planted defects that an ordinary build does not notice, and a clean variant.

use crate::util::{fixture, render, repo_root, Assert, Project, Pyz3};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Which variant of an example project.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Planted,
    Clean,
}

fn source(name: &str, module: &str, variant: Variant) -> String {
    let text = render(&fixture(&format!("sanitize/{name}")), &[("module", module)]);
    match variant {
        Variant::Planted => text,
        Variant::Clean => crate::common::with_fixes(&text),
    }
}

/// A PyO3 crate in a temp dir; `module` differs per variant so builds sharing one target
/// directory never overwrite each other's library.
fn pyo3_project(variant: Variant) -> (Project, String) {
    let module = match variant {
        Variant::Planted => "sani_rs_planted",
        Variant::Clean => "sani_rs_clean",
    };
    let dir = Project::new()
        .pyo3(module, &source("pyo3_lib.rs", module, variant))
        .file(
            "tests/test_ext.py",
            &source("pyo3_test.py", module, variant),
        );
    (dir, module.to_string())
}

/// A setuptools C extension in a temp dir.
fn c_project(variant: Variant) -> (Project, String) {
    let module = match variant {
        Variant::Planted => "sani_c_planted",
        Variant::Clean => "sani_c_clean",
    };
    let dir = Project::new()
        .setuptools(module, &source("c_ext.c", module, variant))
        .file("tests/test_ext.py", &source("c_test.py", module, variant));
    (dir, module.to_string())
}

/// `pyz3` in `dir`, with the project virtualenv's Python and one shared cargo target directory for every example crate (dependencies build once per sanitizer set).
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).target_dir("sanitize-tests")
}

use crate::common::write_file as write;

/// Runs `pyz3 test --sanitize LIST --json` and returns the exit code and the report.
fn sanitize(dir: &Path, list: &str) -> (i32, Value, String) {
    let json = dir.join("report.json");
    let out = pyz3(dir)
        .args(["test", "--sanitize", list, "--json", json.to_str().unwrap()])
        .run();
    let shown = out.shown();
    let code = out.status.code().unwrap_or(-1);
    let report: Value = std::fs::read_to_string(&json)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_else(|_| panic!("no JSON report\n{shown}"));
    // Without --coverage the one schema has no `coverage` member.
    assert_eq!(report["version"], 1, "{report}");
    assert!(report.get("coverage").is_none(), "{report}");
    (code, report, shown)
}

/// Every finding of a report, flattened.
fn findings(report: &Value) -> Vec<Value> {
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap().clone())
        .collect()
}

/// The finding of `subkind` in the test named `test`, with the extension's own frame `function`
/// (in `file`) on top.
fn assert_finding<'a>(
    report: &'a Value,
    subkind: &str,
    test: &str,
    function: &str,
    file: &str,
    shown: &str,
) -> &'a Value {
    let all: Vec<&Value> = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap())
        .collect();
    let f = all
        .iter()
        .copied()
        .find(|f| f["subkind"] == subkind && f["test"].as_str().is_some_and(|t| t.ends_with(test)))
        .unwrap_or_else(|| panic!("no {subkind} finding in {test} among {all:#?}\n{shown}"));
    assert_eq!(f["kind"], "sanitizer");
    let top = &f["frames"][0];
    assert!(
        top["function"].as_str().unwrap().contains(function),
        "{subkind}: top frame {top} is not in {function}\n{f:#}"
    );
    assert!(
        top["file"].as_str().unwrap().ends_with(file) && top["line"].as_u64().unwrap() > 0,
        "{subkind}: top frame {top} is not in {file}"
    );
    f
}

fn subkinds(report: &Value) -> Vec<String> {
    let mut v: Vec<String> = findings(report)
        .iter()
        .map(|f| f["subkind"].as_str().unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn pyo3_heap_overflow_and_use_after_free_under_address() {
    let (dir, _) = pyo3_project(Variant::Planted);
    let (code, report, shown) = sanitize(dir.path(), "address");
    assert_eq!(code, 1, "{shown}");
    assert_finding(
        &report,
        "heap-buffer-overflow",
        "test_ext.py::test_fill",
        "fill",
        "src/lib.rs",
        &shown,
    );
    assert_finding(
        &report,
        "heap-use-after-free",
        "test_ext.py::test_scratch",
        "scratch_first",
        "src/lib.rs",
        &shown,
    );
    assert_eq!(
        subkinds(&report),
        ["heap-buffer-overflow", "heap-use-after-free"],
        "{shown}"
    );
    // Each crash ended one pytest process; the remaining tests still ran.
    assert_eq!(report["pytest"]["runs"], 3, "{shown}");
    assert_eq!(report["pytest"]["counts"]["passed"], 5, "{shown}");
    assert!(
        shown.contains("sanitizer  subkind"),
        "no summary table\n{shown}"
    );
}

#[test]
fn pyo3_leak_under_leak_sanitizer() {
    let (dir, _) = pyo3_project(Variant::Planted);
    let (code, report, shown) = sanitize(dir.path(), "leak");
    assert_eq!(code, 1, "{shown}");
    assert_finding(
        &report,
        "leak",
        "test_ext.py::test_make_buffer",
        "make_buffer",
        "src/lib.rs",
        &shown,
    );
    // Only the extension's leak: none from CPython, pytest or numpy (also not at exit).
    let leaks = findings(&report)
        .iter()
        .filter(|f| f["subkind"] == "leak")
        .count();
    assert_eq!(leaks, 1, "{shown}");
}

#[test]
fn c_lost_block_under_leak_sanitizer() {
    let (dir, module) = c_project(Variant::Planted);
    let (code, report, shown) = sanitize(dir.path(), "leak");
    assert_eq!(code, 1, "{shown}");
    assert_finding(
        &report,
        "leak",
        "test_ext.py::test_stash",
        "stash",
        &format!("{module}.c"),
        &shown,
    );
    // Only the extension's leak: none from CPython, pytest or NumPy (also not at exit).
    let leaks = findings(&report)
        .iter()
        .filter(|f| f["subkind"] == "leak")
        .count();
    assert_eq!(leaks, 1, "{shown}");
}

/// LeakSanitizer's check after a test stops the world with ptrace; when it cannot (here another
/// process traces the interpreter, as a debugger or a loaded machine can make happen), the
/// sanitizer dies with its own fatal error. That is not the test's crash: a warning, the test's
/// own outcome, and the run goes on to exit 0.
#[test]
fn a_leak_check_that_cannot_stop_the_world_is_a_warning_not_a_crash() {
    let (dir, module) = c_project(Variant::Clean);
    write(
        dir.path(),
        "tests/test_traced.py",
        "import ctypes\nimport os\nimport time\n\n\n\
         def test_traced_by_another_process():\n\
         \x20   parent = os.getpid()\n\
         \x20   if os.fork() == 0:\n\
         \x20       libc = ctypes.CDLL(None)\n\
         \x20       libc.prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL with the parent\n\
         \x20       libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n\
         \x20       libc.ptrace(0x4206, parent, None, None)  # PTRACE_SEIZE: traced, running\n\
         \x20       time.sleep(60)\n\
         \x20       os._exit(0)\n\
         \x20   time.sleep(1)\n",
    );
    let (code, report, shown) = sanitize(dir.path(), "leak");
    assert_eq!(code, 0, "{module}\n{shown}");
    assert!(findings(&report).is_empty(), "{shown}");
    assert!(
        shown.contains(
            "the sanitizer failed after tests/test_traced.py::test_traced_by_another_process, \
             not the test (LeakSanitizer has encountered a fatal error.)"
        ),
        "{shown}"
    );
    let counts = &report["pytest"]["counts"];
    assert_eq!(counts["passed"], 6, "{shown}");
    assert!(counts.get("crashed").is_none(), "{shown}");
}

#[test]
fn pyo3_data_race_under_thread() {
    let (dir, _) = pyo3_project(Variant::Planted);
    let (code, report, shown) = sanitize(dir.path(), "thread");
    assert_eq!(code, 1, "{shown}");
    assert_finding(
        &report,
        "data-race",
        "test_ext.py::test_bump_threads",
        "bump",
        "src/lib.rs",
        &shown,
    );
    // A race in a closure run by a thread-local's `with`: its stacks pass through
    // `std::thread::local`, which a suppression matching any frame of std's would hide.
    let tally = assert_finding(
        &report,
        "data-race",
        "test_ext.py::test_tally_threads",
        "tally",
        "src/lib.rs",
        &shown,
    );
    assert!(
        tally["traceback"]
            .as_str()
            .unwrap()
            .contains("std::thread::local::LocalKey"),
        "the race's stacks do not pass through LocalKey::with\n{tally:#}"
    );
    // TSan also reports a race inside Arc's drop in test_hand_off (std is not instrumented):
    // std's own, so no finding.
    let logs: String = std::fs::read_dir(dir.path().join(".pyz3/sanitize/thread/run"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(
        logs.contains("hand_off") && logs.contains("<alloc::sync::Arc<"),
        "no race inside Arc's drop in the logs\n{logs}"
    );
    let races = findings(&report)
        .iter()
        .filter(|f| f["subkind"] == "data-race")
        .count();
    assert_eq!(races, 2, "races reported outside the planted ones\n{shown}");
}

#[test]
fn c_signed_overflow_and_heap_overflow_under_address_undefined() {
    let (dir, module) = c_project(Variant::Planted);
    let (code, report, shown) = sanitize(dir.path(), "address,undefined");
    assert_eq!(code, 1, "{shown}");
    let file = format!("{module}.c");
    assert_finding(
        &report,
        "signed-integer-overflow",
        "test_ext.py::test_add_wraps",
        "add_i32",
        &file,
        &shown,
    );
    assert_finding(
        &report,
        "heap-buffer-overflow",
        "test_ext.py::test_fill",
        "fill",
        &file,
        &shown,
    );
    assert_eq!(
        subkinds(&report),
        ["heap-buffer-overflow", "signed-integer-overflow"],
        "{shown}"
    );
}

#[test]
fn planted_suites_pass_in_an_ordinary_build() {
    for (dir, _) in [pyo3_project(Variant::Planted), c_project(Variant::Planted)] {
        let (code, report, shown) = sanitize(dir.path(), "");
        assert_eq!(code, 0, "{shown}");
        assert!(findings(&report).is_empty(), "{shown}");
    }
}

#[test]
fn clean_projects_exit_0_under_every_sanitizer() {
    let projects = [pyo3_project(Variant::Clean), c_project(Variant::Clean)];
    for list in [
        "address",
        "leak",
        "thread",
        "undefined",
        "address,undefined",
    ] {
        for (dir, module) in &projects {
            let (code, report, shown) = sanitize(dir.path(), list);
            assert_eq!(code, 0, "{module} under {list}\n{shown}");
            assert!(
                findings(&report).is_empty(),
                "{module} under {list}\n{shown}"
            );
            assert!(
                report["pytest"]["counts"]["passed"].as_u64().unwrap() >= 4,
                "{shown}"
            );
        }
    }
}

#[test]
fn env_runs_anything_else_under_the_sanitizer() {
    let (dir, module) = c_project(Variant::Planted);
    let out = pyz3(dir.path())
        .args(["env", "--sanitize", "address"])
        .run();
    out.assert_exit(0);
    let exports = String::from_utf8_lossy(&out.stdout).to_string();
    // gcc-built C links gcc's runtime: that is the one to preload.
    assert!(
        exports.contains("export LD_PRELOAD='") && exports.contains("libasan.so"),
        "{exports}"
    );
    assert!(
        exports.contains("export PYTHONMALLOC='malloc'"),
        "{exports}"
    );
    let script = format!(
        "{exports}\nexec {} -c 'import {module}; {module}.fill(bytearray(100), 1)'",
        repo_root().join(".venv/bin/python").display()
    );
    let run = Command::new("bash").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        !run.status.success() && stderr.contains("heap-buffer-overflow"),
        "{stderr}"
    );

    let out = pyz3(dir.path())
        .args(["build", "--sanitize", "address"])
        .run();
    out.assert_exit(0);
    let listed = String::from_utf8_lossy(&out.stdout);
    let path = PathBuf::from(listed.trim().split('\t').nth(1).unwrap());
    assert!(path.exists() && listed.starts_with(&module), "{listed}");
}

#[test]
fn pyo3_env_preloads_clangs_runtime() {
    let (dir, _) = pyo3_project(Variant::Clean);
    let out = pyz3(dir.path()).args(["env", "--sanitize", "thread"]).run();
    out.assert_exit(0);
    let exports = String::from_utf8_lossy(&out.stdout);
    assert!(exports.contains("libclang_rt.tsan-x86_64.so"), "{exports}");
    assert!(exports.contains("suppressions="), "{exports}");
}

fn assert_usage_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", out.shown());
    assert!(stderr.contains(needle), "expected `{needle}` in\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let empty = Project::new();
    assert_usage_error(
        &pyz3(empty.path())
            .args(["test", "--sanitize", "address"])
            .run(),
        "is not an extension project",
    );
    let (dir, _) = c_project(Variant::Clean);
    assert_usage_error(
        &pyz3(dir.path())
            .args(["test", "--sanitize", "adress"])
            .run(),
        "unknown sanitizer `adress`",
    );
    assert_usage_error(
        &pyz3(dir.path())
            .args(["test", "--sanitize", "memory"])
            .run(),
        "MemorySanitizer needs every library",
    );
    assert_usage_error(
        &pyz3(dir.path())
            .args(["test", "--sanitize", "address,thread"])
            .run(),
        "cannot be combined",
    );
    std::fs::remove_dir_all(dir.path().join("tests")).unwrap();
    assert_usage_error(&pyz3(dir.path()).args(["test"]).run(), "no tests found");

    // A crate that does not compile: the compiler's errors are shown.
    let (dir, _) = pyo3_project(Variant::Clean);
    let lib = dir.path().join("src/lib.rs");
    let broken =
        std::fs::read_to_string(&lib).unwrap() + "\nfn broken() -> u8 { \"not a number\" }\n";
    std::fs::write(&lib, broken).unwrap();
    let out = pyz3(dir.path())
        .args(["test", "--sanitize", "address"])
        .run();
    assert_usage_error(&out, "does not compile");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("mismatched types"),
        "{}",
        out.shown()
    );

    // No nightly toolchain: say what to install.
    let (dir, _) = pyo3_project(Variant::Clean);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pyz3"));
    cmd.args(["build", "--sanitize", "address"])
        .current_dir(dir.path())
        .env("PYZ3_RUSTC", "false")
        .env("VIRTUAL_ENV", repo_root().join(".venv"))
        .env(
            "CARGO_TARGET_DIR",
            repo_root().join("target/sanitize-tests"),
        );
    assert_usage_error(&cmd.output().unwrap(), "rustup toolchain install nightly");
}

#[test]
fn pytest_failures_exit_1_and_configured_testpaths_are_used() {
    let (dir, module) = c_project(Variant::Clean);
    // Tests under a directory only pytest's configuration names.
    std::fs::rename(dir.path().join("tests"), dir.path().join("checks")).unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.pytest.ini_options]\ntestpaths = [\"checks\"]\n",
    );
    write(
        dir.path(),
        "checks/test_more.py",
        &format!("import {module}\n\ndef test_wrong():\n    assert {module}.add_i32(1, 1) == 3\n"),
    );
    let (code, report, shown) = sanitize(dir.path(), "address");
    assert_eq!(code, 1, "{shown}");
    assert!(findings(&report).is_empty(), "{shown}");
    assert_eq!(report["pytest"]["failed"], true, "{shown}");
    assert_eq!(report["pytest"]["counts"]["failed"], 1, "{shown}");
    assert_eq!(report["pytest"]["counts"]["passed"], 5, "{shown}");
}

#[test]
fn maturin_layouts_are_discovered() {
    // A mixed maturin project: the crate under rust/, the module inside a Python package.
    let dir = Project::new();
    write(
        dir.path(),
        "pyproject.toml",
        "[build-system]\nrequires = [\"maturin\"]\nbuild-backend = \"maturin\"\n\n\
         [tool.maturin]\nmanifest-path = \"rust/Cargo.toml\"\nmodule-name = \"mixedpkg._native\"\n\
         python-source = \"python\"\nfeatures = [\"pyo3/extension-module\"]\n",
    );
    write(
        dir.path(),
        "rust/Cargo.toml",
        "[package]\nname = \"sani_mixed\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\npyo3 = \"0.30\"\n\n[workspace]\n",
    );
    write(
        dir.path(),
        "rust/src/lib.rs",
        &source("pyo3_lib.rs", "_native", Variant::Clean),
    );
    write(
        dir.path(),
        "python/mixedpkg/__init__.py",
        "from ._native import count, fill\n\nGREETING = 'pure python'\n",
    );
    write(
        dir.path(),
        "tests/test_pkg.py",
        "import mixedpkg\n\ndef test_both_halves():\n    b = bytearray(3)\n    mixedpkg.fill(b, 1)\n    \
         assert bytes(b) == b'\\x01\\x01\\x01' and mixedpkg.GREETING == 'pure python'\n",
    );
    let out = pyz3(dir.path()).args(["build"]).run();
    out.assert_exit(0);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.starts_with("mixedpkg._native\t"), "{listed}");
    let (code, report, shown) = sanitize(dir.path(), "");
    assert_eq!(code, 0, "{shown}");
    assert_eq!(report["pytest"]["counts"]["passed"], 1, "{shown}");
}
