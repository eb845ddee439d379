//! Snapshots of every text and Markdown writer fed fixed data: the check report, bench's
//! comparison tables and results, coverage's table, the sanitize summary and doctor's table.
//! A change in what a person reads shows up as a diff of the `.snap` file beside this one
//! (`tests/tests/snapshots/`); under `CI=true` insta writes nothing and a difference fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pyz3::bench::baseline::{BenchResult, Mode};
use pyz3::bench::compare::{Comparison, Row, Verdict};
use pyz3::bench::report as bench_report;
use pyz3::check::slow::SlowInput;
use pyz3::coverage::{Counts, CoverageReport, FileCoverage, FunctionCoverage};
use pyz3::doctor::{self, Check};
use pyz3::report::run::{FunctionEntry, SlowEntry};
use pyz3::report::RunReport;
use pyz3::report::{Finding, Frame};
use pyz3::sanitize::run::{Entry, PytestSummary};
use pyz3::sanitize::{SanitizerSet, TestReport};

/// What a writer wrote, as text; ANSI escapes shown as `<ESC>` so colours read in the snapshot.
fn written(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    write(&mut out).unwrap();
    String::from_utf8(out).unwrap().replace('\x1b', "<ESC>")
}

/// A finding from its JSON form (the fields a report file carries).
fn finding(json: serde_json::Value) -> Finding {
    serde_json::from_value(json).unwrap()
}

// ----- pyz3 check -----

fn check_report() -> RunReport {
    let crash = finding(serde_json::json!({
        "kind": "crash",
        "input": "(32769,)",
        "message": "the worker died: SIGSEGV",
        "traceback": (1..=14).map(|i| format!("frame {i}")).collect::<Vec<_>>().join("\n"),
        "reproducer": "repro/crash_on_big_crash.py",
    }));
    let mismatch = finding(serde_json::json!({
        "kind": "oracle-mismatch",
        "input": "([1.5, Decimal('2')],)",
        "imports": ["decimal"],
        "message": "expected: 1.75\nactual:   1.7",
        "reproducer": "repro/mean_oracle-mismatch.py",
    }));
    let leak = finding(serde_json::json!({
        "kind": "refcount",
        "input": "(x,)",
        "message": "the argument's reference count grew by 1 per call",
    }));
    let race = finding(serde_json::json!({
        "kind": "thread-safety",
        "input": "(1,)",
        "message": "results differ from the same calls made one at a time",
        "threads": {
            "scenario": "own-arguments",
            "threads": 2,
            "round": 3,
            "inputs": ["(1,)", "(2,)"],
            "seconds": 0.25,
        },
    }));
    RunReport::check(
        "cdemo",
        true,
        vec![
            FunctionEntry {
                name: "good".into(),
                cases: 2000,
                findings: vec![],
                slow_not_retried: 0,
            },
            FunctionEntry {
                name: "crash_on_big".into(),
                cases: 257,
                findings: vec![crash.into()],
                slow_not_retried: 0,
            },
            FunctionEntry {
                name: "mean".into(),
                cases: 1000,
                findings: vec![mismatch.into(), leak.into()],
                slow_not_retried: 12,
            },
            FunctionEntry {
                name: "cached\x1b[2J".into(),
                cases: 40,
                findings: vec![race.into()],
                slow_not_retried: 0,
            },
        ],
        vec![SlowEntry {
            function: "mean".into(),
            input: SlowInput {
                input: "([0.5] * 100000,)".into(),
                imports: vec![],
                elapsed_ms: 1500,
                limit_ms: 1000,
            },
        }],
    )
    .ran_in(
        &PathBuf::from("/opt/python/bin/python3"),
        "CPython 3.13 (free-threaded, static)".into(),
    )
    .with_threads(4)
}

#[test]
fn check_report_text() {
    let report = check_report();
    insta::assert_snapshot!(written(|o| report.write_text(o)));
}

#[test]
fn check_report_text_without_findings() {
    let report = RunReport::check(
        "cdemo",
        false,
        vec![FunctionEntry {
            name: "f".into(),
            cases: 100,
            findings: vec![],
            slow_not_retried: 0,
        }],
        vec![],
    );
    insta::assert_snapshot!(written(|o| report.write_text(o)));
}

// ----- pyz3 bench -----

fn row(name: &str, b: Option<f64>, c: Option<f64>, p: Option<f64>, verdict: Verdict) -> Row {
    let change = b.zip(c).map(|(b, c)| c / b - 1.0);
    Row {
        name: name.into(),
        baseline: b,
        current: c,
        change,
        ci: change.map(|x| (x - 0.02, x + 0.03)),
        p,
        verdict,
    }
}

