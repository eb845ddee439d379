//! The typed layer: strategies whose values are Rust types that convert to Python.
//!
//! For tests with a Rust-side oracle: generate `Vec<BigInt>`, compute the expected answer in
//! Rust, convert the same value with [`IntoValue::to_python`] and compare with what the extension
//! returns. Shrinking and edge values are those of the untyped strategies.

use std::collections::BTreeMap;

use num_bigint::BigInt;
use proptest::collection::vec;
use proptest::prelude::*;
#[cfg(feature = "embed")]
use pyo3::prelude::*;

use super::{scalar, text, Size};
use crate::value::{dedup_by_key, PyStr, Value};

/// A Rust value with a Python counterpart.
pub trait IntoValue {
    /// The value-model form.
    fn to_value(&self) -> Value;
    /// The Python object (via the value model; feature `embed`).
    #[cfg(feature = "embed")]
    fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.to_value().to_python(py)
    }
}

/// Python `bytes` in the typed layer (a plain `Vec<u8>` is a list of ints).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Bytes(pub Vec<u8>);

impl IntoValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl IntoValue for bool {
    fn to_value(&self) -> Value {
        Value::Bool(*self)
    }
}
impl IntoValue for i64 {
    fn to_value(&self) -> Value {
        Value::int(*self)
    }
}
impl IntoValue for BigInt {
    fn to_value(&self) -> Value {
        Value::Int(self.clone())
    }
}
impl IntoValue for f64 {
    fn to_value(&self) -> Value {
        Value::Float(*self)
    }
}
impl IntoValue for String {
    fn to_value(&self) -> Value {
        Value::str(self)
    }
}
impl IntoValue for PyStr {
    fn to_value(&self) -> Value {
        Value::Str(self.clone())
    }
}
impl IntoValue for Bytes {
    fn to_value(&self) -> Value {
        Value::Bytes(self.0.clone())
    }
}
impl<T: IntoValue> IntoValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::None, |x| x.to_value())
    }
}
impl<T: IntoValue> IntoValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(|x| x.to_value()).collect())
    }
}
impl<K: IntoValue, V: IntoValue> IntoValue for BTreeMap<K, V> {
    fn to_value(&self) -> Value {
        Value::Dict(
            self.iter()
                .map(|(k, v)| (k.to_value(), v.to_value()))
                .collect(),
        )
    }
}
macro_rules! tuple_into_value {
    ($($t:ident $i:tt),+) => {
        impl<$($t: IntoValue),+> IntoValue for ($($t,)+) {
            fn to_value(&self) -> Value {
                Value::Tuple(vec![$(self.$i.to_value()),+])
            }
        }
    };
}
tuple_into_value!(A 0);
tuple_into_value!(A 0, B 1);
tuple_into_value!(A 0, B 1, C 2);
tuple_into_value!(A 0, B 1, C 2, D 3);

/// A list of `(key, value)` pairs that converts to a `dict` in this order.
#[derive(Clone, Debug, PartialEq)]
pub struct Dict<K, V>(pub Vec<(K, V)>);

impl<K: IntoValue, V: IntoValue> IntoValue for Dict<K, V> {
    fn to_value(&self) -> Value {
        Value::Dict(
            self.0
                .iter()
                .map(|(k, v)| (k.to_value(), v.to_value()))
                .collect(),
        )
    }
}

/// Ints of any size, with edge values.
pub fn ints(size: Size) -> BoxedStrategy<BigInt> {
    scalar::bigints(size).boxed()
}

/// Ints that fit an `i64`, with the int64 bounds among the edge values.
pub fn i64s(size: Size) -> BoxedStrategy<i64> {
    scalar::bigints(size)
        .prop_map(|i| {
            i64::try_from(&i).unwrap_or(if i.sign() == num_bigint::Sign::Minus {
                i64::MIN
            } else {
                i64::MAX
            })
        })
        .boxed()
}

/// Floats with edge values.
pub fn floats(size: Size) -> BoxedStrategy<f64> {
    scalar::f64s(size).boxed()
}

/// Strings as code points (surrogates included).
pub fn strings(size: Size) -> BoxedStrategy<PyStr> {
    text::code_points(size).prop_map(PyStr).boxed()
}

/// Byte strings.
pub fn bytes(size: Size) -> BoxedStrategy<Bytes> {
    text::byte_vec(size).prop_map(Bytes).boxed()
}

/// Lists of `elem`.
pub fn lists<T: std::fmt::Debug + Clone + 'static>(
    elem: BoxedStrategy<T>,
    max_len: usize,
) -> BoxedStrategy<Vec<T>> {
    vec(elem, 0..=max_len).boxed()
}

/// Dicts with keys unique under Python's equality.
pub fn dicts<K, V>(
    key: BoxedStrategy<K>,
    value: BoxedStrategy<V>,
    max_len: usize,
) -> BoxedStrategy<Dict<K, V>>
where
    K: IntoValue + std::fmt::Debug + Clone + 'static,
    V: std::fmt::Debug + Clone + 'static,
{
    vec((key, value), 0..=max_len)
        .prop_map(|pairs| {
            let tagged: Vec<(Value, (K, V))> =
                pairs.into_iter().map(|p| (p.0.to_value(), p)).collect();
            Dict(
                dedup_by_key(tagged, |t| &t.0)
                    .into_iter()
                    .map(|t| t.1)
                    .collect(),
            )
        })
        .boxed()
}

/// `None` or a value of `inner`.
pub fn optional<T: std::fmt::Debug + Clone + 'static>(
    inner: BoxedStrategy<T>,
) -> BoxedStrategy<Option<T>> {
    crate::one_of![1 => Just(None), 4 => inner.prop_map(Some)].boxed()
}
