//! `pyz3 test --sanitize` on projects built by a PEP 517 backend pyz3 drives through its hooks:
//! a C extension built by meson-python and a C++ extension (the CPython C API) built by
//! scikit-build-core with CMake (sources in tests/fixtures/backends/ and, for the C one,
//! tests/fixtures/sanitize/). Each suite passes in an ordinary build; the planted defects are
//! found in instrumented builds, a data race in C and C++ under ThreadSanitizer too. Also a
//! backend pyz3 does not know and a build that fails.

use crate::util::{fixture, render, Assert, Project, Pyz3};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Which variant of an example project.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Variant {
    Planted,
    Clean,
}

pub(crate) fn source(rel: &str, module: &str, variant: Variant) -> String {
    let text = render(&fixture(rel), &[("module", module)]);
    match variant {
        Variant::Planted => text,
        Variant::Clean => crate::common::with_fixes(&text),
    }
}

/// A meson-python project building the C extension `m` from fixture `c`, with suite `tests`.
fn meson_c_project(m: &str, c: &str, tests: &str, variant: Variant) -> Project {
    Project::new()
        .file(
            "pyproject.toml",
            &source("backends/mesonpy.toml", m, variant),
        )
        .file("meson.build", &source("backends/meson.build", m, variant))
        .file(&format!("{m}.c"), &source(c, m, variant))
        .file("tests/test_ext.py", &source(tests, m, variant))
}

/// A meson-python project building the C extension `mes_c`.
fn meson_project(variant: Variant) -> Project {
    meson_c_project("mes_c", "sanitize/c_ext.c", "sanitize/c_test.py", variant)
}

/// A scikit-build-core project building the C++ extension `m` from fixture `cpp`, with suite
/// `tests`.
fn cmake_cpp_project(m: &str, cpp: &str, tests: &str, variant: Variant) -> Project {
    Project::new()
        .file(
            "pyproject.toml",
            &source("backends/scikit_build_core.toml", m, variant),
        )
        .file(
            "CMakeLists.txt",
            &source("backends/CMakeLists.txt", m, variant),
        )
        .file(&format!("{m}.cpp"), &source(cpp, m, variant))
        .file("tests/test_ext.py", &source(tests, m, variant))
}

/// A scikit-build-core project building the C++ extension `skb_cpp`.
fn cmake_project(variant: Variant) -> Project {
    cmake_cpp_project(
        "skb_cpp",
        "backends/cpp_ext.cpp",
        "backends/cpp_test.py",
        variant,
    )
}

/// Runs `pyz3 test [--sanitize LIST] --json` and returns the exit code, the report and what was
/// shown.
pub(crate) fn test(dir: &Path, list: &str) -> (i32, Value, String) {
    let json = dir.join("report.json");
    let mut args = vec!["test", "--json", json.to_str().unwrap()];
    if !list.is_empty() {
        args.extend(["--sanitize", list]);
    }
    let out = Pyz3::new(dir).args(&args).run();
    let shown = out.shown();
    let report: Value = std::fs::read_to_string(&json)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_else(|_| panic!("no JSON report\n{shown}"));
    (out.status.code().unwrap_or(-1), report, shown)
}

/// Every finding of a report as (subkind, test, top frame's function, top frame's file).
pub(crate) fn findings(report: &Value) -> BTreeSet<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["findings"].as_array().unwrap().clone())
        .map(|f| {
            assert!(f["frames"][0]["line"].as_u64().unwrap_or(0) > 0, "{f:#}");
            (
                s(&f["subkind"]),
                s(&f["test"]),
                s(&f["frames"][0]["function"]),
                s(&f["frames"][0]["file"]),
            )
        })
        .collect()
}

pub(crate) fn finding(
    subkind: &str,
    test: &str,
    function: &str,
    file: &str,
) -> (String, String, String, String) {
    (
        subkind.into(),
        format!("tests/test_ext.py::{test}"),
        function.into(),
        file.into(),
    )
}

/// The project's files outside `.pyz3/`, pytest's cache and the JSON report: a build writes
/// nothing else.
pub(crate) fn tree(dir: &Path) -> BTreeSet<String> {
    walkdir(dir, dir)
}