fn wall_comparison() -> Comparison {
    Comparison {
        baseline: "main".into(),
        mode: Mode::Wall,
        threshold: 0.05,
        rows: vec![
            row(
                "bench_ops::bench_sum_squares",
                Some(1_234.5),
                Some(2_469.0),
                Some(0.001),
                Verdict::Regressed,
            ),
            row(
                "bench_ops::bench_vowels",
                Some(2_500_000.0),
                Some(1_250_000.0),
                Some(0.002),
                Verdict::Improved,
            ),
            row(
                "a|b",
                Some(812.0),
                Some(815.0),
                Some(0.6),
                Verdict::Unchanged,
            ),
            row(
                "bench_ops::bench_new",
                None,
                Some(3.2e9),
                None,
                Verdict::New,
            ),
            row(
                "bench_ops::bench_gone",
                Some(45.0),
                None,
                None,
                Verdict::Missing,
            ),
        ],
        geomean_change: Some(0.0123),
    }
}

fn instructions_comparison() -> Comparison {
    let exact = |name: &str, b: f64, c: f64, verdict| Row {
        ci: Some((c / b - 1.0, c / b - 1.0)),
        p: None,
        ..row(name, Some(b), Some(c), None, verdict)
    };
    Comparison {
        baseline: "v0.1.0".into(),
        mode: Mode::Instructions,
        threshold: 0.01,
        rows: vec![
            exact(
                "bench_ops::bench_sum_squares",
                1_234_567.0,
                1_300_000.0,
                Verdict::Regressed,
            ),
            exact(
                "bench_ops::bench_vowels",
                9_876.0,
                9_876.0,
                Verdict::Unchanged,
            ),
        ],
        geomean_change: Some(0.026),
    }
}

#[test]
fn bench_comparison_terminal() {
    let c = wall_comparison();
    insta::assert_snapshot!(written(|o| bench_report::write_terminal(&c, false, o)));
}

#[test]
fn bench_comparison_terminal_in_colour() {
    let c = wall_comparison();
    insta::assert_snapshot!(written(|o| bench_report::write_terminal(&c, true, o)));
}

#[test]
fn bench_comparison_markdown() {
    let c = wall_comparison();
    insta::assert_snapshot!(written(|o| bench_report::write_markdown(&c, o)));
}

#[test]
fn bench_comparison_in_instructions() {
    let c = instructions_comparison();
    let text = written(|o| bench_report::write_terminal(&c, false, o));
    let markdown = written(|o| bench_report::write_markdown(&c, o));
    insta::assert_snapshot!(format!("{text}\n{markdown}"));
}

#[test]
fn bench_results_without_a_baseline() {
    let wall = |processes: Vec<Vec<f64>>, estimate: f64| BenchResult {
        unit: "ns".into(),
        estimate,
        processes,
        cycles: None,
        calls: None,
    };
    let results: BTreeMap<String, BenchResult> = [
        (
            "bench_ops::bench_sum_squares".to_string(),
            wall(
                vec![vec![1200.0, 1210.0], vec![1190.0, 1250.0], vec![1230.0]],
                1200.0,
            ),
        ),
        (
            "rust::sum_squares_rs".to_string(),
            wall(vec![vec![10.0, 11.0, 12.0, 13.0, 14.0]], 12.0),
        ),
    ]
    .into();
    let counted: BTreeMap<String, BenchResult> = [(
        "bench_ops::bench_vowels".to_string(),
        BenchResult {
            unit: "instructions".into(),
            estimate: 123_456.0,
            processes: vec![],
            cycles: Some(98_765.4),
            calls: Some(100),
        },
    )]
    .into();
    let text = written(|o| bench_report::write_results(Mode::Wall, &results, o));
    let counted = written(|o| bench_report::write_results(Mode::Instructions, &counted, o));
    insta::assert_snapshot!(format!("{text}\n{counted}"));
}

// ----- pyz3 test --coverage -----

fn file_coverage(name: &str, counts: &[(u32, u64)], regions: Option<Counts>) -> FileCoverage {
    let line_counts: BTreeMap<u32, u64> = counts.iter().copied().collect();
    let covered = line_counts.values().filter(|c| **c > 0).count() as u64;
    FileCoverage {
        name: name.into(),
        path: Path::new("/project").join(name),
        lines: Counts {
            covered,
            total: line_counts.len() as u64,
        },
        regions,
        functions: Counts {
            covered: 2,
            total: 3,
        },
        line_counts,
        function_list: vec![FunctionCoverage {
            name: "classify".into(),
            line: 3,
            count: 7,
        }],
    }
}

fn coverage_report() -> CoverageReport {
    let many: Vec<(u32, u64)> = (1..=120).map(|l| (l, u64::from(l % 3 == 0))).collect();
    CoverageReport {
        tool: "llvm-cov 22".into(),
        files: vec![
            file_coverage(
                "src/lib.rs",
                &[(3, 7), (4, 7), (6, 0), (12, 0), (13, 0), (14, 0), (20, 1)],
                Some(Counts {
                    covered: 9,
                    total: 12,
                }),
            ),
            file_coverage("src/all.rs", &[(1, 1), (2, 5)], None),
            file_coverage("src/long.rs", &many, None),
        ],
    }
}

