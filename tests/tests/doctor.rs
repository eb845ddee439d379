//! `pyz3 doctor`: every check is listed, the exit code follows the checks, missing tools come with
//! what to install, and a bad `--python` is a usage error.

use crate::util::Project;
use std::path::Path;
use std::process::{Command, Output};

use pyz3::doctor::{write_table, Check};

const VENV_PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");

/// Every check `pyz3 doctor` makes, by the start of its name (the LLVM ones end in rustc's major).
const CHECKS: &[&str] = &[
    "rustc",
    "python",
    "libpython",
    "numpy",
    "nightly toolchain",
    "cargo-fuzz",
    "libclang_rt.fuzzer-",
    "clang-",
    "libclang_rt.asan-",
    "libclang_rt.tsan-",
    "libclang_rt.ubsan_standalone-",
    "llvm-symbolizer-",
    "libasan (gcc)",
    "valgrind",
    "llvm-profdata-",
    "llvm-cov-",
    "perf",
    "py-spy",
    "pytest",
    "setuptools",
    "meson-python",
    "meson",
    "ninja",
    "scikit-build-core",
    "cmake",
    "cython",
    "nanobind",
    "pybind11",
    "pyZ3",
    "zig",
];

fn doctor(args: &[&str], env: impl FnOnce(&mut Command)) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pyz3"));
    cmd.arg("doctor").args(args);
    env(&mut cmd);
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// The checks of a JSON report, after checking its envelope.
fn json_checks(json: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["version"], 1, "{json}");
    let checks = v["checks"].as_array().unwrap().clone();
    let all_ok = checks.iter().all(|c| c["ok"] == true);
    assert_eq!(v["ok"], all_ok, "{json}");
    checks
}

/// Each expected check appears exactly once, and nothing else does.
fn assert_every_check_named(checks: &[serde_json::Value]) {
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), CHECKS.len(), "{names:?}");
    for want in CHECKS {
        let n = names
            .iter()
            .filter(|n| **n == *want || (want.ends_with('-') && n.starts_with(want)))
            .count();
        assert_eq!(n, 1, "{want} in {names:?}");
    }
}

/// stderr is one line: `--python P` is not a Python interpreter.
fn assert_not_an_interpreter_error(o: &Output, python: &str) {
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "pyz3: error: --python {python} is not a Python interpreter"
        )),
        "{err}"
    );
}

/// The table row of the check called `name`: its status and detail.
fn row<'a>(table: &'a str, name: &str) -> (&'a str, &'a str) {
    let line = table
        .lines()
        .skip(1)
        .find(|l| l.split("  ").map(str::trim).any(|cell| cell == name))
        .unwrap_or_else(|| panic!("no row for {name} in\n{table}"));
    let mut cells = line.split("  ").map(str::trim).filter(|c| !c.is_empty());
    cells.next(); // feature
    cells.next(); // check
    let status = cells.next().unwrap_or("");
    let detail = line
        .split_once(&format!("  {status}  "))
        .map_or("", |(_, d)| d.trim());
    (status, detail)
}

#[test]
fn lists_every_check_and_exits_0_only_when_all_are_ok() {
    let dir = Project::new();
    let json = dir.path().join("doctor.json");
    let o = doctor(
        &["--python", VENV_PYTHON, "--json", json.to_str().unwrap()],
        |_| {},
    );
    let table = text(&o.stdout);
    let checks = json_checks(&std::fs::read_to_string(&json).unwrap());
    assert_every_check_named(&checks);

    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["feature", "check", "status", "detail"], "{table}");
    for c in &checks {
        let name = c["name"].as_str().unwrap();
        let (status, detail) = row(&table, name);
        if c["ok"] == true {
            assert_eq!(status, "ok", "{name}\n{table}");
            assert!(!c["found"].as_str().unwrap().is_empty(), "{c}");
            assert_eq!(detail, c["found"].as_str().unwrap(), "{table}");
        } else {
            assert_eq!(status, "MISSING", "{name}\n{table}");
            let fix = c["fix"].as_str().unwrap();
            assert!(!fix.is_empty(), "{c}");
            assert!(detail.starts_with(fix), "{name}: {detail}\n{table}");
        }
    }
    let all_ok = checks.iter().all(|c| c["ok"] == true);
    assert_eq!(o.status.code(), Some(if all_ok { 0 } else { 1 }), "{table}");
    assert_eq!(table.contains("MISSING"), !all_ok, "{table}");

    // The project's own virtualenv has its test packages (scripts/setup.sh installs them).
    for c in &checks {
        if [
            "python",
            "numpy",
            "pytest",
            "setuptools",
            // requirements.txt installs the build backends, their tools and binding libraries.
            "meson-python",
            "meson",
            "ninja",
            "scikit-build-core",
            "cmake",
            "cython",
            "nanobind",
            "pybind11",
        ]
        .contains(&c["name"].as_str().unwrap())
        {
            assert_eq!(c["ok"], true, "{c}");
        }
    }
    let python = checks.iter().find(|c| c["name"] == "python").unwrap();
    assert!(
        python["found"]
            .as_str()
            .unwrap()
            .contains(".venv/bin/python"),
        "{python}"
    );

    // `--json -` prints the same checks instead of the table.
    let o2 = doctor(&["--python", VENV_PYTHON, "--json", "-"], |_| {});
    let again = json_checks(&text(&o2.stdout));
    let names = |cs: &[serde_json::Value]| -> Vec<String> {
        cs.iter().map(|c| c["name"].to_string()).collect()
    };
    assert_eq!(names(&again), names(&checks));
    assert_eq!(o2.status.code(), o.status.code());
}

