//! Fuzzing: the typed decoder (total, local, direct, round-tripping through real Python), the
//! cargo-fuzz targets over the demo extension, `pyz3 fuzz` on a C extension compiled here,
//! artifacts → reproducers in a fresh python3, and bad input.

use crate::util::{Project, Pyz3};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use num_bigint::BigInt;
use proptest::prelude::*;
use pyz3::fuzz::decode::{decode, decode_args, decode_str, str_input, Reader};
use pyz3::strategy::{Registry, Shape, Size};
use pyz3::value::Value;

use super::common::python;

fn shape(t: &str) -> Shape {
    Registry::new(Size::default()).shape(t).unwrap().0
}

const TYPES: &[&str] = &[
    "Any",
    "int",
    "float",
    "str",
    "bytes",
    "list[int]",
    "dict[str, list[float]]",
    "tuple[int, str, bytes]",
    "set[frozenset[int]]",
    "Optional[datetime.datetime]",
    "decimal.Decimal",
    "fractions.Fraction",
    "collections.Counter[str]",
    "collections.deque[int]",
    "collections.defaultdict[str, int]",
    "datetime.time",
    "datetime.timedelta",
    "numpy.typing.NDArray[numpy.float32]",
    "numpy.typing.NDArray[numpy.datetime64]",
    "numpy.ndarray",
    "Literal['a', 1, None]",
    "int | str | None",
    "enum.IntEnum",
    "numpy.uint16",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Any bytes decode, for every shape, into values that become Python objects and come back
    /// equal.
    #[test]
    fn decoding_is_total_and_round_trips(data in proptest::collection::vec(any::<u8>(), 0..300), which in 0..TYPES.len()) {
        let s = shape(TYPES[which]);
        let values = decode_args(std::slice::from_ref(&s), &data);
        prop_assert_eq!(values.len(), 1);
        python(|py| -> Result<(), TestCaseError> {
            let obj = values[0].to_python(py).map_err(|e| TestCaseError::fail(format!("{} {:?}: {e}", TYPES[which], values[0])))?;
            let back = Value::from_python(&obj).map_err(|e| TestCaseError::fail(format!("{e}")))?;
            prop_assert_eq!(&back, &values[0], "{}", TYPES[which]);
            Ok(())
        })?;
    }

    /// `Arbitrary for Value` consumes what it decodes and never fails.
    #[test]
    fn arbitrary_values_convert(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut u = arbitrary::Unstructured::new(&data);
        let v: Value = u.arbitrary().unwrap();
        python(|py| v.to_python(py).map(|_| ()).unwrap());
    }
}

#[test]
fn decoding_is_direct() {
    // The last `str`/`bytes` argument is the rest of the input, byte for byte.
    let text = decode_args(&[shape("str")], b"[[{\"k\": 1}]]");
    assert_eq!(text, vec![Value::Str("[[{\"k\": 1}]]".into())]);
    let raw = decode_args(&[shape("bytes")], b"\x00\xffab");
    assert_eq!(raw, vec![Value::Bytes(b"\x00\xffab".to_vec())]);
    // Every code point has an encoding, lone surrogates included.
    let s = "a\u{0}é\u{10348}";
    assert_eq!(
        decode_args(&[shape("str")], &str_input(s)),
        vec![Value::Str(s.into())]
    );
    assert_eq!(decode_str(b"\xed\xa0\x80"), vec![0xd800]);
    // Text in CPython's wider storage forms.
    let mut wide = vec![0xff];
    wide.extend(
        "\u{0}pyz3"
            .encode_utf16()
            .flat_map(|u| (u as u32).to_le_bytes()),
    );
    assert_eq!(
        decode_str(&wide),
        vec![0, 'p' as u32, 'y' as u32, 'z' as u32, '3' as u32]
    );
    // Ints are little-endian bytes after a width tag.
    let ints = decode_args(&[shape("int")], &[4, 0x39, 0x30, 0, 0]);
    assert_eq!(ints, vec![Value::Int(BigInt::from(12345))]);
}

