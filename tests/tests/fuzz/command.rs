//! `pyz3 fuzz` on a C extension compiled here and on a linked workspace crate, and its bad
//! input.

use super::*;

/// A C extension with a planted division by zero, compiled here with gcc.
pub(super) fn c_extension(dir: &Path) {
    let c = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *mean_per(PyObject *self, PyObject *args) {
    PyObject *xs; long parts;
    if (!PyArg_ParseTuple(args, "O!l", &PyList_Type, &xs, &parts)) return NULL;
    long total = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(xs); i++) {
        long v = PyLong_AsLong(PyList_GET_ITEM(xs, i));
        if (v == -1 && PyErr_Occurred()) return NULL;
        total += v;
    }
    volatile long d = parts;
    return PyLong_FromLong(total / d);
}
static PyMethodDef methods[] = {{"mean_per", mean_per, METH_VARARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "cplant", NULL, -1, methods};
PyMODINIT_FUNC PyInit_cplant(void) { return PyModule_Create(&mod); }
"#;
    std::fs::write(dir.join("cplant.c"), c).unwrap();
    std::fs::write(
        dir.join("cplant.pyi"),
        "def mean_per(xs: list[int], parts: int) -> int: ...\n",
    )
    .unwrap();
    crate::util::compile_c_extension(dir, "cplant");
}

#[test]
fn pyz3_fuzz_finds_a_crash_in_a_c_extension() {
    let _g = fuzz_lock();
    let tmp = Project::new();
    c_extension(tmp.path());
    let out = pyz3(tmp.path())
        .args(["fuzz", "cplant:mean_per", "--max-time", "60"])
        .run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("crash in cplant.mean_per"), "{log}");
    assert!(
        log.contains("mean_per(["),
        "the input as Python source: {log}"
    );
    assert!(
        log.contains("coverage guidance comes from its own code only if"),
        "{log}"
    );
    let arts = artifacts(&tmp.path().join(".pyz3/fuzz/artifacts/cplant.mean_per"));
    assert_eq!(arts.len(), 1, "{log}");
    // The sanitizer's report is kept beside the artifact and named.
    let report = pyz3::fuzz::artifacts::report_path(&arts[0]);
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert!(
        report_text.contains("SUMMARY: AddressSanitizer: FPE"),
        "{report_text}"
    );
    assert!(
        log.contains(&format!("report:     {}", report.display()))
            || log.contains("report:     .pyz3/fuzz/artifacts/cplant.mean_per/"),
        "{log}"
    );
    // The sidecar names the target and the kind, in a versioned format.
    let mut side = arts[0].clone().into_os_string();
    side.push(".pyz3.json");
    let side: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&side).unwrap()).unwrap();
    assert_eq!(side["version"], 1, "{side}");
    assert_eq!(side["kind"], "crash", "{side}");
    assert_eq!(side["target"]["function"], "mean_per", "{side}");
    let script = artifacts(&tmp.path().join(".pyz3/repro"))
        .into_iter()
        .next()
        .expect("reproducer");
    let run = Command::new(venv().join("bin/python"))
        .arg(&script)
        .output()
        .unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&run.status),
        Some(8),
        "SIGFPE in a fresh python3: {}",
        text(&run)
    );
    // repro and cmin on the same target.
    let r = pyz3(tmp.path())
        .args([
            "fuzz",
            "repro",
            arts[0].to_str().unwrap(),
            "--target",
            "cplant:mean_per",
        ])
        .run();
    assert!(r.status.success(), "{}", text(&r));
    assert!(
        String::from_utf8_lossy(&r.stdout).starts_with("mean_per("),
        "{}",
        text(&r)
    );
    let c = pyz3(tmp.path())
        .args(["fuzz", "cmin", "cplant:mean_per"])
        .run();
    assert!(c.status.success(), "{}", text(&c));
    assert!(text(&c).contains("the original is kept in"), "{}", text(&c));

    // What the corpus reaches, replayed against a coverage build of the same source.
    std::fs::write(
        tmp.path().join("setup.py"),
        "from setuptools import Extension, setup\nsetup(name='cplant', version='0.1', \
         ext_modules=[Extension('cplant', ['cplant.c'])])\n",
    )
    .unwrap();
    // The crash came first (on the empty input), so the fuzzer's corpus may be empty: replay
    // fixed pseudo-random inputs instead.
    let seeds = tmp.path().join("seeds");
    std::fs::create_dir_all(&seeds).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..64 {
        let bytes: Vec<u8> = (0..(i % 40 + 1))
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect();
        std::fs::write(seeds.join(format!("s{i}")), bytes).unwrap();
    }
    let json = tmp.path().join("cov.json");
    let c = pyz3(tmp.path())
        .args([
            "fuzz",
            "coverage",
            "cplant:mean_per",
            seeds.to_str().unwrap(),
            "--coverage-json",
            json.to_str().unwrap(),
        ])
        .run();
    assert!(c.status.success(), "{}", text(&c));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let file = &report["files"][0];
    assert_eq!(file["name"], "cplant.c", "{report}");
    // The inputs decode to lists and ints: the loop and the division ran.
    let counts: Vec<(u64, u64)> = file["line_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()))
        .collect();
    let source = std::fs::read_to_string(tmp.path().join("cplant.c")).unwrap();
    let line_of =
        |needle: &str| source.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1;
    for needle in ["total += v;", "return PyLong_FromLong(total / d);"] {
        let line = line_of(needle);
        assert!(
            counts.iter().any(|(l, c)| *l == line && *c > 0),
            "`{needle}` (line {line}) never ran: {counts:?}"
        );
    }
}

