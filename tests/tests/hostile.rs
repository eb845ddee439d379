//! Hostile values in `pyz3 check`: a C fixture (tests/fixtures/hostile/hv_c.c) built in a temp
//! dir for the project's CPython 3.11, whose functions call back into Python while they hold a
//! cached list length or borrowed items (a sum by `PyNumber_Add`, `str()` of items, a
//! `PyDict_Next` walk, a `default` callback), is found crashing by the generated objects whose
//! dunder methods mutate the container; each reproducer crashes a fresh interpreter by itself.
//! The correct twin (the fixes after the `PLANTED:` markers) gives no finding over many seeds,
//! and `--no-hostile` turns them off. The same for a PyO3 fixture (tests/fixtures/hostile/hv_rs.rs)
//! that walks a `PyList` by index with a cached length and unchecked reads, and for the C fixture
//! on the free-threaded 3.13t.

use crate::util::report::{finding, found};
use std::path::Path;
use std::process::Command;

use serde_json::Value as Json;

use crate::common::with_fixes;
use crate::interpreters::{ft_python, py_eval};
use crate::util::{fixture, render, venv_python, Project, Pyz3};

const FUNCTIONS: [&str; 4] = ["dict_pairs", "str_items", "sum_items", "walk"];

/// Builds the fixture (planted or its twin) as `module` for the project's interpreter in `dir`,
/// with its stub.
pub(crate) fn c_module(dir: &Path, module: &str, planted: bool) {
    c_module_for(&venv_python(), dir, module, planted)
}

/// Builds the C fixture (planted or its twin) as `module` for `python` in `dir`, with its stub.
fn c_module_for(python: &Path, dir: &Path, module: &str, planted: bool) {
    let text = render(&fixture("hostile/hv_c.c"), &[("module", module)]);
    let text = if planted { text } else { with_fixes(&text) };
    std::fs::write(dir.join(format!("{module}.c")), text).unwrap();
    std::fs::write(
        dir.join(format!("{module}.pyi")),
        fixture("hostile/hv_c.pyi"),
    )
    .unwrap();
    let include = py_eval(
        python,
        "import sysconfig; print(sysconfig.get_paths()['include'])",
    );
    let suffix = py_eval(
        python,
        "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))",
    );
    let cc = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(format!("{module}{suffix}"))
        .arg(format!("{module}.c"))
        .arg(format!("-I{include}"))
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
}

/// Builds the PyO3 fixture (tests/fixtures/hostile/hv_rs.rs, planted or its twin) as `module`
/// for the project's interpreter in `dir`, with its stub, in the cargo target directory the
/// thread-safety tests' PyO3 fixture uses (PyO3 is built once for both).
fn pyo3_module(dir: &Path, module: &str, planted: bool) {
    let text = render(&fixture("hostile/hv_rs.rs"), &[("module", module)]);
    let text = if planted { text } else { with_fixes(&text) };
    let crate_dir = Project::new().pyo3(module, &text);
    crate::util::build_pyo3_module(crate_dir.path(), module, dir);
    std::fs::write(
        dir.join(format!("{module}.pyi")),
        fixture("hostile/hv_rs.pyi"),
    )
    .unwrap();
}

/// `pyz3 check MODULE --json r.json --repro-dir repro ARGS`: exit code, report, output.
fn check(dir: &Path, module: &str, args: &[&str]) -> (i32, Json, String) {
    check_with(&venv_python(), dir, module, args)
}

