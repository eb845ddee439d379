//! Strategies for list, tuple, dict, set and frozenset, composable over element strategies.
//!
//! Containers shrink toward fewer and smaller elements. Dict keys and set elements are
//! de-duplicated under Python's equality ([`crate::value::Value::hash_key`]) so the Python object
//! has exactly the entries of the model. Over direct element strategies the containers are direct
//! too (see [`super::value_strategy`]); otherwise they are built from proptest's collections.

use std::sync::Arc;

use super::rng::FastRng;
use proptest::collection::vec;
use proptest::prelude::*;
use rand::RngExt;

use super::value_strategy::{all_direct, shrink_items, Direct};
use super::ValueStrategy;
use crate::value::{dedup_by_key, KeyKind, Value};

/// Draws `0..=max_len` values with `d`.
pub(crate) fn draw_items(d: &Direct, rng: &mut FastRng, max_len: usize) -> Vec<Value> {
    let n = rng.random_range(0..=max_len);
    (0..n).map(|_| (d.draw)(rng)).collect()
}

/// Inserts, after the structural candidates of `shrink_items` (empty, half, drops) and before the
/// element simplifications, candidates that merge two numbers into one (`[55, 946]` →
/// `[1001]`): fewer elements, same total, which is what properties over sums need to reach
/// their true minimum.
fn with_merges(items: &[Value], mut cands: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    let n = items.len();
    if n < 2 {
        return cands;
    }
    let structural = 1 + usize::from(n > 2) + n;
    let mut merges = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let merged = match (&items[i], &items[j]) {
                (Value::Int(a), Value::Int(b)) => Value::Int(a + b),
                (Value::Float(a), Value::Float(b)) if (a + b).is_finite() => Value::Float(a + b),
                _ => continue,
            };
            let mut w = items.to_vec();
            w.remove(j);
            w[i] = merged;
            merges.push(w);
        }
    }
    let tail = cands.split_off(structural.min(cands.len()));
    cands.extend(merges);
    cands.extend(tail);
    cands
}

/// A direct strategy for a sequence type built by `wrap` and read back by `unwrap`.
fn direct_seq(
    d: Arc<Direct>,
    max_len: usize,
    wrap: fn(Vec<Value>) -> Value,
    unwrap: fn(&Value) -> Option<&Vec<Value>>,
    unique: bool,
) -> ValueStrategy {
    let d2 = d.clone();
    ValueStrategy::direct(
        move |rng| {
            let items = draw_items(&d, rng, max_len);
            wrap(if unique { set_elements(items) } else { items })
        },
        move |v| match unwrap(v) {
            Some(items) => with_merges(items, shrink_items(items, &|x| (d2.shrink)(x)))
                .into_iter()
                // A simplified element may now equal another one: skip those candidates.
                .filter(|c| !unique || set_elements(c.clone()).len() == c.len())
                .map(wrap)
                .collect(),
            None => Vec::new(),
        },
        move |v| unwrap(v).is_some(),
        wrap(Vec::new()),
    )
}

/// `list` of elements from `elem`, with 0..=`max_len` elements.
pub fn list(elem: ValueStrategy, max_len: usize) -> ValueStrategy {
    match elem.as_direct() {
        Some(d) => direct_seq(
            d.clone(),
            max_len,
            Value::List,
            |v| match v {
                Value::List(x) => Some(x),
                _ => None,
            },
            false,
        ),
        None => vec(elem, 0..=max_len).prop_map(Value::List).boxed().into(),
    }
}

/// Variable-length `tuple` (`tuple[T, ...]`).
pub fn tuple_of(elem: ValueStrategy, max_len: usize) -> ValueStrategy {
    match elem.as_direct() {
        Some(d) => direct_seq(
            d.clone(),
            max_len,
            Value::Tuple,
            |v| match v {
                Value::Tuple(x) => Some(x),
                _ => None,
            },
            false,
        ),
        None => vec(elem, 0..=max_len).prop_map(Value::Tuple).boxed().into(),
    }
}

/// Fixed-shape `tuple` (`tuple[A, B, C]`).
pub fn tuple(elems: Vec<ValueStrategy>) -> ValueStrategy {
    let refs: Vec<&ValueStrategy> = elems.iter().collect();
    match all_direct(&refs) {
        Some(ds) => {
            let ds = Arc::new(ds);
            let (d1, d2, d3) = (ds.clone(), ds.clone(), ds.clone());
            let simplest = Value::Tuple(ds.iter().map(|d| d.simplest.clone()).collect());
            ValueStrategy::direct(
                move |rng| Value::Tuple(d1.iter().map(|d| (d.draw)(rng)).collect()),
                move |v| match v {
                    Value::Tuple(items) if items.len() == d2.len() => {
                        let mut out = Vec::new();
                        for (i, d) in d2.iter().enumerate() {
                            for c in (d.shrink)(&items[i]) {
                                let mut w = items.clone();
                                w[i] = c;
                                out.push(Value::Tuple(w));
                            }
                        }
                        out
                    }
                    _ => Vec::new(),
                },
                move |v| matches!(v, Value::Tuple(items) if items.len() == d3.len()),
                simplest,
            )
        }
        None => elems.prop_map(Value::Tuple).boxed().into(),
    }
}