#[test]
fn coverage_table() {
    let report = coverage_report();
    insta::assert_snapshot!(written(|o| report.write_table(o, false)));
}

#[test]
fn coverage_table_in_colour() {
    let report = coverage_report();
    insta::assert_snapshot!(written(|o| report.write_table(o, true)));
}

#[test]
fn coverage_table_of_no_file() {
    let report = CoverageReport {
        tool: "gcov 12".into(),
        files: vec![],
    };
    insta::assert_snapshot!(written(|o| report.write_table(o, false)));
}

// ----- pyz3 test --sanitize -----

fn sanitize_report() -> TestReport {
    let frame = |function: &str, file: &str, line: u32| Frame {
        function: function.into(),
        file: Some(file.into()),
        line: Some(line),
        module: None,
    };
    let overflow = finding(serde_json::json!({
        "kind": "sanitizer",
        "input": "",
        "message": "heap-buffer-overflow on address 0x602000000015",
        "subkind": "heap-buffer-overflow",
        "test": "tests/test_ext.py::test_fill",
    }));
    let race = finding(serde_json::json!({
        "kind": "sanitizer",
        "input": "",
        "message": "data race",
        "subkind": "data-race",
    }));
    TestReport {
        sanitizers: SanitizerSet::parse("address,undefined").unwrap(),
        pytest: PytestSummary {
            runs: 2,
            crashed: vec!["tests/test_ext.py::test_fill".into()],
            counts: [
                ("passed".to_string(), 5),
                ("failed".to_string(), 1),
                ("crashed".to_string(), 1),
            ]
            .into(),
            failed: true,
            seconds: 3.25,
        },
        findings: vec![
            Entry {
                finding: Finding {
                    frames: vec![
                        frame("sani::fill", "src/lib.rs", 14),
                        frame("sani::__pyfunction_fill", "src/lib.rs", 10),
                    ],
                    ..overflow
                },
                sanitizer: Some("address".into()),
                log: Some(PathBuf::from("/project/target/pyz3-sanitize/asan.123")),
            },
            Entry {
                finding: Finding {
                    frames: vec![Frame {
                        function: String::new(),
                        file: None,
                        line: None,
                        module: Some("/usr/lib/libc.so.6".into()),
                    }],
                    ..race
                },
                sanitizer: None,
                log: Some(PathBuf::from("/elsewhere/tsan.9")),
            },
        ],
    }
}

#[test]
fn sanitize_summary_text() {
    let report = sanitize_report();
    insta::assert_snapshot!(written(|o| report.write_text(Path::new("/project"), o)));
}

#[test]
fn sanitize_summary_text_of_a_clean_run() {
    let report = TestReport {
        sanitizers: SanitizerSet::parse("thread").unwrap(),
        pytest: PytestSummary {
            runs: 1,
            counts: [("passed".to_string(), 3)].into(),
            seconds: 0.5,
            ..PytestSummary::default()
        },
        findings: vec![],
    };
    insta::assert_snapshot!(written(|o| report.write_text(Path::new("/project"), o)));
}

// ----- pyz3 doctor -----

fn check(feature: &'static str, name: &str, ok: bool, found: &str, fix: &str) -> Check {
    Check {
        feature,
        name: name.into(),
        ok,
        found: found.into(),
        fix: fix.into(),
    }
}

#[test]
fn doctor_table() {
    let checks = vec![
        check("core", "python", true, "CPython 3.11.7", ""),
        check("core", "numpy", true, "2.1.0", ""),
        check(
            "fuzzing",
            "cargo-fuzz",
            false,
            "",
            "cargo install cargo-fuzz",
        ),
        check(
            "sanitizers",
            "libclang_rt.asan-x86_64.so",
            false,
            "",
            "apt-get install libclang-rt-22-dev",
        ),
        check(
            "coverage",
            "llvm-cov-22",
            false,
            "llvm-cov 14 (too old)",
            "apt-get install llvm-22",
        ),
        check(
            "benchmarks",
            "valgrind",
            false,
            "",
            "apt-get install valgrind",
        ),
        check(
            "tests",
            "pytest",
            false,
            "",
            "/opt/python/bin/python3 -m pip install pytest",
        ),
        check("tests", "hypothesis", false, "not importable", ""),
    ];
    insta::assert_snapshot!(written(|o| doctor::write_table(&checks, o)));
}

#[test]
fn doctor_table_all_ok() {
    let checks = vec![
        check("core", "python", true, "CPython 3.11.7", ""),
        check(
            "coverage",
            "llvm-profdata-22",
            true,
            "/usr/bin/llvm-profdata-22",
            "",
        ),
    ];
    insta::assert_snapshot!(written(|o| doctor::write_table(&checks, o)));
}
