//! Strategies for `collections`: Counter, deque, defaultdict and OrderedDict.

use proptest::collection::vec;
use proptest::prelude::*;

use super::container::pairs;
use super::{scalar, Size, ValueStrategy};
use crate::value::{DefaultFactory, Value};

/// `collections.Counter` with keys from `key` and int counts (zero and negative included).
pub fn counter(key: ValueStrategy, size: Size) -> ValueStrategy {
    pairs(key, scalar::int(size), size.max_len)
        .prop_map(Value::Counter)
        .boxed()
}

/// `collections.deque`, unbounded or with a `maxlen` (0 included) it respects.
pub fn deque(elem: ValueStrategy, size: Size) -> ValueStrategy {
    let max_len = size.max_len;
    (
        vec(elem, 0..=max_len),
        prop_oneof![3 => Just(None), 1 => (0..=max_len + 1).prop_map(Some)],
    )
        .prop_map(|(mut items, maxlen)| {
            if let Some(m) = maxlen {
                // deque(iterable, maxlen) keeps the last `maxlen` items.
                let drop = items.len().saturating_sub(m);
                items.drain(..drop);
            }
            Value::Deque { items, maxlen }
        })
        .boxed()
}

/// A `default_factory`.
pub fn default_factory() -> BoxedStrategy<DefaultFactory> {
    proptest::sample::select(vec![
        DefaultFactory::Int,
        DefaultFactory::List,
        DefaultFactory::Set,
        DefaultFactory::Str,
        DefaultFactory::None,
    ])
    .boxed()
}

/// `collections.defaultdict` with one of the factories int/list/set/str (or None).
pub fn defaultdict(key: ValueStrategy, value: ValueStrategy, size: Size) -> ValueStrategy {
    (default_factory(), pairs(key, value, size.max_len))
        .prop_map(|(factory, items)| Value::DefaultDict { factory, items })
        .boxed()
}

/// `collections.OrderedDict`.
pub fn ordered_dict(key: ValueStrategy, value: ValueStrategy, size: Size) -> ValueStrategy {
    pairs(key, value, size.max_len)
        .prop_map(Value::OrderedDict)
        .boxed()
}