/// `pyz3 fuzz` on a function of a PyO3 crate of the current cargo workspace: the crate is linked
/// into the fuzz binary with libFuzzer's coverage instrumentation, pyz3's runtime without it,
/// and the planted crash behind a 64-bit comparison is found.
#[test]
fn pyz3_fuzz_links_a_workspace_crate_and_instruments_only_it() {
    let _g = fuzz_lock();
    let dir = Project::new()
        .pyo3(
            "fuzzlink",
            r#"use pyo3::prelude::*;

/// `x + 1`; crashes (a write through a null pointer) for one 64-bit value.
#[pyfunction]
fn planted(x: i64) -> i64 {
    if x == 0x5eed_0123_4567_89ab {
        // SAFETY: none; this is the planted defect.
        unsafe { std::ptr::null_mut::<i64>().write_volatile(x) };
    }
    x.wrapping_add(1)
}

#[pymodule]
fn fuzzlink(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(planted, m)?)
}
"#,
        )
        .file("tests/test_ext.py", "");
    let manifest = dir.path().join("Cargo.toml");
    let toml = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("[\"cdylib\"]", "[\"cdylib\", \"rlib\"]");
    std::fs::write(&manifest, toml).unwrap();
    std::fs::write(
        dir.path().join("fuzzlink.pyi"),
        "def planted(x: int) -> int: ...\n",
    )
    .unwrap();
    // The module must import for its signature to be read.
    let build_dir = repo_root().join("target/fuzzlink-build");
    let status = Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", &build_dir)
        .env("PYO3_BUILD_EXTENSION_MODULE", "1")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::copy(
        build_dir.join("release/libfuzzlink.so"),
        dir.path().join("fuzzlink.so"),
    )
    .unwrap();

    let out = pyz3(dir.path())
        .args([
            "fuzz",
            "./fuzzlink.so:planted",
            "--stubs",
            "fuzzlink.pyi",
            "--max-time",
            "300",
        ])
        .run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("linking crate `fuzzlink`"), "{log}");
    assert!(log.contains("crash in fuzzlink.planted"), "{log}");
    assert!(log.contains("planted(6840124660045547947)"), "{log}");

    // The binary: the crate's code is instrumented, pyz3's decoder is not.
    let bin = std::fs::read_dir(repo_root().join("target/fuzz-generic"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("address-"))
        .map(|e| {
            e.path()
                .join("x86_64-unknown-linux-gnu/release/pyz3_generic")
        })
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("a linked generic build");
    let dump = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn", "-C"])
        .arg(&bin)
        .output()
        .unwrap();
    let asm = String::from_utf8_lossy(&dump.stdout).to_string();
    assert!(
        traced_calls(&asm, "fuzzlink::planted") > 0,
        "the crate is not instrumented"
    );
    assert_eq!(
        traced_calls(&asm, "pyz3::fuzz::decode::decode_text"),
        0,
        "pyz3's decoder is instrumented"
    );
    // AddressSanitizer: the linked crate's code is checked, pyz3's is not.
    assert!(
        asan_calls(&asm, "fuzzlink::") > 0,
        "the crate is not checked by AddressSanitizer"
    );
    assert_eq!(
        asan_calls(&asm, "pyz3::fuzz::decode::"),
        0,
        "pyz3's decoder is checked by AddressSanitizer"
    );
}

