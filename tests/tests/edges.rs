//! Each listed edge value appears within the first 1,000 samples of its strategy.

use num_bigint::BigInt;
use pyz3::strategy::{numbers, numpy, scalar, text, Size};
use pyz3::value::{ArrayData, ByteOrder, DecimalKind, Layout, Order, Value};

use crate::common::sample;

#[test]
fn int_edges_appear() {
    let values = sample(&scalar::int(Size::default()), 1000, 0);
    let mut wanted: Vec<BigInt> = vec![0.into(), 1.into(), (-1).into()];
    for b in [
        BigInt::from(i32::MAX),
        BigInt::from(i32::MIN),
        BigInt::from(i64::MAX),
        BigInt::from(i64::MIN),
        BigInt::from(u64::MAX),
    ] {
        wanted.extend([&b - 1, b.clone(), b + 1]);
    }
    for w in wanted {
        assert!(
            values.contains(&Value::Int(w.clone())),
            "int edge {w} missing"
        );
    }
    let huge = values
        .iter()
        .filter(|v| matches!(v, Value::Int(i) if i.bits() > 65))
        .count();
    assert!(huge > 0, "no huge ints");
}

#[test]
fn float_edges_appear() {
    let values = sample(&scalar::float(Size::default()), 1000, 0);
    let has = |pred: &dyn Fn(f64) -> bool| {
        values
            .iter()
            .any(|v| matches!(v, Value::Float(f) if pred(*f)))
    };
    assert!(has(&|f| f.is_nan()), "nan");
    assert!(has(&|f| f == 0.0 && f.is_sign_negative()), "-0.0");
    assert!(has(&|f| f == 0.0 && f.is_sign_positive()), "0.0");
    assert!(has(&|f| f == f64::INFINITY), "inf");
    assert!(has(&|f| f == f64::NEG_INFINITY), "-inf");
    assert!(has(&|f| f != 0.0 && f.is_subnormal()), "subnormal");
    assert!(has(&|f| f == 1.0) && has(&|f| f == -1.0), "±1");
}

#[test]
fn string_edges_appear() {
    let size = Size::default();
    let values = sample(&text::string(size), 1000, 0);
    let strs: Vec<&Vec<u32>> = values
        .iter()
        .map(|v| match v {
            Value::Str(s) => &s.0,
            _ => unreachable!(),
        })
        .collect();
    assert!(strs.iter().any(|s| s.is_empty()), "''");
    assert!(strs.iter().any(|s| s.contains(&0)), "\\x00");
    assert!(
        strs.iter()
            .any(|s| s.iter().any(|&c| (0xD800..=0xDFFF).contains(&c))),
        "surrogate"
    );
    assert!(
        strs.iter().any(|s| s.iter().any(|&c| c > 0xFFFF)),
        "non-BMP"
    );
    assert!(
        strs.iter().any(|s| s.len() > size.max_len * 4),
        "long string"
    );
}

#[test]
fn container_and_decimal_edges_appear() {
    let size = Size::default();
    let lists = sample(
        &pyz3::strategy::container::list(scalar::int(size), 8),
        1000,
        0,
    );
    assert!(lists.contains(&Value::List(vec![])), "empty list");
    let decimals = sample(&numbers::decimal(size), 1000, 0);
    let kinds = |pred: &dyn Fn(&DecimalKind) -> bool| {
        decimals
            .iter()
            .any(|v| matches!(v, Value::Decimal(d) if pred(&d.kind)))
    };
    assert!(kinds(&|k| matches!(k, DecimalKind::NaN { .. })), "NaN");
    assert!(kinds(&|k| matches!(k, DecimalKind::SNaN { .. })), "sNaN");
    assert!(kinds(&|k| matches!(k, DecimalKind::Infinity)), "Infinity");
    assert!(
        kinds(&|k| matches!(k, DecimalKind::Finite { exponent, .. } if exponent.abs() >= 999_999)),
        "huge exponent"
    );
}

#[test]
fn array_edges_appear() {
    let values = sample(&numpy::arrays(Size::default()), 1000, 0);
    let arrays: Vec<_> = values
        .iter()
        .map(|v| match v {
            Value::Array(a) => a,
            _ => unreachable!(),
        })
        .collect();
    assert!(arrays.iter().any(|a| a.shape.is_empty()), "0-d");
    assert!(
        arrays.iter().any(|a| a.size() == 0 && !a.shape.is_empty()),
        "zero-length axis"
    );
    assert!(
        arrays
            .iter()
            .any(|a| matches!(a.layout, Layout::Strided { .. })),
        "non-contiguous"
    );
    assert!(
        arrays.iter().any(
            |a| matches!(&a.layout, Layout::Strided { steps, .. } if steps.iter().any(|&s| s < 0))
        ),
        "negative strides"
    );
    assert!(
        arrays
            .iter()
            .any(|a| a.layout == Layout::Contiguous(Order::F)),
        "Fortran order"
    );
    assert!(arrays.iter().any(|a| !a.writeable), "read-only");
    assert!(
        arrays
            .iter()
            .any(|a| a.dtype.order == ByteOrder::Big && a.dtype.has_byte_order()),
        "big-endian"
    );
    for kind in numpy::all_kinds() {
        assert!(
            arrays.iter().any(|a| a.dtype.kind == kind),
            "dtype {kind:?} never drawn"
        );
    }
    let nan = arrays
        .iter()
        .any(|a| matches!(&a.data, ArrayData::Float(v) if v.iter().any(|f| f.is_nan())));
    assert!(nan, "nan element");
}
