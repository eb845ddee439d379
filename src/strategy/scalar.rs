//! Strategies for None, bool, int, float and complex.
//!
//! For every composite strategy and for users who want one scalar type. Ints shrink toward 0
//! (any size, see [`super::bigint`]); floats toward 0.0 and simple values. Edge values — 0, ±1,
//! the int32/int64/uint64 bounds and ±1 around them, huge ints, nan, ±inf, -0.0, subnormals —
//! are drawn with the size's edge weight.

use super::rng::FastRng;
use num_bigint::{BigInt, Sign};
use proptest::strategy::ValueTree;
use rand::RngExt;

use super::bigint::{int_candidates, BigIntStrategy, BigIntTree};
use super::leaf::{shrink_f64, Leaf};
use super::{Size, ValueStrategy};
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

fn huge(rng: &mut FastRng, words: usize) -> BigInt {
    let n = rng.random_range(1..=words.max(1));
    let digits: Vec<u32> = (0..n * 2).map(|_| rng.random()).collect();
    let sign = if rng.random() {
        Sign::Plus
    } else {
        Sign::Minus
    };
    BigInt::from_slice(sign, &digits)
}

/// Ints as Rust big ints, with edge values, shrinking toward 0.
pub fn bigints(size: Size) -> BigIntStrategy {
    let edges = int_edges();
    let edge = size.edge();
    let words = size.max_int_words;
    BigIntStrategy::new(move |rng| {
        let roll = rng.random_range(0..100u32);
        if roll < edge {
            // Mostly the listed edges, sometimes a huge one.
            if rng.random_range(0..16) == 0 {
                huge(rng, words)
            } else {
                edges[rng.random_range(0..edges.len())].clone()
            }
        } else {
            // Small magnitudes are drawn more often than large ones: ints are often sizes,
            // counts and indices, and a huge one there only makes a slow call. Every magnitude
            // stays reachable (the log-uniform draw spreads over all 64 bit lengths).
            match rng.random_range(0..8) {
                0 | 1 => BigInt::from(rng.random_range(-16i64..=16)),
                2..=4 => BigInt::from(rng.random_range(-1000i64..=1000)),
                5 | 6 => BigInt::from(rng.random::<i64>() >> rng.random_range(0..63)),
                _ => BigInt::from(rng.random::<i64>()),
            }
        }
    })
}

/// Ints for parameters that are sizes, counts or lengths (by name, see
/// [`is_size_name`]): mostly `0..=16` and `0..=1024`, some small negatives (a classic error
/// path), and one in seven from [`bigints`], so edge values and huge ints stay reachable.
pub fn size_bigints(size: Size) -> BigIntStrategy {
    let any = bigints(size);
    BigIntStrategy::new(move |rng| match rng.random_range(0..20) {
        0..=9 => BigInt::from(rng.random_range(0i64..=16)),
        10..=14 => BigInt::from(rng.random_range(0i64..=1024)),
        15 | 16 => BigInt::from(rng.random_range(-16i64..=-1)),
        _ => any.draw(rng),
    })
}

/// Whether a parameter named `name` is probably a size, a count or a length (`n`, `size`,
/// `length`, `count`, `width`, `num_items`, `buf_size`, `maxlen`, ...).
pub fn is_size_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.trim_start_matches('_');
    matches!(
        n,
        "n" | "k"
            | "size"
            | "length"
            | "len"
            | "count"
            | "width"
            | "height"
            | "depth"
            | "num"
            | "number"
            | "capacity"
            | "times"
            | "repeat"
            | "repeats"
            | "nbytes"
            | "bufsize"
            | "maxsize"
            | "maxlen"
            | "ndim"
            | "rows"
            | "cols"
            | "columns"
            | "items"
            | "bits"
            | "nbits"
            | "chunk"
            | "limit"
            | "steps"
            | "iterations"
            | "rounds"
    ) || n.starts_with("num_")
        || n.starts_with("n_")
        || n.ends_with("_size")
        || n.ends_with("size") && n.len() > 4
        || n.ends_with("_len")
        || n.ends_with("_length")
        || n.ends_with("_count")
        || n.ends_with("_width")
}

