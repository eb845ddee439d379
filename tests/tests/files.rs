//! Hostile targets, hostile input, hostile file systems: reproducers of modules whose exception
//! messages and function names are code, planted temporary files and symlinks, and output paths
//! that cannot be written (which must fail before any work).

use crate::util::{venv_python, Assert, Project, Pyz3};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `pyz3` in `dir`, plain text.
fn pyz3(dir: &Path) -> Pyz3 {
    Pyz3::new(dir).no_color()
}

/// Every `*.py` file in `dir`, sorted.
fn scripts(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    out.sort();
    out
}

/// Compiles and runs every reproducer in `repro` from a fresh directory under `work`; asserts
/// each is valid Python, reproduces (prints `SystemError: <expected>`) and that none created a
/// file named `PWNED` (in the directory it ran in, or in `work`).
fn run_reproducers(work: &Path, repro: &Path, expected: &str, count: usize) {
    let files = scripts(repro);
    assert_eq!(files.len(), count, "{files:?}");
    for file in &files {
        let compiled = std::process::Command::new(venv_python())
            .args(["-m", "py_compile"])
            .arg(file)
            .output()
            .unwrap();
        assert!(
            compiled.status.success(),
            "{} is not valid Python:\n{}\n{}",
            file.display(),
            compiled.shown(),
            std::fs::read_to_string(file).unwrap_or_default()
        );
        let cwd = tempfile::tempdir_in(work).unwrap();
        let run = std::process::Command::new(venv_python())
            .arg(file)
            .current_dir(cwd.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            !cwd.path().join("PWNED").exists() && !work.join("PWNED").exists(),
            "{} ran code from the module:\n{}",
            file.display(),
            std::fs::read_to_string(file).unwrap_or_default()
        );
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}\n{}",
            file.display(),
            run.shown()
        );
        assert!(
            stdout.contains(&format!("SystemError: {expected}")),
            "{}\n{}",
            file.display(),
            run.shown()
        );
    }
}

#[test]
fn exception_messages_cannot_run_code_from_reproducers() {
    let tmp = Project::new();
    let dir = tmp.path();
    // Each function raises SystemError (a finding) with a message holding a line break of some
    // kind followed by code.
    std::fs::write(
        dir.join("msgs.py"),
        r#"
PAYLOAD = "__import__('os').system('touch PWNED')"

def _raiser(sep):
    def f(x: int) -> int:
        raise SystemError("x" + sep + PAYLOAD)
    return f

for _i, _sep in enumerate(["\r", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85",
                           "\u2028", "\u2029", "\x00", "\x1b[2J"]):
    globals()["boom%d" % _i] = _raiser(_sep)
"#,
    )
    .unwrap();
    let out = pyz3(dir)
        .args(["check", "msgs", "--cases", "3", "--repro-dir", "repro"])
        .run();
    out.assert_exit(1);
    assert!(!dir.join("PWNED").exists(), "{}", out.shown());
    run_reproducers(dir, &dir.join("repro"), "x", 13);
}

#[test]
fn hostile_function_names_are_literals_and_safe_file_names() {
    let tmp = Project::new();
    let dir = tmp.path();
    // Attribute names nobody would write, set on the module; `.` is left out (the harness
    // resolves dotted names attribute by attribute).
    std::fs::write(
        dir.join("names.py"),
        r#"
import sys

def _make():
    def f(x: int) -> int:
        raise SystemError("found")
    return f

NAMES = [
    "x'+str(getattr(__import__('os'),'system')('touch PWNED'))+'",
    "x\rgetattr(__import__('os'),'system')('touch PWNED')",
    "new\nline",
    "it's",
    'say "hi"',
    "brace{0}{}",
    "back\\slash",
    "a/b",
    "/abs",
    "nul\x00byte",
    "n" * 300,
    "coding=utf-7 +AAo-",
    "x\u2028y",
    "esc\x1b[2J\x1b[31mred",
]
for _n in NAMES:
    setattr(sys.modules[__name__], _n, _make())
"#,
    )
    .unwrap();
    let out = pyz3(dir)
        .args(["check", "names", "--cases", "3", "--repro-dir", "repro"])
        .run();
    out.assert_exit(1);
    assert!(!dir.join("PWNED").exists());
    // No line pyz3 prints lets a name drive the terminal (escape sequences, carriage returns).
    for stream in [&out.stdout, &out.stderr] {
        let shown = String::from_utf8_lossy(stream);
        assert!(
            !shown.contains('\x1b') && !shown.contains('\r'),
            "{shown:?}"
        );
    }
    run_reproducers(dir, &dir.join("repro"), "found", 14);

    // A module whose file name is not an identifier.
    let odd = dir.join("odd");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(
        odd.join("it's;x.py"),
        "def f(x: int) -> int:\n    raise SystemError('found')\n",
    )
    .unwrap();
    let out = pyz3(&odd)
        .args([
            "check",
            "./it's;x.py",
            "--cases",
            "3",
            "--repro-dir",
            "repro",
        ])
        .run();
    out.assert_exit(1);
    run_reproducers(&odd, &odd.join("repro"), "found", 1);
}

