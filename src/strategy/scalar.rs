//! Strategies for None, bool, int, float and complex.
//!
//! For every composite strategy and for users who want one scalar type. Ints shrink toward 0
//! (any size, see [`super::bigint`]); floats toward 0.0 and simple values. Edge values — 0, ±1,
//! the int32/int64/uint64 bounds and ±1 around them, huge ints, nan, ±inf, -0.0, subnormals —
//! are drawn with the size's edge weight.

use num_bigint::{BigInt, Sign};
use proptest::prelude::*;
use proptest::test_runner::TestRng;
use rand::RngExt;

use super::bigint::BigIntStrategy;
use super::{w, Size, ValueStrategy};
use crate::value::Value;

/// The int edge values: 0, ±1, and each of the int8..int64 / uint8..uint64 bounds with ±1 around it.
pub fn int_edges() -> Vec<BigInt> {
    let mut out: Vec<BigInt> = vec![0.into(), 1.into(), (-1).into()];
    for bits in [8u32, 16, 32, 64] {
        let smax = (BigInt::from(1) << (bits - 1)) - 1;
        let smin = -(BigInt::from(1) << (bits - 1));
        let umax = (BigInt::from(1) << bits) - 1;
        for b in [smax, smin, umax] {
            out.push(&b - 1);
            out.push(b.clone());
            out.push(b + 1);
        }
    }
    out
}

fn huge(rng: &mut TestRng, words: usize) -> BigInt {
    let n = rng.random_range(1..=words.max(1));
    let digits: Vec<u32> = (0..n * 2).map(|_| rng.random()).collect();
    let sign = if rng.random() { Sign::Plus } else { Sign::Minus };
    BigInt::from_slice(sign, &digits)
}

/// Ints as Rust big ints, with edge values, shrinking toward 0.
pub fn bigints(size: Size) -> BigIntStrategy {
    let edges = int_edges();
    let edge = size.edge();
    let words = size.max_int_words;
    BigIntStrategy::new(move |runner| {
        let rng = runner.rng();
        let roll = rng.random_range(0..100u32);
        if roll < edge {
            // Mostly the listed edges, sometimes a huge one.
            if rng.random_range(0..16) == 0 {
                huge(rng, words)
            } else {
                edges[rng.random_range(0..edges.len())].clone()
            }
        } else {
            match rng.random_range(0..8) {
                0..=4 => BigInt::from(rng.random_range(-1000i64..=1000)),
                5 | 6 => BigInt::from(rng.random::<i64>()),
                _ => BigInt::from(rng.random::<i64>() >> rng.random_range(0..63)),
            }
        }
    })
}

/// Python `int` values.
pub fn int(size: Size) -> ValueStrategy {
    bigints(size).prop_map(Value::Int).boxed()
}

/// Python `int` values within `[lo, hi]` (shrinking toward the bound nearest 0).
pub fn int_range(lo: i64, hi: i64) -> ValueStrategy {
    (lo..=hi).prop_map(Value::int).boxed()
}

/// Python `bool` values (shrink toward `False`).
pub fn boolean() -> ValueStrategy {
    any::<bool>().prop_map(Value::Bool).boxed()
}

/// `None`.
pub fn none() -> ValueStrategy {
    Just(Value::None).boxed()
}

/// The float edge values.
pub fn float_edges() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        5e-324,
        -5e-324,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9007199254740992.0,
        9007199254740993.0,
        0.1,
        1e16,
        -1e-300,
    ]
}

/// Floats as Rust `f64`, with edge values; shrink toward 0.0 and simple values.
pub fn f64s(size: Size) -> BoxedStrategy<f64> {
    let edges = float_edges();
    prop_oneof![
        w(size.normal_weight() * 2 / 5) => (-1000i32..=1000).prop_map(f64::from),
        w(size.normal_weight() * 2 / 5) => -1000.0f64..1000.0,
        w(size.normal_weight() / 5) => any::<f64>(),
        size.edge() => proptest::sample::select(edges),
    ]
    .boxed()
}

/// Python `float` values.
pub fn float(size: Size) -> ValueStrategy {
    f64s(size).prop_map(Value::Float).boxed()
}

/// Python `complex` values.
pub fn complex(size: Size) -> ValueStrategy {
    (f64s(size), f64s(size))
        .prop_map(|(re, im)| Value::Complex { re, im })
        .boxed()
}
