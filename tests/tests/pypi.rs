//! `pyz3 check` on real extensions, as a new user runs it: the PyPI packages pinned in
//! requirements.txt (installed into the project virtualenv by `scripts/setup.sh`) and ten C
//! modules of the standard library (their stubs come from the typeshed inside mypy, which pyz3
//! finds by itself). The known defects are found with no configuration, each confirmed by a
//! plain Python reproducer, and correct extensions give no false alarm.
//!
//! The checks run the release binary (built here if needed; CI has built it already): most of
//! a run is generation and the worker's calls, and a debug build generates several times slower.

use crate::util::{venv_python, Assert, Project};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value as Json;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The release binary, built first (a no-op when it is up to date).
fn release_pyz3() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--bin", "pyz3"])
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", build.stderr_text());
    PathBuf::from(format!("{ROOT}/target/release/pyz3"))
}

/// `pyz3 check ARGS --json r.json` in `dir` with the project's virtualenv active: the output
/// and the report.
fn check(dir: &Path, args: &[&str]) -> (Output, Json) {
    let out = Command::new(release_pyz3())
        .arg("check")
        .args(args)
        .args(["--json", "r.json"])
        .current_dir(dir)
        .env("VIRTUAL_ENV", format!("{ROOT}/.venv"))
        .output()
        .unwrap();
    let text = std::fs::read_to_string(dir.join("r.json")).unwrap_or_else(|_| {
        panic!(
            "no report: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            out.stderr_text()
        )
    });
    (out, serde_json::from_str(&text).unwrap())
}

/// (function, [(kind, input)]) of a report.
fn findings(report: &Json) -> Vec<(String, Vec<(String, String)>)> {
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let found = f["findings"]
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
            (f["name"].as_str().unwrap().to_string(), found)
        })
        .collect()
}

