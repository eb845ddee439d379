//! Extensions written with binding libraries and Cython, each an example project built by the
//! backend people use for it: nanobind and pybind11 through scikit-build-core (CMake), Cython
//! through setuptools and through meson-python (sources in tests/fixtures/backends/: one C++
//! file per binding library, one `.pyx`, one pytest suite and one stub for all four).
//!
//! For each: the suite passes in an ordinary build; `pyz3 test --sanitize address,undefined`
//! finds the planted heap overflow and signed overflow, and `--sanitize leak` the lost block,
//! and `--sanitize thread` the data race of two threads incrementing one counter with the GIL
//! released, each with the extension's frame (the `.pyx` line for Cython) and the test id; the
//! same project with the defects fixed exits 0 under all three; `pyz3 check` on the ordinary
//! build's module (stubs from the project, or nanobind's stubgen) finds the planted reference
//! leak and the crash, and nothing on the correct functions; and a source that does not compile
//! is one line naming the compiler's (or Cython's) first error, exit 2.

use crate::backends::{built_module, finding, findings, passed, source, test, Variant};
use crate::util::{Assert, Project, Pyz3, VENV};
use std::collections::BTreeSet;
use std::path::Path;

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Kind {
    Nanobind,
    Pybind11,
    CythonSetuptools,
    CythonMeson,
}

impl Kind {
    pub(crate) fn module(self) -> &'static str {
        match self {
            Kind::Nanobind => "nb_ext",
            Kind::Pybind11 => "pb_ext",
            Kind::CythonSetuptools => "cys_ext",
            Kind::CythonMeson => "cym_ext",
        }
    }

    /// The extension's source: (fixture, file in the project).
    pub(crate) fn source(self) -> (&'static str, String) {
        let m = self.module();
        match self {
            Kind::Nanobind => ("backends/nanobind_ext.cpp", format!("{m}.cpp")),
            Kind::Pybind11 => ("backends/pybind11_ext.cpp", format!("{m}.cpp")),
            Kind::CythonSetuptools | Kind::CythonMeson => {
                ("backends/cython_ext.pyx", format!("{m}.pyx"))
            }
        }
    }

    /// The file the overflow's frame names: the C++ source, or the `.pyx` (not Cython's C).
    fn frame_file(self) -> String {
        self.source().1
    }
}

/// The example project of `kind`, the planted variant.
pub(crate) fn project(kind: Kind) -> Project {
    let m = kind.module();
    let (fixture, file) = kind.source();
    let v = Variant::Planted;
    let p = Project::new().file(&file, &source(fixture, m, v)).file(
        "tests/test_ext.py",
        &source("backends/bindings_test.py", m, v),
    );
    // nanobind's stub comes from its stubgen, run on the built module; the others ship one.
    let p = if kind == Kind::Nanobind {
        p
    } else {
        p.file(&format!("{m}.pyi"), &source("backends/bindings.pyi", m, v))
    };
    match kind {
        Kind::Nanobind | Kind::Pybind11 => {
            let cmake = if kind == Kind::Nanobind {
                "backends/nanobind_CMakeLists.txt"
            } else {
                "backends/pybind11_CMakeLists.txt"
            };
            p.file(
                "pyproject.toml",
                &source("backends/scikit_build_core.toml", m, v),
            )
            .file("CMakeLists.txt", &source(cmake, m, v))
        }
        Kind::CythonSetuptools => p.file("setup.py", &source("backends/cython_setup.py", m, v)),
        Kind::CythonMeson => p
            .file("pyproject.toml", &source("backends/mesonpy.toml", m, v))
            .file("meson.build", &source("backends/cython_meson.build", m, v)),
    }
}

