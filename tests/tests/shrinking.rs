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
