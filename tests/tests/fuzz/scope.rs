//! Scoped instrumentation: the generic target of `pyz3 fuzz` carries no coverage counters of its
//! own, a C extension built with `pyz3 build --fuzz` (clang's `-fsanitize=fuzzer-no-link`)
//! guides the fuzzer by its own code, and one built without it is fuzzed by argument shapes.

use super::*;
use pyz3::fuzz::instrumented::coverage_counters;

/// A crash behind four nested byte comparisons: out of reach of blind mutation (one input in
/// 2^32), a few thousand inputs away with coverage of the comparisons.
const MAGIC: &str = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *check(PyObject *self, PyObject *arg) {
    char *b; Py_ssize_t n;
    if (PyBytes_AsStringAndSize(arg, &b, &n) < 0) return NULL;
    if (n >= 4 && b[0] == 'p')
        if (b[1] == 'y')
            if (b[2] == 'z')
                if (b[3] == '3')
                    *(volatile int *)0 = 1;
    Py_RETURN_NONE;
}
static PyMethodDef methods[] = {{"check", check, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "magic", NULL, -1, methods};
PyMODINIT_FUNC PyInit_magic(void) { return PyModule_Create(&mod); }
"#;

const STUB: &str = "def check(b: bytes) -> None: ...\n";

/// The installed generic targets of the tests' user cache.
fn cached_generic_targets() -> Vec<PathBuf> {
    std::fs::read_dir(repo_root().join("target/pyz3-cache/fuzz"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("bin/pyz3_generic"))
        .filter(|p| p.is_file())
        .collect()
}

#[test]
fn a_fuzz_build_of_a_c_extension_guides_pyz3_fuzz_by_its_own_coverage() {
    let _g = fuzz_lock();
    let p = Project::new()
        .setuptools("magic", MAGIC)
        .file("magic.pyi", STUB);
    let out = pyz3(p.path()).args(["build", "--fuzz"]).run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("fuzzing"), "{log}");
    let so = PathBuf::from(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("magic\t"))
            .unwrap_or_else(|| panic!("no module built: {log}")),
    );
    let lib = so.parent().unwrap().to_path_buf();
    assert!(
        lib.ends_with(".pyz3/build/plain-fuzz/lib"),
        "{}",
        lib.display()
    );
    let counters = coverage_counters(&so);
    assert!(counters > 0, "{} has no coverage counters", so.display());
    // It imports and runs in a plain interpreter (the shim's empty callbacks).
    let plain = Command::new(crate::util::venv_python())
        .args(["-c", "import magic; magic.check(b'pyz'); print('ok')"])
        .env("PYTHONPATH", &lib)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&plain.stdout).trim(),
        "ok",
        "{plain:?}"
    );

    let stub = p.join("magic.pyi");
    let out = pyz3(&lib)
        .args(["fuzz", "magic:check", "--max-time", "60", "--stubs"])
        .args([&stub])
        .run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("pyz3: crash in magic.check"), "{log}");
    assert!(log.contains("  check(b'pyz3"), "{log}");
    assert!(
        log.contains(&format!(
            "coverage from {} ({counters} counters)",
            so.display()
        )),
        "{log}"
    );
    // The generic target's own code (pyz3, pyo3, std) has no counters: every feature libFuzzer
    // collects comes from the module.
    let bins = cached_generic_targets();
    assert!(!bins.is_empty());
    for bin in bins {
        assert_eq!(coverage_counters(&bin), 0, "{}", bin.display());
    }
}

#[test]
fn an_uninstrumented_module_is_fuzzed_by_argument_shapes_and_its_deep_crash_stays_out_of_reach() {
    let _g = fuzz_lock();
    let p = Project::new()
        .file("magic.c", MAGIC)
        .file("magic.pyi", STUB);
    crate::util::compile_c_extension(p.path(), "magic");
    let out = pyz3(p.path())
        .args(["fuzz", "magic:check", "--max-time", "10"])
        .run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains(
            "no loaded library is coverage-instrumented: the arguments' shapes guide the fuzzer"
        ),
        "{log}"
    );
    assert!(log.contains("no findings"), "{log}");
}
