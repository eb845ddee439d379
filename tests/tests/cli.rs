//! The `pyz3 sample` command: output, determinism, stats, bad input.

use std::process::{Command, Output};

use crate::util::{Pyz3, VENV};

/// `pyz3 ARGS` where the test runs, with the project virtualenv for the samplers' Python.
fn pyz3(args: &[&str]) -> Output {
    let cmd = Pyz3::bare().args(args);
    if std::env::var_os("VIRTUAL_ENV").is_none() {
        cmd.env("PYZ3_VENV", VENV).run()
    } else {
        cmd.run()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn sample_prints_n_lines_and_is_deterministic() {
    let a = pyz3(&["sample", "list[int]", "-n", "25", "--seed", "3"]);
    assert!(a.status.success(), "{a:?}");
    assert_eq!(stdout(&a).lines().count(), 25);
    let b = pyz3(&["sample", "list[int]", "-n", "25", "--seed", "3"]);
    assert_eq!(stdout(&a), stdout(&b));
    let c = pyz3(&["sample", "list[int]", "-n", "25", "--seed", "4"]);
    assert_ne!(stdout(&a), stdout(&c));
}

#[test]
fn sample_output_is_python_that_evaluates() {
    let o = pyz3(&[
        "sample",
        "collections.Counter[str] | numpy.typing.NDArray[numpy.float32]",
        "-n",
        "30",
        "--imports",
    ]);
    assert!(o.status.success(), "{o:?}");
    let text = stdout(&o);
    let script = "import sys\nlines = sys.stdin.read().splitlines()\nimports = [l for l in lines if l.startswith('import ')]\nns = {}\nexec('\\n'.join(imports), ns)\nexprs = [l for l in lines if not l.startswith('import ')]\nassert len(exprs) == 30, len(exprs)\nfor e in exprs:\n    eval(e, ns)\nprint('ok')\n";
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok", "{text}");
}

#[test]
fn stats_prints_count_elapsed_and_rate() {
    let o = pyz3(&["sample", "dict[str, int]", "-n", "2000", "--stats"]);
    assert!(o.status.success(), "{o:?}");
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "count: 2000");
    assert!(
        lines[1].starts_with("elapsed: ") && lines[1].ends_with(" s"),
        "{text}"
    );
    let rate: f64 = lines[2]
        .strip_prefix("examples/s: ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(rate > 0.0);
    // How big the ints are: the dict's 2000 * 0..=8 values, by magnitude, shares adding to 100%.
    let ints = lines[3].strip_prefix("ints: ").unwrap();
    let (count, shares) = ints.split_once(" (").unwrap();
    assert!(count.parse::<u64>().unwrap() > 2000, "{text}");
    let total: f64 = shares
        .trim_end_matches(')')
        .split(", ")
        .map(|s| s.rsplit(' ').next().unwrap().trim_end_matches('%'))
        .map(|p| p.parse::<f64>().unwrap())
        .sum();
    assert!((total - 100.0).abs() < 0.5, "{text}");
}

#[test]
fn bad_type_expression_is_one_line_and_exit_2() {
    let o = pyz3(&["sample", "list[int]]"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("`]`") && err.contains("column 10"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn unknown_name_warns_and_still_samples() {
    let o = pyz3(&["sample", "list[Widget]", "-n", "3"]);
    assert!(o.status.success(), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning") && err.contains("Widget"), "{err}");
    assert_eq!(stdout(&o).lines().count(), 3);
}

#[test]
fn bad_option_is_exit_2() {
    let o = pyz3(&["sample", "int", "-n", "many"]);
    assert_eq!(o.status.code(), Some(2));
    let o = pyz3(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn closed_stdout_is_not_an_error() {
    use std::io::{BufRead, BufReader};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pyz3"));
    cmd.args(["sample", "list[str]", "-n", "200000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe closes while pyz3 is still writing.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with('['), "{first}");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
