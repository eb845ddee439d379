//! The value types themselves: a Rust mirror of Python data that holds no Python objects.
//!
//! For strategies (which generate and shrink these without the GIL), for the converters in
//! [`crate::value::to_py`] / [`crate::value::from_py`] and for source rendering.
//!
//! Equality is *structural identity*, the relation a round trip must preserve: floats compare by
//! value except that every NaN equals every NaN and `-0.0` differs from `0.0`; sets compare as
//! unordered collections; dicts (and their subclasses) compare in insertion order.

use std::sync::Arc;

use num_bigint::BigInt;

use super::ndarray::NdArray;

/// One Python value.
///
/// `Debug` prints the value as Python source (`collections.Counter({'a': -2})`), so proptest's
/// failure messages show pasteable counterexamples; `{:#?}` adds the import lines.
#[derive(Clone)]
pub enum Value {
    /// `None`.
    None,
    /// `bool`.
    Bool(bool),
    /// `int` of any size.
    Int(BigInt),
    /// `float`, including nan, ±inf, -0.0 and subnormals.
    Float(f64),
    /// `complex`.
    Complex {
        /// Real part.
        re: f64,
        /// Imaginary part.
        im: f64,
    },
    /// `str` as code points; lone surrogates allowed.
    Str(PyStr),
    /// `bytes`.
    Bytes(Vec<u8>),
    /// `bytearray`.
    ByteArray(Vec<u8>),
    /// `list`.
    List(Vec<Value>),
    /// `tuple`.
    Tuple(Vec<Value>),
    /// `dict`, in insertion order; keys are hashable and pairwise unequal.
    Dict(Vec<(Value, Value)>),
    /// `set`; elements hashable and pairwise unequal.
    Set(Vec<Value>),
    /// `frozenset`; elements hashable and pairwise unequal.
    FrozenSet(Vec<Value>),
    /// `collections.Counter`, in insertion order (counts may be zero or negative).
    Counter(Vec<(Value, Value)>),
    /// `collections.deque`.
    Deque {
        /// The items, left to right (never more than `maxlen`).
        items: Vec<Value>,
        /// `maxlen`, if bounded.
        maxlen: Option<usize>,
    },
    /// `collections.defaultdict`.
    DefaultDict {
        /// The `default_factory`.
        factory: DefaultFactory,
        /// The entries, in insertion order.
        items: Vec<(Value, Value)>,
    },
    /// `collections.OrderedDict`.
    OrderedDict(Vec<(Value, Value)>),
    /// `fractions.Fraction`.
    Fraction(Fraction),
    /// `decimal.Decimal`.
    Decimal(Decimal),
    /// A member of an `enum.Enum` class.
    Enum(EnumMember),
    /// `datetime.date`.
    Date(Date),
    /// `datetime.time`.
    Time(Time),
    /// `datetime.datetime`.
    DateTime(DateTime),
    /// `datetime.timedelta`.
    TimeDelta(TimeDelta),
    /// `numpy.ndarray`.
    Array(NdArray),
    /// An instance of a generated class whose dunder methods misbehave (see
    /// [`crate::value::Hostile`]).
    Hostile(super::hostile::Hostile),
}

/// A Python `str`: a sequence of code points, which (unlike Rust's `char`) may be lone surrogates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PyStr(pub Vec<u32>);

impl PyStr {
    /// The string as Rust text, with surrogates replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        self.0
            .iter()
            .map(|&c| char::from_u32(c).unwrap_or('\u{FFFD}'))
            .collect()
    }
    /// Number of code points.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True for `''`.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for PyStr {
    fn from(s: &str) -> Self {
        PyStr(s.chars().map(|c| c as u32).collect())
    }
}

/// The `default_factory` of a `defaultdict`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefaultFactory {
    /// `defaultdict(None)`.
    None,
    /// `int`.
    Int,
    /// `list`.
    List,
    /// `set`.
    Set,
    /// `str`.
    Str,
}

impl DefaultFactory {
    /// The Python name of the factory (`"None"`, `"int"`, ...).
    pub fn python_name(self) -> &'static str {
        match self {
            DefaultFactory::None => "None",
            DefaultFactory::Int => "int",
            DefaultFactory::List => "list",
            DefaultFactory::Set => "set",
            DefaultFactory::Str => "str",
        }
    }
}

/// A `fractions.Fraction` in lowest terms with a positive denominator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Fraction {
    numer: BigInt,
    denom: BigInt,
}