#[test]
fn decoding_is_local() {
    // list[int]: one "more?" byte, then the element (tag 0: one signed byte).
    let s = [shape("list[int]")];
    let ints = |v: &[i64]| Value::List(v.iter().map(|&i| Value::Int(BigInt::from(i))).collect());
    let base = [1, 0, 5, 1, 0, 7, 1, 0, 9];
    assert_eq!(decode_args(&s, &base), vec![ints(&[5, 7, 9])]);
    // One byte changed: one element changed.
    let mut changed = base;
    changed[5] = 8;
    assert_eq!(decode_args(&s, &changed), vec![ints(&[5, 8, 9])]);
    // Bytes deleted: the element they held is gone, the others stay.
    let mut deleted = base.to_vec();
    deleted.drain(3..6);
    assert_eq!(decode_args(&s, &deleted), vec![ints(&[5, 9])]);
    // Truncated input: a shorter list, never an error.
    assert_eq!(decode_args(&s, &base[..4]), vec![ints(&[5, 0])]);
    assert_eq!(decode_args(&s, &[]), vec![ints(&[])]);
}

#[test]
fn empty_input_decodes_to_simple_values() {
    for t in TYPES {
        let mut r = Reader::new(&[]);
        let v = decode(&shape(t), &mut r);
        python(|py| v.to_python(py).map(|_| ()).unwrap());
    }
}

// ----- cargo-fuzz targets and `pyz3 fuzz` (real libFuzzer, nightly, AddressSanitizer) -----

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One fuzz build at a time: they share target directories.
fn fuzz_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn fuzz_target_dir() -> PathBuf {
    root().join("target/fuzz")
}

/// `cargo fuzz build` of every target of the cargo-fuzz crate `dir` (fuzz/ or one below it),
/// run from that directory as a user would, so its `.cargo/config.toml` applies. Checks that
/// `cargo fuzz list` shows `names`; returns the binaries' directory (target/`dir` with `-` for
/// `/`).
fn build_fuzz_crate(dir: &str, names: &[&str]) -> PathBuf {
    let crate_dir = root().join(dir);
    // `--fuzz-dir .`: cargo-fuzz would otherwise look for the `fuzz/` of the enclosing package.
    let list = Command::new("cargo")
        .args(["fuzz", "list", "--fuzz-dir", "."])
        .current_dir(&crate_dir)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout).to_string();
    for t in names {
        assert!(
            listed.lines().any(|l| l.trim() == *t),
            "cargo fuzz list in {dir}: {listed}"
        );
    }
    let target_dir = root().join("target").join(dir.replace('/', "-"));
    let status = Command::new("cargo")
        .args([
            "+nightly",
            "fuzz",
            "build",
            "-O",
            "--fuzz-dir",
            ".",
            "--target-dir",
        ])
        .arg(&target_dir)
        .current_dir(&crate_dir)
        .status()
        .unwrap();
    assert!(status.success(), "cargo fuzz build in {dir} failed");
    target_dir.join("x86_64-unknown-linux-gnu/release")
}

/// The demo targets of fuzz/, built once per run.
fn fuzz_binaries() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        build_fuzz_crate(
            "fuzz",
            &[
                "parse_string",
                "word_count",
                "leak_reference",
                "null_without_error",
            ],
        )
    })
}

/// Counters of libFuzzer's inline 8-bit coverage in a binary (the size of `__sancov_cntrs`).
fn coverage_counters(bin: &Path) -> u64 {
    section_size(bin, "__sancov_cntrs")
}

/// The size of an ELF section of `bin`.
fn section_size(bin: &Path, section: &str) -> u64 {
    let out = Command::new("readelf")
        .args(["-S", "-W"])
        .arg(bin)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = text
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == section))
        .unwrap_or_else(|| panic!("no {section} section in {}", bin.display()));
    // [Nr] Name Type Address Off Size ES Flg Lk Inf Al
    let fields: Vec<&str> = line.split(']').nth(1).unwrap().split_whitespace().collect();
    u64::from_str_radix(fields[4], 16).unwrap()
}