/// The whole round for one kind (see the module's documentation).
fn round(kind: Kind) {
    let _cores = crate::util::cores();
    let m = kind.module();
    let dir = project(kind);
    let (code, report, shown) = test(dir.path(), "");
    assert_eq!(code, 0, "{shown}");
    assert_eq!(passed(&report), 6, "{shown}");
    let file = kind.frame_file();
    let (code, report, shown) = test(dir.path(), "address,undefined");
    assert_eq!(code, 1, "{shown}");
    assert_eq!(
        findings(&report),
        BTreeSet::from([
            finding("heap-buffer-overflow", "test_fill", "fill", &file),
            finding("signed-integer-overflow", "test_add_one", "add_one", &file),
        ]),
        "{shown}"
    );
    // The block `stash` loses, under LeakSanitizer only.
    let (code, report, shown) = test(dir.path(), "leak");
    assert_eq!(code, 1, "{shown}");
    let leaks: Vec<_> = findings(&report)
        .into_iter()
        .filter(|f| f.0 == "leak")
        .map(|f| (f.1, f.2))
        .collect();
    assert_eq!(
        leaks,
        [(
            "tests/test_ext.py::test_stash".to_string(),
            "stash".to_string()
        )],
        "{shown}"
    );
    // Two threads incrementing one counter with the GIL released, under ThreadSanitizer. TSan
    // may also see `fill`'s write past its block (as a use after free of a neighbouring one).
    let (code, report, shown) = test(dir.path(), "thread");
    assert_eq!(code, 1, "{shown}");
    let (races, others): (Vec<_>, Vec<_>) = findings(&report)
        .into_iter()
        .partition(|f| f.0 == "data-race");
    assert_eq!(
        races,
        [finding(
            "data-race",
            "test_bump_in_two_threads",
            "bump",
            &file
        )],
        "{shown}"
    );
    assert!(
        others
            .iter()
            .all(|f| f.1.ends_with("::test_fill") && f.2 == "fill"),
        "{shown}"
    );
    // The defects fixed: the same project (incremental builds) is clean.
    let (fixture, source_file) = kind.source();
    dir.write(&source_file, &source(fixture, m, Variant::Clean));
    for list in ["address,undefined", "leak", "thread"] {
        let (code, report, shown) = test(dir.path(), list);
        assert_eq!(code, 0, "{list}\n{shown}");
        assert!(findings(&report).is_empty(), "{list}\n{shown}");
        assert_eq!(passed(&report), 6, "{list}\n{shown}");
    }
    // `pyz3 check` on the ordinary build's module.
    let so = built_module(dir.path(), m);
    let lib = so.parent().unwrap();
    let stub = match kind {
        Kind::Nanobind => {
            let out = std::process::Command::new(Path::new(VENV).join("bin/python"))
                .args(["-m", "nanobind.stubgen", "-m", m, "-O"])
                .arg(lib)
                .env("PYTHONPATH", lib)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            lib.join(format!("{m}.pyi"))
        }
        // setuptools' build copies no stub: it is given as the project has it.
        Kind::CythonSetuptools => dir.join(format!("{m}.pyi")),
        _ => lib.join(format!("{m}.pyi")),
    };
    assert!(stub.is_file(), "{}", stub.display());
    let json = dir.join("check.json");
    let mut args = vec![
        so.display().to_string(),
        "--json".into(),
        json.display().to_string(),
    ];
    if kind == Kind::CythonSetuptools {
        args.extend(["--stubs".into(), stub.display().to_string()]);
    }
    args.insert(0, "check".into());
    let out = Pyz3::new(dir.path()).args(&args).run();
    out.assert_exit(1);
    let shown = out.shown();
    assert!(
        shown.contains(&format!("signatures from {}", stub.display())),
        "{shown}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        crate::util::report::found(&report),
        [("crash_below", "crash"), ("keep", "refcount")]
            .map(|(f, k)| (f.to_string(), k.to_string())),
        "{shown}"
    );
    let checked: BTreeSet<&str> = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(
        checked,
        BTreeSet::from([
            "add_one",
            "bump",
            "crash_below",
            "fill",
            "greet",
            "keep",
            "stash",
            "total"
        ]),
        "{shown}"
    );
    // A source that does not compile: the compiler's (or Cython's) first error on the last line.
    let (broken, backend) = match kind {
        Kind::Nanobind | Kind::Pybind11 => ("int broken(void) { return 1 }\n", "scikit-build-core"),
        Kind::CythonSetuptools => ("def broken(:\n    pass\n", "setuptools"),
        Kind::CythonMeson => ("def broken(:\n    pass\n", "meson-python"),
    };
    dir.write(&source_file, broken);
    let out = Pyz3::new(dir.path()).args(["build"]).run();
    out.assert_exit(2);
    let err = out.stderr_text();
    let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        last.starts_with("pyz3: error: ")
            && last.contains(&format!("the {backend} build of"))
            && last.contains(&format!("{source_file}:1:"))
            && !last.contains('\x1b'),
        "{}",
        out.shown()
    );
}