impl Fraction {
    /// `numer / denom` reduced to lowest terms; `None` when `denom` is zero.
    pub fn new(numer: BigInt, denom: BigInt) -> Option<Self> {
        use num_integer::Integer;
        use num_traits::{Signed, Zero};
        if denom.is_zero() {
            return None;
        }
        let g = numer.gcd(&denom);
        let g = if g.is_zero() { BigInt::from(1) } else { g };
        let (mut n, mut d) = (numer / &g, denom / &g);
        if d.is_negative() {
            n = -n;
            d = -d;
        }
        Some(Fraction { numer: n, denom: d })
    }
    /// The numerator.
    pub fn numer(&self) -> &BigInt {
        &self.numer
    }
    /// The (positive) denominator.
    pub fn denom(&self) -> &BigInt {
        &self.denom
    }
}

/// A `decimal.Decimal`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    /// True for a negative sign (also `-0`, `-Infinity`, `-NaN`).
    pub negative: bool,
    /// What kind of number it is.
    pub kind: DecimalKind,
}

/// The kinds of `Decimal`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DecimalKind {
    /// `coefficient * 10 ** exponent`; the coefficient is decimal digits without leading zeros (`"0"` for zero).
    Finite {
        /// Decimal digits of the coefficient.
        coefficient: String,
        /// The exponent.
        exponent: i64,
    },
    /// `Infinity`.
    Infinity,
    /// Quiet `NaN` with an optional diagnostic payload (digits, no leading zeros; empty for none).
    NaN {
        /// Payload digits.
        payload: String,
    },
    /// Signalling `sNaN` with an optional payload.
    SNaN {
        /// Payload digits.
        payload: String,
    },
}

impl Decimal {
    /// The text `decimal.Decimal` parses back to exactly this value.
    pub fn to_decimal_string(&self) -> String {
        let sign = if self.negative { "-" } else { "" };
        match &self.kind {
            DecimalKind::Finite {
                coefficient,
                exponent,
            } => {
                if *exponent == 0 {
                    format!("{sign}{coefficient}")
                } else {
                    format!("{sign}{coefficient}E{exponent:+}")
                }
            }
            DecimalKind::Infinity => format!("{sign}Infinity"),
            DecimalKind::NaN { payload } => format!("{sign}NaN{payload}"),
            DecimalKind::SNaN { payload } => format!("{sign}sNaN{payload}"),
        }
    }
}

/// An enum member.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnumMember {
    /// The class it belongs to.
    pub class: EnumClass,
    /// Which member.
    pub member: MemberRef,
}

/// How a member is named.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MemberRef {
    /// A named member: `Cls['NAME']`.
    Name(String),
    /// A `Flag` value that is not a single named member (a combination, or 0): `Cls(value)`.
    Value(i64),
}

/// An enum class: a user's class found by import path, or one generated by pyz3.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EnumClass {
    /// An importable class: `module.qualname`.
    User {
        /// The module to import.
        module: String,
        /// The dotted attribute path inside it.
        qualname: String,
    },
    /// A class generated through the functional API.
    Generated(Arc<GeneratedEnum>),
}

/// The base class of a generated enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EnumKind {
    /// `enum.Enum`.
    Enum,
    /// `enum.IntEnum` (members equal their int values).
    IntEnum,
    /// `enum.Flag` (members combine with `|`).
    Flag,
}

impl EnumKind {
    /// `"Enum"`, `"IntEnum"` or `"Flag"`.
    pub fn python_name(self) -> &'static str {
        match self {
            EnumKind::Enum => "Enum",
            EnumKind::IntEnum => "IntEnum",
            EnumKind::Flag => "Flag",
        }
    }
}

/// The definition of a generated enum class: `enum.<kind>(name, members, module='pyz3_generated')`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GeneratedEnum {
    /// The class name.
    pub name: String,
    /// Its base class.
    pub kind: EnumKind,
    /// Member names and their int values (distinct; powers of two for `Flag`).
    pub members: Vec<(String, i64)>,
}

/// The `__module__` given to generated enum classes, by which they are recognised on the way back.
pub const GENERATED_ENUM_MODULE: &str = "pyz3_generated";

/// `datetime.date`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Date {
    /// 1..=9999.
    pub year: i32,
    /// 1..=12.
    pub month: u8,
    /// 1..=days in month.
    pub day: u8,
}