/// An overflow of a Python object's memory in a gcc-built (uninstrumented) C extension: the
/// `memcpy` reads 16 bytes past the end of a `bytes` object. AddressSanitizer sees it through its
/// `memcpy` interceptor (the object is `malloc`'ed memory under the fuzzer). The campaign runs
/// without allocation stacks; the report kept beside the artifact has them, made again by running
/// the input alone.
#[test]
fn a_heap_overflow_is_reported_with_its_allocation_stack() {
    let _g = fuzz_lock();
    let tmp = Project::new();
    let c = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
static PyObject *peek(PyObject *self, PyObject *b) {
    if (!PyBytes_Check(b)) { PyErr_SetString(PyExc_TypeError, "bytes"); return NULL; }
    char buf[64];
    Py_ssize_t n = PyBytes_GET_SIZE(b);
    if (n >= 2 && PyBytes_AS_STRING(b)[0] == 'x') n += 16;
    if (n > 64) n = 64;
    memcpy(buf, PyBytes_AS_STRING(b), n);
    return PyLong_FromLong(buf[0]);
}
static PyMethodDef methods[] = {{"peek", peek, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "hbo", NULL, -1, methods};
PyMODINIT_FUNC PyInit_hbo(void) { return PyModule_Create(&mod); }
"#;
    std::fs::write(tmp.path().join("hbo.c"), c).unwrap();
    std::fs::write(
        tmp.path().join("hbo.pyi"),
        "def peek(b: bytes) -> int: ...\n",
    )
    .unwrap();
    crate::util::compile_c_extension(tmp.path(), "hbo");
    let out = pyz3(tmp.path())
        .args(["fuzz", "hbo:peek", "--max-time", "120"])
        .run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("crash in hbo.peek"), "{log}");
    assert!(
        log.contains("SUMMARY: AddressSanitizer: heap-buffer-overflow"),
        "{log}"
    );
    assert!(
        log.contains("running the input again for the allocation stacks"),
        "{log}"
    );
    let arts = artifacts(&tmp.path().join(".pyz3/fuzz/artifacts/hbo.peek"));
    assert_eq!(arts.len(), 1, "{log}");
    let report = std::fs::read_to_string(pyz3::fuzz::artifacts::report_path(&arts[0])).unwrap();
    // The block's allocation: malloc, called from the interpreter making the `bytes` object.
    let lines: Vec<&str> = report.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("allocated by thread T0 here:"))
        .unwrap_or_else(|| panic!("no allocation stack: {report}"));
    let stack: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| l.trim_start().starts_with('#'))
        .copied()
        .collect();
    assert!(stack.len() >= 2, "{report}");
    assert!(stack[0].contains("malloc"), "{report}");
    assert!(
        stack
            .iter()
            .any(|l| l.contains("PyBytes") || l.contains("libpython")),
        "{report}"
    );
    assert!(
        report.contains("in peek"),
        "the extension's frame: {report}"
    );
}

/// Without a sanitizer, the target links libFuzzer's interceptors of `strcmp`, `memcmp` and kin
/// (LLVM's prebuilt libFuzzer leaves them out; a sanitizer's runtime has its own): an
/// uninstrumented C extension comparing its `str` argument with a 14-character word tells the
/// fuzzer the word, which random mutation would not hit (it did not in 26 million executions
/// without them).
#[test]
fn without_a_sanitizer_a_strcmp_against_a_word_is_solved() {
    let _g = fuzz_lock();
    let tmp = Project::new();
    let c = r#"
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
static PyObject *check(PyObject *self, PyObject *arg) {
    const char *s = PyUnicode_AsUTF8(arg);
    if (s == NULL) return NULL;
    if (strcmp(s, "open-sesame-42") == 0) { volatile int *p = NULL; *p = 1; }
    Py_RETURN_NONE;
}
static PyMethodDef methods[] = {{"check", check, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "magicw", NULL, -1, methods};
PyMODINIT_FUNC PyInit_magicw(void) { return PyModule_Create(&mod); }
"#;
    std::fs::write(tmp.path().join("magicw.c"), c).unwrap();
    std::fs::write(
        tmp.path().join("magicw.pyi"),
        "def check(s: str) -> None: ...\n",
    )
    .unwrap();
    crate::util::compile_c_extension(tmp.path(), "magicw");
    let out = pyz3(tmp.path())
        .args([
            "fuzz",
            "magicw:check",
            "--sanitize",
            "none",
            "--max-time",
            "60",
        ])
        .args(["--", "-seed=1"])
        .run();
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("crash in magicw.check"), "{log}");
    // strcmp stops at a NUL: the input may go on after one.
    assert!(
        log.contains("check('open-sesame-42')") || log.contains("check('open-sesame-42\\x00"),
        "{log}"
    );
}

#[test]
fn fuzz_bad_input_is_a_usage_error() {
    let tmp = Project::new();
    c_extension(tmp.path());
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["fuzz", "cplant:nope"], "has no public callable `nope`"),
        (vec!["fuzz", "not_a_module_xyz:f"], "not_a_module_xyz"),
        (vec!["fuzz", "cplant"], "must be MODULE:FUNC"),
        (
            vec!["fuzz", "cplant:mean_per", "--sanitize", "memory"],
            "--sanitize must be",
        ),
        (
            vec!["fuzz", "repro", "missing-file", "--target", "x"],
            "does not exist",
        ),
    ];
    for (args, msg) in cases {
        let out = pyz3(tmp.path()).args(&args).run();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(msg), "{args:?}: {}", text(&out));
    }
    std::fs::write(tmp.path().join("a"), b"x").unwrap();
    let out = pyz3(tmp.path())
        .args([
            "fuzz",
            "repro",
            "a",
            "--target",
            "no_such_target",
            "--fuzz-dir",
            repo_root().join("fuzz").to_str().unwrap(),
        ])
        .run();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown fuzz target `no_such_target`"),
        "{}",
        text(&out)
    );
    // No cargo-fuzz: say what to install.
    let fake = tmp.path().join("fake-cargo");
    std::fs::write(&fake, "#!/bin/sh\nexit 101\n").unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&fake)
        .status()
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pyz3"))
        .args(["fuzz", "cplant:mean_per"])
        .current_dir(tmp.path())
        .env("VIRTUAL_ENV", venv())
        .env("PYZ3_CARGO", &fake)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("cargo install cargo-fuzz"),
        "{}",
        text(&out)
    );
}