/// A module with one function that always raises SystemError (one finding, one reproducer).
fn one_finding_module(dir: &Path) {
    std::fs::write(
        dir.join("plain.py"),
        "def boom(x: int) -> int:\n    raise SystemError('boom')\n",
    )
    .unwrap();
}

#[test]
fn planted_temporary_files_are_neither_followed_nor_overwritten() {
    let tmp = Project::new();
    let dir = tmp.path();
    one_finding_module(dir);
    let victims = Project::new();
    let victim = |name: &str| {
        let p = victims.path().join(name);
        std::fs::write(&p, "victim\n").unwrap();
        p
    };
    let (json_victim, repro_victim) = (victim("json"), victim("repro"));
    // Symlinks at the names earlier versions wrote through.
    std::os::unix::fs::symlink(&json_victim, dir.join("out.json.tmp")).unwrap();
    std::fs::create_dir(dir.join("repro")).unwrap();
    std::os::unix::fs::symlink(
        &repro_victim,
        dir.join("repro/plain.boom.system-error.py.tmp"),
    )
    .unwrap();
    let out = pyz3(dir)
        .args([
            "check",
            "plain",
            "--cases",
            "3",
            "--json",
            "out.json",
            "--repro-dir",
            "repro",
        ])
        .run();
    out.assert_exit(1);
    for v in [&json_victim, &repro_victim] {
        assert_eq!(std::fs::read_to_string(v).unwrap(), "victim\n", "{v:?}");
    }
    for (link, target) in [
        ("out.json.tmp", &json_victim),
        ("repro/plain.boom.system-error.py.tmp", &repro_victim),
    ] {
        assert_eq!(&std::fs::read_link(dir.join(link)).unwrap(), target);
    }
    let report = std::fs::symlink_metadata(dir.join("out.json")).unwrap();
    assert!(report.is_file(), "out.json is not a regular file");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out.json")).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    let repro = dir.join("repro/plain.boom.system-error.py");
    assert!(std::fs::symlink_metadata(&repro).unwrap().is_file());
    assert_eq!(
        std::fs::metadata(&repro).unwrap().permissions().mode() & 0o077,
        0o044 & !umask(),
        "a reproducer is readable like any file the user creates"
    );

    // A file of the user's that happens to be called like a temporary file survives.
    std::fs::write(dir.join("report.json.tmp"), "mine\n").unwrap();
    let out = pyz3(dir)
        .args(["check", "plain", "--cases", "3", "--json", "report.json"])
        .run();
    out.assert_exit(1);
    assert_eq!(
        std::fs::read_to_string(dir.join("report.json.tmp")).unwrap(),
        "mine\n"
    );
    assert!(dir.join("report.json").is_file());
    // Nothing else is left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "__pycache__")
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".pyz3",
            "out.json",
            "out.json.tmp",
            "plain.py",
            "report.json",
            "report.json.tmp",
            "repro"
        ]
    );
}

/// This process's umask (from /proc: setting it to read it would race with other tests).
fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