fn venv() -> PathBuf {
    std::env::var_os("VIRTUAL_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv"))
}

/// Runs a fuzz binary with libFuzzer flags in `dir`.
fn run_target(name: &str, dir: &Path, flags: &[&str]) -> Output {
    Command::new(fuzz_binaries().join(name))
        .args(flags)
        .current_dir(dir)
        .env("VIRTUAL_ENV", venv())
        .output()
        .unwrap()
}

fn artifacts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| !p.to_string_lossy().ends_with(".json"));
    v.sort();
    v
}

/// `pyz3` in `dir`, with one shared build directory for fuzz targets.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).env("PYZ3_FUZZ_TARGET_DIR", root().join("target/fuzz-generic"))
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Calls into libFuzzer's coverage callbacks (`__sanitizer_cov_trace_*`) in the disassembly of
/// the functions whose name contains `function` (`objdump -d -C` output).
fn traced_calls(asm: &str, function: &str) -> usize {
    let mut inside = false;
    let mut n = 0;
    for l in asm.lines() {
        if l.ends_with(">:") {
            inside = l.contains(function);
        } else if inside && l.contains("__sanitizer_cov_trace") {
            n += 1;
        }
    }
    n
}

#[test]
fn decoder_fuzzes_itself_without_failures() {
    let _g = fuzz_lock();
    let bins = build_fuzz_crate("fuzz/decoder", &["decode_any"]);
    let tmp = Project::new();
    let out = Command::new(bins.join("decode_any"))
        .args(["-runs=20000", "-seed=1"])
        .current_dir(tmp.path())
        .env("VIRTUAL_ENV", venv())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    // The decoder is what this target explores, so here pyz3 is instrumented.
    let demo = coverage_counters(&fuzz_binaries().join("parse_string"));
    let own = coverage_counters(&bins.join("decode_any"));
    assert!(
        own > demo,
        "decoder target: {own} counters, demo target: {demo}"
    );
}

/// The demo targets instrument only the demo extension and its dependencies: the list in
/// fuzz/.cargo/config.toml is that closure, and pyz3's decoder carries no coverage calls.
#[test]
fn demo_targets_instrument_only_the_extension() {
    let config = std::fs::read_to_string(root().join("fuzz/.cargo/config.toml")).unwrap();
    let listed: Vec<String> = config
        .lines()
        .find_map(|l| l.strip_prefix("PYZ3_SANCOV_CRATES = "))
        .expect("PYZ3_SANCOV_CRATES in fuzz/.cargo/config.toml")
        .trim_matches('"')
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let closure =
        pyz3::fuzz::scope::instrumented_crates(&root().join("fuzz/Cargo.toml"), "pyz3-demo")
            .unwrap();
    assert_eq!(listed, closure);
    assert!(closure.iter().any(|c| c == "pyz3_demo"), "{closure:?}");
    assert!(!closure.iter().any(|c| c == "pyz3"), "{closure:?}");

    let _g = fuzz_lock();
    let dump = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn", "-C"])
        .arg(fuzz_binaries().join("parse_string"))
        .output()
        .unwrap();
    let asm = String::from_utf8_lossy(&dump.stdout).to_string();
    assert_eq!(
        traced_calls(&asm, "pyz3::fuzz::decode::decode_text"),
        0,
        "pyz3's decoder is instrumented"
    );
    assert!(
        traced_calls(&asm, "pyz3_demo::parse::") > 0,
        "the demo parser is not instrumented"
    );
    // One extra counter per storage width of the text argument.
    assert_eq!(
        section_size(
            &fuzz_binaries().join("parse_string"),
            "__libfuzzer_extra_counters"
        ),
        3
    );
}

