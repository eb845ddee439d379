//! Python's equality of hashable values, computed without Python.
//!
//! For strategies that build dicts and sets: Python merges keys that are equal even across
//! types (`1`, `1.0`, `True`, `Fraction(1)`, `Decimal('1')` and `1+0j` are one key; two aware
//! datetimes at the same instant are one key). [`Value::hash_key`] maps a value to a canonical
//! key so generated dicts and sets have exactly as many entries in Python as in the model.

use std::collections::HashSet;

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Zero};

use super::model::*;

/// Canonical form of a hashable value under Python's `==`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HashKey {
    /// `None`.
    None,
    /// A real number as a reduced fraction (ints, bools, floats, Fractions, Decimals, IntEnums).
    Rational(BigInt, BigInt),
    /// ±infinity (float or Decimal).
    Infinity(bool),
    /// A Decimal too large or small to expand: sign, coefficient without trailing zeros, exponent.
    BigDecimal(bool, String, i64),
    /// A complex number with a non-zero imaginary part.
    Complex(Box<HashKey>, Box<HashKey>),
    /// `str`.
    Str(Vec<u32>),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// `tuple`.
    Tuple(Vec<HashKey>),
    /// `frozenset` (keys in a canonical order).
    FrozenSet(Vec<String>),
    /// A non-int enum member.
    Enum(String),
    /// `date`.
    Date(Date),
    /// A naive `time` (microseconds since midnight).
    NaiveTime(i64),
    /// An aware `time` (microseconds since midnight UTC).
    AwareTime(i64),
    /// A naive `datetime`.
    NaiveDateTime(i128),
    /// An aware `datetime` (its UTC instant).
    AwareDateTime(i128),
    /// `timedelta` (total microseconds).
    Delta(i128),
}

/// How a value behaves as a dict key or set element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Hashable, equal to exactly the values with the same key.
    Key(HashKey),
    /// Hashable but equal to nothing else (a NaN: each object is its own key).
    Unique,
    /// Not hashable (`list`, `dict`, `sNaN`, ...).
    Unhashable,
}

fn rational(n: BigInt, d: BigInt) -> HashKey {
    let g = n.gcd(&d);
    let g = if g.is_zero() { BigInt::one() } else { g };
    HashKey::Rational(n / &g, d / &g)
}

fn float_key(f: f64) -> KeyKind {
    if f.is_nan() {
        return KeyKind::Unique;
    }
    if f.is_infinite() {
        return KeyKind::Key(HashKey::Infinity(f > 0.0));
    }
    if f == 0.0 {
        return KeyKind::Key(HashKey::Rational(BigInt::zero(), BigInt::one()));
    }
    let bits = f.to_bits();
    let sign = if bits >> 63 == 1 { -1 } else { 1 };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, e) = if exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    let m = BigInt::from(mant) * sign;
    KeyKind::Key(if e >= 0 {
        rational(m << e as usize, BigInt::one())
    } else {
        rational(m, BigInt::one() << (-e) as usize)
    })
}

fn decimal_key(d: &Decimal) -> KeyKind {
    match &d.kind {
        DecimalKind::SNaN { .. } => KeyKind::Unhashable,
        DecimalKind::NaN { .. } => KeyKind::Unique,
        DecimalKind::Infinity => KeyKind::Key(HashKey::Infinity(!d.negative)),
        DecimalKind::Finite {
            coefficient,
            exponent,
        } => {
            let trimmed = coefficient.trim_end_matches('0');
            if trimmed.is_empty() {
                return KeyKind::Key(HashKey::Rational(BigInt::zero(), BigInt::one()));
            }
            let exp = exponent + (coefficient.len() - trimmed.len()) as i64;
            let adjusted = exp + trimmed.len() as i64 - 1;
            if !(-400..=400).contains(&adjusted) {
                return KeyKind::Key(HashKey::BigDecimal(d.negative, trimmed.into(), exp));
            }
            let mut c: BigInt = trimmed.parse().unwrap_or_default();
            if d.negative {
                c = -c;
            }
            let ten = BigInt::from(10);
            KeyKind::Key(if exp >= 0 {
                rational(c * num_traits::pow(ten, exp as usize), BigInt::one())
            } else {
                rational(c, num_traits::pow(ten, (-exp) as usize))
            })
        }
    }
}

