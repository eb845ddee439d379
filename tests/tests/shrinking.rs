//! Planted properties, checked in Python, shrink to their true minimum.

use proptest::test_runner::{Config, TestCaseError, TestError};
use pyo3::prelude::*;
use pyz3::strategy::{from_type, ValueStrategy};
use pyz3::value::{ArrayData, Layout, Order, Value};

use crate::common::python;

/// Runs `holds(x)` (a Python expression over `x`) and returns the minimal counterexample.
fn minimal(strategy: &ValueStrategy, holds: &'static str, seed: u64) -> Value {
    let config = Config {
        cases: 1000,
        failure_persistence: None,
        max_shrink_iters: 100_000,
        ..Config::default()
    };
    let mut runner = pyz3::sample::seeded_runner_with(config, seed);
    let code = std::ffi::CString::new(holds).unwrap();
    let result = runner.run(strategy, |v| {
        python(|py| {
            let globals = pyo3::types::PyDict::new(py);
            globals.set_item("x", v.to_python(py).unwrap()).unwrap();
            py.run(c"import numpy", Some(&globals), None).unwrap();
            let ok: bool = py
                .eval(&code, Some(&globals), None)
                .unwrap()
                .extract()
                .unwrap();
            if ok {
                Ok(())
            } else {
                Err(TestCaseError::fail("property is false"))
            }
        })
    });
    match result {
        Err(TestError::Fail(_, v)) => v,
        other => panic!("expected `{holds}` to fail, got {other:?}"),
    }
}

#[test]
fn sum_over_1000_shrinks_to_1001() {
    let s = from_type("list[int]").unwrap();
    for seed in 1..=8 {
        let v = minimal(&s, "sum(x) <= 1000", seed);
        assert_eq!(v, Value::List(vec![Value::int(1001)]), "seed {seed}: {v:?}");
    }
}

#[test]
fn negative_element_shrinks_to_a_one_element_array() {
    let s = from_type("numpy.typing.NDArray[numpy.int64]").unwrap();
    for seed in 1..=8 {
        let v = minimal(&s, "not (x < 0).any()", seed);
        let Value::Array(a) = &v else {
            panic!("not an array: {v:?}")
        };
        assert_eq!(a.shape, vec![1], "seed {seed}: {v:?}");
        assert_eq!(a.data, ArrayData::Int(vec![-1]), "seed {seed}: {v:?}");
        assert_eq!(a.layout, Layout::Contiguous(Order::C), "seed {seed}: {v:?}");
        assert!(a.writeable, "seed {seed}: {v:?}");
        assert_eq!(v.python_source().expr, "numpy.array([-1], dtype='<i8')");
    }
}

#[test]
fn long_key_shrinks_to_four_zeros() {
    let s = from_type("dict[str, int]").unwrap();
    for seed in 1..=8 {
        let v = minimal(&s, "all(len(k) <= 3 for k in x)", seed);
        assert_eq!(
            v,
            Value::Dict(vec![(Value::str("0000"), Value::int(0))]),
            "seed {seed}: {v:?}"
        );
    }
}

#[test]
fn huge_int_shrinks_to_the_boundary() {
    let s = from_type("int").unwrap();
    let v = minimal(&s, "x < 2**64", 4);
    assert_eq!(v, Value::Int(num_bigint::BigInt::from(1u128 << 64)));
    let v = minimal(&s, "x >= -2**31", 5);
    assert_eq!(v, Value::int(-(1i64 << 31) - 1));
}

#[test]
fn string_with_a_surrogate_shrinks_to_the_lowest_surrogate() {
    let s = from_type("str").unwrap();
    let v = minimal(&s, "not any(0xD800 <= ord(c) <= 0xDFFF for c in x)", 6);
    assert_eq!(v, Value::Str(pyz3::value::PyStr(vec![0xD800])));
}

#[test]
fn non_bmp_character_shrinks_to_the_first_one() {
    let s = from_type("str").unwrap();
    let v = minimal(&s, "all(ord(c) <= 0xFFFF for c in x)", 7);
    assert_eq!(v, Value::Str(pyz3::value::PyStr(vec![0x10000])));
}

