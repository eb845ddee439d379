//! Bad input is one line on stderr and exit 2, before any work: option values that make no
//! sense, a pyproject.toml that is not a readable file, a directory given as a module, huge
//! inputs echoed back; and text from a target cannot drive the terminal or hide a crash.

use crate::util::{Assert, Project, Pyz3};
use std::path::Path;
use std::process::{Command, Output};

/// `pyz3` in `dir` with the project virtualenv active.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).project_venv()
}

fn one_line(o: &Output, needle: &str) {
    let err = o.stderr_text();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "{needle} not in: {err}");
}

#[test]
fn option_values_that_make_no_sense_are_refused() {
    let tmp = Project::new();
    let dir = tmp.path();
    one_line(
        &pyz3(dir).args(["check", "json", "--cases", "0"]).run(),
        "--cases must be at least 1",
    );
    one_line(
        &pyz3(dir).args(["check", "json", "--timeout-ms", "0"]).run(),
        "--timeout-ms must be at least 1",
    );
    for bad in ["nan", "inf", "-1"] {
        one_line(
            &pyz3(dir)
                .args(["check", "json", &format!("--float-tolerance={bad}")])
                .run(),
            "--float-tolerance must be a finite number",
        );
    }
}

#[test]
fn a_pyproject_that_is_not_a_readable_file_is_an_error() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("pyproject.toml")).unwrap();
    one_line(
        &pyz3(dir).args(["check", "json"]).run(),
        "cannot read pyproject.toml",
    );
    // With --python the interpreter rule does not read it, but the check's settings do.
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    one_line(
        &pyz3(dir).args(["check", "json", "--python", venv]).run(),
        "cannot read pyproject.toml",
    );
    std::fs::remove_dir(dir.join("pyproject.toml")).unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        b"[tool.pyz3]\nx = \"\xff\xfe\"\n",
    )
    .unwrap();
    one_line(
        &pyz3(dir).args(["check", "json"]).run(),
        "pyproject.toml is not UTF-8",
    );
}

#[test]
fn directories_are_packages_or_a_clear_error() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("adir")).unwrap();
    one_line(
        &pyz3(dir).args(["check", "./adir"]).run(),
        "./adir is a directory",
    );
    std::fs::create_dir(dir.join("apkg")).unwrap();
    std::fs::write(
        dir.join("apkg/__init__.py"),
        "def twice(x: int) -> int:\n    return 2 * x\n",
    )
    .unwrap();
    let other = Project::new();
    let path = dir.join("apkg");
    let out = pyz3(other.path())
        .args(["check", path.to_str().unwrap(), "--cases", "10"])
        .run();
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr_text());
    assert!(String::from_utf8_lossy(&out.stdout).contains("twice"));
}

#[test]
fn huge_inputs_are_not_echoed_whole() {
    let tmp = Project::new();
    // (One argument is at most 128 KiB on Linux.)
    let ty = format!("list[{}", "x".repeat(100_000));
    let out = pyz3(tmp.path()).args(["sample", &ty]).run();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr_text().len() < 2_000,
        "{} bytes",
        out.stderr_text().len()
    );
    assert_eq!(out.stderr_text().trim().lines().count(), 1);
}

const HOSTILE: &str = r#"
import os

def paint(x: int) -> str:
    return "\x1b[2J\x1b[31mred\rover" if x > 3 else "plain"

def leave(x: int) -> int:
    if x > 3:
        os._exit(0)
    return x
"#;

/// A result with escape sequences is shown escaped; a function that ends the process with
/// `os._exit(0)` is a crash whose reproducer exits 1.
#[test]
fn target_text_cannot_drive_the_terminal_and_exits_reproduce() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("hostile.py"), HOSTILE).unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "hostile.py",
            "--property",
            "paint=result == 'plain'",
            "--cases",
            "50",
            "--json",
            "r.json",
        ])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains('\x1b') && !text.contains('\r'), "{text:?}");
    assert!(text.contains("\\x1b"), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let leave = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "leave")
        .unwrap();
    let finding = &leave["findings"][0];
    assert_eq!(finding["kind"], "crash", "{leave}");
    let run = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python"))
        .arg(dir.join(finding["reproducer"].as_str().unwrap()))
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}

/// Type expressions nested 20 deep, even at a large size, generate small values: the peak
/// memory of `pyz3 sample` stays under 200 MB (it grew exponentially with depth before). Strings
/// and bytes count too: many leaves at a huge size are short (a `list[bytes]` at size 100,000
/// passed 460 MB before), and `sample` holds one example at a time.
#[test]
fn deep_type_expressions_stay_within_a_memory_budget() {
    for (ty, size, n) in [
        (
            format!("{}int{}", "list[".repeat(20), "]".repeat(20)),
            "8",
            "200",
        ),
        (
            format!("{}int{}", "dict[str, ".repeat(20), "]".repeat(20)),
            "32",
            "200",
        ),
        (
            format!("{}Any{}", "list[".repeat(12), "]".repeat(12)),
            "16",
            "200",
        ),
        // A large size on a shallow container.
        ("list[list[list[int]]]".to_string(), "100000", "200"),
        // Many leaves of text at a huge size.
        ("list[bytes]".to_string(), "100000", "20"),
        ("list[str]".to_string(), "100000", "20"),
        ("dict[str, list[bytes]]".to_string(), "1000000", "20"),
        ("bytes".to_string(), "100000000", "20"),
    ] {
        #[allow(clippy::zombie_processes)]
        let child = Command::new(env!("CARGO_BIN_EXE_pyz3"))
            .args(["sample", &ty, "-n", n, "--size", size])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let mut status = 0;
        // SAFETY: waits for this child only and reads its own resource usage.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(r, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{ty}"
        );
        let peak_mb = usage.ru_maxrss as f64 / 1024.0;
        assert!(peak_mb < 200.0, "{ty}: peak {peak_mb:.0} MB");
    }
}

/// Generics with the wrong number of type arguments are not taken silently.
#[test]
fn generics_with_the_wrong_number_of_arguments_say_so() {
    let tmp = Project::new();
    for (ty, needle) in [
        ("dict[str]", "`dict` takes 2 type arguments, not 1"),
        (
            "numpy.typing.NDArray[numpy.int8, numpy.int16]",
            "`NDArray` takes 1 type argument, not 2",
        ),
        ("list[int, str]", "`list` takes 1 type argument, not 2"),
    ] {
        let out = pyz3(tmp.path()).args(["sample", ty, "-n", "1"]).run();
        assert_eq!(out.status.code(), Some(0), "{ty}: {}", out.stderr_text());
        assert!(
            out.stderr_text().contains(needle),
            "{ty}: {}",
            out.stderr_text()
        );
    }
    let out = pyz3(tmp.path())
        .args(["sample", "dict[str, int]", "-n", "1"])
        .run();
    assert!(out.stderr_text().is_empty(), "{}", out.stderr_text());
}

/// A function whose annotation does not parse is named in one error line and skipped; the
/// other functions are checked (exit 2 only because nothing was found and a function failed).
#[test]
fn an_unparsable_annotation_names_its_function_and_the_run_goes_on() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("ann.py"),
        "def bad(x: \"list[int\") -> int:\n    return 0\n\ndef good(x: int) -> int:\n    return x\n",
    )
    .unwrap();
    let out = pyz3(dir)
        .args(["check", "ann.py", "--cases", "20", "--json", "r.json"])
        .run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("pyz3: error: bad: parameter `x`: bad type expression")),
        "{err}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let good = report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "good")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(good["cases"], 20, "{report}");
}