#[test]
fn nanobind_via_scikit_build_core() {
    round(Kind::Nanobind);
}

#[test]
fn pybind11_via_scikit_build_core() {
    round(Kind::Pybind11);
}

#[test]
fn cython_via_setuptools() {
    round(Kind::CythonSetuptools);
}

#[test]
fn cython_via_meson_python() {
    round(Kind::CythonMeson);
}

/// `pyz3 bench` on each kind: the release build through the backend, then a benchmark of the
/// built module, timed.
#[test]
fn bench_runs_on_meson_python_and_scikit_build_core_projects() {
    for kind in [
        Kind::CythonMeson,
        Kind::Pybind11,
        Kind::CythonSetuptools,
        Kind::Nanobind,
    ] {
        let m = kind.module();
        let dir = project(kind);
        dir.write(
            "benches/bench_ext.py",
            &format!(
                "import {m}\n\n\ndef bench_total(xs):\n    {m}.total(xs)\n\
                 bench_total.setup = lambda: (list(range(100)),)\n"
            ),
        );
        let out = Pyz3::new(dir.path())
            .args(["bench", "--processes", "2", "--samples", "20"])
            .run();
        out.assert_exit(0);
        let shown = out.shown();
        // setuptools builds with the interpreter's own (optimizing) flags: it has no release
        // mode to name; the backends say theirs.
        assert!(
            kind == Kind::CythonSetuptools || shown.contains("release"),
            "{shown}"
        );
        let stdout = out.stdout_text();
        let row = stdout
            .lines()
            .find(|l| l.starts_with("bench_ext::bench_total "))
            .unwrap_or_else(|| panic!("no row\n{shown}"));
        assert!(
            ["ns", "µs", "ms"].iter().any(|u| row.contains(u)),
            "{shown}"
        );
        assert!(
            dir.join(".pyz3/build/plain-release/lib").is_dir(),
            "{shown}"
        );
    }
}

/// `pyz3 test --coverage` on a binding-library project: the branch the suite never takes (`fill`'s
/// argument check, marked in the source) is reported missing, the loop it does run is not.
fn coverage_round(kind: Kind) {
    let _cores = crate::util::cores();
    let dir = project(kind);
    let file = kind.source().1;
    let j = dir.join("cov.json");
    let out = Pyz3::new(dir.path())
        .args(["test", "--coverage", "--coverage-json", j.to_str().unwrap()])
        .run();
    out.assert_exit(0);
    let shown = out.shown();
    let report = crate::coverage::json(&j, &out);
    assert!(
        report["tool"].as_str().unwrap().starts_with("llvm-cov "),
        "{report}"
    );
    let entry = crate::coverage::only_file(&report, &file);
    let text = std::fs::read_to_string(dir.join(&file)).unwrap();
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i as u64 + 1)
            .unwrap()
    };
    let missing = crate::coverage::missing(entry);
    assert!(
        missing.contains(&line_of("NOT RUN")),
        "{missing:?}\n{shown}"
    );
    let (covered, function) = match kind {
        // The `.pyx` lines, mapped from Cython's generated C (which is not reported).
        Kind::CythonSetuptools | Kind::CythonMeson => ("buf[i] = value", "fill"),
        Kind::Nanobind | Kind::Pybind11 => ("buf.data()[i] = value", ""),
    };
    assert!(!missing.contains(&line_of(covered)), "{missing:?}\n{shown}");
    if !function.is_empty() {
        // The suite's six functions ran; `keep` and `crash_below` did not.
        let functions = entry["functions"].clone();
        assert_eq!(functions["total"], 8, "{entry:#}");
        assert_eq!(functions["covered"], 6, "{entry:#}");
    }
}

#[test]
fn coverage_of_nanobind_shows_the_never_taken_branch() {
    coverage_round(Kind::Nanobind);
}

#[test]
fn coverage_of_pybind11_shows_the_never_taken_branch() {
    coverage_round(Kind::Pybind11);
}

#[test]
fn coverage_of_cython_pyx_lines_via_setuptools_and_meson_python() {
    coverage_round(Kind::CythonSetuptools);
    coverage_round(Kind::CythonMeson);
}
