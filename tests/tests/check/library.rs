//! The harness as a library: strategies per argument, Rust properties, slow functions and the
//! shrink time limit.

use super::*;

/// Options for calling the library harness from this test binary (workers run the project's
/// virtualenv python; a Rust property runs in this process's embedded interpreter).
fn library_options(dir: &Path) -> pyz3::check::CheckOptions {
    crate::common::python(|_| ());
    let python = pyz3::project::Interpreter::probe(&venv_python()).unwrap();
    let mut options = pyz3::check::CheckOptions::new(python);
    options.repro_dir = Some(dir.join("repro"));
    options
}

#[test]
fn library_harness_takes_strategies_per_argument() {
    use pyz3::check::check_function;
    use pyz3::report::FindingKind;
    use pyz3::strategy::{container, scalar, Size};
    use pyz3::target::Target;
    let tmp = Project::new();
    std::fs::write(
        tmp.path().join("libtarget.py"),
        "def first_negative_crashes(xs):\n    if xs and xs[0] < -5:\n        raise SystemError('negative head')\n    return len(xs)\n",
    )
    .unwrap();
    let mut options = library_options(tmp.path());
    options.cases = 150;
    let target = Target {
        module: "libtarget".into(),
        path: Some(tmp.path().to_path_buf()),
        function: "first_negative_crashes".into(),
        param_names: vec!["xs".into()],
        strategies: Some(vec![container::list(scalar::int(Size::default()), 6)]),
        ..Target::default()
    };
    let mut seen = 0;
    let report = check_function(&target, &options, &mut |n| seen = n).unwrap();
    assert_eq!(report.cases, 150);
    assert_eq!(seen, 150);
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let f = &report.findings[0];
    assert_eq!(f.kind, FindingKind::SystemError);
    assert_eq!(f.input, "([-6],)");
    assert!(f.reproducer.as_ref().unwrap().exists());
}

#[test]
fn rust_property_closures_are_checked_and_shrunk() {
    use pyo3::prelude::*;
    use pyz3::check::{check_function, RustProperty};
    use pyz3::report::FindingKind;
    use pyz3::target::Target;
    use pyz3::value::Value;
    let so = demo().join("pyz3_demo.so");
    let tmp = Project::new();
    let options = library_options(tmp.path());
    // bad_abs must agree with a Rust computation of |x|.
    let prop = RustProperty::new(|_py, args, result| {
        let Value::Int(x) = &args[0] else {
            return Ok(());
        };
        let Ok(r) = result else { return Ok(()) };
        let got: num_bigint::BigInt = r.extract().map_err(|e: PyErr| e.to_string())?;
        let want = num_traits::Signed::abs(x);
        if got == want {
            Ok(())
        } else {
            Err(format!("abs({x}) gave {got}, expected {want}"))
        }
    });
    let target = Target {
        module: "pyz3_demo".into(),
        path: Some(so.parent().unwrap().to_path_buf()),
        function: "bad_abs".into(),
        param_names: vec!["x".into()],
        param_types: vec!["int".into()],
        rust_property: Some(prop),
        ..Target::default()
    };
    let report = check_function(&target, &options, &mut |_| {}).unwrap();
    let kinds: Vec<FindingKind> = report.findings.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        vec![FindingKind::PropertyFailed],
        "{:?}",
        report.findings
    );
    assert_eq!(report.findings[0].input, "(-1001,)");
    assert!(
        report.findings[0].message.contains("expected 1001"),
        "{}",
        report.findings[0].message
    );
}

#[test]
fn slow_functions_are_not_mistaken_for_hangs() {
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("slowish.py"),
        "import time\ndef slow(x: int) -> int:\n    time.sleep(0.02)\n    return x\n",
    )
    .unwrap();
    // Whole batches take far longer than the per-case silence deadline would allow.
    let out = Pyz3::new(dir)
        .args([
            "check",
            "slowish",
            "--cases",
            "60",
            "--timeout-ms",
            "100",
            "--memory-every",
            "0",
        ])
        .run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        out.stderr_text()
    );
}

/// When shrinking hits its time limit, pyz3 says so in its own words (a warning naming the
/// finding's kind): nothing on stderr names proptest's environment variables. The check runs in
/// a child process (this test binary, running `shrink_time_limit_child`), whose stderr is its own.
#[test]
fn hitting_the_shrink_time_limit_names_no_proptest_variable() {
    let tmp = Project::new();
    // This module's path in the test binary, without the crate's name.
    let module = module_path!().split_once("::").unwrap().1;
    let child = format!("{module}::shrink_time_limit_child");
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &child,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("PYZ3_SHRINK_CHILD_DIR", tmp.path())
        .output()
        .unwrap();
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), out.stderr_text());
    assert!(out.status.success(), "{stdout}{err}");
    assert!(stdout.contains("FOUND system-error"), "{stdout}{err}");
    assert!(
        stdout.contains("WARNING system-error: shrinking stopped at its time limit, after ")
            && stdout.contains("; the finding is reported as far as it got"),
        "{stdout}{err}"
    );
    assert!(!err.contains("PROPTEST_"), "{err}");
    assert!(!stdout.contains("PROPTEST_"), "{stdout}");
}

/// The child half of `hitting_the_shrink_time_limit_names_no_proptest_variable`: a library
/// check with `max_shrink_time` of 1 ms; prints the findings and warnings.
#[test]
#[ignore = "run by hitting_the_shrink_time_limit_names_no_proptest_variable"]
fn shrink_time_limit_child() {
    use pyz3::check::check_function;
    use pyz3::target::Target;
    // Only as the child (`--ignored` alone does nothing).
    let Some(dir) = std::env::var_os("PYZ3_SHRINK_CHILD_DIR").map(PathBuf::from) else {
        return;
    };
    std::fs::write(
        dir.join("bigfail.py"),
        // Each failing call takes 5 ms: longer than the whole time limit.
        "import time\ndef f(x):\n    if x > 10:\n        time.sleep(0.005)\n        raise SystemError('big')\n    return x\n",
    )
    .unwrap();
    let mut options = library_options(&dir);
    options.cases = 50;
    options.max_shrink_time = std::time::Duration::from_millis(1);
    let target = Target {
        module: "bigfail".into(),
        path: Some(dir.clone()),
        function: "f".into(),
        param_names: vec!["x".into()],
        param_types: vec!["int".into()],
        ..Target::default()
    };
    let report = check_function(&target, &options, &mut |_| {}).unwrap();
    for f in &report.findings {
        println!("FOUND {} {}", f.kind, f.input);
    }
    for w in &report.warnings {
        println!("WARNING {w}");
    }
}