#[test]
fn without_tools_on_path_they_are_missing_with_what_to_install() {
    // PATH holds only python3: no rustc, cargo, gcc, valgrind, perf, py-spy, LLVM tools.
    let dir = Project::new();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(
        std::fs::canonicalize(VENV_PYTHON).unwrap(),
        bin.join("python3"),
    )
    .unwrap();
    let json = dir.path().join("doctor.json");
    let o = doctor(&["--json", json.to_str().unwrap()], |cmd| {
        cmd.env("PATH", &bin)
            .env_remove("VIRTUAL_ENV")
            .env_remove("PYZ3_CARGO");
    });
    let table = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{table}\n{}", text(&o.stderr));
    let checks = json_checks(&std::fs::read_to_string(&json).unwrap());
    assert_every_check_named(&checks);

    let expect_missing = [
        ("rustc", "rustup"),
        ("nightly toolchain", "rustup toolchain install nightly"),
        ("cargo-fuzz", "cargo install cargo-fuzz"),
        ("valgrind", "apt-get install valgrind"),
        ("libasan (gcc)", "apt-get install gcc"),
        ("perf", "apt-get install linux-"),
        ("clang-N", "install Rust first"),
        ("llvm-profdata-N", "install Rust first"),
        ("py-spy", "-m pip install py-spy"),
    ];
    for (name, fix) in expect_missing {
        let (status, detail) = row(&table, name);
        assert_eq!(status, "MISSING", "{name}\n{table}");
        assert!(detail.contains(fix), "{name}: {detail}\n{table}");
    }
    // The build backends, their tools and binding libraries, when the interpreter lacks them:
    // what to install with its pip (the kind of project's whole set for a backend).
    for (name, install) in [
        ("meson-python", "meson-python meson ninja"),
        ("meson", "meson"),
        ("ninja", "ninja"),
        ("scikit-build-core", "scikit-build-core cmake ninja"),
        ("cmake", "cmake"),
        ("cython", "cython"),
        ("nanobind", "nanobind scikit-build-core cmake ninja"),
        ("pybind11", "pybind11 scikit-build-core cmake ninja"),
    ] {
        let (status, detail) = row(&table, name);
        let c = checks.iter().find(|c| c["name"] == name).unwrap();
        assert_eq!(c["feature"], "backends", "{c}");
        if status == "MISSING" {
            assert!(
                detail.contains(&format!(" -m pip install {install}")),
                "{name}: {detail}\n{table}"
            );
        }
    }
    // Without a virtualenv the interpreter is python3 from PATH.
    let python = checks.iter().find(|c| c["name"] == "python").unwrap();
    assert_eq!(python["ok"], true, "{python}");
    let found = python["found"].as_str().unwrap();
    assert!(found.contains(bin.to_str().unwrap()), "{found}");
    // What to install, once each, after the table.
    let (_, fixes) = table.split_once("to install what is missing:").unwrap();
    assert!(
        fixes.contains("rustup toolchain install nightly"),
        "{table}"
    );
    let apt: Vec<&str> = fixes
        .lines()
        .filter(|l| l.trim().starts_with("apt-get install"))
        .collect();
    assert_eq!(apt.len(), 1, "{table}");
    assert!(
        apt[0].contains(" valgrind") && apt[0].contains(" gcc"),
        "{table}"
    );
}

