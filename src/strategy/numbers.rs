//! Strategies for `fractions.Fraction` and `decimal.Decimal`.
//!
//! Decimals include NaN (with and without payload), sNaN, ±Infinity, -0 and huge exponents.

use num_bigint::BigInt;
use num_traits::Zero;
use proptest::prelude::*;

use super::{scalar, w, Size, ValueStrategy};
use crate::value::{Decimal, DecimalKind, Fraction, Value};

/// `fractions.Fraction` values (numerator and denominator from the int strategy; shrink toward 0).
pub fn fraction(size: Size) -> ValueStrategy {
    (scalar::bigints(size), scalar::bigints(size))
        .prop_map(|(n, d)| {
            let d = if d.is_zero() { BigInt::from(1) } else { d };
            Value::Fraction(Fraction::new(n, d).expect("non-zero denominator"))
        })
        .boxed()
        .into()
}

/// Exponents: mostly small, sometimes the extremes a `Decimal` can carry.
fn exponent(size: Size) -> BoxedStrategy<i64> {
    crate::one_of![
        w(size.normal_weight()) => -10i64..=10,
        w(size.normal_weight() / 4) => -400i64..=400,
        size.edge() => proptest::sample::select(vec![
            999_999i64, -999_999, -1_000_026, 1_000_000, 999_999_999_999, -999_999_999_999
        ]),
    ]
    .boxed()
}

fn digits(max: usize) -> BoxedStrategy<String> {
    proptest::collection::vec(0u8..10, 1..=max.max(1))
        .prop_map(|d| {
            let s: String = d.iter().map(|x| char::from(b'0' + x)).collect();
            let t = s.trim_start_matches('0');
            if t.is_empty() {
                "0".to_string()
            } else {
                t.to_string()
            }
        })
        .boxed()
}

fn payload() -> BoxedStrategy<String> {
    crate::one_of![
        3 => Just(String::new()),
        1 => (1u32..100_000).prop_map(|n| n.to_string()),
    ]
    .boxed()
}

/// `decimal.Decimal` values.
pub fn decimal(size: Size) -> ValueStrategy {
    let finite = (digits(size.max_len * 3), exponent(size)).prop_map(|(coefficient, exponent)| {
        DecimalKind::Finite {
            coefficient,
            exponent,
        }
    });
    let special = crate::one_of![
        1 => Just(DecimalKind::Infinity),
        1 => payload().prop_map(|payload| DecimalKind::NaN { payload }),
        1 => payload().prop_map(|payload| DecimalKind::SNaN { payload }),
    ];
    (
        crate::one_of![w(size.normal_weight()) => finite, size.edge() => special],
        any::<bool>(),
    )
        .prop_map(|(kind, negative)| Value::Decimal(Decimal { negative, kind }))
        .boxed()
        .into()
}