/// `datetime.time`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Time {
    /// 0..24.
    pub hour: u8,
    /// 0..60.
    pub minute: u8,
    /// 0..60.
    pub second: u8,
    /// 0..1_000_000.
    pub microsecond: u32,
    /// `tzinfo`, if aware.
    pub tz: Option<Tz>,
    /// The `fold` attribute (0 or 1).
    pub fold: bool,
}

/// `datetime.datetime`: a date and a time of day (with the optional tzinfo and fold).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// The date part.
    pub date: Date,
    /// The time part.
    pub time: Time,
}

/// `datetime.timedelta`, normalized as Python does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimeDelta {
    /// -999_999_999..=999_999_999.
    pub days: i32,
    /// 0..86400.
    pub seconds: u32,
    /// 0..1_000_000.
    pub microseconds: u32,
}

impl TimeDelta {
    /// Total microseconds.
    pub fn total_microseconds(&self) -> i128 {
        (self.days as i128 * 86_400 + self.seconds as i128) * 1_000_000 + self.microseconds as i128
    }
}

/// A fixed-offset `datetime.timezone`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tz {
    /// UTC offset in microseconds, strictly within ±24 h.
    pub offset_us: i64,
    /// An explicit name, if one was given.
    pub name: Option<PyStr>,
}

pub(crate) fn float_same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn pairs_same(a: &[(Value, Value)], b: &[(Value, Value)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0 && x.1 == y.1)
}

fn unordered_same(a: &[Value], b: &[Value]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut used = vec![false; b.len()];
    a.iter()
        .all(|x| match (0..b.len()).find(|&i| !used[i] && b[i] == *x) {
            Some(i) => {
                used[i] = true;
                true
            }
            None => false,
        })
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (None, None) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => float_same(*a, *b),
            (Complex { re: a, im: b }, Complex { re: c, im: d }) => {
                float_same(*a, *c) && float_same(*b, *d)
            }
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) | (ByteArray(a), ByteArray(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Dict(a), Dict(b)) | (OrderedDict(a), OrderedDict(b)) | (Counter(a), Counter(b)) => {
                pairs_same(a, b)
            }
            (Set(a), Set(b)) | (FrozenSet(a), FrozenSet(b)) => unordered_same(a, b),
            (
                Deque {
                    items: a,
                    maxlen: m,
                },
                Deque {
                    items: b,
                    maxlen: n,
                },
            ) => m == n && a == b,
            (
                DefaultDict {
                    factory: f,
                    items: a,
                },
                DefaultDict {
                    factory: g,
                    items: b,
                },
            ) => f == g && pairs_same(a, b),
            (Fraction(a), Fraction(b)) => a == b,
            (Decimal(a), Decimal(b)) => a == b,
            (Enum(a), Enum(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (DateTime(a), DateTime(b)) => a == b,
            (TimeDelta(a), TimeDelta(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Hostile(a), Hostile(b)) => a == b,
            _ => false,
        }
    }
}

impl Value {
    /// The Python type name of this value (`"int"`, `"collections.Counter"`, `"numpy.ndarray"`, ...).
    pub fn type_name(&self) -> &'static str {
        use Value::*;
        match self {
            None => "NoneType",
            Bool(_) => "bool",
            Int(_) => "int",
            Float(_) => "float",
            Complex { .. } => "complex",
            Str(_) => "str",
            Bytes(_) => "bytes",
            ByteArray(_) => "bytearray",
            List(_) => "list",
            Tuple(_) => "tuple",
            Dict(_) => "dict",
            Set(_) => "set",
            FrozenSet(_) => "frozenset",
            Counter(_) => "collections.Counter",
            Deque { .. } => "collections.deque",
            DefaultDict { .. } => "collections.defaultdict",
            OrderedDict(_) => "collections.OrderedDict",
            Fraction(_) => "fractions.Fraction",
            Decimal(_) => "decimal.Decimal",
            Enum(_) => "enum.Enum",
            Date(_) => "datetime.date",
            Time(_) => "datetime.time",
            DateTime(_) => "datetime.datetime",
            TimeDelta(_) => "datetime.timedelta",
            Array(_) => "numpy.ndarray",
            Hostile(_) => "hostile",
        }
    }

    /// Shorthand for a `str` value.
    pub fn str(s: &str) -> Value {
        Value::Str(PyStr::from(s))
    }

    /// Shorthand for an `int` value.
    pub fn int(i: impl Into<BigInt>) -> Value {
        Value::Int(i.into())
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let src = self.python_source();
        if f.alternate() {
            write!(f, "{}", src.import_lines())?;
        }
        f.write_str(&src.expr)
    }
}