/// Shrink candidates for key/value pairs: fewer entries, simpler keys (when they stay distinct),
/// simpler values.
pub(crate) fn shrink_pairs(
    items: &[(Value, Value)],
    key: &Direct,
    value: &dyn Fn(&Value) -> Vec<Value>,
) -> Vec<Vec<(Value, Value)>> {
    shrink_items(items, &|(k, v): &(Value, Value)| {
        let mut out: Vec<(Value, Value)> = (key.shrink)(k)
            .into_iter()
            .map(|k2| (k2, v.clone()))
            .collect();
        out.extend(value(v).into_iter().map(|v2| (k.clone(), v2)));
        out
    })
    .into_iter()
    .filter(|c| dedup_by_key(c.clone(), |p| &p.0).len() == c.len())
    .collect()
}

/// Draws key/value pairs with distinct keys.
pub(crate) fn draw_pairs(
    k: &Direct,
    v: &Direct,
    rng: &mut FastRng,
    max_len: usize,
) -> Vec<(Value, Value)> {
    let n = rng.random_range(0..=max_len);
    let pairs: Vec<(Value, Value)> = (0..n).map(|_| ((k.draw)(rng), (v.draw)(rng))).collect();
    dedup_by_key(pairs, |p| &p.0)
}

/// Builds a mapping value from its entries.
pub(crate) type WrapPairs = Arc<dyn Fn(Vec<(Value, Value)>) -> Value + Send + Sync>;
/// Reads the entries of a mapping value (`None` for other types).
pub(crate) type UnwrapPairs = fn(&Value) -> Option<&Vec<(Value, Value)>>;

/// A direct strategy for a mapping type built by `wrap` and read back by `unwrap`.
pub(crate) fn direct_map(
    k: Arc<Direct>,
    v: Arc<Direct>,
    max_len: usize,
    wrap: WrapPairs,
    unwrap: UnwrapPairs,
) -> ValueStrategy {
    let (k2, v2) = (k.clone(), v.clone());
    let (w1, w2) = (wrap.clone(), wrap.clone());
    ValueStrategy::direct(
        move |rng| w1(draw_pairs(&k, &v, rng, max_len)),
        move |val| match unwrap(val) {
            Some(items) => shrink_pairs(items, &k2, &|x| (v2.shrink)(x))
                .into_iter()
                .map(|c| w2(c))
                .collect(),
            None => Vec::new(),
        },
        move |val| unwrap(val).is_some(),
        wrap(Vec::new()),
    )
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
    match all_direct(&[&key, &value]) {
        Some(d) => direct_map(
            d[0].clone(),
            d[1].clone(),
            max_len,
            Arc::new(Value::Dict),
            |v| match v {
                Value::Dict(x) => Some(x),
                _ => None,
            },
        ),
        None => pairs(key, value, max_len)
            .prop_map(Value::Dict)
            .boxed()
            .into(),
    }
}

/// The elements of a set: distinct under Python's `==`, and none whose hash is its identity (a
/// NaN, or a tuple holding one). Such an element puts the set's iteration order at the mercy of
/// addresses: two equal copies of the set would iterate differently, and a function that
/// iterates would look nondeterministic.
pub(crate) fn set_elements(items: Vec<Value>) -> Vec<Value> {
    let mut out = dedup_by_key(items, |x| x);
    // (Strings, bytes and ints, the common elements, are never identity-hashed.)
    out.retain(|x| {
        matches!(x, Value::Str(_) | Value::Bytes(_) | Value::Int(_))
            || x.hash_key() != KeyKind::Unique
    });
    out
}

fn unique(elem: ValueStrategy, max_len: usize) -> BoxedStrategy<Vec<Value>> {
    vec(elem, 0..=max_len).prop_map(set_elements).boxed()
}

/// `set` of hashable elements.
pub fn set(elem: ValueStrategy, max_len: usize) -> ValueStrategy {
    match elem.as_direct() {
        Some(d) => direct_seq(
            d.clone(),
            max_len,
            Value::Set,
            |v| match v {
                Value::Set(x) => Some(x),
                _ => None,
            },
            true,
        ),
        None => unique(elem, max_len).prop_map(Value::Set).boxed().into(),
    }
}

/// `frozenset` of hashable elements.
pub fn frozenset(elem: ValueStrategy, max_len: usize) -> ValueStrategy {
    match elem.as_direct() {
        Some(d) => direct_seq(
            d.clone(),
            max_len,
            Value::FrozenSet,
            |v| match v {
                Value::FrozenSet(x) => Some(x),
                _ => None,
            },
            true,
        ),
        None => unique(elem, max_len)
            .prop_map(Value::FrozenSet)
            .boxed()
            .into(),
    }
}