#[test]
fn profile_scratch_directories_are_private() {
    let tmp = Project::new();
    let dir = tmp.path();
    let tmpdir = dir.join("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    // The profiled program lists pyz3's directories in the temporary directory, and their modes.
    let script = "import os, stat\n\
                  t = os.environ['TMPDIR']\n\
                  rows = ['%s %o' % (n, stat.S_IMODE(os.lstat(os.path.join(t, n)).st_mode))\n\
                  \x20       for n in sorted(os.listdir(t)) if n.startswith('pyz3-')]\n\
                  open('modes.txt', 'w').write('\\n'.join(rows))\n";
    std::fs::write(dir.join("list.py"), script).unwrap();
    let python = venv_python();
    let out = Pyz3::new(dir)
        .env("TMPDIR", &tmpdir)
        .args(["profile", "--memory", "--"])
        .args([&python])
        .args(["list.py"])
        .run();
    out.assert_exit(0);
    let modes = std::fs::read_to_string(dir.join("modes.txt")).unwrap();
    let rows: Vec<&str> = modes.lines().collect();
    assert!(!rows.is_empty(), "no scratch directory seen");
    for row in rows {
        let (name, mode) = row.rsplit_once(' ').unwrap();
        assert_eq!(mode, "700", "{row}");
        // Not `pyz3-memory-<pid>-<n>`: a name another user could have prepared.
        let pid_like = name
            .rsplit('-')
            .take(2)
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        assert!(!pid_like, "{row}");
    }
    // Removed afterwards.
    assert_eq!(std::fs::read_dir(&tmpdir).unwrap().count(), 0);
}

/// A command that must fail at once: exit 2, one line naming `path`, in under 5 s, before
/// anything ran (no `RAN` marker).
fn assert_fails_fast(dir: &Path, args: &[&str], path: &str) {
    let start = Instant::now();
    let out = pyz3(dir).args(args).run();
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}\n{}", out.shown());
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("pyz3: error: cannot write {path}: ")),
        "{args:?}\n{}",
        out.shown()
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !dir.join("RAN").exists(),
        "{args:?} ran before checking {path}"
    );
    assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
}

#[test]
fn check_output_paths_are_checked_before_any_work() {
    let tmp = Project::new();
    let dir = tmp.path();
    // Importing the module is work already.
    std::fs::write(
        dir.join("marked.py"),
        format!(
            "open({:?}, 'w').close()\n\ndef boom(x: int) -> int:\n    raise SystemError('boom')\n",
            dir.join("RAN").to_str().unwrap()
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.join("adir")).unwrap();
    let check = |json: &str| {
        assert_fails_fast(
            dir,
            &["check", "marked", "--cases", "3", "--json", json],
            json,
        )
    };
    check("/nonexistent/x.json");
    check("adir");
    check("marked.py/x.json");
    // The reproducer directory: a file, or under a file, cannot be one.
    for repro in ["marked.py", "marked.py/repro"] {
        assert_fails_fast(
            dir,
            &["check", "marked", "--cases", "3", "--repro-dir", repro],
            repro,
        );
    }
    let names: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert_eq!(names.len(), 2, "something was left behind: {names:?}");
    assert!(std::fs::read_dir(dir.join("adir"))
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn bench_output_path_is_checked_before_any_work() {
    let marker = |dir: &Path| {
        format!(
            "open({:?}, 'w').close()\n\ndef bench_nothing():\n    pass\n",
            dir.join("RAN").to_str().unwrap()
        )
    };
    let project = Project::new().setuptools(
        "files_bench",
        "#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, \"files_bench\"};\n\
         PyMODINIT_FUNC PyInit_files_bench(void) { return PyModule_Create(&m); }\n",
    )
    .file("tests/test_ext.py", "def test_nothing():\n    pass\n");
    let dir = project.path();
    crate::common::write_file(dir, "benches/bench_marked.py", &marker(dir));
    assert_fails_fast(
        dir,
        &[
            "bench",
            "--processes",
            "1",
            "--samples",
            "1",
            "--output",
            "missing/table.txt",
        ],
        "missing/table.txt",
    );
    std::fs::create_dir(dir.join("adir")).unwrap();
    assert_fails_fast(
        dir,
        &[
            "bench",
            "--processes",
            "1",
            "--samples",
            "1",
            "--output",
            "adir",
        ],
        "adir",
    );
}

#[test]
fn profile_output_paths_are_checked_before_any_work() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::create_dir(dir.join("adir")).unwrap();
    let python = venv_python();
    let python = python.to_str().unwrap();
    let program = format!("open({:?}, 'w').close()", dir.join("RAN").to_str().unwrap());
    let run = |opts: &[&str], path: &str| {
        let mut args = vec!["profile"];
        args.extend(opts);
        args.extend(["--", python, "-c", &program]);
        assert_fails_fast(dir, &args, path);
    };
    run(&["--flamegraph", "missing/out.svg"], "missing/out.svg");
    run(&["--flamegraph", "adir"], "adir");
    run(
        &["--flamegraph", "out.svg", "--folded", "missing/out.folded"],
        "missing/out.folded",
    );
    run(&["--memory", "--json", "missing/m.json"], "missing/m.json");
    run(
        &["--memory", "--capture", "missing/capture.bin"],
        "missing/capture.bin",
    );
}