fn walkdir(base: &Path, dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let rel = path.strip_prefix(base).unwrap().display().to_string();
        if [".pyz3", ".pytest_cache", "__pycache__", "report.json"]
            .iter()
            .any(|skip| path.file_name().is_some_and(|n| n == *skip))
        {
            continue;
        }
        if path.is_dir() {
            out.extend(walkdir(base, &path));
        } else {
            out.insert(rel);
        }
    }
    out
}

/// The passing tests of a report.
pub(crate) fn passed(report: &Value) -> u64 {
    report["pytest"]["counts"]["passed"].as_u64().unwrap_or(0)
}

#[test]
fn meson_python_c_extension_under_address_undefined() {
    let dir = meson_project(Variant::Planted);
    let before = tree(dir.path());
    // An ordinary build: the suite passes, the defects unnoticed.
    let (code, report, shown) = test(dir.path(), "");
    assert_eq!(code, 0, "{shown}");
    assert_eq!(passed(&report), 5, "{shown}");
    assert!(
        shown.contains("building with meson-python (plain"),
        "{shown}"
    );
    // The module's name is the one in the wheel's file list.
    assert!(
        shown.contains("built 1 module in") && shown.contains(": mes_c\n"),
        "{shown}"
    );
    let (code, report, shown) = test(dir.path(), "address,undefined");
    assert_eq!(code, 1, "{shown}");
    assert_eq!(
        findings(&report),
        BTreeSet::from([
            finding("heap-buffer-overflow", "test_fill", "fill", "mes_c.c"),
            finding(
                "signed-integer-overflow",
                "test_add_wraps",
                "add_i32",
                "mes_c.c"
            ),
        ]),
        "{shown}"
    );
    // The block `stash` loses, under LeakSanitizer (its own build).
    let (code, report, shown) = test(dir.path(), "leak");
    assert_eq!(code, 1, "{shown}");
    let leaks: Vec<_> = findings(&report)
        .into_iter()
        .filter(|f| f.0 == "leak")
        .collect();
    assert_eq!(
        leaks,
        [finding("leak", "test_stash", "stash", "mes_c.c")],
        "{shown}"
    );
    // One build directory per label, the plain build still there; nothing else written.
    let build = dir.join(".pyz3/build");
    for label in ["plain", "address+undefined", "address+leak"] {
        assert!(
            build.join(label).join("meson/build.ninja").is_file(),
            "{label}"
        );
        let libs: Vec<_> = std::fs::read_dir(build.join(label).join("lib"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("mes_c.") && n.ends_with(".so"))
            .collect();
        assert_eq!(libs.len(), 1, "{label}: {libs:?}");
    }
    // `pyz3 build` lists the instrumented module where the test run imported it from.
    let out = Pyz3::new(dir.path())
        .args(["build", "--sanitize", "address,undefined"])
        .run();
    out.assert_exit(0);
    let so = build.join("address+undefined/lib");
    assert!(
        out.stdout_text().starts_with(&format!(
            "mes_c\t{}/mes_c.",
            so.canonicalize().unwrap().display()
        )),
        "{}",
        out.shown()
    );
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn meson_python_clean_variant_exits_0() {
    let dir = meson_project(Variant::Clean);
    for list in ["address,undefined", "leak"] {
        let (code, report, shown) = test(dir.path(), list);
        assert_eq!(code, 0, "{list}\n{shown}");
        assert!(findings(&report).is_empty(), "{list}\n{shown}");
        assert_eq!(passed(&report), 5, "{list}\n{shown}");
    }
}

#[test]
fn scikit_build_core_cpp_extension_under_address_undefined_and_leak() {
    let dir = cmake_project(Variant::Planted);
    let before = tree(dir.path());
    let (code, report, shown) = test(dir.path(), "");
    assert_eq!(code, 0, "{shown}");
    assert_eq!(passed(&report), 4, "{shown}");
    assert!(shown.contains(": skb_cpp\n"), "{shown}");
    let (code, report, shown) = test(dir.path(), "address,undefined");
    assert_eq!(code, 1, "{shown}");
    assert_eq!(
        findings(&report),
        BTreeSet::from([
            finding("heap-buffer-overflow", "test_fill", "fill", "skb_cpp.cpp"),
            finding(
                "signed-integer-overflow",
                "test_scale_wraps",
                "scale",
                "skb_cpp.cpp"
            ),
        ]),
        "{shown}"
    );
    assert_eq!(passed(&report), 3, "{shown}");
    let (code, report, shown) = test(dir.path(), "leak");
    assert_eq!(code, 1, "{shown}");
    let leaks: Vec<_> = findings(&report)
        .into_iter()
        .filter(|f| f.0 == "leak")
        .collect();
    assert_eq!(leaks.len(), 1, "{shown}");
    assert_eq!(leaks[0].1, "tests/test_ext.py::test_checksum", "{shown}");
    assert!(
        dir.join(".pyz3/build/address+undefined/cmake/CMakeCache.txt")
            .is_file(),
        "{shown}"
    );
    // `pyz3 build` lists the instrumented module where the test run imported it from.
    let out = Pyz3::new(dir.path())
        .args(["build", "--sanitize", "address,undefined"])
        .run();
    out.assert_exit(0);
    let lib = dir.join(".pyz3/build/address+undefined/lib");
    assert!(
        out.stdout_text().starts_with(&format!(
            "skb_cpp\t{}/skb_cpp.",
            lib.canonicalize().unwrap().display()
        )),
        "{}",
        out.shown()
    );
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn scikit_build_core_clean_variant_exits_0() {
    let dir = cmake_project(Variant::Clean);
    for list in ["address,undefined", "leak"] {
        let (code, report, shown) = test(dir.path(), list);
        assert_eq!(code, 0, "{list}\n{shown}");
        assert!(findings(&report).is_empty(), "{list}\n{shown}");
        assert_eq!(passed(&report), 4, "{list}\n{shown}");
    }
}

#[test]
fn an_unknown_build_backend_is_named_with_the_known_ones() {
    let dir = Project::new()
        .file(
            "pyproject.toml",
            "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n\n\
             [project]\nname = \"x\"\nversion = \"0.1\"\n",
        )
        .file("tests/test_x.py", "def test_x():\n    pass\n");
    let out = Pyz3::new(dir.path())
        .args(["test", "--sanitize", "address"])
        .run();
    out.assert_exit(2);
    let err = out.stderr_text();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{}", out.shown());
    for name in [
        "`hatchling.build`",
        "mesonpy",
        "scikit_build_core.build",
        "maturin",
    ] {
        assert!(lines[0].contains(name), "{name}: {}", out.shown());
    }
}

#[test]
fn a_build_that_fails_shows_the_compiler_error() {
    for (dir, file, backend) in [
        (
            meson_project(Variant::Clean),
            "mes_c.c",
            "meson-python build",
        ),
        (
            cmake_project(Variant::Clean),
            "skb_cpp.cpp",
            "scikit-build-core build",
        ),
        (
            Project::new().setuptools("st_c", &source("sanitize/c_ext.c", "st_c", Variant::Clean)),
            "st_c.c",
            "setuptools build",
        ),
    ] {
        dir.write(file, "int broken(void) { return 1 }\n");
        let out = Pyz3::new(dir.path())
            .args(["test", "--sanitize", "address"])
            .run();
        out.assert_exit(2);
        let err = out.stderr_text();
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
        assert!(
            last.contains(backend)
                && last.contains(file)
                && last.contains("error: expected")
                && !last.contains('\x1b'),
            "{}",
            out.shown()
        );
    }
}

/// A meson-python C extension whose `bump` races on a counter with the GIL released.
pub(crate) fn meson_race_project(variant: Variant) -> Project {
    meson_c_project(
        "mes_race",
        "backends/race.c",
        "backends/race_test.py",
        variant,
    )
}

/// The same extension compiled as C++ by scikit-build-core (CMake).
pub(crate) fn cmake_race_project(variant: Variant) -> Project {
    cmake_cpp_project(
        "skb_race",
        "backends/race.c",
        "backends/race_test.py",
        variant,
    )
}

#[test]
fn meson_python_and_scikit_build_core_data_races_under_thread() {
    let _cores = crate::util::cores();
    let st = Project::new()
        .setuptools(
            "st_race",
            &source("backends/race.c", "st_race", Variant::Planted),
        )
        .file(
            "tests/test_ext.py",
            &source("backends/race_test.py", "st_race", Variant::Planted),
        );
    for (dir, m, file) in [
        (st, "st_race", "st_race.c"),
        (
            meson_race_project(Variant::Planted),
            "mes_race",
            "mes_race.c",
        ),
        (
            cmake_race_project(Variant::Planted),
            "skb_race",
            "skb_race.cpp",
        ),
    ] {
        let (code, report, shown) = test(dir.path(), "thread");
        assert_eq!(code, 1, "{shown}");
        assert_eq!(
            findings(&report),
            BTreeSet::from([finding(
                "data-race",
                "test_bump_in_two_threads",
                "bump",
                file
            )]),
            "{shown}"
        );
        assert_eq!(passed(&report), 2, "{shown}");
        // Fixed (atomic increments), the same project is clean.
        dir.write(file, &source("backends/race.c", m, Variant::Clean));
        let (code, report, shown) = test(dir.path(), "thread");
        assert_eq!(code, 0, "{shown}");
        assert!(findings(&report).is_empty(), "{shown}");
    }
}

/// A new virtualenv that sees the project virtualenv's packages (the backends, pytest, NumPy)
/// through a .pth file, with the project in `dir` installed editable by its own backend: returns
/// its interpreter and the `PATH` the backend's tools were found on.
fn editable_install(dir: &Path, env: &Path) -> (PathBuf, String) {
    let venv = env.join("venv");
    let status = std::process::Command::new(crate::util::venv_python())
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(status.success());
    let python = venv.join("bin/python");
    let purelib = |py: &Path| {
        let out = std::process::Command::new(py)
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let own = purelib(&python);
    std::fs::write(
        Path::new(&own).join("project_venv.pth"),
        purelib(&crate::util::venv_python()) + "\n",
    )
    .unwrap();
    let bin = Path::new(crate::util::VENV).join("bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "-q",
            "--no-build-isolation",
            "--no-deps",
            "-e",
        ])
        .arg(dir)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", out.shown());
    (python, path)
}

/// meson-python's and scikit-build-core's editable installs put an import hook first on
/// `sys.meta_path`: the suite would import the ordinary build, so pyz3 refuses in one line (a C
/// and a C++ extension, and the nanobind, pybind11 and meson-built Cython projects).
#[test]
fn an_editable_install_that_would_shadow_the_build_is_refused() {
    use crate::bindings::{project, Kind};
    for (dir, module) in [
        (meson_project(Variant::Planted), "mes_c"),
        (cmake_project(Variant::Planted), "skb_cpp"),
        (project(Kind::Nanobind), "nb_ext"),
        (project(Kind::Pybind11), "pb_ext"),
        (project(Kind::CythonMeson), "cym_ext"),
    ] {
        let env = tempfile::tempdir().unwrap();
        let (python, path) = editable_install(dir.path(), env.path());
        let out = Pyz3::new(dir.path())
            .env("PATH", &path)
            .args([
                "test",
                "--sanitize",
                "address",
                "--python",
                python.to_str().unwrap(),
            ])
            .run();
        out.assert_exit(2);
        let err = out.stderr_text();
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
        assert!(
            last.contains(&format!("would import `{module}` from"))
                && last.contains("not from pyz3's build in")
                && last.contains("editable install"),
            "{}",
            out.shown()
        );
    }
}

/// setuptools' editable finder comes after the path finder on `sys.meta_path`, so the suite
/// imports pyz3's build first: no refusal, and UBSan's finding (which the editable build,
/// uninstrumented, cannot give) shows which module ran (a C extension and a Cython one).
#[test]
fn a_setuptools_editable_install_does_not_shadow_the_build() {
    let m = "st_edit";
    let c = Project::new()
        .setuptools(m, &source("sanitize/c_ext.c", m, Variant::Planted))
        .file(
            "tests/test_ext.py",
            &source("sanitize/c_test.py", m, Variant::Planted),
        );
    let cython = crate::bindings::project(crate::bindings::Kind::CythonSetuptools);
    for (dir, overflow) in [
        (
            c,
            finding(
                "signed-integer-overflow",
                "test_add_wraps",
                "add_i32",
                &format!("{m}.c"),
            ),
        ),
        (
            cython,
            finding(
                "signed-integer-overflow",
                "test_add_one",
                "add_one",
                "cys_ext.pyx",
            ),
        ),
    ] {
        let env = tempfile::tempdir().unwrap();
        let (python, path) = editable_install(dir.path(), env.path());
        let json = dir.join("report.json");
        let out = Pyz3::new(dir.path())
            .env("PATH", &path)
            .args([
                "test",
                "--sanitize",
                "address,undefined",
                "--python",
                python.to_str().unwrap(),
                "--json",
                json.to_str().unwrap(),
            ])
            .run();
        out.assert_exit(1);
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert!(
            findings(&report).contains(&overflow),
            "{overflow:?}\n{}",
            out.shown()
        );
    }
}

/// `pyz3 test --coverage` on the coverage fixture (tests/fixtures/coverage/c_ext.c, each line the
/// suite never runs marked) built by meson-python as C and by scikit-build-core as C++: LLVM
/// source-based coverage (clang), exactly the marked lines missing, the source named relative to
/// the project (meson compiles with paths relative to its build directory).
#[test]
fn coverage_of_meson_python_c_and_scikit_build_core_cpp_shows_the_never_taken_lines() {
    use crate::coverage::{json, marked, missing, only_file};
    for (module, file) in [("cov_mes", "cov_mes.c"), ("cov_skb", "cov_skb.cpp")] {
        let vars = [("module", module)];
        let c = render(&fixture("coverage/c_ext.c"), &vars);
        let p = Project::new().file(file, &c).file(
            "tests/test_ext.py",
            &render(&fixture("coverage/test_ext.py"), &vars),
        );
        let p = if file.ends_with(".c") {
            p.file(
                "pyproject.toml",
                &render(&fixture("backends/mesonpy.toml"), &vars),
            )
            .file(
                "meson.build",
                &render(&fixture("backends/meson.build"), &vars),
            )
        } else {
            p.file(
                "pyproject.toml",
                &render(&fixture("backends/scikit_build_core.toml"), &vars),
            )
            .file(
                "CMakeLists.txt",
                &render(&fixture("backends/CMakeLists.txt"), &vars),
            )
        };
        let j = p.join("cov.json");
        let out = Pyz3::new(p.path())
            .args(["test", "--coverage", "--coverage-json", j.to_str().unwrap()])
            .run();
        out.assert_exit(0);
        let report = json(&j, &out);
        assert!(
            report["tool"].as_str().unwrap().starts_with("llvm-cov "),
            "{report}"
        );
        let entry = only_file(&report, file);
        let expected = marked(&p.join(file));
        assert_eq!(expected.len(), 3);
        assert_eq!(missing(entry), expected, "{file}: {}", out.shown());
        assert_eq!(entry["functions"]["covered"], 3, "{file}");
    }
}

/// `pyz3 build` (plain): the module's path in the build.
pub(crate) fn built_module(dir: &Path, module: &str) -> PathBuf {
    let out = Pyz3::new(dir).args(["build"]).run();
    out.assert_exit(0);
    let stdout = out.stdout_text();
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{module}\t")))
        .unwrap_or_else(|| panic!("{module} not built\n{}", out.shown()));
    PathBuf::from(line)
}

/// `pyz3 check` on the modules of the meson-python C project and the scikit-build-core C++ one
/// (clean variants, plain builds, the stub given with `--stubs`): the reference leak (`keep`) and
/// the crash (`crash_below`) found, nothing on the correct functions.
#[test]
fn check_on_meson_python_c_and_scikit_build_core_cpp_modules() {
    let common = "def keep(obj: object) -> int: ...\ndef crash_below(x: int) -> int: ...\n";
    for (dir, module, stub) in [
        (
            meson_project(Variant::Clean),
            "mes_c",
            "def add_i32(a: int, b: int) -> int: ...\n\
             def fill(buf: bytearray, value: int) -> None: ...\n",
        ),
        (
            cmake_project(Variant::Clean),
            "skb_cpp",
            "def fill(buf: bytearray, value: int) -> None: ...\n\
             def scale(value: int, factor: int) -> int: ...\n\
             def checksum(data: bytes) -> int: ...\n\
             def total(xs: list[int]) -> int: ...\n",
        ),
    ] {
        dir.write("stub.pyi", &format!("{stub}{common}"));
        let so = built_module(dir.path(), module);
        let json = dir.join("check.json");
        let out = Pyz3::new(dir.path())
            .args([
                "check",
                so.to_str().unwrap(),
                "--stubs",
                "stub.pyi",
                "--json",
                json.to_str().unwrap(),
            ])
            .run();
        out.assert_exit(1);
        let shown = out.shown();
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(
            crate::util::report::found(&report),
            [("crash_below", "crash"), ("keep", "refcount")]
                .map(|(f, k)| (f.to_string(), k.to_string())),
            "{module}: {shown}"
        );
        let checked = report["functions"].as_array().unwrap().len();
        let declared = stub.lines().count() + 2;
        assert_eq!(checked, declared, "{module}: {shown}");
    }
}
