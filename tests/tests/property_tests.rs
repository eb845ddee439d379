//! Use from users' own Rust test suites: `proptest!` blocks and `py_proptest`.

use crate::util::Project;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use pyo3::prelude::*;
use pyz3::strategy::{from_type, typed, Size};

use crate::common::python;

proptest! {
    // An ordinary proptest block: values are generated without the GIL, converted in the body.
    #[test]
    fn python_sorted_agrees_with_rust(xs in typed::lists(typed::ints(Size::default()), 20)) {
        let mut expected = xs.clone();
        expected.sort();
        python(|py| {
            let obj = typed::IntoValue::to_python(&xs, py).unwrap();
            let sorted = py.import("builtins").unwrap().getattr("sorted").unwrap().call1((obj,)).unwrap();
            let got: Vec<num_bigint::BigInt> = sorted.extract().unwrap();
            prop_assert_eq!(got, expected);
            Ok(())
        })?;
    }

    #[test]
    fn len_of_any_dict(d in from_type("dict[str, list[float]]").unwrap()) {
        let pyz3::value::Value::Dict(items) = &d else { panic!("not a dict") };
        let n = python(|py| d.to_python(py).unwrap().len().unwrap());
        prop_assert_eq!(n, items.len());
    }
}

#[test]
fn py_proptest_runs_with_the_gil_and_passes() {
    python(|_| ());
    let s = from_type("list[int]").unwrap();
    pyz3::py_proptest(&s, |py, v| {
        let obj = v.to_python(py)?;
        let total = py.import("builtins")?.getattr("sum")?.call1((obj,))?;
        let _: num_bigint::BigInt = total.extract()?;
        Ok(())
    });
}

#[test]
fn py_proptest_failure_prints_python_source_and_persists() {
    python(|_| ());
    let dir = Project::new();
    let file = dir.path().join("regressions.txt");
    let leaked: &'static str = Box::leak(file.to_string_lossy().into_owned().into_boxed_str());
    let config = Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(leaked))),
        ..Config::default()
    };
    let s = from_type("collections.Counter[str]").unwrap();
    let run = || {
        let config = config.clone();
        let s = s.clone();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            pyz3::py_proptest_with(config, &s, |py, v| {
                let obj = v.to_python(py)?;
                // Fails as soon as there is a negative count: raises a Python exception.
                let code = c"if any(c < 0 for c in x.values()): raise ValueError('negative count')";
                let globals = pyo3::types::PyDict::new(py);
                globals.set_item("x", obj)?;
                py.run(code, Some(&globals), None)
            })
        }))
    };
    let err = run().unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("ValueError: negative count"), "{msg}");
    assert!(msg.contains("import collections"), "{msg}");
    assert!(
        msg.contains("value = collections.Counter({'': -1})"),
        "{msg}"
    );
    let saved = std::fs::read_to_string(&file).unwrap();
    assert!(
        saved.lines().any(|l| l.starts_with("cc ")),
        "no persisted seed in {saved}"
    );
    // A rerun replays the persisted case first and fails the same way.
    let err = run().unwrap_err();
    let msg2 = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        msg2.contains("value = collections.Counter({'': -1})"),
        "{msg2}"
    );
}