/// `pyz3 check MODULE --python PYTHON --json r.json --repro-dir repro ARGS`.
fn check_with(python: &Path, dir: &Path, module: &str, args: &[&str]) -> (i32, Json, String) {
    let mut all = vec![
        "check",
        module,
        "--python",
        python.to_str().unwrap(),
        "--json",
        "r.json",
        "--repro-dir",
        "repro",
    ];
    all.extend_from_slice(args);
    let out = Pyz3::new(dir).no_venv().args(&all).run();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(dir.join("r.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_else(|_| panic!("no report\n{text}"));
    (out.status.code().unwrap_or(-1), report, text)
}

/// Asserts that the report's findings are exactly a `crash` in each of `functions`, whose message
/// names the hostile class and what its method did, whose input uses the class, and whose
/// reproducer (the classes as plain Python) crashes a fresh interpreter run with no environment
/// of pyz3's.
fn assert_crashes(dir: &Path, report: &Json, functions: &[&str], text: &str) {
    assert_crashes_with(&venv_python(), dir, report, functions, text)
}

/// [`assert_crashes`], the reproducers run with `python`.
fn assert_crashes_with(python: &Path, dir: &Path, report: &Json, functions: &[&str], text: &str) {
    let want: Vec<(String, String)> = functions
        .iter()
        .map(|f| (f.to_string(), "crash".to_string()))
        .collect();
    assert_eq!(found(report), want, "{text}");
    for &function in functions {
        let f = finding(report, function);
        let message = f["message"].as_str().unwrap();
        assert!(
            message.contains("with hostile values in the arguments:"),
            "{function}: {message}"
        );
        let definitions = f["definitions"].as_array().expect("definitions");
        let armed: Vec<&str> = definitions
            .iter()
            .map(|d| d.as_str().unwrap())
            .filter(|d| d.contains("armed = False"))
            .collect();
        assert!(!armed.is_empty(), "{function}: {f:#}");
        // The class is named for what it does, and the message says so.
        let name = armed[0]
            .strip_prefix("class ")
            .and_then(|d| d.split(['(', ':']).next())
            .unwrap();
        assert!(message.contains(name), "{function}: {name} in {message}");
        assert!(f["input"].as_str().unwrap().contains(name), "{f:#}");
        let repro = f["reproducer"].as_str().expect("reproducer");
        let script = std::fs::read_to_string(dir.join(repro)).unwrap();
        assert!(script.contains(armed[0]), "{script}");
        // A fresh interpreter, nothing of pyz3's in its environment: it crashes.
        let run = Command::new(python)
            .arg(dir.join(repro))
            .current_dir("/")
            .env_remove("PYTHONMALLOC")
            .env_remove("GLIBC_TUNABLES")
            .output()
            .unwrap();
        assert!(
            run.status.code().is_none(),
            "{function}: {:?}\n{}\n{}",
            run.status,
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

/// Each planted re-entrancy bug is a `crash` whose message names the hostile class and what
/// its method did, whose input uses the class, and whose reproducer (the classes as plain
/// Python) crashes a fresh interpreter run with no environment of pyz3's.
#[test]
fn planted_reentrancy_bugs_are_crashes_whose_reproducers_crash() {
    let tmp = Project::new();
    let dir = tmp.path();
    c_module(dir, "hv_bad", true);
    // (The memory check is off: it is not what these values are for.)
    let (code, report, text) = check(dir, "hv_bad", &["--cases", "300", "--memory-every", "0"]);
    assert_eq!(code, 1, "{text}");
    assert_crashes(dir, &report, &FUNCTIONS, &text);
    // Unshrunk, a plain case after hostile ones that saw what they left behind (use of freed
    // memory that did not crash: arguments that change by themselves) is replayed alone and
    // not reported when it does not come back.
    let args = [
        "--cases",
        "30",
        "--shrink-time",
        "0",
        "--function",
        "str_items",
    ];
    let (_, unshrunk, text) = check(dir, "hv_bad", &args);
    for (function, kind) in found(&unshrunk) {
        assert_eq!(kind, "crash", "{function}: {text}");
    }
    // The callback parameter got a hostile callable, which cleared the list it walks.
    let walk = finding(&report, "walk");
    assert!(
        walk["message"]
            .as_str()
            .unwrap()
            .contains("calling it clears the first container argument"),
        "{walk:#}"
    );
}

/// The correct twins (the length re-read, owned references, a snapshot) over 20 seeds of 60
/// cases (every case hostile on seeds 0 and 10; hostile subclasses too from seed 10 on): no
/// finding. The memory check is off: `str()`
/// of some generated values (complex NumPy arrays) grows memory on its own, which is not what
/// this test is about.
#[test]
fn correct_twins_give_no_finding_over_20_seeds() {
    let tmp = Project::new();
    let dir = tmp.path();
    c_module(dir, "hv_good", false);
    for seed in 0..20 {
        let seed = seed.to_string();
        let share = if seed.ends_with('0') { "1" } else { "0.2" };
        let args = [
            "--cases",
            "60",
            "--seed",
            &seed,
            "--hostile-share",
            share,
            "--memory-every",
            "0",
        ];
        let mut args = args.to_vec();
        if seed.len() > 1 {
            args.push("--hostile-subclasses");
        }
        let (code, report, text) = check(dir, "hv_good", &args);
        assert_eq!(code, 0, "seed {seed}: {text}");
        assert!(found(&report).is_empty(), "seed {seed}: {text}");
    }
}

/// The PyO3 fixture, which walks a `PyList` by index with the length read once and reads items
/// unchecked while it calls `str()` or `+` on them, crashes on a list a callback shrank, and its
/// reproducer crashes a fresh interpreter; the twin (the length re-read, the checked
/// `get_item`) gives no finding over 20 seeds of 60 cases (every case hostile on seeds 0 and
/// 10).
#[test]
fn a_pyo3_list_walk_with_a_cached_length_crashes_and_its_twin_is_clean() {
    let tmp = Project::new();
    let dir = tmp.path();
    pyo3_module(dir, "hv_rs_bad", true);
    pyo3_module(dir, "hv_rs_good", false);
    let args = ["--cases", "300", "--memory-every", "0"];
    let (code, report, text) = check(dir, "hv_rs_bad", &args);
    assert_eq!(code, 1, "{text}");
    assert_crashes(dir, &report, &["join_items", "total"], &text);
    for seed in 0..20 {
        let seed = seed.to_string();
        let share = if seed.ends_with('0') { "1" } else { "0.2" };
        let args = [
            "--cases",
            "60",
            "--seed",
            &seed,
            "--hostile-share",
            share,
            "--memory-every",
            "0",
        ];
        let (code, report, text) = check(dir, "hv_rs_good", &args);
        assert_eq!(code, 0, "seed {seed}: {text}");
        assert!(found(&report).is_empty(), "seed {seed}: {text}");
    }
}

/// On the free-threaded 3.13t, the GIL off (the fixture declares it needs none), the C fixture's
/// `str_items` and `sum_items` are found crashing just the same, and their reproducers crash a
/// fresh 3.13t. Every case is hostile here: plain cases have nothing to do with this test.
#[test]
fn planted_reentrancy_bugs_are_found_on_free_threaded_313() {
    let python = ft_python();
    let tmp = Project::new();
    let dir = tmp.path();
    c_module_for(&python, dir, "hv_ft", true);
    let args = [
        "--cases",
        "100",
        "--hostile-share",
        "1",
        "--memory-every",
        "0",
        "--shrink-time",
        "10",
        "--threads",
        "0",
        "--function",
        "str_items",
        "--function",
        "sum_items",
    ];
    let (code, report, text) = check_with(&python, dir, "hv_ft", &args);
    assert_eq!(code, 1, "{text}");
    assert_eq!(report["gil_reenabled"], Json::Bool(false), "{text}");
    assert_crashes_with(&python, dir, &report, &["str_items", "sum_items"], &text);
}

/// `--hostile-subclasses` (or `hostile-subclasses = true` under `[tool.pyz3.check]`) puts
/// hostile subclasses where the stub says `list[int]`: the fixture's `sum_ints`, which caches
/// the length and adds borrowed items (an int subclass's `__radd__` runs first), is found
/// crashing only then.
#[test]
fn hostile_subclasses_find_a_typed_list_walk_only_when_asked() {
    let tmp = Project::new();
    let dir = tmp.path();
    c_module(dir, "hv_sub", true);
    let args = [
        "--cases",
        "300",
        "--memory-every",
        "0",
        "--shrink-time",
        "10",
        "--function",
        "sum_ints",
    ];
    let (code, report, text) = check(dir, "hv_sub", &args);
    assert_eq!(code, 0, "{text}");
    assert!(found(&report).is_empty(), "{text}");
    let mut flagged = args.to_vec();
    flagged.push("--hostile-subclasses");
    let (code, report, text) = check(dir, "hv_sub", &flagged);
    assert_eq!(code, 1, "{text}");
    assert_crashes(dir, &report, &["sum_ints"], &text);
    std::fs::write(
        dir.join("pyproject.toml"),
        "[tool.pyz3.check]\nhostile-subclasses = true\n",
    )
    .unwrap();
    let (code, report, text) = check(dir, "hv_sub", &args);
    assert_eq!(code, 1, "{text}");
    assert_eq!(
        found(&report),
        [("sum_ints".to_string(), "crash".to_string())],
        "{text}"
    );
}

/// `--no-hostile` (and `no-hostile = true` under `[tool.pyz3.check]`) turns the hostile values
/// off: the planted module, whose bugs only hostile values reach, is clean. A share outside 0..1
/// is one line and exit 2.
#[test]
fn no_hostile_turns_them_off_and_a_bad_share_is_refused() {
    let tmp = Project::new();
    let dir = tmp.path();
    c_module(dir, "hv_off", true);
    let args = ["--no-hostile", "--cases", "150", "--memory-every", "0"];
    let (code, report, text) = check(dir, "hv_off", &args);
    assert_eq!(code, 0, "{text}");
    assert!(found(&report).is_empty(), "{text}");
    std::fs::write(
        dir.join("pyproject.toml"),
        "[tool.pyz3.check]\nno-hostile = true\ncases = 150\n",
    )
    .unwrap();
    std::fs::remove_file(dir.join("r.json")).unwrap();
    let (code, report, text) = check(dir, "hv_off", &["--memory-every", "0"]);
    assert_eq!(code, 0, "{text}");
    assert!(found(&report).is_empty(), "{text}");
    std::fs::remove_file(dir.join("pyproject.toml")).unwrap();
    for bad in ["1.5", "-0.1", "nan"] {
        let python = venv_python();
        let out = Pyz3::new(dir)
            .no_venv()
            .args([
                "check",
                "hv_off",
                "--python",
                python.to_str().unwrap(),
                "--hostile-share",
                bad,
            ])
            .run();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{bad}: {stderr}");
        assert!(stderr.contains("--hostile-share"), "{stderr}");
    }
}

/// The share of cases that carry a hostile value, for `list[Any]` and a `Callable`, at the
/// default share: within 10–25 %; none at 0; every case's value pickles.
#[test]
fn the_share_of_cases_with_hostile_values_is_modest() {
    use pyz3::check::cases::{arg_strategies_hostile, generate_case, size_for};
    for types in [vec!["list[Any]"], vec!["list[Any]", "Callable[[Any], Any]"]] {
        let names: Vec<String> = (0..types.len()).map(|i| format!("p{i}")).collect();
        let types: Vec<String> = types.iter().map(|t| t.to_string()).collect();
        for (per_mille, lo, hi) in [
            (pyz3::check::DEFAULT_HOSTILE_PER_MILLE, 100, 250),
            (0, 0, 0),
        ] {
            let a = arg_strategies_hostile(&names, &types, 0, size_for(0), per_mille).unwrap();
            let n = 2000u64;
            let mut hostile = 0;
            for i in 0..n {
                let case = generate_case(&a.strategies, 0, i);
                pyz3::value::args_pickle(&case).unwrap();
                if case.iter().any(|v| v.has_hostile()) {
                    hostile += 1;
                }
            }
            let per_mille_seen = hostile * 1000 / n;
            eprintln!("{types:?} at {per_mille} per mille: {per_mille_seen} per mille of {n} cases carry a hostile value");
            assert!(
                (lo..=hi).contains(&per_mille_seen),
                "{types:?} at {per_mille}: {per_mille_seen} per mille"
            );
        }
    }
}

/// Every behaviour of every base, as the class a reproducer shows, run in the project's
/// interpreter: unarmed, each method does nothing hostile; armed (in a list with other items,
/// with a function to call again), it does what its class is named for: clears the list,
/// raises the named exception, calls the function again once, returns the bad value its
/// description names.
#[test]
fn every_method_and_action_does_what_its_class_is_named_for() {
    use pyz3::value::{Action, Behaviour, Hostile, HostileBase, Renderer, Value};
    let bases = [
        (HostileBase::Object, Value::None),
        (HostileBase::Int, Value::int(3)),
        (HostileBase::Float, Value::Float(1.5)),
        (
            HostileBase::Str,
            Value::Str(pyz3::value::PyStr("ab".chars().map(u32::from).collect())),
        ),
        (HostileBase::Bytes, Value::Bytes(b"ab".to_vec())),
        (HostileBase::List, Value::List(vec![Value::int(1)])),
        (
            HostileBase::Dict,
            Value::Dict(vec![(Value::int(0), Value::int(1))]),
        ),
        (
            HostileBase::Tuple,
            Value::Tuple(vec![Value::int(1), Value::int(2)]),
        ),
        (HostileBase::Callable, Value::None),
    ];
    let mut cases = Vec::new();
    for (base, payload) in &bases {
        for &method in base.methods() {
            for action in Action::ALL {
                let h = Hostile {
                    base: *base,
                    payload: Box::new(payload.clone()),
                    behaviours: vec![Behaviour { method, action }],
                };
                let mut r = Renderer::new();
                let expr = r.render(&Value::Hostile(h.clone()));
                cases.push(serde_json::json!({
                    "source": r.definitions().join("\n"),
                    "expr": expr,
                    "name": h.class_name(),
                    "method": method.dunder(),
                    "action": format!("{action:?}"),
                    "describe": h.describe(),
                }));
            }
        }
    }
    let tmp = Project::new();
    let dir = tmp.path();
    std::fs::write(
        dir.join("cases.json"),
        serde_json::to_string(&cases).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("prelude.py"), pyz3::value::HOSTILE_PRELUDE).unwrap();
    std::fs::write(dir.join("drive.py"), fixture("hostile/drive_behaviours.py")).unwrap();
    let out = Command::new(venv_python())
        .arg("drive.py")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let checked: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert_eq!(checked, cases.len());
}

/// A hostile value inside a container subclass acts on the nearest container of exactly a list,
/// dict, set or bytearray type, never on the subclass: an `OrderedDict` walks itself in CPython's
/// own C code, and CPython 3.11's `OrderedDict` repr reads a key freed by that key's `__hash__`
/// clearing it (a crash with no extension involved, which pyz3 used to pin on the function that
/// called `str()`). Run under `PYTHONMALLOC=malloc_debug`, where that freed read crashes.
#[test]
fn a_value_in_an_ordered_dict_acts_on_the_list_around_it() {
    use pyz3::value::{Action, Behaviour, Hostile, HostileBase, Method, Renderer, Value};
    let h = Hostile {
        base: HostileBase::Int,
        payload: Box::new(Value::int(0)),
        behaviours: vec![Behaviour {
            method: Method::Hash,
            action: Action::Clear,
        }],
    };
    let mut r = Renderer::new();
    let expr = r.render(&Value::Hostile(h));
    let script = format!(
        "{prelude}\n{classes}\n\
         import collections\n\
         outer = [collections.OrderedDict({{{expr}: 0}}), 1]\n\
         assert bind((outer,)) == 1\n\
         od = outer[0]\n\
         key = next(iter(dict.keys(od)))\n\
         assert key.target is outer, key.target\n\
         del key\n\
         try:\n    str(od)\nexcept Exception:\n    pass\n\
         print(len(outer), len(od))\n",
        prelude = pyz3::value::HOSTILE_PRELUDE,
        classes = r.definitions().join("\n"),
    );
    let tmp = Project::new();
    std::fs::write(tmp.path().join("od.py"), script).unwrap();
    let out = Command::new(venv_python())
        .arg("od.py")
        .env("PYTHONMALLOC", "malloc_debug")
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // The list was cleared by the key's __hash__; the OrderedDict kept its entry.
    assert_eq!(stdout.trim(), "0 1");
}