/// Runs `code` in the project's interpreter: how it ended (signal or exit code) and its stdout.
fn python(code: &str) -> (Option<i32>, Option<i32>, String) {
    use std::os::unix::process::ExitStatusExt;
    let out = Command::new(venv_python())
        .args(["-c", code])
        .output()
        .unwrap();
    (
        out.status.signal(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

/// mmh3 5.3.1: the hash functions crash on a lone surrogate (`mmh3.hash('\ud800')`: SIGSEGV),
/// and `hash_from_buffer` keeps its argument's buffer exported when the seed is out of range
/// (found through the `seed` parameter, which has a default). Both with no options but the
/// functions to check: the whole module takes 45 s (each crash costs a fresh worker, and
/// `hash`, `hash64`, `hash128` and `hash_bytes` crash on every string with a surrogate);
/// `benches/real_world.py` runs all of it.
#[test]
fn mmh3_crash_and_leaked_buffer_are_found_with_no_options() {
    let tmp = Project::new();
    let (out, report) = check(
        tmp.path(),
        &[
            "mmh3",
            "--function",
            "hash",
            "--function",
            "hash_from_buffer",
            "--function",
            "mmh3_32_digest",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let found = findings(&report);
    assert_eq!(found.len(), 3, "{found:?}");
    for (name, kinds) in &found {
        match name.as_str() {
            "hash" | "hash64" | "hash128" | "hash_bytes" => {
                assert_eq!(kinds, &[("crash".into(), "('\\ud800',)".into())], "{name}")
            }
            "hash_from_buffer" => {
                assert_eq!(kinds.len(), 1, "{kinds:?}");
                assert_eq!(kinds[0].0, "refcount", "{kinds:?}");
            }
            _ => assert!(kinds.is_empty(), "{name}: {kinds:?}"),
        }
    }
    // The defects, by hand.
    let (signal, _, _) = python("import mmh3; mmh3.hash('\\ud800')");
    assert_eq!(signal, Some(11));
    let (_, code, text) = python(
        "import mmh3\nb = bytearray(b'ab')\ntry:\n    mmh3.hash_from_buffer(b, -1)\n\
         except ValueError as e:\n    print(e)\ntry:\n    b.append(1)\n\
         except BufferError as e:\n    print('BufferError:', e)\n",
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        text,
        "seed is out of range\nBufferError: Existing exports of data: object cannot be re-sized"
    );
}

/// ujson 6.1.0 leaves the error of a failed conversion set and goes on encoding; the next call
/// into Python code (a `Fraction` key's `__str__`) then raises `SystemError`. Found at the
/// default seed; 2,000 cases, since only particular documents reach it (a signalling NaN
/// `Decimal`, or keys `sort_keys=True` cannot order, followed in a later dict by a key with a
/// `__str__` written in Python: lists of dicts, "records", are generated for that shape). Takes
/// a few seconds.
#[test]
fn ujson_system_error_after_a_failed_conversion_is_found() {
    let tmp = Project::new();
    let (out, report) = check(tmp.path(), &["ujson:dumps", "--cases", "2000"]);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let found = findings(&report);
    assert_eq!(found.len(), 1);
    let kinds: Vec<&str> = found[0].1.iter().map(|(k, _)| k.as_str()).collect();
    assert!(kinds.contains(&"system-error"), "{found:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    // Hostile values in the document (`obj: Any`) also reach ujson's re-entrancy crash (a
    // `__repr__` or `__hash__` that empties the dict being encoded): a real bug, allowed here,
    // and only ever from a case with hostile values.
    for kind in &kinds {
        assert!(matches!(*kind, "system-error" | "crash"), "{found:?}");
    }
    if kinds.contains(&"crash") {
        assert!(
            text.contains("with hostile values in the arguments"),
            "{text}"
        );
    }
    assert!(
        text.contains("returned a result with an exception set"),
        "{text}"
    );
    assert!(!text.contains("did not reproduce"), "{text}");
    // The float conversion of issue 19, by hand (once a first dict has been encoded: before
    // that, the error is lost and the NaN written as -1.0).
    let (_, code, text) = python(
        "import decimal, fractions, ujson\nujson.dumps({})\ntry:\n    \
         ujson.dumps([decimal.Decimal('sNaN'), {fractions.Fraction(1, 3): 1}])\n\
         except SystemError as e:\n    print('SystemError caused by', repr(e.__cause__))\n",
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        text,
        "SystemError caused by ValueError('cannot convert signaling NaN to float')"
    );
}

/// A real bug a sweep may find: (module, function, kind). Each is confirmed by hand in the test
/// that allows it. Whether the sweep sees it can depend on memory the target does not own (a
/// read past the end of a buffer), so it is allowed, not required.
type Known = (&'static str, &'static str, &'static str);

/// Runs each module with its arguments (`--cases 2000`, fewer for the slowest, as listed) and
/// expects no finding but the `known` real bugs (exit 1 if one of them is found, else 0): the
/// zero-false-positive sweep.
fn no_false_alarms(modules: &[(&str, &[&str])], known: &[Known]) {
    let tmp = Project::new();
    let mut failures = Vec::new();
    for (module, args) in modules {
        let started = Instant::now();
        let mut all = vec![*module];
        all.extend_from_slice(args);
        let (out, report) = check(tmp.path(), &all);
        let mut expected = Vec::new();
        let found: Vec<_> = findings(&report)
            .into_iter()
            .filter_map(|(name, kinds)| {
                let (real, other): (Vec<_>, Vec<_>) = kinds
                    .into_iter()
                    .partition(|(k, _)| known.contains(&(*module, name.as_str(), k.as_str())));
                expected.extend(real.into_iter().map(|(k, _)| (name.clone(), k)));
                (!other.is_empty()).then_some((name, other))
            })
            .collect();
        if !expected.is_empty() {
            eprintln!("{module}: known bugs found: {expected:?}");
        }
        let cases = args.get(1).copied().unwrap_or("?");
        let checked = report["functions"].as_array().unwrap().len();
        eprintln!(
            "{module}: {checked} functions, {cases} cases each, {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(checked > 0, "{module}: nothing checked");
        let exit = if expected.is_empty() { 0 } else { 1 };
        if out.status.code() != Some(exit) || !found.is_empty() {
            failures.push(format!(
                "{module}: exit {:?}, {found:?}\n{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const FULL: &[&str] = &["--cases", "2000"];

/// orjson, xxhash, jiter, msgpack and regex: 2,000 cases per function, no finding but one real
/// bug. regex gets 500: its Python-level API compiles every pattern it is given, the slowest
/// here per call.
///
/// The bugs: regex 2026.12.2's `sub` and `subn` raise `SystemError` when the replacement is
/// neither a string nor a callable (`regex.sub('l', 0, '0')`: the `TypeError` of reading it as
/// a buffer stays set), found at 2,000 cases (allowed, not required at 500).
///
/// orjson 3.13.0's `dumps` keeps walking a list after its `default` callback cleared
/// it (a hostile callback, docs/hostile-values.md): `dumps([0, [0j, 0]], default)` with a
/// `default` that clears the outer list uses freed items (a crash under the system allocator
/// filling freed memory, as the check runs). Allowed, not required.
#[test]
fn no_false_alarms_on_pypi_extensions() {
    no_false_alarms(
        &[
            ("orjson", FULL),
            ("xxhash", FULL),
            ("jiter", FULL),
            ("msgpack", FULL),
            ("regex", &["--cases", "500"]),
        ],
        &[
            ("orjson", "dumps", "crash"),
            ("regex", "sub", "system-error"),
            ("regex", "subn", "system-error"),
        ],
    );
    // The regex bug by hand: a replacement that is neither a string nor a callable leaves its
    // TypeError set, and the module import that follows raises SystemError.
    let (_, code, text) = python(
        "import regex\ntry:\n    regex.sub('l', 0, '0')\nexcept SystemError as e:\n    \
         print('SystemError caused by', repr(e.__cause__))\n",
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        text,
        "SystemError caused by TypeError(\"a bytes-like object is required, not 'int'\")"
    );
}

/// `operator`'s in-place functions, declared as changing their first argument (what they are
/// for; their stubs return `Any`, so pyz3 cannot tell): 500 cases each, for its 54 functions.
const OPERATOR: [&str; 30] = [
    "--cases",
    "500",
    "--mutates",
    "iadd",
    "--mutates",
    "iand",
    "--mutates",
    "iconcat",
    "--mutates",
    "ifloordiv",
    "--mutates",
    "ilshift",
    "--mutates",
    "imatmul",
    "--mutates",
    "imod",
    "--mutates",
    "imul",
    "--mutates",
    "ior",
    "--mutates",
    "ipow",
    "--mutates",
    "irshift",
    "--mutates",
    "isub",
    "--mutates",
    "itruediv",
    "--mutates",
    "ixor",
];

/// Ten C modules of the standard library, with typeshed's stubs found by pyz3: 2,000 cases per
/// function, no finding but one real bug. Fewer cases where a run is slow: math 100 with a
/// limit of 100 ms (its `factorial`, `comb` and `perm` are slow on most huge ints, not hung:
/// see `math_factorial_is_slow_not_hung`; every call over the limit costs the limit), operator
/// 500 (54 functions), `_heapq` 500 (its lists of any values compare slowly). `_heapq`'s pops
/// are declared as changing the heap (their stubs return
/// the item, so pyz3 cannot tell); its `heapify` and `heappush`, and `_bisect`'s `insort_*`,
/// return `None`, which pyz3 reads as changing their arguments.
///
/// The bugs: with hostile values, CPython 3.11.7 crashes in `_bisect.insort_right` when an
/// item's `__lt__` removes the item from the list being compared
/// (`insort_right([0, 0, [''], 0], [IntRemovesItselfOnLt(30), 0])`: the list comparison
/// calls `__lt__` on an item it does not hold a reference to; the reproducer segfaults a
/// fresh interpreter). Any of the four functions may reach it: allowed, not required.
///
/// `binascii.a2b_uu` reads the byte after an empty buffer (the uuencoded length
/// character it expects first), so its result depends on memory it does not own. pyz3 sees
/// two calls on equal empty NumPy arrays give results of different lengths (nondeterministic)
/// when the bytes after the two arrays' buffers differ, which they often do but not always:
/// allowed, not required, and shown by hand below.
#[test]
fn no_false_alarms_on_stdlib_c_modules() {
    no_false_alarms(
        &[
            ("binascii", FULL),
            ("zlib", FULL),
            ("math", &["--cases", "100", "--timeout-ms", "100"]),
            ("cmath", FULL),
            ("operator", &OPERATOR),
            ("_bisect", FULL),
            (
                "_heapq",
                &[
                    "--cases",
                    "500",
                    "--mutates",
                    "heappop",
                    "--mutates",
                    "heappushpop",
                    "--mutates",
                    "heapreplace",
                ],
            ),
            ("unicodedata", FULL),
            ("struct", FULL),
            ("_json", FULL),
        ],
        &[
            ("binascii", "a2b_uu", "nondeterministic"),
            ("_bisect", "insort_right", "crash"),
            ("_bisect", "insort_left", "crash"),
            ("_bisect", "bisect_right", "crash"),
            ("_bisect", "bisect_left", "crash"),
        ],
    );
    // The binascii bug by hand: an empty view of b'xxxx' decodes to 24 bytes, the length that
    // the byte after the view ('x') encodes; an empty bytes object reads its terminating NUL.
    let (_, code, text) = python(
        "import binascii
print(len(binascii.a2b_uu(memoryview(b'xxxx')[:0])),          len(binascii.a2b_uu(memoryview(b'MMMM')[:0])))",
    );
    assert_eq!(code, Some(0));
    assert_eq!(text, "24 45");
}

/// `math.factorial` on huge ints is slow, not hung: with typeshed's stub (`x: SupportsIndex`,
/// ints, a quarter of them over 2^32), nothing is reported as a `timeout` and the run exits 0.
/// (An int that takes hours hangs at ten times the limit; shrunk, it becomes the smallest int
/// over the limit, which finishes: slow, not hung.) A limit of 100 ms keeps the retries short.
#[test]
fn math_factorial_is_slow_not_hung() {
    let tmp = Project::new();
    let (out, report) = check(tmp.path(), &["math:factorial", "--timeout-ms", "100"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", out.stderr_text());
    assert!(
        out.stderr_text().contains("typeshed/stdlib/math"),
        "{}",
        out.stderr_text()
    );
    assert_eq!(findings(&report), vec![("factorial".to_string(), vec![])]);
}
