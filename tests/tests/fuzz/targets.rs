//! The cargo-fuzz targets over the demo extension (real libFuzzer, nightly, AddressSanitizer):
//! instrumentation, the planted defect, harness findings as crashes.

use super::*;

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
    let config = std::fs::read_to_string(repo_root().join("fuzz/.cargo/config.toml")).unwrap();
    let listed: Vec<String> = config
        .lines()
        .find_map(|l| l.strip_prefix("PYZ3_SANCOV_CRATES = "))
        .expect("PYZ3_SANCOV_CRATES in fuzz/.cargo/config.toml")
        .trim_matches('"')
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let closure =
        pyz3::fuzz::scope::instrumented_crates(&repo_root().join("fuzz/Cargo.toml"), "pyz3-demo")
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
    // AddressSanitizer checks the extension's memory accesses, not the harness's.
    assert!(
        asan_calls(&asm, "pyz3_demo::parse::") > 0,
        "the demo parser is not checked by AddressSanitizer"
    );
    assert_eq!(
        asan_calls(&asm, "pyz3::fuzz::decode::"),
        0,
        "pyz3's decoder is checked by AddressSanitizer"
    );
    // One extra counter per storage width of the text argument, beside the argument-shape
    // counters (`SLOTS` in src/fuzz/shapes.rs, which stay zero in a binary with coverage of
    // its own).
    assert_eq!(
        section_size(
            &fuzz_binaries().join("parse_string"),
            "__libfuzzer_extra_counters"
        ),
        3 + 512
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
    let seeds = repo_root().join("corpora/parse_string");
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
            repo_root().join("fuzz").to_str().unwrap(),
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
    let demo = crate::check::demo_dir();
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
            repo_root().join("fuzz").to_str().unwrap(),
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

/// Without a sanitizer LLVM expands a `memcmp`/`bcmp` of a constant length (a slice compared
/// with a constant) into vector compares, whose traced operands are masks; the rustc wrapper keeps
/// it a call in the instrumented crates (`-max-loads-per-memcmp=0`), where libFuzzer's
/// interceptor sees the compared bytes, and `pyz3 build --fuzz`'s rustc flags do the same. Real
/// rustc (nightly, cargo-fuzz's coverage flags) through the real wrapper script, and with
/// `pyz3 build --fuzz`'s flags alone.
#[test]
fn the_wrapper_keeps_a_constant_comparison_a_memcmp_call_in_instrumented_crates() {
    let tmp = Project::new();
    let src = tmp.path().join("keyed.rs");
    std::fs::write(
        &src,
        "#[no_mangle]\npub fn keyed(b: &[u8]) -> usize {\n    \
         if b == b\"open-sesame-pyz3-key\" { return 7; }\n    b.len()\n}\n",
    )
    .unwrap();
    let wrapper = repo_root().join("src/fuzz/rustc-wrapper.sh");
    let sancov = [
        "-Cpasses=sancov-module",
        "-Cllvm-args=-sanitizer-coverage-level=4",
        "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
        "-Cllvm-args=-sanitizer-coverage-trace-compares",
    ];
    // The crates the wrapper instruments (`None`: no wrapper) and the flags -> the calls to
    // `bcmp`/`memcmp` and the vector compares in the object.
    let compiled = |crates: Option<&str>, flags: &[&str]| -> (usize, usize) {
        let name = crates.unwrap_or("plain");
        let obj = tmp.path().join(format!("{name}.o"));
        let mut cmd = match crates {
            Some(crates) => {
                let mut c = Command::new("sh");
                c.arg(&wrapper)
                    .arg("rustc")
                    .env("PYZ3_SANCOV_CRATES", crates);
                c
            }
            None => Command::new("rustc"),
        };
        let out = cmd
            .args(["+nightly", "--crate-type", "lib", "--crate-name", "keyed"])
            .args(["--emit", "obj", "-O"])
            .args(flags)
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let dump = Command::new("objdump")
            .arg("-dr")
            .arg(&obj)
            .output()
            .unwrap();
        let asm = String::from_utf8_lossy(&dump.stdout).to_string();
        (
            asm.lines()
                .filter(|l| l.contains("bcmp") || l.contains("memcmp"))
                .count(),
            asm.lines().filter(|l| l.contains("pcmpeq")).count(),
        )
    };
    let (calls, vector) = compiled(Some("keyed"), &sancov);
    assert!(
        calls > 0 && vector == 0,
        "instrumented: {calls} calls, {vector} vector compares"
    );
    // A crate the wrapper leaves uninstrumented is compiled as usual: the compare is expanded
    // (so the check above can fail).
    let (calls, vector) = compiled(Some("other"), &sancov);
    assert!(
        calls == 0 && vector > 0,
        "uninstrumented: {calls} calls, {vector} vector compares"
    );
    // `pyz3 build --fuzz`'s rustc flags, without the wrapper.
    let (calls, vector) = compiled(None, &pyz3::toolchain::fuzz_flags::RUST_FLAGS);
    assert!(
        calls > 0 && vector == 0,
        "pyz3 build --fuzz: {calls} calls, {vector} vector compares"
    );
}