#[test]
fn parse_string_planted_defect_is_found_and_reproduced() {
    let _g = fuzz_lock();
    let tmp = Project::new();
    let corpus = tmp.path().join("corpus");
    let art = tmp.path().join("artifacts/parse_string");
    std::fs::create_dir_all(&corpus).unwrap();
    std::fs::create_dir_all(&art).unwrap();
    let seeds = root().join("corpora/parse_string");
    let out = run_target(
        "parse_string",
        tmp.path(),
        &[
            corpus.to_str().unwrap(),
            seeds.to_str().unwrap(),
            &format!("-artifact_prefix={}/", art.display()),
            "-max_total_time=900",
            "-max_len=256",
            "-seed=3",
        ],
    );
    let log = text(&out);
    assert!(!out.status.success(), "no finding: {log}");
    assert!(log.contains("AddressSanitizer: SEGV"), "{log}");
    assert!(
        log.contains("write_through_null"),
        "the extension's frame: {log}"
    );
    let found = artifacts(&art);
    assert_eq!(found.len(), 1, "{log}");
    // The artifact decodes to a call that crashes a fresh python3 importing the built demo.
    let repro_dir = tmp.path().join("repro");
    let r = pyz3(tmp.path())
        .args([
            "fuzz",
            "repro",
            found[0].to_str().unwrap(),
            "--target",
            "parse_string",
            "--fuzz-dir",
            root().join("fuzz").to_str().unwrap(),
            "--target-dir",
            fuzz_target_dir().to_str().unwrap(),
            "--repro-dir",
            repro_dir.to_str().unwrap(),
        ])
        .run();
    assert!(r.status.success(), "{}", text(&r));
    let source = String::from_utf8_lossy(&r.stdout).to_string();
    assert!(
        source.contains("parse_string(") && source.contains("\\x00pyz3"),
        "{source}"
    );
    let script = artifacts(&repro_dir)
        .into_iter()
        .next()
        .expect("a reproducer");
    let demo = super::check::demo_dir();
    let run = Command::new(venv().join("bin/python"))
        .arg(&script)
        .env("PYTHONPATH", demo)
        .output()
        .unwrap();
    assert!(
        !run.status.success(),
        "the reproducer must fail: {}",
        text(&run)
    );
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&run.status),
        Some(11),
        "SIGSEGV: {}",
        text(&run)
    );
    // The same artifact given to another target is refused.
    let other = pyz3(tmp.path())
        .args([
            "fuzz",
            "repro",
            found[0].to_str().unwrap(),
            "--target",
            "word_count",
            "--fuzz-dir",
            root().join("fuzz").to_str().unwrap(),
            "--target-dir",
            fuzz_target_dir().to_str().unwrap(),
        ])
        .run();
    assert_eq!(other.status.code(), Some(2), "{}", text(&other));
    assert!(
        text(&other).contains("artifacts of target `parse_string`"),
        "{}",
        text(&other)
    );
}

