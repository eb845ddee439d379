//! Hostile values in `pyz3 fuzz`: decoded inputs select them (a few tag bytes of any-typed
//! positions, and callbacks for `Callable` parameters). On the hostile-values C fixture
//! (tests/fixtures/hostile/hv_c.c), whose planted functions read a list's length once and
//! borrow items while calling back into Python, the fuzzer finds the crash; the reproducer holds
//! the hostile classes as plain Python and crashes a fresh interpreter; `pyz3 fuzz repro` shows
//! them. The correct twin gives no finding, and `--no-hostile` turns them off.

use super::{artifacts, fuzz_lock, pyz3, text, venv};
use crate::util::Project;
use std::process::Command;

fn fuzz(dir: &std::path::Path, target: &str, seconds: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["fuzz", target, "--max-time", seconds];
    args.extend(extra);
    args.extend(["--", "-seed=1"]);
    let out = pyz3(dir).args(&args).run();
    (out.status.code().unwrap_or(-1), text(&out))
}

#[test]
fn hostile_values_crash_a_cached_length_walk_and_the_reproducer_crashes() {
    let _g = fuzz_lock();
    let tmp = Project::new();
    crate::hostile::c_module(tmp.path(), "hvfz", true);
    let (code, log) = fuzz(tmp.path(), "hvfz:str_items", "240", &[]);
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("crash in hvfz.str_items"), "{log}");
    let script = artifacts(&tmp.path().join(".pyz3/repro"))
        .into_iter()
        .next()
        .expect("reproducer");
    let source = std::fs::read_to_string(&script).unwrap();
    assert!(
        source.contains("class ") && source.contains("bind(args, f)"),
        "{source}"
    );
    let run = Command::new(venv().join("bin/python"))
        .arg(&script)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        std::os::unix::process::ExitStatusExt::signal(&run.status).is_some(),
        "the reproducer does not crash a fresh python3: {}\n{source}",
        text(&run)
    );
    // `pyz3 fuzz repro` shows the classes before the call.
    let arts = artifacts(&tmp.path().join(".pyz3/fuzz/artifacts/hvfz.str_items"));
    let r = pyz3(tmp.path())
        .args([
            "fuzz",
            "repro",
            arts[0].to_str().unwrap(),
            "--target",
            "hvfz:str_items",
        ])
        .run();
    let shown = String::from_utf8_lossy(&r.stdout).to_string();
    assert!(r.status.success(), "{}", text(&r));
    assert!(
        shown.contains("class ") && shown.contains("str_items(["),
        "{shown}"
    );
}

#[test]
fn the_correct_twin_and_no_hostile_give_no_finding() {
    let _g = fuzz_lock();
    let tmp = Project::new();
    crate::hostile::c_module(tmp.path(), "hvok", false);
    for target in ["hvok:str_items", "hvok:walk"] {
        let (code, log) = fuzz(tmp.path(), target, "20", &[]);
        assert_eq!(code, 0, "{target}: {log}");
    }
    let planted = Project::new();
    crate::hostile::c_module(planted.path(), "hvno", true);
    let (code, log) = fuzz(planted.path(), "hvno:str_items", "20", &["--no-hostile"]);
    assert_eq!(code, 0, "{log}");
}
