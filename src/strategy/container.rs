//! Strategies for list, tuple, dict, set and frozenset, composable over element strategies.
//!
//! Containers shrink toward fewer and smaller elements. Dict keys and set elements are
//! de-duplicated under Python's equality ([`crate::value::Value::hash_key`]) so the Python object
//! has exactly the entries of the model.

use proptest::collection::vec;
use proptest::prelude::*;

use super::ValueStrategy;
use crate::value::{dedup_by_key, Value};

/// `list` of elements from `elem`, with 0..=`max_len` elements.
pub fn list(elem: ValueStrategy, max_len: usize) -> ValueStrategy {
    vec(elem, 0..=max_len).prop_map(Value::List).boxed()
}

/// Variable-length `tuple` (`tuple[T, ...]`).
pub fn tuple_of(elem: ValueStrategy, max_len: usize) -> ValueStrategy {
    vec(elem, 0..=max_len).prop_map(Value::Tuple).boxed()
}

/// Fixed-shape `tuple` (`tuple[A, B, C]`).
pub fn tuple(elems: Vec<ValueStrategy>) -> ValueStrategy {
    elems.prop_map(Value::Tuple).boxed()
}

/// Key/value pairs with keys unique under Python's `==`.
pub fn pairs(
    key: ValueStrategy,
    value: ValueStrategy,
    max_len: usize,
) -> BoxedStrategy<Vec<(Value, Value)>> {
    vec((key, value), 0..=max_len)
        .prop_map(|v| dedup_by_key(v, |p| &p.0))
        .boxed()
}

/// `dict` from key and value strategies (keys should be hashable; others are dropped).
pub fn dict(key: ValueStrategy, value: ValueStrategy, max_len: usize) -> ValueStrategy {
    pairs(key, value, max_len).prop_map(Value::Dict).boxed()
}

fn unique(elem: ValueStrategy, max_len: usize) -> BoxedStrategy<Vec<Value>> {
    vec(elem, 0..=max_len)
        .prop_map(|v| dedup_by_key(v, |x| x))
        .boxed()
}

/// `set` of hashable elements.
pub fn set(elem: ValueStrategy, max_len: usize) -> ValueStrategy {
    unique(elem, max_len).prop_map(Value::Set).boxed()
}

/// `frozenset` of hashable elements.
pub fn frozenset(elem: ValueStrategy, max_len: usize) -> ValueStrategy {
    unique(elem, max_len).prop_map(Value::FrozenSet).boxed()
}
