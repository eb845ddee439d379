//! A pyZ3 project: a Zig extension module with a C helper, declared as `[[tool.pyz3.ext_module]]`
//! and built by the framework from PyPI (`pyz3` 0.11 with Zig 0.15 from `ziglang`, in the
//! environment scripts/python-zig.sh makes; sources in tests/fixtures/zig/). The project's
//! `[tool.pyz3]` table holds pyz3's own `python` setting next to the framework's keys.
//!
//! The suite passes in an ordinary build and the project's tree is left as it was; under
//! `--sanitize address` the planted heap overflow in the C helper is found by AddressSanitizer and
//! the planted out-of-bounds index in the Zig code by Zig's safety checks, each with its frame and
//! test id; under `--sanitize undefined` the planted signed overflow in the C helper by Zig's UBSan
//! runtime, with its C line; the fixed project is clean under both; coverage, which Zig cannot
//! have, is one line and exit 2; under `--sanitize leak` the planted lost block in the Zig code,
//! and under `--sanitize thread` (Zig's `sanitize_thread`, which the framework's build script has
//! no option for) the planted data race in the Zig code, are found with their Zig lines, and the
//! fixed project exits 0 under both; `pyz3 check` on the built module (stub from the framework's
//! generator) finds the planted reference leak, lost block and crash and nothing on the correct
//! functions; `pyz3 bench` runs.

use crate::backends::{finding, findings, passed, tree, Variant};
use crate::util::{fixture, render, Assert, Project, Pyz3};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const M: &str = "zig_ext";

/// The pyZ3 framework's environment: `PYZ3_TEST_PYTHON_ZIG` (set by scripts/test.sh), else where
/// scripts/python-zig.sh puts it. Missing is a failure, not a skip.
fn zig_python() -> PathBuf {
    if let Some(p) = std::env::var_os("PYZ3_TEST_PYTHON_ZIG") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("PYZ3_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/pyz3"));
    let p = cache.join("venv-zig/bin/python");
    assert!(
        p.exists(),
        "no pyZ3 environment at {}: run scripts/python-zig.sh (scripts/test.sh does)",
        p.display()
    );
    p
}

pub(crate) fn source(rel: &str, variant: Variant) -> String {
    let python = zig_python().display().to_string();
    let text = render(&fixture(rel), &[("module", M), ("python", &python)]);
    match variant {
        Variant::Planted => text,
        Variant::Clean => crate::common::with_fixes(&text),
    }
}

pub(crate) fn project() -> Project {
    let v = Variant::Planted;
    Project::new()
        .file("pyproject.toml", &source("zig/pyproject.toml", v))
        .file(&format!("src/{M}.zig"), &source("zig/ext.zig", v))
        .file("src/helper.c", &source("zig/helper.c", v))
        .file("include/helper.h", &source("zig/helper.h", v))
        .file("zpkg/__init__.py", "")
        .file("tests/test_ext.py", &source("zig/test_ext.py", v))
}

/// `pyz3 test [--sanitize LIST] --json`: exit code, report and what was shown.
fn test(dir: &Path, list: &str) -> (i32, serde_json::Value, String) {
    crate::backends::test(dir, list)
}

