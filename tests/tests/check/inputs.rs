//! Bad input and what the run is told: one-line errors, unknown stub types, pyproject.toml
//! settings and stub packages.

use super::*;

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let tmp = Project::new();
    let dir = tmp.path();
    let one_line = |o: &Output, needle: &str| {
        assert_eq!(o.status.code(), Some(2), "{}", o.stderr_text());
        let err = o.stderr_text();
        let last = err
            .trim_end()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        assert!(last.starts_with("pyz3: error: "), "{err}");
        assert!(last.contains(needle), "expected `{needle}` in: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    one_line(
        &Pyz3::new(dir).args(["check", "no_such_module_xyz"]).run(),
        "no_such_module_xyz",
    );
    let so = demo().join("pyz3_demo.so");
    let so = so.to_str().unwrap();
    one_line(
        &Pyz3::new(dir).args(["check", &format!("{so}:nope")]).run(),
        "nope",
    );
    one_line(
        &Pyz3::new(dir)
            .args(["check", so, "--function", "nope2"])
            .run(),
        "nope2",
    );
    one_line(
        &Pyz3::new(dir)
            .args([
                "check",
                &format!("{so}:bad_abs"),
                "--oracle",
                "bad_abs=no_such_mod:abs",
            ])
            .run(),
        "no_such_mod",
    );
    one_line(
        &Pyz3::new(dir)
            .args([
                "check",
                &format!("{so}:bad_abs"),
                "--oracle",
                "bad_abs=builtins:no_such_fn",
            ])
            .run(),
        "no_such_fn",
    );
    one_line(
        &Pyz3::new(dir)
            .args([
                "check",
                &format!("{so}:add"),
                "--oracle",
                "typo=builtins:abs",
            ])
            .run(),
        "typo",
    );
    std::fs::write(
        dir.join("broken.pyi"),
        "def add(a: int, b: int -> int: ...\n",
    )
    .unwrap();
    one_line(
        &Pyz3::new(dir)
            .args(["check", so, "--stubs", "broken.pyi"])
            .run(),
        "does not parse",
    );
    one_line(
        &Pyz3::new(dir)
            .args(["check", so, "--stubs", "missing.pyi"])
            .run(),
        "missing.pyi",
    );
    // A module whose import crashes the interpreter.
    std::fs::write(
        dir.join("segv_on_import.py"),
        "import ctypes\nctypes.string_at(0)\n",
    )
    .unwrap();
    one_line(
        &Pyz3::new(dir).args(["check", "segv_on_import"]).run(),
        "crashed",
    );
}

#[test]
fn unknown_stub_type_falls_back_with_a_warning() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(dir.join("plain.py"), "def ident(x):\n    return x\n").unwrap();
    std::fs::write(
        dir.join("plain.pyi"),
        "def ident(x: Frobnicator) -> Frobnicator: ...\n",
    )
    .unwrap();
    let out = Pyz3::new(dir)
        .args(["check", "plain", "--cases", "100"])
        .run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        out.stderr_text()
    );
    let err = out.stderr_text();
    assert!(
        err.contains("warning") && err.contains("Frobnicator"),
        "{err}"
    );
}

#[test]
fn pyproject_settings_and_stub_packages_are_used() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("sums.py"),
        "def total(xs):\n    return sum(xs)\n\ndef bad_total(xs):\n    return sum(xs) + (1 if len(xs) > 2 else 0)\n",
    )
    .unwrap();
    // A PEP 561 stub-only package for a top-level module.
    std::fs::create_dir(dir.join("sums-stubs")).unwrap();
    std::fs::write(
        dir.join("sums-stubs/__init__.pyi"),
        "def total(xs: list[int]) -> int: ...\ndef bad_total(xs: list[int]) -> int: ...\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("pyproject.toml"),
        "[tool.pyz3.check]\ncases = 150\noracle = { bad_total = \"builtins:sum\", total = \"builtins:sum\" }\n",
    )
    .unwrap();
    let out = Pyz3::new(dir)
        .args(["check", "sums", "--json", "r.json"])
        .run();
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    assert!(
        out.stderr_text().contains("sums-stubs"),
        "{}",
        out.stderr_text()
    );
    let report: Json =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let by_fn = findings_by_function(&report);
    let get = |n: &str| by_fn.iter().find(|f| f.0 == n).unwrap().clone();
    assert_eq!(get("total").1, 150);
    assert!(get("total").2.is_empty());
    assert_eq!(
        get("bad_total").2,
        vec![("oracle-mismatch".to_string(), "([0, 0, 0],)".to_string())]
    );
    // A bad setting in pyproject.toml is a one-line error, exit 2.
    std::fs::write(
        dir.join("pyproject.toml"),
        "[tool.pyz3.check]\ncasess = 3\n",
    )
    .unwrap();
    let out = Pyz3::new(dir).args(["check", "sums"]).run();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stderr_text().contains("casess"),
        "{}",
        out.stderr_text()
    );
}