#[test]
fn harness_findings_become_libfuzzer_crashes() {
    let _g = fuzz_lock();
    for (target, kind) in [
        ("leak_reference", "refcount"),
        ("null_without_error", "system-error"),
    ] {
        let tmp = Project::new();
        let out = run_target(
            target,
            tmp.path(),
            &["-max_total_time=120", "-seed=1", "-artifact_prefix=./"],
        );
        let log = text(&out);
        assert!(!out.status.success(), "{target}: {log}");
        assert!(
            log.contains(&format!("\"kind\":\"{kind}\"")),
            "{target}: {log}"
        );
        assert!(
            log.contains(&format!("pyz3: input: {target}(")),
            "{target}: {log}"
        );
        assert_eq!(artifacts(tmp.path()).len(), 1, "{target}: {log}");
    }
    // A correct function with a property: a bounded run finds nothing.
    let tmp = Project::new();
    let out = run_target("word_count", tmp.path(), &["-runs=30000", "-seed=1"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A C extension with a planted division by zero, compiled here with gcc.
fn c_extension(dir: &Path) {
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
    let py = venv().join("bin/python");
    let q = |code: &str| {
        let o = Command::new(&py).args(["-c", code]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let include = q("import sysconfig; print(sysconfig.get_paths()['include'])");
    let suffix = q("import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))");
    let status = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O1", "-I", &include, "-o"])
        .arg(dir.join(format!("cplant{suffix}")))
        .arg(dir.join("cplant.c"))
        .status()
        .unwrap();
    assert!(status.success());
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
        log.contains("coverage guidance comes only from instrumented code"),
        "{log}"
    );
    let arts = artifacts(&tmp.path().join(".pyz3/fuzz/artifacts/cplant.mean_per"));
    assert_eq!(arts.len(), 1, "{log}");
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
    let build_dir = root().join("target/fuzzlink-build");
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
    let bin = std::fs::read_dir(root().join("target/fuzz-generic"))
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
            root().join("fuzz").to_str().unwrap(),
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

/// Every committed seed decodes, with its target's argument types, to the small valid input
/// corpora/README.md describes.
#[test]
fn seed_corpora_decode_to_the_documented_inputs() {
    let decoded = |target: &str, types: &[&str]| -> Vec<(String, Vec<Value>)> {
        let shapes: Vec<Shape> = types.iter().map(|t| shape(t)).collect();
        let dir = root().join("corpora").join(target);
        let mut out: Vec<(String, Vec<Value>)> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| {
                let data = std::fs::read(e.path()).unwrap();
                let name = e.file_name().to_string_lossy().to_string();
                (name, decode_args(&shapes, &data))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(out.len() >= 4, "{target}: {} seeds", out.len());
        out
    };
    let ints = |v: &Value| -> Vec<i64> {
        match v {
            Value::List(xs) => xs
                .iter()
                .map(|x| match x {
                    Value::Int(i) => i64::try_from(i).unwrap(),
                    other => panic!("not an int: {other:?}"),
                })
                .collect(),
            other => panic!("not a list: {other:?}"),
        }
    };
    let lists: Vec<(String, Vec<i64>)> = decoded("leak_reference", &["list[int]"])
        .into_iter()
        .map(|(n, v)| (n, ints(&v[0])))
        .collect();
    assert_eq!(
        lists,
        [
            ("empty".to_string(), vec![]),
            ("negative".to_string(), vec![-1, -128]),
            ("one".to_string(), vec![1]),
            ("three".to_string(), vec![1, 2, 3]),
        ]
    );
    let xs: Vec<(String, Value)> = decoded("null_without_error", &["int"])
        .into_iter()
        .map(|(n, mut v)| (n, v.remove(0)))
        .collect();
    let expect = [
        ("minus_300", -300),
        ("minus_one", -1),
        ("one", 1),
        ("six", 6),
        ("zero", 0),
    ];
    assert_eq!(xs.len(), expect.len());
    for ((name, v), (en, ev)) in xs.iter().zip(expect) {
        assert_eq!((name.as_str(), v), (en, &Value::Int(BigInt::from(ev))));
    }
    for (name, v) in decoded("word_count", &["str"]) {
        let Value::Str(s) = &v[0] else {
            panic!("{name}: {v:?}")
        };
        let text = std::fs::read_to_string(root().join("corpora/word_count").join(&name)).unwrap();
        assert_eq!(
            s.0,
            text.chars().map(u32::from).collect::<Vec<_>>(),
            "{name}"
        );
    }
    for (name, v) in decoded("parse_string", &["str"]) {
        let Value::Str(s) = &v[0] else {
            panic!("{name}: {v:?}")
        };
        let text: String = s.0.iter().map(|&c| char::from_u32(c).unwrap()).collect();
        assert!(
            !text.is_empty() && text.is_ascii() || name.contains("utf16"),
            "{name}: {text:?}"
        );
    }
}