#[test]
fn pyz3_project_suite_safety_checks_asan_check_and_bench() {
    let _cores = crate::util::cores();
    let dir = project();
    let before = tree(dir.path());

    // The ordinary build: the suite passes; the framework's generated build script, Zig's cache
    // and the built module stay under .pyz3/.
    let (code, report, shown) = test(dir.path(), "");
    assert_eq!(code, 0, "{shown}");
    assert_eq!(passed(&report), 6, "{shown}");
    assert!(shown.contains("ReleaseSafe"), "{shown}");
    assert_eq!(tree(dir.path()), before, "the build wrote into the project");

    // `pyz3 check` on the ordinary build's module, with the stub the framework generates.
    let lib = dir.join(".pyz3/build/plain/lib");
    let so = lib.join(format!("zpkg/{M}.abi3.so"));
    assert!(so.is_file(), "{}", so.display());
    let stubs = dir.join("stubs");
    std::fs::create_dir_all(stubs.join("zpkg")).unwrap();
    let out = std::process::Command::new(zig_python())
        .args(["-m", "pyz3.generate_stubs", &format!("zpkg.{M}")])
        .arg(&stubs)
        .env("PYTHONPATH", &lib)
        .current_dir("/")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stub = stubs.join(format!("zpkg/{M}.pyi"));
    let json = dir.join("check.json");
    let out = Pyz3::new(dir.path())
        .args([
            "check",
            so.to_str().unwrap(),
            "--stubs",
            stub.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ])
        .run();
    out.assert_exit(1);
    let shown = out.shown();
    let check: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // The C helper's heap overflow corrupts malloc's bookkeeping: glibc may abort on some
    // inputs (a true crash of `fill`), or not, without a sanitizer. Its signed overflow traps
    // in the `ReleaseSafe` build (C sources under `-fsanitize-c=trap`), a true crash of `add32`
    // when two inputs reach it.
    let found: Vec<(String, String)> = crate::util::report::found(&check)
        .into_iter()
        .filter(|(f, k)| !((f == "fill" || f == "add32") && k == "crash"))
        .collect();
    assert_eq!(
        found,
        [
            ("hold", "memory-leak"),
            ("keep", "refcount"),
            ("pick", "crash"),
        ]
        .map(|(f, k)| (f.to_string(), k.to_string())),
        "{shown}"
    );
    let checked: BTreeSet<&str> = check["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(
        checked,
        BTreeSet::from(["add", "add32", "bump", "fill", "hold", "keep", "pick"]),
        "{shown}"
    );

    // `pyz3 bench` on the release build.
    dir.write(
        "benches/bench_ext.py",
        &format!("from zpkg import {M}\n\n\ndef bench_add():\n    {M}.add(2, 3)\n",),
    );
    let out = Pyz3::new(dir.path())
        .args(["bench", "--processes", "2", "--samples", "10"])
        .run();
    out.assert_exit(0);
    let shown = out.shown();
    assert!(shown.contains("ReleaseFast"), "{shown}");
    assert!(
        out.stdout_text()
            .lines()
            .any(|l| l.starts_with("bench_ext::bench_add ")),
        "{shown}"
    );

    // Under --sanitize address: AddressSanitizer in the C helper, Zig's safety checks in the Zig
    // code (a test that indexes past the table), each with its frame and test id; the other
    // tests run on after the crashes.
    dir.write(
        "tests/test_ext.py",
        &(source("zig/test_ext.py", Variant::Planted)
            + &format!("\n\ndef test_pick_past_the_end():\n    assert {M}.pick(7) in (0, None)\n")),
    );
    let (code, report, shown) = test(dir.path(), "address");
    assert_eq!(code, 1, "{shown}");
    assert_eq!(
        findings(&report),
        BTreeSet::from([
            finding(
                "heap-buffer-overflow",
                "test_fill",
                "fill_sum",
                "src/helper.c"
            ),
            finding(
                "index-out-of-bounds",
                "test_pick_past_the_end",
                "pick",
                &format!("src/{M}.zig")
            ),
        ]),
        "{shown}"
    );
    assert_eq!(passed(&report), 5, "{shown}");

    // Under --sanitize undefined (`Debug`, the C helper under Zig's `-fsanitize-c`): the
    // helper's signed overflow, named with its C line by Zig's UBSan runtime, and the Zig
    // safety check again; no AddressSanitizer, so `fill`'s overflow goes unnoticed.
    let tests = source("zig/test_ext.py", Variant::Planted)
        + &format!(
            "\n\ndef test_pick_past_the_end():\n    assert {M}.pick(7) in (0, None)\n\
             \n\ndef test_add32_wraps():\n    assert {M}.add32(2**31 - 1, 1) in (-(2**31), 2**31)\n"
        );
    dir.write("tests/test_ext.py", &tests);
    let (code, report, shown) = test(dir.path(), "undefined");
    assert_eq!(code, 1, "{shown}");
    assert_eq!(
        findings(&report),
        BTreeSet::from([
            finding(
                "signed-integer-overflow",
                "test_add32_wraps",
                "add_i32",
                "src/helper.c"
            ),
            finding(
                "index-out-of-bounds",
                "test_pick_past_the_end",
                "pick",
                &format!("src/{M}.zig")
            ),
        ]),
        "{shown}"
    );
    assert_eq!(passed(&report), 6, "{shown}");

    // Fixed, the same project is clean under the same checks.
    dir.write(
        &format!("src/{M}.zig"),
        &source("zig/ext.zig", Variant::Clean),
    );
    dir.write("src/helper.c", &source("zig/helper.c", Variant::Clean));
    for list in ["address", "undefined"] {
        let (code, report, shown) = test(dir.path(), list);
        assert_eq!(code, 0, "{list}\n{shown}");
        assert!(findings(&report).is_empty(), "{list}\n{shown}");
        assert_eq!(passed(&report), 8, "{list}\n{shown}");
    }

    // An environment without the framework: one line saying what to install, exit 2.
    let venv_python = Path::new(crate::util::VENV).join("bin/python");
    let out = Pyz3::new(dir.path())
        .args(["build", "--python", venv_python.to_str().unwrap()])
        .run();
    out.assert_exit(2);
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.contains("the pyZ3 framework is not installed")
            && last.contains("pip install pyz3 ziglang"),
        "{err}"
    );

    // A build that fails: Zig's error on the last line, exit 2.
    dir.write(
        &format!("src/{M}.zig"),
        &source("zig/ext.zig", Variant::Clean)
            .replace("return args.a +% args.b;", "return args.a +% ;"),
    );
    let out = Pyz3::new(dir.path()).args(["build"]).run();
    out.assert_exit(2);
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("pyz3: error: the pyZ3 build of")
            && last.contains(&format!("src/{M}.zig:"))
            && last.contains("error:"),
        "{err}"
    );
    dir.write(
        &format!("src/{M}.zig"),
        &source("zig/ext.zig", Variant::Clean),
    );

    // Doctor names the framework and Zig in its environment.
    let json = dir.join("doctor.json");
    let out = Pyz3::new(dir.path())
        .args(["doctor", "--json", json.to_str().unwrap()])
        .run();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for (row, version) in [("pyZ3", "0.11."), ("zig", "0.15.")] {
        let c = doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == row)
            .unwrap_or_else(|| panic!("no {row} row\n{}", out.shown()));
        assert_eq!(c["ok"], true, "{c}");
        assert!(c["found"].as_str().unwrap().starts_with(version), "{c}");
    }

    // Coverage, which Zig cannot have: one line, exit 2.
    let out = Pyz3::new(dir.path()).args(["test", "--coverage"]).run();
    out.assert_exit(2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--coverage is not available for pyZ3 (Zig) projects") && err.contains("wrap"),
        "{err}"
    );
}