#[test]
fn the_active_virtualenv_is_the_default_python() {
    let dir = Project::new();
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv");
    let o = doctor(&["--json", "-"], |cmd| {
        cmd.env("PATH", dir.path()).env("VIRTUAL_ENV", &venv);
    });
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let checks = json_checks(&text(&o.stdout));
    let python = checks.iter().find(|c| c["name"] == "python").unwrap();
    assert_eq!(python["ok"], true, "{python}");
    let want = venv.join("bin/python");
    assert!(
        python["found"]
            .as_str()
            .unwrap()
            .contains(want.to_str().unwrap()),
        "{python}"
    );
    // And without one, python3 on a PATH that has none is missing too, with what to install.
    let o = doctor(&["--json", "-"], |cmd| {
        cmd.env("PATH", dir.path()).env_remove("VIRTUAL_ENV");
    });
    assert_eq!(o.status.code(), Some(1));
    let checks = json_checks(&text(&o.stdout));
    let python = checks.iter().find(|c| c["name"] == "python").unwrap();
    assert_eq!(python["ok"], false, "{python}");
    assert!(
        python["fix"].as_str().unwrap().contains("CPython"),
        "{python}"
    );
}

#[test]
fn a_python_that_does_not_exist_is_a_one_line_error_and_exit_2() {
    for bad in ["/nonexistent/python", "no-such-python-pyz3"] {
        let o = doctor(&["--python", bad], |_| {});
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        assert!(o.stdout.is_empty(), "{o:?}");
        let err = text(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("pyz3: error: --python "), "{err}");
        assert!(err.contains(bad), "{err}");
    }
}

/// `--python` naming a program that prints escape codes, a carriage return, NUL and random
/// bytes and exits 0: the table holds none of it, only one line saying it is not a Python
/// interpreter; the run is a usage error (exit 2). A program that is killed by a signal and one
/// that explains itself on stderr read the same way, with their reason.
#[test]
fn a_python_that_prints_binary_is_named_not_an_interpreter() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = Project::new();
    let script = |name: &str, body: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.to_str().unwrap().to_string()
    };
    let cases = [
        (
            script(
                "garbage",
                "printf '\\033[2J\\033[31mPWNED\\r\\000\\n'; head -c 4000 /dev/urandom; \
                 printf '\\033]0;title\\007' >&2; exit 0",
            ),
            "(no answer to pyz3's probe; it exited 0)",
        ),
        (
            script("aborts", "kill -ABRT $$"),
            "(no answer to pyz3's probe; it was killed by a signal)",
        ),
        (
            script("explains", "echo 'SyntaxError: invalid syntax' >&2; exit 1"),
            "(no answer to pyz3's probe; it exited with status 1): SyntaxError: invalid syntax",
        ),
    ];
    for (python, reason) in cases {
        let o = doctor(&["--python", &python], |_| {});
        assert_eq!(o.status.code(), Some(2), "{o:?}");
        let table = String::from_utf8(o.stdout.clone()).expect("the table is UTF-8");
        let bad: Vec<char> = table
            .chars()
            .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{fffd}')
            .collect();
        assert!(bad.is_empty(), "{bad:?} in\n{table}");
        assert!(!table.contains("PWNED"), "{table}");
        let (status, detail) = row(&table, "python");
        assert_eq!(status, "MISSING", "{table}");
        assert!(
            detail.contains(&format!("`{python}` is not a Python interpreter {reason}")),
            "{detail}"
        );
        assert_not_an_interpreter_error(&o, &python);
    }
}