fn days_from_civil(d: &Date) -> i64 {
    let (y, m, day) = (d.year as i64, d.month as i64, d.day as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe
}

fn time_us(t: &Time) -> i64 {
    ((t.hour as i64 * 60 + t.minute as i64) * 60 + t.second as i64) * 1_000_000
        + t.microsecond as i64
}

impl Value {
    /// This value's key under Python's `==`, or why it has none.
    pub fn hash_key(&self) -> KeyKind {
        use KeyKind::*;
        match self {
            Value::None => Key(HashKey::None),
            Value::Bool(b) => Key(HashKey::Rational(BigInt::from(*b as u8), BigInt::one())),
            Value::Int(i) => Key(HashKey::Rational(i.clone(), BigInt::one())),
            Value::Float(f) => float_key(*f),
            Value::Complex { re, im } => {
                if *im == 0.0 {
                    float_key(*re)
                } else {
                    match (float_key(*re), float_key(*im)) {
                        (Key(a), Key(b)) => Key(HashKey::Complex(Box::new(a), Box::new(b))),
                        _ => Unique,
                    }
                }
            }
            Value::Str(s) => Key(HashKey::Str(s.0.clone())),
            Value::Bytes(b) => Key(HashKey::Bytes(b.clone())),
            Value::Tuple(items) => {
                let mut keys = Vec::with_capacity(items.len());
                for x in items {
                    match x.hash_key() {
                        Key(k) => keys.push(k),
                        // A tuple holding a NaN still equals itself only through identity.
                        Unique => return Unique,
                        Unhashable => return Unhashable,
                    }
                }
                Key(HashKey::Tuple(keys))
            }
            Value::FrozenSet(items) => {
                let mut keys = Vec::with_capacity(items.len());
                for x in items {
                    match x.hash_key() {
                        Key(k) => keys.push(format!("{k:?}")),
                        Unique => return Unique,
                        Unhashable => return Unhashable,
                    }
                }
                keys.sort();
                Key(HashKey::FrozenSet(keys))
            }
            Value::Fraction(f) => Key(HashKey::Rational(f.numer().clone(), f.denom().clone())),
            Value::Decimal(d) => decimal_key(d),
            Value::Enum(m) => {
                if let EnumClass::Generated(g) = &m.class {
                    if g.kind == EnumKind::IntEnum {
                        let v = match &m.member {
                            MemberRef::Name(n) => {
                                g.members.iter().find(|(k, _)| k == n).map(|x| x.1)
                            }
                            MemberRef::Value(v) => Some(*v),
                        };
                        if let Some(v) = v {
                            return Key(HashKey::Rational(BigInt::from(v), BigInt::one()));
                        }
                    }
                }
                Key(HashKey::Enum(format!("{:?}", m)))
            }
            Value::Date(d) => Key(HashKey::Date(*d)),
            Value::Time(t) => match &t.tz {
                None => Key(HashKey::NaiveTime(time_us(t))),
                Some(tz) => Key(HashKey::AwareTime(time_us(t) - tz.offset_us)),
            },
            Value::DateTime(dt) => {
                let us =
                    days_from_civil(&dt.date) as i128 * 86_400_000_000 + time_us(&dt.time) as i128;
                match &dt.time.tz {
                    None => Key(HashKey::NaiveDateTime(us)),
                    Some(tz) => Key(HashKey::AwareDateTime(us - tz.offset_us as i128)),
                }
            }
            Value::TimeDelta(td) => Key(HashKey::Delta(td.total_microseconds())),
            // A subclass of int, str, ... equals its payload; plain ones hash by identity.
            Value::Hostile(h) if h.base.hashable() => {
                if h.base.equals_payload() {
                    h.payload.hash_key()
                } else {
                    Unique
                }
            }
            _ => Unhashable,
        }
    }

    /// True when the value can be a dict key or set element.
    pub fn is_hashable(&self) -> bool {
        self.hash_key() != KeyKind::Unhashable
    }
}

/// Whether two hashable values are one key for Python (fast paths for the common types).
fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Str(_), Value::Int(_) | Value::Bytes(_) | Value::Float(_))
        | (Value::Int(_) | Value::Bytes(_) | Value::Float(_), Value::Str(_))
        | (Value::Bytes(_), Value::Int(_) | Value::Float(_))
        | (Value::Int(_) | Value::Float(_), Value::Bytes(_)) => false,
        _ => match (a.hash_key(), b.hash_key()) {
            (KeyKind::Key(x), KeyKind::Key(y)) => x == y,
            _ => false,
        },
    }
}

fn hashable_fast(v: &Value) -> bool {
    match v {
        Value::Str(_)
        | Value::Bytes(_)
        | Value::Int(_)
        | Value::Float(_)
        | Value::Bool(_)
        | Value::None => true,
        other => other.is_hashable(),
    }
}

/// Keeps the first of each group of items whose keys Python would merge, dropping unhashable ones.
pub fn dedup_by_key<T>(items: Vec<T>, key: impl Fn(&T) -> &Value) -> Vec<T> {
    if items.len() <= 16 {
        // Small containers (the usual case): pairwise comparison, no hashing or key copies.
        let mut out: Vec<T> = Vec::with_capacity(items.len());
        for x in items {
            let k = key(&x);
            if hashable_fast(k) && !out.iter().any(|y| same_key(key(y), k)) {
                out.push(x);
            }
        }
        return out;
    }
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|x| match key(x).hash_key() {
            KeyKind::Key(k) => seen.insert(k),
            KeyKind::Unique => true,
            KeyKind::Unhashable => false,
        })
        .collect()
}