#[test]
fn pyz3_project_leak_under_leak_and_data_race_under_thread() {
    let _cores = crate::util::cores();
    let dir = project();
    let before = tree(dir.path());

    // The planted leak: a block from Zig's C allocator, lost. LeakSanitizer needs no
    // instrumentation (the `address` build, run with leak checks): it is found in the Zig code,
    // in its test. The framework's module state, allocated at import and lost at exit, is not
    // reported.
    let (code, report, shown) = test(dir.path(), "leak");
    assert_eq!(code, 1, "{shown}");
    assert_eq!(
        findings(&report),
        BTreeSet::from([
            finding(
                "heap-buffer-overflow",
                "test_fill",
                "fill_sum",
                "src/helper.c"
            ),
            finding(
                "leak",
                "test_hold",
                &format!("{M}.hold"),
                &format!("src/{M}.zig")
            ),
        ]),
        "{shown}"
    );
    assert_eq!(passed(&report), 5, "{shown}");

    // The planted race: two threads add to one counter with the GIL released, in Zig. It is
    // found in the Zig code (Zig's symbol: the module's name, then the function's), with its
    // line and the test id. ThreadSanitizer also sees the C helper's write past its block (as a
    // use after free), in `test_fill` only.
    let (code, report, shown) = test(dir.path(), "thread");
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("thread: Debug"), "{shown}");
    let race = finding(
        "data-race",
        "test_bump_in_two_threads",
        &format!("{M}.bump"),
        &format!("src/{M}.zig"),
    );
    let fill = finding(
        "heap-use-after-free",
        "test_fill",
        "fill_sum",
        "src/helper.c",
    );
    let found = findings(&report);
    assert!(found.contains(&race), "{shown}");
    assert!(
        found.iter().all(|f| *f == race || *f == fill),
        "{found:?}\n{shown}"
    );
    assert_eq!(passed(&report), 6, "{shown}");
    assert_eq!(tree(dir.path()), before, "the build wrote into the project");

    // Fixed (the block freed, an atomic add, the helper in bounds): both exit 0.
    dir.write(
        &format!("src/{M}.zig"),
        &source("zig/ext.zig", Variant::Clean),
    );
    dir.write("src/helper.c", &source("zig/helper.c", Variant::Clean));
    for list in ["leak", "thread"] {
        let (code, report, shown) = test(dir.path(), list);
        assert_eq!(code, 0, "{list}\n{shown}");
        assert!(findings(&report).is_empty(), "{list}\n{shown}");
        assert_eq!(passed(&report), 6, "{list}\n{shown}");
    }
}