/// Shrinks `start` with the value tree of the strategy for `ty`, `fails` (a Python expression
/// over `x`) deciding which candidates still fail; the minimal value and the number of
/// candidates tried.
fn shrink_from(ty: &str, start: Value, fails: &str, max_steps: u32) -> (Value, u32) {
    let tree = from_type(ty)
        .unwrap()
        .tree_from(start.clone())
        .expect("a direct strategy builds a tree from a value");
    let config = Config {
        failure_persistence: None,
        max_shrink_iters: max_steps,
        ..Config::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let code = std::ffi::CString::new(fails).unwrap();
    let calls = std::cell::Cell::new(0u32);
    let result = runner.run_one(tree, |v| {
        calls.set(calls.get() + 1);
        let failed = python(|py| -> bool {
            let globals = pyo3::types::PyDict::new(py);
            globals.set_item("x", v.to_python(py).unwrap()).unwrap();
            py.eval(&code, Some(&globals), None)
                .unwrap()
                .extract()
                .unwrap()
        });
        if failed {
            Err(TestCaseError::fail("fails"))
        } else {
            Ok(())
        }
    });
    match result {
        Err(TestError::Fail(_, v)) => (v, calls.get() - 1),
        other => panic!("expected `{fails}` to hold for {start:?}, got {other:?}"),
    }
}

/// [`shrink_from`] for the int strategy.
fn shrink_int(start: &num_bigint::BigInt, fails: &str, max_steps: u32) -> (Value, u32) {
    shrink_from("int", Value::Int(start.clone()), fails, max_steps)
}

fn big(source: &str) -> num_bigint::BigInt {
    python(|py| {
        py.eval(&std::ffi::CString::new(source).unwrap(), None, None)
            .unwrap()
            .extract()
            .unwrap()
    })
}

/// A big int failing from a power of ten up reaches exactly that power, from either sign, in at
/// most 150 steps (dropping digits, halving, zeroing trailing digits); bisecting the distance to
/// zero took over 25,000.
#[test]
fn big_int_reaches_a_power_of_ten_boundary() {
    let starts = [
        "10**139 + 123456789",
        "7 * 10**307 + 3**500",
        "2**1000 - 1",
        "-(3**400) - 11",
        "-(10**150) + 1",
    ];
    for start in starts {
        for (fails, want) in [
            ("abs(x) >= 10**100", "10**100"),
            ("len(str(abs(x))) > 60", "10**60"),
        ] {
            let start = big(start);
            let (v, steps) = shrink_int(&start, fails, 100_000);
            assert_eq!(
                v,
                Value::Int(big(want)),
                "`{fails}` from {start}: {steps} steps"
            );
            assert!(steps <= 150, "`{fails}` from {start}: {steps} steps");
            // The runner's budget of 2,000 steps is more than enough.
            let (v, _) = shrink_int(&start, fails, 2000);
            assert_eq!(
                v,
                Value::Int(big(want)),
                "`{fails}` from {start} in 2,000 steps"
            );
        }
    }
    // In a union (a stub's `Optional[int]`): `None` first, then the same.
    let fails = "x is not None and abs(x) >= 10**100";
    let (v, steps) = shrink_from(
        "Optional[int]",
        Value::Int(big("-(3**400)")),
        fails,
        100_000,
    );
    assert_eq!(v, Value::Int(big("10**100")), "{steps} steps");
    assert!(steps <= 150, "{steps} steps");
}

/// A property true only on a sparse set (a residue, above a bound) still shrinks to its least
/// member: digits are lowered from the most significant, then steps of 1000 keep the residue.
#[test]
fn sparse_big_int_reaches_its_least_member() {
    let fails = "x % 1000 == 7 and x > 10**50";
    for start in [
        "3**290 - 3**290 % 1000 + 7",
        "10**200 + 10**120 + 999007",
        "5 * 10**51 + 7",
    ] {
        let (v, steps) = shrink_int(&big(start), fails, 100_000);
        assert_eq!(
            v,
            Value::Int(big("10**50 + 7")),
            "from {start}: {steps} steps"
        );
        assert!(steps <= 300, "from {start}: {steps} steps");
    }
}

/// `x % 5 == 3` (the demo's `result_with_error`) holds for 3 and, with Python's `%`, for -2:
/// -2 is the least magnitude. Steps toward zero find the period; the opposite sign comes last.
#[test]
fn int_with_a_residue_reaches_the_least_magnitude() {
    for start in ["118", "10**30 + 3", "-7", "-(2**64) - 1", "8"] {
        let (v, steps) = shrink_int(&big(start), "x % 5 == 3", 100_000);
        assert_eq!(v, Value::int(-2), "from {start}: {steps} steps");
        assert!(steps <= 50, "from {start}: {steps} steps");
    }
}

/// Ints inside containers shrink by digits too: a list holding one big int failing from a
/// power of ten up reaches a one-item list holding exactly that power within the runner's
/// budget of 2,000 steps: 547, 1,180 and 758 steps from 139, 308 and 191 digits (halving the
/// distance to zero alone stopped hundreds of digits short of it).
#[test]
fn big_ints_inside_containers_reach_a_power_of_ten_boundary() {
    for (ty, start) in [
        ("list[int]", "[3, 10**139 + 123456789, -5]"),
        ("tuple[int, int]", "(7 * 10**307 + 3**500, 2)"),
        ("dict[str, int]", "{'a': -(3**400) - 11}"),
    ] {
        let fails = "any(abs(i) >= 10**100 for i in (x.values() if isinstance(x, dict) else x))";
        let start_value = value_of(start);
        let (v, steps) = shrink_from(ty, start_value, fails, 2000);
        let want = match ty {
            "list[int]" => "[10**100]",
            "tuple[int, int]" => "(10**100, 0)",
            _ => "{'': 10**100}",
        };
        assert_eq!(v, value_of(want), "{ty} from {start}: {steps} steps");
        assert!(steps <= 1500, "{ty} from {start}: {steps} steps");
    }
}

/// The value of a Python expression.
fn value_of(source: &str) -> Value {
    python(|py| {
        let obj = py
            .eval(&std::ffi::CString::new(source).unwrap(), None, None)
            .unwrap();
        Value::from_python(&obj).unwrap()
    })
}
