//! Fuzzing: the typed decoder (total, local, direct, round-tripping through real Python), the
//! cargo-fuzz targets over the demo extension, `pyz3 fuzz` on a C extension compiled here,
//! artifacts → reproducers in a fresh python3, and bad input.

use crate::util::{repo_root, Project, Pyz3};
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

/// One fuzz build at a time: they share target directories.
fn fuzz_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn fuzz_target_dir() -> PathBuf {
    repo_root().join("target/fuzz")
}

/// `cargo fuzz build` of every target of the cargo-fuzz crate `dir` (fuzz/ or one below it),
/// run from that directory as a user would, so its `.cargo/config.toml` applies. Checks that
/// `cargo fuzz list` shows `names`; returns the binaries' directory (target/`dir` with `-` for
/// `/`).
fn build_fuzz_crate(dir: &str, names: &[&str]) -> PathBuf {
    let crate_dir = repo_root().join(dir);
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
    let target_dir = repo_root().join("target").join(dir.replace('/', "-"));
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
        .unwrap_or_else(|| repo_root().join(".venv"))
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
    v.retain(|p| {
        let p = p.to_string_lossy();
        !p.ends_with(".json") && !p.ends_with(".report.txt")
    });
    v.sort();
    v
}

/// `pyz3` in `dir`, with one shared build directory for fuzz targets and one user cache.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir)
        .env(
            "PYZ3_FUZZ_TARGET_DIR",
            repo_root().join("target/fuzz-generic"),
        )
        .env("PYZ3_CACHE_DIR", repo_root().join("target/pyz3-cache"))
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
    calls_to(asm, function, "__sanitizer_cov_trace")
}

/// Calls to AddressSanitizer's checks (`__asan_*`) in the functions of `asm` (objdump -d -C)
/// whose names contain `function`.
fn asan_calls(asm: &str, function: &str) -> usize {
    calls_to(asm, function, "__asan_")
}

fn calls_to(asm: &str, function: &str, callee: &str) -> usize {
    let mut inside = false;
    let mut n = 0;
    for l in asm.lines() {
        if l.ends_with(">:") {
            inside = l.contains(function);
        } else if inside && l.contains(callee) {
            n += 1;
        }
    }
    n
}

/// Every committed seed decodes, with its target's argument types, to the small valid input
/// corpora/README.md describes.
#[test]
fn seed_corpora_decode_to_the_documented_inputs() {
    let decoded = |target: &str, types: &[&str]| -> Vec<(String, Vec<Value>)> {
        let shapes: Vec<Shape> = types.iter().map(|t| shape(t)).collect();
        let dir = repo_root().join("corpora").join(target);
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
        let text =
            std::fs::read_to_string(repo_root().join("corpora/word_count").join(&name)).unwrap();
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

/// Hostile values are decoded only when asked for: tag `0x78` in an any-typed position is a
/// hostile object, a `Callable` parameter a callback; every input still decodes and pickles.
#[test]
fn hostile_tags_pick_hostile_objects_only_when_on() {
    let list = [pyz3::strategy::Shape::List(Box::new(
        pyz3::strategy::Shape::Any,
    ))];
    // One element: tag 0x78, base Int, payload 3, action Clear, in every method.
    let data = [1u8, 0x78, 0, 3, 0, 0, 0];
    let on = pyz3::fuzz::decode::decode_args_with(&list, &data, true);
    let pyz3::value::Value::List(items) = &on[0] else {
        panic!("{on:?}")
    };
    let pyz3::value::Value::Hostile(h) = &items[0] else {
        panic!("{items:?}")
    };
    assert_eq!(h.base, pyz3::value::HostileBase::Int);
    assert_eq!(*h.payload, pyz3::value::Value::int(3));
    assert!(h
        .behaviours
        .iter()
        .all(|b| b.action == pyz3::value::Action::Clear));
    assert_eq!(
        h.behaviours.len(),
        pyz3::value::HostileBase::Int.methods().len()
    );
    let off = pyz3::fuzz::decode::decode_args_with(&list, &data, false);
    assert!(!off[0].has_hostile(), "{off:?}");
    // A `Callable` parameter: a callback, hostile for an odd first byte.
    let cb =
        pyz3::fuzz::decode::decode_args_with(&[pyz3::strategy::Shape::Callable], &[1, 4, 1], true);
    assert!(cb[0].has_hostile(), "{cb:?}");
    let cb = pyz3::fuzz::decode::decode_args_with(&[pyz3::strategy::Shape::Callable], &[0], true);
    assert!(
        matches!(&cb[0], pyz3::value::Value::Hostile(h) if h.base == pyz3::value::HostileBase::Callable && !h.is_hostile())
    );
    // Every input decodes, hostile values included, and pickles.
    let mut seed = 0x1234_5678u32;
    for _ in 0..2000 {
        let n = (seed % 64) as usize;
        let bytes: Vec<u8> = (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        let args = pyz3::fuzz::decode::decode_args_with(
            &[
                pyz3::strategy::Shape::List(Box::new(pyz3::strategy::Shape::Any)),
                pyz3::strategy::Shape::Callable,
            ],
            &bytes,
            true,
        );
        pyz3::value::args_pickle(&args).unwrap();
    }
}

#[path = "fuzz/cache.rs"]
mod cache;
#[path = "fuzz/cflite.rs"]
mod cflite;
#[path = "fuzz/command.rs"]
mod command;
#[path = "fuzz/hostile.rs"]
mod hostile;
#[path = "fuzz/scope.rs"]
mod scope;
#[path = "fuzz/targets.rs"]
mod targets;