/// `--python` naming a program that never answers: the probe gives up at its limit (30 s), the
/// row says so once, the rows that need an interpreter say there is none (no `pip install` for
/// a program that is not Python), the run is a usage error, and the program is not left running.
#[test]
fn a_python_that_hangs_is_given_up_at_its_limit() {
    use std::os::unix::fs::PermissionsExt;
    use std::time::{Duration, Instant};
    let tmp = Project::new();
    let pid_file = tmp.path().join("pid");
    let python = tmp.path().join("hangs");
    std::fs::write(
        &python,
        format!(
            "#!/bin/sh
echo $$ > {}
exec sleep 3600
",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
    let python = python.to_str().unwrap();
    let start = Instant::now();
    let o = doctor(&["--python", python], |_| {});
    let took = start.elapsed();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    let table = text(&o.stdout);
    let (status, detail) = row(&table, "python");
    assert_eq!(status, "MISSING", "{table}");
    assert!(
        detail.contains(&format!(
            "`{python}` is not a Python interpreter (no answer to pyz3's probe; timed out after 30 s)"
        )),
        "{detail}"
    );
    assert_eq!(detail.matches("timed out").count(), 1, "{detail}");
    for name in ["numpy", "pytest", "setuptools"] {
        let (status, detail) = row(&table, name);
        assert_eq!((status, detail), ("MISSING", "no interpreter"), "{table}");
    }
    assert!(
        !table.contains(&format!("{python} -m pip install numpy")),
        "{table}"
    );
    assert_not_an_interpreter_error(&o, python);
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !crate::common::process_gone(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        crate::common::process_gone(pid),
        "the hanging program {pid} still runs"
    );
}

#[test]
fn table_columns_line_up_and_fixes_are_merged() {
    let check = |feature, name: &str, ok, found: &str, fix: &str| Check {
        feature,
        name: name.to_string(),
        ok,
        found: found.to_string(),
        fix: fix.to_string(),
    };
    let checks = [
        check("core", "rustc", true, "1.95.0 (LLVM 22.1.2)", ""),
        check(
            "sanitizers",
            "llvm-symbolizer-22",
            false,
            "",
            "apt-get install llvm-22",
        ),
        check(
            "coverage",
            "llvm-cov-22",
            false,
            "",
            "apt-get install llvm-22",
        ),
        check(
            "sanitizers",
            "valgrind",
            false,
            "",
            "apt-get install valgrind",
        ),
        check("tests", "pytest", false, "", "py -m pip install pytest"),
        check(
            "tests",
            "setuptools",
            false,
            "ImportError: x",
            "py -m pip install setuptools",
        ),
    ];
    let mut out = Vec::new();
    write_table(&checks, &mut out).unwrap();
    let table = text(&out);
    let lines: Vec<&str> = table.lines().take(checks.len() + 1).collect();
    for col in ["check", "status", "detail"] {
        let at = lines[0].find(col).unwrap();
        for l in &lines[1..] {
            let before = &l[..at];
            assert!(
                before.ends_with("  ") && !l[at..].starts_with(' '),
                "{col}\n{table}"
            );
        }
    }
    assert!(
        lines[6].ends_with("py -m pip install setuptools  (ImportError: x)"),
        "{table}"
    );
    let tail: Vec<&str> = table.lines().skip(checks.len() + 2).collect();
    assert_eq!(
        tail,
        [
            "5 of 6 checks missing; to install what is missing:",
            "  apt-get install llvm-22 valgrind",
            "  py -m pip install pytest setuptools",
        ],
        "{table}"
    );

    let mut out = Vec::new();
    write_table(&checks[..1], &mut out).unwrap();
    assert!(
        text(&out).ends_with("\nall 1 checks ok\n"),
        "{}",
        text(&out)
    );
}

/// Every build of CPython the harness runs in passes the interpreter rows: the project's
/// shared 3.11 and the free-threaded static 3.13 (libpython is needed only to embed, and a
/// static one serves), each described by its build.
#[test]
fn shared_and_static_free_threaded_interpreters_pass() {
    let ft = std::env::var("PYZ3_TEST_PYTHON_FT").unwrap_or_else(|_| {
        format!(
            "{}/.cache/pyz3/venv-3.13t/bin/python",
            std::env::var("HOME").unwrap()
        )
    });
    for (python, traits) in [
        (VENV_PYTHON, "shared"),
        (ft.as_str(), "free-threaded, static"),
    ] {
        let dir = Project::new();
        let json = dir.path().join("doctor.json");
        doctor(
            &["--python", python, "--json", json.to_str().unwrap()],
            |_| {},
        );
        let checks = json_checks(&std::fs::read_to_string(&json).unwrap());
        let get = |name: &str| {
            checks
                .iter()
                .find(|c| c["name"] == name)
                .unwrap_or_else(|| panic!("{name}"))
                .clone()
        };
        let py = get("python");
        assert_eq!(py["ok"], true, "{py}");
        assert!(py["found"].as_str().unwrap().contains(traits), "{py}");
        let lib = get("libpython");
        assert_eq!(lib["ok"], true, "{lib}");
        let kind = if traits.contains("static") {
            "static: "
        } else {
            "shared: "
        };
        assert!(lib["found"].as_str().unwrap().starts_with(kind), "{lib}");
    }
}
