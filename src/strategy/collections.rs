//! Strategies for `collections`: Counter, deque, defaultdict and OrderedDict.
//!
//! Direct (see [`super::value_strategy`]) over direct element strategies, like the builtin
//! containers.

use std::sync::Arc;

use proptest::collection::vec;
use proptest::prelude::*;
use rand::RngExt;

use super::container::{direct_map, draw_items, pairs, shrink_pairs};
use super::value_strategy::{all_direct, shrink_items};
use super::{scalar, Size, ValueStrategy};
use crate::value::{DefaultFactory, Value};

/// `collections.Counter` with keys from `key` and int counts (zero and negative included).
pub fn counter(key: ValueStrategy, size: Size) -> ValueStrategy {
    let count = scalar::int(size);
    match all_direct(&[&key, &count]) {
        Some(d) => direct_map(
            d[0].clone(),
            d[1].clone(),
            size.max_len,
            Arc::new(Value::Counter),
            |v| match v {
                Value::Counter(x) => Some(x),
                _ => None,
            },
        ),
        None => pairs(key, count, size.max_len)
            .prop_map(Value::Counter)
            .boxed()
            .into(),
    }
}

/// Keeps the last `maxlen` items, as `deque(iterable, maxlen)` does.
fn bounded(mut items: Vec<Value>, maxlen: Option<usize>) -> Value {
    if let Some(m) = maxlen {
        let drop = items.len().saturating_sub(m);
        items.drain(..drop);
    }
    Value::Deque { items, maxlen }
}

/// `collections.deque`, unbounded or with a `maxlen` (0 included) it respects.
pub fn deque(elem: ValueStrategy, size: Size) -> ValueStrategy {
    let max_len = size.max_len;
    if let Some(d) = elem.as_direct() {
        let (d1, d2) = (d.clone(), d.clone());
        return ValueStrategy::direct(
            move |rng| {
                let items = draw_items(&d1, rng, max_len);
                let maxlen = if rng.random_range(0..4) == 0 {
                    Some(rng.random_range(0..=max_len + 1))
                } else {
                    None
                };
                bounded(items, maxlen)
            },
            move |v| match v {
                Value::Deque { items, maxlen } => {
                    let mut out = Vec::new();
                    if maxlen.is_some() {
                        out.push(Value::Deque {
                            items: items.clone(),
                            maxlen: None,
                        });
                    }
                    out.extend(
                        shrink_items(items, &|x| (d2.shrink)(x))
                            .into_iter()
                            .map(|items| Value::Deque {
                                items,
                                maxlen: *maxlen,
                            }),
                    );
                    out
                }
                _ => Vec::new(),
            },
            |v| matches!(v, Value::Deque { .. }),
            Value::Deque {
                items: Vec::new(),
                maxlen: None,
            },
        );
    }
    (
        vec(elem, 0..=max_len),
        crate::one_of![3 => Just(None), 1 => (0..=max_len + 1).prop_map(Some)],
    )
        .prop_map(|(items, maxlen)| bounded(items, maxlen))
        .boxed()
        .into()
}

const FACTORIES: [DefaultFactory; 5] = [
    DefaultFactory::Int,
    DefaultFactory::List,
    DefaultFactory::Set,
    DefaultFactory::Str,
    DefaultFactory::None,
];

/// A `default_factory`.
pub fn default_factory() -> BoxedStrategy<DefaultFactory> {
    proptest::sample::select(FACTORIES.to_vec()).boxed()
}

/// `collections.defaultdict` with one of the factories int/list/set/str (or None).
pub fn defaultdict(key: ValueStrategy, value: ValueStrategy, size: Size) -> ValueStrategy {
    let max_len = size.max_len;
    if let Some(d) = all_direct(&[&key, &value]) {
        let (k, v) = (d[0].clone(), d[1].clone());
        let (k2, v2) = (k.clone(), v.clone());
        return ValueStrategy::direct(
            move |rng| {
                let factory = FACTORIES[rng.random_range(0..FACTORIES.len())];
                let items = super::container::draw_pairs(&k, &v, rng, max_len);
                Value::DefaultDict { factory, items }
            },
            move |val| match val {
                Value::DefaultDict { factory, items } => {
                    shrink_pairs(items, &k2, &|x| (v2.shrink)(x))
                        .into_iter()
                        .map(|items| Value::DefaultDict {
                            factory: *factory,
                            items,
                        })
                        .collect()
                }
                _ => Vec::new(),
            },
            |v| matches!(v, Value::DefaultDict { .. }),
            Value::DefaultDict {
                factory: DefaultFactory::Int,
                items: Vec::new(),
            },
        );
    }
    (default_factory(), pairs(key, value, max_len))
        .prop_map(|(factory, items)| Value::DefaultDict { factory, items })
        .boxed()
        .into()
}

/// `collections.OrderedDict`.
pub fn ordered_dict(key: ValueStrategy, value: ValueStrategy, size: Size) -> ValueStrategy {
    match all_direct(&[&key, &value]) {
        Some(d) => direct_map(
            d[0].clone(),
            d[1].clone(),
            size.max_len,
            Arc::new(Value::OrderedDict),
            |v| match v {
                Value::OrderedDict(x) => Some(x),
                _ => None,
            },
        ),
        None => pairs(key, value, size.max_len)
            .prop_map(Value::OrderedDict)
            .boxed()
            .into(),
    }
}
