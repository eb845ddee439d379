//! Native coverage and watch mode on real projects built in temp dirs: `pyz3 test --coverage`
//! (a PyO3 crate, a C extension with clang and with gcov) against hand-marked expectations, the
//! HTML report drawn in headless Chromium, `--fail-under`, `pyz3 check --coverage` and
//! `pyz3 fuzz coverage` on a copy of the demo extension, bad tools, and `pyz3 test --watch`.

use crate::util::{fixture, repo_root, Assert, Project, Pyz3};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::write_file as write;

/// A PyO3 crate named `module` in a temp dir, with a test that never takes one branch.
fn pyo3_project(module: &str) -> Project {
    let p = Project::new().var("module", module);
    let lib = p.render(&fixture("coverage/pyo3_lib.rs"));
    p.pyo3(module, &lib)
        .fixture("tests/test_ext.py", "coverage/test_ext.py")
}

/// A setuptools C extension named `module` in a temp dir.
fn c_project(module: &str) -> Project {
    let p = Project::new().var("module", module);
    let c = p.render(&fixture("coverage/c_ext.c"));
    p.setuptools(module, &c)
        .fixture("tests/test_ext.py", "coverage/test_ext.py")
}

/// The lines of `file` ending with the NOT RUN marker: the hand-computed missing lines.
pub(crate) fn marked(file: &Path) -> Vec<u64> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, l)| l.ends_with("// NOT RUN") || l.ends_with("/* NOT RUN */"))
        .map(|(i, _)| i as u64 + 1)
        .collect()
}

/// `pyz3` in `dir` with one shared cargo target directory for the example crates.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).target_dir("coverage-tests")
}

pub(crate) fn json(path: &Path, out: &Output) -> Value {
    let t = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("no JSON report at {}\n{}", path.display(), out.shown()));
    serde_json::from_str(&t).unwrap()
}

/// The report's entry for the file named `name`, after checking it is the only file.
pub(crate) fn only_file<'a>(report: &'a Value, name: &str) -> &'a Value {
    let files = report["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![name],
        "only the project's own source is reported"
    );
    &files[0]
}