/// Python `int` values (shrinking with a [`BigIntTree`]; inside containers, through
/// [`int_candidates`]).
pub fn int(size: Size) -> ValueStrategy {
    ints_of(bigints(size))
}

/// Python `int` values for a size-like parameter (see [`size_bigints`]).
pub fn size_int(size: Size) -> ValueStrategy {
    ints_of(size_bigints(size))
}

fn ints_of(ints: BigIntStrategy) -> ValueStrategy {
    ValueStrategy::direct_with_tree(
        move |rng| Value::Int(ints.draw(rng)),
        |v| match v {
            Value::Int(i) => int_candidates(i).into_iter().map(Value::Int).collect(),
            _ => Vec::new(),
        },
        |v| matches!(v, Value::Int(_)),
        Value::int(0),
        |v| match v {
            Value::Int(i) => Some(Box::new(IntValueTree(BigIntTree::new(i.clone()))) as _),
            _ => None,
        },
    )
}

/// A [`BigIntTree`] yielding [`Value::Int`]s.
#[derive(Clone, Debug)]
struct IntValueTree(BigIntTree);

impl ValueTree for IntValueTree {
    type Value = Value;

    fn current(&self) -> Value {
        Value::Int(self.0.current())
    }

    fn simplify(&mut self) -> bool {
        self.0.simplify()
    }

    fn complicate(&mut self) -> bool {
        self.0.complicate()
    }
}

/// Python `int` values within `[lo, hi]` (shrinking toward the bound nearest 0).
pub fn int_range(lo: i64, hi: i64) -> ValueStrategy {
    int_between(lo.into(), hi.into(), Size::default())
}

/// Python `int` values within `[lo, hi]` of any size, with the bounds, ±1 inside them, 0 and ±1 as
/// edge values; shrinking moves toward the value in range nearest 0.
pub fn int_between(lo: BigInt, hi: BigInt, size: Size) -> ValueStrategy {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let inside = |x: &BigInt| *x >= lo && *x <= hi;
    let anchor = if inside(&BigInt::from(0)) {
        BigInt::from(0)
    } else if lo > BigInt::from(0) {
        lo.clone()
    } else {
        hi.clone()
    };
    let mut edges: Vec<BigInt> = [
        &lo + 1,
        &hi - 1,
        BigInt::from(0),
        BigInt::from(1),
        BigInt::from(-1),
    ]
    .into_iter()
    .filter(|x| inside(x))
    .collect();
    edges.extend([lo.clone(), hi.clone()]);
    let span = &hi - &lo;
    let edge = size.edge();
    let (lo2, hi2, anchor2, simplest) = (lo.clone(), hi.clone(), anchor.clone(), anchor.clone());
    ValueStrategy::direct(
        move |rng| {
            if rng.random_range(0..100u32) < edge {
                return Value::Int(edges[rng.random_range(0..edges.len())].clone());
            }
            // Mostly near the anchor, sometimes anywhere in the range.
            let offset = if rng.random_range(0..2) == 0 {
                BigInt::from(rng.random_range(-1000i64..=1000))
            } else {
                let words: Vec<u32> = (0..(span.bits() / 32 + 1)).map(|_| rng.random()).collect();
                BigInt::from_slice(Sign::Plus, &words) % (&span + 1) + &lo - &anchor
            };
            let x = &anchor + offset;
            Value::Int(if x < lo {
                lo.clone()
            } else if x > hi {
                hi.clone()
            } else {
                x
            })
        },
        move |v| match v {
            Value::Int(i) => int_candidates(&(i - &anchor2))
                .into_iter()
                .map(|d| &anchor2 + d)
                .filter(|x| *x >= lo2 && *x <= hi2)
                .map(Value::Int)
                .collect(),
            _ => Vec::new(),
        },
        |v| matches!(v, Value::Int(_)),
        Value::Int(simplest),
    )
}

