//! The any-value strategy, recursive over every type of the model, and the hashable subset.
//!
//! For arguments whose type is unknown (`Any`, unannotated parameters) and for stress tests:
//! leaves are every scalar type, generated enums, datetimes and small arrays; branches are every
//! container type, and lists of dicts (records). Depth and breadth follow the [`Size`].

use proptest::prelude::*;

use super::{
    collections, container, datetime, enums, numbers, numpy, scalar, text, Size, ValueStrategy,
};

/// Every hashable scalar type (no NaN floats and no sNaN decimals, which cannot be equal keys).
pub fn hashable_scalar(size: Size) -> ValueStrategy {
    let small = Size {
        max_len: size.max_len.min(6),
        ..size
    };
    crate::choose![
        4 => scalar::int(small),
        4 => text::string(small),
        1 => scalar::none(),
        1 => scalar::boolean(),
        2 => scalar::float(small).prop_filter_map("NaN keys", |v| match v {
            crate::value::Value::Float(f) if f.is_nan() => None,
            v => Some(v),
        }).boxed(),
        1 => text::bytes(small),
        1 => scalar::complex(small),
        1 => numbers::fraction(small),
        1 => numbers::decimal(small).prop_filter("unhashable decimals", |v| v.is_hashable()).boxed(),
        1 => enums::generated_member(),
        1 => datetime::date(small),
        1 => datetime::datetime(small),
        1 => datetime::time(small),
        1 => datetime::timedelta(small),
    ]
}

/// Hashable values: scalars, and tuples and frozensets of them.
pub fn hashable(size: Size) -> ValueStrategy {
    let leaf = hashable_scalar(size);
    let n = size.max_len.min(4);
    crate::choose![
        8 => leaf.clone(),
        1 => container::tuple_of(leaf.clone(), n),
        1 => container::frozenset(leaf, n),
    ]
}

/// Every scalar (leaf) type of the model, arrays included (unless `size.numpy` is false).
pub fn any_scalar(size: Size) -> ValueStrategy {
    let arr = Size {
        max_array_elems: size.max_array_elems.min(16),
        ..size
    };
    let mut alts: Vec<(u32, ValueStrategy)> = vec![
        (4, scalar::int(size)),
        (3, scalar::float(size)),
        (4, text::string(size)),
        (1, scalar::none()),
        (1, scalar::boolean()),
        (1, scalar::complex(size)),
        (1, text::bytes(size)),
        (1, text::bytearray(size)),
        (1, numbers::fraction(size)),
        (1, numbers::decimal(size)),
        (1, enums::generated_member()),
        (1, datetime::date(size)),
        (1, datetime::time(size)),
        (1, datetime::datetime(size)),
        (1, datetime::timedelta(size)),
    ];
    if size.numpy {
        alts.push((1, numpy::arrays(arr)));
    }
    super::value_strategy::choose(alts)
}

/// Any value: recursive over every container type with scalars (and arrays) as leaves.
pub fn any_value(size: Size) -> ValueStrategy {
    let n = size.max_len;
    let keys = hashable(size);
    any_scalar(size)
        .prop_recursive(
            size.max_depth,
            (n * n * size.max_depth as usize).max(1) as u32,
            n.max(1) as u32,
            move |inner| {
                let inner = ValueStrategy::from(inner);
                // Records: a list of dicts, the shape of most JSON and message documents, where a
                // dict's handling can leave state behind for the next one. Mixed lists seldom
                // hold two dicts.
                let records = container::list(container::dict(keys.clone(), inner.clone(), n), n);
                crate::one_of![
                    3 => container::list(inner.clone(), n),
                    3 => records,
                    2 => container::tuple_of(inner.clone(), n),
                    3 => container::dict(keys.clone(), inner.clone(), n),
                    1 => container::set(keys.clone(), n),
                    1 => container::frozenset(keys.clone(), n),
                    1 => collections::counter(keys.clone(), size),
                    1 => collections::deque(inner.clone(), size),
                    1 => collections::defaultdict(keys.clone(), inner.clone(), size),
                    1 => collections::ordered_dict(keys.clone(), inner, size),
                ]
            },
        )
        .boxed()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    /// Whether `v` holds, anywhere, a list of two or more dicts.
    fn has_records(v: &Value) -> bool {
        match v {
            Value::List(items)
                if items.len() >= 2 && items.iter().all(|i| matches!(i, Value::Dict(_))) =>
            {
                true
            }
            Value::List(items) | Value::Tuple(items) => items.iter().any(has_records),
            Value::Dict(pairs) => pairs.iter().any(|(_, v)| has_records(v)),
            _ => false,
        }
    }

    /// Lists of two or more dicts (records) are common in any-values: documents where one
    /// dict's handling can leave state behind for the next.
    #[test]
    fn any_values_hold_records() {
        let n = crate::strategy::seeded::sample(&any_value(Size::default()), 2_000, 7)
            .filter(has_records)
            .count();
        // Without the records alternative: about 240 (mixed lists that happen to hold dicts).
        assert!(n >= 400, "{n} of 2000");
    }
}