pub(crate) fn missing(file: &Value) -> Vec<u64> {
    file["missing_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

#[test]
fn pyo3_coverage_matches_the_hand_count_and_draws_in_chromium() {
    let dir = pyo3_project("cov_rs_hand");
    let d = dir.path();
    let (j, lcov, html) = (d.join("cov.json"), d.join("cov.lcov"), d.join("html"));
    let out = pyz3(d)
        .args([
            "test",
            "--coverage",
            "--json",
            j.to_str().unwrap(),
            "--lcov",
            lcov.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ])
        .run();
    out.assert_exit(0);
    // One schema: the test report, with the coverage report under `coverage`.
    let doc = json(&j, &out);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["module"], d.file_name().unwrap().to_str().unwrap());
    assert!(
        doc["pytest"]["counts"]["passed"].as_u64().unwrap() > 0,
        "{doc}"
    );
    let report = &doc["coverage"];
    assert_eq!(report["version"], 1);
    assert!(report["tool"].as_str().unwrap().starts_with("llvm-cov "));
    let lib = only_file(report, "src/lib.rs");
    let expected = marked(&d.join("src/lib.rs"));
    assert_eq!(expected.len(), 4);
    assert_eq!(missing(lib), expected, "{}", out.shown());
    // classify, never_called and the module function; never_called never runs.
    assert_eq!(lib["functions"]["total"], 3);
    assert_eq!(lib["functions"]["covered"], 2);
    let lines = &lib["lines"];
    assert_eq!(
        lines["total"].as_u64().unwrap() - lines["covered"].as_u64().unwrap(),
        4
    );
    assert!(
        lib["regions"]["total"].as_u64().unwrap() > lib["regions"]["covered"].as_u64().unwrap()
    );
    // Nothing is left in the project but under .pyz3/ (no compiler-run profiles).
    let stray: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".profraw") || n.ends_with(".profdata"))
        .collect();
    assert!(stray.is_empty(), "profiles left in the project: {stray:?}");
    // The terminal table names the missing lines.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("src/lib.rs") && stdout.contains("9, 16-18"),
        "{stdout}"
    );

    let lcov_text = std::fs::read_to_string(&lcov).unwrap();
    assert!(lcov_text.contains(&format!(
        "SF:{}",
        d.canonicalize().unwrap().join("src/lib.rs").display()
    )));
    assert!(
        lcov_text.contains("DA:9,0\n") && lcov_text.contains("DA:8,2\n"),
        "{lcov_text}"
    );
    assert!(lcov_text.contains("FNF:3\nFNH:2\n"), "{lcov_text}");

    // HTML: the untaken line is highlighted, in the markup and on screen.
    let page = html.join("file0.html");
    let markup = std::fs::read_to_string(&page).unwrap();
    assert!(markup.contains("<tr class=\"miss\" id=\"L9\">"), "{markup}");
    assert!(markup.contains("<tr class=\"hit\" id=\"L8\">"), "{markup}");
    assert!(std::fs::read_to_string(html.join("index.html"))
        .unwrap()
        .contains("file0.html\">src/lib.rs</a>"));
    let (pixels, channels) = crate::common::screenshot(
        &format!("file://{}", page.display()),
        &d.join("shot"),
        900,
        700,
    );
    // Missed lines are drawn on #ffb3b3; covered lines on pale green #e6f5e6.
    let red = pixels
        .chunks_exact(channels)
        .filter(|p| p[0] >= 245 && (160..=195).contains(&p[1]) && (160..=195).contains(&p[2]))
        .count();
    let green = pixels
        .chunks_exact(channels)
        .filter(|p| (220..=235).contains(&p[0]) && p[1] >= 240 && (220..=235).contains(&p[2]))
        .count();
    assert!(
        red > 4 * 2000,
        "only {red} pixels of the missed-line colour"
    );
    assert!(
        green > red,
        "covered lines ({green} px) should outnumber missed ones ({red} px)"
    );

    // --fail-under: 4 of the lines are missing, so 99% fails and 50% passes.
    let out = pyz3(d)
        .args(["test", "--coverage", "--fail-under", "99"])
        .run();
    out.assert_exit(1);
    assert!(
        out.shown().contains("is below --fail-under 99%"),
        "{}",
        out.shown()
    );
    let out = pyz3(d).args(["test", "--fail-under", "50"]).run();
    out.assert_exit(0);
    let out = pyz3(d).args(["test", "--fail-under", "150"]).run();
    out.assert_exit(2);
    assert!(out.shown().contains("not a percentage"), "{}", out.shown());
}

#[test]
fn c_coverage_with_clang_and_with_gcov_match_the_hand_count() {
    let dir = c_project("cov_c_hand");
    let d = dir.path();
    let expected = marked(&d.join("cov_c_hand.c"));
    assert_eq!(expected.len(), 3);
    for (cc, tool) in [(None, "llvm-cov "), (Some("gcc"), "gcov ")] {
        let j = d.join("cov.json");
        let _ = std::fs::remove_file(&j);
        let env: Vec<(&str, &str)> = cc.map(|c| ("CC", c)).into_iter().collect();
        let out = pyz3(d)
            .args(["test", "--coverage", "--coverage-json", j.to_str().unwrap()])
            .envs(&env)
            .run();
        out.assert_exit(0);
        let report = json(&j, &out);
        assert!(
            report["tool"].as_str().unwrap().starts_with(tool),
            "{report}"
        );
        let file = only_file(&report, "cov_c_hand.c");
        assert_eq!(missing(file), expected, "{tool}: {}", out.shown());
        // classify, py_classify, py_never_called, PyInit_cov_c_hand.
        assert_eq!(file["functions"]["total"], 4, "{tool}");
        assert_eq!(file["functions"]["covered"], 3, "{tool}");
        assert_eq!(
            file["regions"].is_null(),
            cc.is_some(),
            "{tool}: regions only from LLVM"
        );
    }
}