/// Python `bool` values (shrink toward `False`).
pub fn boolean() -> ValueStrategy {
    ValueStrategy::direct(
        |rng| Value::Bool(rng.random()),
        |v| match v {
            Value::Bool(true) => vec![Value::Bool(false)],
            _ => Vec::new(),
        },
        |v| matches!(v, Value::Bool(_)),
        Value::Bool(false),
    )
}

/// `None`.
pub fn none() -> ValueStrategy {
    ValueStrategy::direct(
        |_| Value::None,
        |_| Vec::new(),
        |v| matches!(v, Value::None),
        Value::None,
    )
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
        9007199254740991.0,
        0.1,
        1e16,
        -1e-300,
    ]
}

/// Floats as Rust `f64`, with edge values; shrink toward 0.0 and simple values.
pub fn f64s(size: Size) -> Leaf<f64> {
    let edges = float_edges();
    let edge = size.edge();
    Leaf::new(
        move |rng| {
            let roll = rng.random_range(0..100u32);
            if roll < edge {
                edges[rng.random_range(0..edges.len())]
            } else {
                match rng.random_range(0..5) {
                    0 | 1 => rng.random_range(-1000i32..=1000) as f64,
                    2 | 3 => rng.random_range(-1000.0f64..1000.0),
                    _ => loop {
                        // Any finite bit pattern: every magnitude and the subnormals.
                        let f = f64::from_bits(rng.random());
                        if f.is_finite() {
                            break f;
                        }
                    },
                }
            }
        },
        shrink_f64,
    )
}

/// Python `float` values.
pub fn float(size: Size) -> ValueStrategy {
    let floats = f64s(size);
    ValueStrategy::direct(
        move |rng| Value::Float(floats.draw(rng)),
        |v| match v {
            Value::Float(f) => shrink_f64(f).into_iter().map(Value::Float).collect(),
            _ => Vec::new(),
        },
        |v| matches!(v, Value::Float(_)),
        Value::Float(0.0),
    )
}

/// Python `complex` values.
pub fn complex(size: Size) -> ValueStrategy {
    let floats = f64s(size);
    ValueStrategy::direct(
        move |rng| Value::Complex {
            re: floats.draw(rng),
            im: floats.draw(rng),
        },
        |v| match v {
            Value::Complex { re, im } => {
                let mut out: Vec<Value> = shrink_f64(re)
                    .into_iter()
                    .map(|re| Value::Complex { re, im: *im })
                    .collect();
                out.extend(
                    shrink_f64(im)
                        .into_iter()
                        .map(|im| Value::Complex { re: *re, im }),
                );
                out
            }
            _ => Vec::new(),
        },
        |v| matches!(v, Value::Complex { .. }),
        Value::Complex { re: 0.0, im: 0.0 },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ints for sizes: four in five within 0..=1024, some negative, and huge ones still drawn.
    #[test]
    fn size_ints_are_mostly_small_and_huge_ones_stay_reachable() {
        let values: Vec<BigInt> =
            crate::strategy::seeded::sample(&size_int(Size::default()), 10_000, 1)
                .map(|v| match v {
                    Value::Int(i) => i,
                    other => panic!("{other:?}"),
                })
                .collect();
        let small = values
            .iter()
            .filter(|i| **i >= BigInt::from(0) && **i <= BigInt::from(1024))
            .count();
        assert!(small >= 8_000, "{small}");
        assert!(values.iter().any(|i| *i < BigInt::from(0)));
        assert!(values.iter().filter(|i| i.bits() > 32).count() >= 50);
    }

    #[test]
    fn size_names_are_recognised() {
        for n in [
            "n",
            "size",
            "bufsize",
            "num_items",
            "n_rows",
            "max_len",
            "maxlen",
            "Count",
        ] {
            assert!(is_size_name(n), "{n}");
        }
        for n in ["x", "seed", "value", "s", "index", "sizes_of"] {
            assert!(!is_size_name(n), "{n}");
        }
    }
}