#[test]
fn bad_tools_and_no_tests_are_usage_errors() {
    let dir = c_project("cov_c_bad");
    let d = dir.path();
    let out = pyz3(d)
        .args(["test", "--coverage"])
        .envs(&[("LLVM_COV", "/nonexistent/llvm-cov")])
        .run();
    out.assert_exit(2);
    let shown = out.shown();
    assert!(
        shown.contains("llvm-cov") && shown.contains("apt install llvm-"),
        "{shown}"
    );
    // A tool of another LLVM version is named with its version.
    write(
        d,
        "old/llvm-profdata",
        "#!/bin/sh\necho 'Debian LLVM version 14.0.6'\n",
    );
    let old = d.join("old/llvm-profdata");
    std::fs::set_permissions(&old, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = pyz3(d)
        .args(["test", "--coverage"])
        .envs(&[("LLVM_PROFDATA", old.to_str().unwrap())])
        .run();
    out.assert_exit(2);
    assert!(out.shown().contains("is LLVM 14"), "{}", out.shown());
    assert!(!out.shown().contains("panicked"));

    std::fs::remove_dir_all(d.join("tests")).unwrap();
    let out = pyz3(d).args(["test", "--coverage"]).run();
    out.assert_exit(2);
    assert!(out.shown().contains("no tests found"), "{}", out.shown());
}

/// A copy of the demo extension (sources, lock file, stubs) in a temp dir, so coverage builds
/// never write into the repository.
fn demo_copy() -> Project {
    let dir = Project::new();
    let demo = repo_root().join("harness/demo");
    for f in ["Cargo.toml", "Cargo.lock", "pyz3_demo.pyi"] {
        std::fs::copy(demo.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    for e in std::fs::read_dir(demo.join("src")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join("src").join(p.file_name().unwrap())).unwrap();
    }
    dir
}

fn lines_covered(report: &Value) -> u64 {
    report["totals"]["lines"]["covered"].as_u64().unwrap()
}

#[test]
fn check_and_fuzz_corpus_reach_more_than_an_empty_suite() {
    let dir = demo_copy();
    let d = dir.path();
    write(
        d,
        "tests/test_nothing.py",
        "def test_nothing():\n    pass\n",
    );
    let empty = d.join("empty.json");
    let out = pyz3(d)
        .args([
            "test",
            "--coverage",
            "--coverage-json",
            empty.to_str().unwrap(),
        ])
        .run();
    out.assert_exit(0);
    let empty = json(&empty, &out);
    assert!(empty["totals"]["lines"]["total"].as_u64().unwrap() > 300);

    let checked = d.join("check.json");
    let out = pyz3(d)
        .args([
            "check",
            "pyz3_demo",
            "--coverage",
            "--coverage-json",
            checked.to_str().unwrap(),
            "--cases",
            "30",
            "--stubs",
            "pyz3_demo.pyi",
        ])
        .run();
    // The demo's planted defects are findings: exit 1.
    out.assert_exit(1);
    let checked = json(&checked, &out);
    assert!(
        lines_covered(&checked) > lines_covered(&empty) + 50,
        "check reached {} lines, the empty suite {}",
        lines_covered(&checked),
        lines_covered(&empty)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("src/defects.rs"));

    let fuzzed = d.join("fuzz.json");
    let corpus = repo_root().join("corpora/parse_string");
    let out = pyz3(d)
        .args([
            "fuzz",
            "coverage",
            "pyz3_demo:parse_string",
            corpus.to_str().unwrap(),
            "--stubs",
            "pyz3_demo.pyi",
            "--coverage-json",
            fuzzed.to_str().unwrap(),
        ])
        .run();
    out.assert_exit(0);
    let fuzzed = json(&fuzzed, &out);
    let parse = fuzzed["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "src/parse.rs")
        .unwrap();
    assert!(
        parse["lines"]["percent"].as_f64().unwrap() > 50.0,
        "the seed corpus reaches most of the parser: {parse}"
    );
    let empty_parse = empty["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "src/parse.rs")
        .unwrap();
    assert_eq!(empty_parse["lines"]["covered"], 0);
}

/// Lines of a child's stream, read on a thread.
pub(crate) fn lines_of(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a status line containing `want`, collecting every line seen.
pub(crate) fn wait_for(
    rx: &Receiver<String>,
    seen: &mut Vec<String>,
    want: &str,
    child: &mut Child,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                seen.push(line.clone());
                if line.starts_with("pyz3 watch") && line.contains(want) {
                    return line;
                }
            }
            Err(_) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!(
                        "watch exited ({status}) before `{want}`:\n{}",
                        seen.join("\n")
                    );
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("no `{want}` within 300 s:\n{}", seen.join("\n"));
                }
            }
        }
    }
}

pub(crate) fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn watch_rebuilds_and_reruns_on_each_edit_then_stops_cleanly() {
    let dir = pyo3_project("cov_watch");
    let d = dir.path().to_path_buf();
    let mut child = pyz3(&d)
        .args(["test", "--watch", "--coverage"])
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _stdout = lines_of(child.stdout.take().unwrap());
    let rx = lines_of(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    let first = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        first.contains("ok: rebuilt in") && first.contains("1 passed"),
        "{first}"
    );

    // 1. A source edit that breaks the test: one rebuild, one rerun, a failure shown.
    let lib = d.join("src/lib.rs");
    let before = seen.len();
    let saved = Instant::now();
    edit(&lib, "    x + 1\n", "    x + 2\n");
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    let edit_to_result = saved.elapsed();
    assert!(
        line.contains("FAILED: rebuilt in") && line.contains("0 passed, 1 failed"),
        "{line}"
    );
    let cycle = &seen[before..];
    let count = |s: &str| cycle.iter().filter(|l| l.contains(s)).count();
    assert_eq!(
        count("pyz3 watch"),
        2,
        "one change line and one result:\n{}",
        cycle.join("\n")
    );
    assert_eq!(
        count("changed: src/lib.rs; rebuilding"),
        1,
        "{}",
        cycle.join("\n")
    );
    assert_eq!(count("pyz3: built 1 module"), 1, "{}", cycle.join("\n"));
    eprintln!(
        "watch: saved edit to rerun result in {:.2} s",
        edit_to_result.as_secs_f64()
    );

    // 2. A compile error is shown and the watch goes on.
    edit(&lib, "    x + 2\n", "    x + \n");
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("error:") && line.contains("does not compile"),
        "{line}"
    );
    assert!(child.try_wait().unwrap().is_none());

    // 3. Fixed: green again.
    edit(&lib, "    x + \n", "    x + 1\n");
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("ok: rebuilt in") && line.contains("1 passed"),
        "{line}"
    );

    // 4. A test-only edit reruns that file without a rebuild.
    let before = seen.len();
    let test = d.join("tests/test_ext.py");
    edit(&test, "== 1\n", "== 1\n    assert True\n");
    let line = wait_for(&rx, &mut seen, "waiting for changes", &mut child);
    assert!(
        line.contains("ok: 1 passed") && !line.contains("rebuilt"),
        "{line}"
    );
    let cycle = &seen[before..];
    assert!(
        cycle
            .iter()
            .any(|l| l.contains("changed: tests/test_ext.py; running tests/test_ext.py")),
        "{}",
        cycle.join("\n")
    );
    assert!(
        !cycle.iter().any(|l| l.contains("pyz3: built")),
        "{}",
        cycle.join("\n")
    );

    // Ctrl-C: a clean stop.
    // SAFETY: signals our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
        seen.push(l);
    }
    assert_eq!(status.code(), Some(0), "{}", seen.join("\n"));
    assert!(
        seen.last().is_some_and(|l| l.contains("stopped")),
        "{}",
        seen.join("\n")
    );
}
