//! Structure-aware decoding: fuzzer bytes → well-typed values of the value model.
//!
//! For fuzz targets (the library's [`crate::fuzz::FuzzTarget`], users' own `cargo fuzz` targets
//! through `arbitrary`) and for turning a saved artifact back into Python source. Decoding is
//!
//! - **total**: every byte string decodes, to a value of the asked type, without panicking; reads
//!   past the end give zeros, and zero always means "the simplest choice" (no more elements, the
//!   first alternative, `0`), so short inputs decode to small values;
//! - **local**: each part of a value comes from its own bytes, in order. A container is one
//!   "more?" byte per element followed by the element, so inserting or deleting bytes inserts or
//!   deletes elements rather than reshuffling everything after them;
//! - **direct**: strings and bytes are the input bytes themselves (strings as UTF-8, extended to
//!   lone surrogates, with stray bytes standing for U+0080–U+00FF), ints and floats are
//!   little-endian bytes. libFuzzer's comparison tracing can therefore splice the constants a
//!   function compares against straight into the input.
//!
//! The last argument of a call takes all remaining bytes when it is a `str`, `bytes` or
//! `bytearray`, so a one-string function is fuzzed exactly like a byte-oriented parser.

use num_bigint::BigInt;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::strategy::datetime::days_in_month;
use crate::strategy::shape::{ArrayKind, Shape};
use crate::strategy::{buffer, numpy, scalar, Size};
use crate::value::{
    dedup_by_key, Action, ArrayData, Behaviour, ByteOrder, DKind, Date, DateTime, Decimal,
    DecimalKind, DefaultFactory, Fraction, Hostile, HostileBase, Layout, Method, NdArray, Order,
    PyStr, Time, TimeDelta, TimeUnit, Tz, Value,
};

mod int;
pub(crate) use int::in_range;
use int::int;
#[cfg(feature = "embed")]
pub(crate) use int::{int_read, Int};

/// Containers nest at most this deep in any-value positions; deeper ones hold only scalars.
const MAX_DEPTH: usize = 6;
/// At most this many values per input, so a long input cannot make decoding slow.
pub(crate) const MAX_NODES: usize = 4096;
/// At most this many elements in one container.
pub(crate) const MAX_ITEMS: usize = 1024;
/// At most this many elements in one array.
const MAX_ARRAY: usize = 4096;

/// Reads bytes in order; past the end every read gives zeros.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn consumed(&self) -> usize {
        self.pos.min(self.data.len())
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// One byte (0 past the end).
    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.pos = self.pos.saturating_add(n);
        &self.data[start..end]
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        self.pos = self.data.len();
        &self.data[start..]
    }

    /// `n` (≤ 8) bytes as a little-endian unsigned number.
    pub fn le(&mut self, n: usize) -> u64 {
        let mut buf = [0u8; 8];
        let got = self.bytes(n.min(8));
        buf[..got.len()].copy_from_slice(got);
        u64::from_le_bytes(buf)
    }

    /// Whether another element follows (odd byte: yes; even or end: no).
    pub fn more(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// A length: a LEB128 number of at most three bytes, capped at what is left.
    pub fn length(&mut self) -> usize {
        let mut n = 0usize;
        for shift in [0, 7, 14] {
            let b = self.byte();
            n |= ((b & 0x7f) as usize) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        n.min(self.remaining())
    }

    /// An index below `n` (`n` ≥ 1).
    pub fn index(&mut self, n: usize) -> usize {
        if n <= 256 {
            self.byte() as usize % n
        } else {
            self.le(2) as usize % n
        }
    }
}

/// Decodes text: UTF-8 sequences (surrogates included, as in WTF-8) become their code points,
/// any other byte `b` becomes U+00`b`. Every byte string decodes; ASCII stays as it is.
pub fn decode_text(bytes: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let (len, init, min) = match b {
            0x00..=0x7f => {
                out.push(b as u32);
                i += 1;
                continue;
            }
            0xc2..=0xdf => (2, (b & 0x1f) as u32, 0x80),
            0xe0..=0xef => (3, (b & 0x0f) as u32, 0x800),
            0xf0..=0xf4 => (4, (b & 0x07) as u32, 0x10000),
            _ => (0, 0, 0),
        };
        let tail = bytes.get(i + 1..i + len.max(1));
        let cp = match tail {
            Some(t) if len > 0 && t.iter().all(|c| c & 0xc0 == 0x80) => {
                let cp = t.iter().fold(init, |acc, c| (acc << 6) | (c & 0x3f) as u32);
                (cp >= min && cp <= 0x10ffff).then_some(cp)
            }
            _ => None,
        };
        match cp {
            Some(cp) => {
                out.push(cp);
                i += len;
            }
            None => {
                out.push(b as u32);
                i += 1;
            }
        }
    }
    out
}

/// Decodes the bytes of a `str`. A leading `0xFF` (never part of UTF-8) means the rest is
/// UTF-32LE and a leading `0xFE` UTF-16LE code units (lone surrogates as they are); anything else
/// is [`decode_text`]. These are the widths CPython stores text in (PEP 393) and that extensions
/// compare it in, so a comparison libFuzzer traces in an extension matches the input's bytes.
pub fn decode_str(bytes: &[u8]) -> Vec<u32> {
    let unit = |c: &[u8], width: usize| -> u32 {
        let mut b = [0u8; 4];
        b[..c.len().min(width)].copy_from_slice(&c[..c.len().min(width)]);
        u32::from_le_bytes(b)
    };
    match bytes.first() {
        Some(0xff) => bytes[1..]
            .chunks(4)
            .map(|c| unit(c, 4) % 0x11_0000)
            .collect(),
        Some(0xfe) => bytes[1..].chunks(2).map(|c| unit(c, 2)).collect(),
        _ => decode_text(bytes),
    }
}

/// Encodes code points so that [`decode_text`] gives them back (WTF-8 for every code point;
/// U+0080–U+00FF also as WTF-8). For seed corpora and tests.
pub fn encode_text(cps: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cps.len());
    for &c in cps {
        match c {
            0..=0x7f => out.push(c as u8),
            0x80..=0x7ff => out.extend([0xc0 | (c >> 6) as u8, 0x80 | (c & 0x3f) as u8]),
            0x800..=0xffff => out.extend([
                0xe0 | (c >> 12) as u8,
                0x80 | ((c >> 6) & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ]),
            _ => out.extend([
                0xf0 | ((c >> 18) & 0x07) as u8,
                0x80 | ((c >> 12) & 0x3f) as u8,
                0x80 | ((c >> 6) & 0x3f) as u8,
                0x80 | (c & 0x3f) as u8,
            ]),
        }
    }
    out
}

/// Decodes one value of `shape` from the reader.
pub fn decode(shape: &Shape, r: &mut Reader<'_>) -> Value {
    Decoder {
        nodes: 0,
        hostile: false,
    }
    .value(shape, r, 0, false)
}

/// Decodes a call's arguments from a whole fuzz input: one value per shape, in order, the last
/// taking all remaining bytes when it is a `str`, `bytes` or `bytearray`. No hostile values.
pub fn decode_args(shapes: &[Shape], data: &[u8]) -> Vec<Value> {
    decode_args_with(shapes, data, false)
}

/// [`decode_args`], where `hostile` lets inputs select hostile values: in any-value positions
/// the tags [`HOSTILE_TAGS`] (one in 32 of the byte's values) decode a hostile object, and a
/// `Callable` parameter decodes a callback, well-behaved or hostile
/// ([`crate::value::Hostile`]).
pub fn decode_args_with(shapes: &[Shape], data: &[u8], hostile: bool) -> Vec<Value> {
    let mut r = Reader::new(data);
    let mut d = Decoder { nodes: 0, hostile };
    let n = shapes.len();
    shapes
        .iter()
        .enumerate()
        .map(|(i, s)| d.value(s, &mut r, 0, i + 1 == n))
        .collect()
}

/// The any-value shape: `Value`'s [`arbitrary::Arbitrary`] decodes with it.
impl<'a> arbitrary::Arbitrary<'a> for Value {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let data = u.peek_bytes(u.len()).unwrap_or(&[]);
        let mut r = Reader::new(data);
        let v = decode(&Shape::Any, &mut r);
        u.bytes(r.consumed())?;
        Ok(v)
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let mut r = Reader::new(u.take_rest());
        Ok(decode(&Shape::Any, &mut r))
    }
}

struct Decoder {
    nodes: usize,
    hostile: bool,
}

/// The tags of the any-value shape that pick a hostile object (when hostile values are on):
/// the top of the scalar range.
pub const HOSTILE_TAGS: std::ops::Range<usize> = 0x78..0x80;

/// The scalar kinds of the any-value shape, common ones first (small bytes pick them).
const ANY_SCALARS: [Shape; 13] = [
    Shape::Int,
    Shape::Str,
    Shape::None,
    Shape::Bool,
    Shape::Float,
    Shape::Bytes,
    Shape::Complex,
    Shape::ByteArray,
    Shape::Fraction,
    Shape::Decimal,
    Shape::Date,
    Shape::DateTime,
    Shape::TimeDelta,
];

impl Decoder {
    fn value(&mut self, shape: &Shape, r: &mut Reader<'_>, depth: usize, last: bool) -> Value {
        self.nodes += 1;
        match shape {
            Shape::None => Value::None,
            Shape::Bool => Value::Bool(r.byte() & 1 == 1),
            Shape::Int => Value::Int(int(r)),
            Shape::IntRange(lo, hi) => Value::Int(in_range(int(r), lo, hi)),
            Shape::Float => Value::Float(float(r)),
            Shape::Complex => Value::Complex {
                re: float(r),
                im: float(r),
            },
            Shape::Str => Value::Str(PyStr(decode_str(raw(r, last)))),
            Shape::Bytes => Value::Bytes(raw(r, last).to_vec()),
            Shape::ByteArray => Value::ByteArray(raw(r, last).to_vec()),
            Shape::Callable if self.hostile => self.callback(r),
            Shape::Any | Shape::Callable => self.any(r, depth, false),
            Shape::Hashable => self.any(r, depth, true),
            Shape::List(e) => Value::List(self.items(e, r, depth)),
            Shape::TupleOf(e) => Value::Tuple(self.items(e, r, depth)),
            Shape::Tuple(items) => Value::Tuple(
                items
                    .iter()
                    .map(|s| self.value(s, r, depth + 1, false))
                    .collect(),
            ),
            Shape::Set(e) => Value::Set(dedup_by_key(self.items(e, r, depth), |v| v)),
            Shape::FrozenSet(e) => Value::FrozenSet(dedup_by_key(self.items(e, r, depth), |v| v)),
            Shape::Dict(k, v) => Value::Dict(self.pairs(k, v, r, depth)),
            Shape::OrderedDict(k, v) => Value::OrderedDict(self.pairs(k, v, r, depth)),
            Shape::Counter(k) => Value::Counter(self.pairs(k, &Shape::Int, r, depth)),
            Shape::DefaultDict(k, v) => {
                let factory = [
                    DefaultFactory::None,
                    DefaultFactory::Int,
                    DefaultFactory::List,
                    DefaultFactory::Set,
                    DefaultFactory::Str,
                ][r.index(5)];
                Value::DefaultDict {
                    factory,
                    items: self.pairs(k, v, r, depth),
                }
            }
            Shape::Deque(e) => {
                let b = r.byte();
                let maxlen = (b & 3 == 3).then_some((b >> 2) as usize % 9);
                let mut items = self.items(e, r, depth);
                if let Some(m) = maxlen {
                    let drop = items.len().saturating_sub(m);
                    items.drain(..drop);
                }
                Value::Deque { items, maxlen }
            }
            Shape::Fraction => {
                let n = int(r);
                let d = int(r);
                let d = if d == BigInt::from(0) { 1.into() } else { d };
                Value::Fraction(Fraction::new(n, d).unwrap_or_else(unreachable_fraction))
            }
            Shape::Decimal => Value::Decimal(decimal(r)),
            Shape::Date => Value::Date(date(r)),
            Shape::Time => Value::Time(time(r)),
            Shape::DateTime => Value::DateTime(DateTime {
                date: date(r),
                time: time(r),
            }),
            Shape::TimeDelta => Value::TimeDelta(TimeDelta {
                days: (r.le(4) as u32 as i32) % 1_000_000_000,
                seconds: r.le(4) as u32 % 86_400,
                microseconds: r.le(4) as u32 % 1_000_000,
            }),
            Shape::GeneratedEnum(_) | Shape::Custom(..) => {
                // No byte-level layout of its own: the shape's strategy, with an RNG seeded by
                // the next 32 bytes (a pass-through RNG would feed it endless zeros, which some
                // strategies reject forever).
                let mut seed = [0u8; 32];
                let got = r.bytes(32);
                seed[..got.len()].copy_from_slice(got);
                let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
                let mut runner = TestRunner::new_with_rng(Config::default(), rng);
                shape
                    .strategy(Size::default())
                    .generate(&mut runner)
                    .unwrap_or(Value::None)
            }
            Shape::Array(kind) => Value::Array(array(*kind, r)),
            Shape::Uint8Array { read_only } => {
                let writeable = !read_only || r.byte() & 4 == 0;
                Value::Array(buffer::uint8_array(raw(r, last), writeable))
            }
            Shape::Optional(inner) => {
                if r.byte() & 3 == 0 {
                    Value::None
                } else {
                    self.value(inner, r, depth, last)
                }
            }
            Shape::OneOf(alts) if alts.is_empty() => Value::None,
            Shape::OneOf(alts) => {
                let i = r.index(alts.len());
                self.value(&alts[i], r, depth, last)
            }
            Shape::Literal(values) if values.is_empty() => Value::None,
            Shape::Literal(values) => values[r.index(values.len())].clone(),
        }
    }

    /// A value of any type (`hashable`: only hashable ones).
    fn any(&mut self, r: &mut Reader<'_>, depth: usize, hashable: bool) -> Value {
        let deep = depth >= MAX_DEPTH || self.nodes >= MAX_NODES;
        let tag = r.byte() as usize;
        if self.hostile && !deep && HOSTILE_TAGS.contains(&tag) {
            return self.hostile_object(r, hashable);
        }
        let scalars = if hashable { 11 } else { ANY_SCALARS.len() };
        // Containers take the tags from 0x80 up, so half the byte range picks a scalar.
        if tag < 0x80 || deep {
            let shape = if hashable {
                // Hashable scalars: skip bytearray.
                [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11][tag % scalars]
            } else {
                tag % scalars
            };
            return match self.value(&ANY_SCALARS[shape], r, depth, false) {
                // A signaling NaN cannot be hashed.
                Value::Decimal(Decimal {
                    negative,
                    kind: DecimalKind::SNaN { payload },
                }) if hashable => Value::Decimal(Decimal {
                    negative,
                    kind: DecimalKind::NaN { payload },
                }),
                v => v,
            };
        }
        let any = Shape::Any;
        let h = Shape::Hashable;
        let d = depth + 1;
        if hashable {
            return match tag % 2 {
                0 => Value::Tuple(self.items(&h, r, d)),
                _ => Value::FrozenSet(dedup_by_key(self.items(&h, r, d), |v| v)),
            };
        }
        let b = |s: &Shape| Box::new(s.clone());
        let shape = match tag % 10 {
            0 => Shape::List(b(&any)),
            1 => Shape::Dict(b(&h), b(&any)),
            2 => Shape::TupleOf(b(&any)),
            3 => Shape::Set(b(&h)),
            4 => Shape::FrozenSet(b(&h)),
            5 => Shape::Counter(b(&h)),
            6 => Shape::Deque(b(&any)),
            7 => Shape::DefaultDict(b(&h), b(&any)),
            8 => Shape::OrderedDict(b(&h), b(&any)),
            _ => Shape::Array(ArrayKind::Any),
        };
        self.value(&shape, r, d, false)
    }

    /// A hostile object: its base, a small payload, one action and the methods that do it
    /// (every method of the base for a zero byte, else one).
    fn hostile_object(&mut self, r: &mut Reader<'_>, hashable: bool) -> Value {
        use HostileBase as B;
        let bases: &[HostileBase] = if hashable {
            &[B::Int, B::Object, B::Str, B::Float, B::Bytes, B::Tuple]
        } else {
            &[
                B::Int,
                B::Object,
                B::Str,
                B::Float,
                B::Bytes,
                B::List,
                B::Dict,
                B::Tuple,
            ]
        };
        let base = bases[r.index(bases.len())];
        let small = |r: &mut Reader<'_>| Value::int(i64::from(r.byte() as i8));
        let letters = |r: &mut Reader<'_>| -> Vec<u8> {
            let n = r.index(6);
            (0..n).map(|_| b'a' + r.index(26) as u8).collect()
        };
        let payload = match base {
            B::Object | B::Callable => Value::None,
            B::Int => small(r),
            B::Float => Value::Float(f64::from(r.byte() as i8) / 4.0),
            B::Str => Value::Str(PyStr(letters(r).into_iter().map(u32::from).collect())),
            B::Bytes => Value::Bytes(letters(r)),
            B::List => Value::List((0..r.index(5)).map(|_| small(r)).collect()),
            B::Tuple => Value::Tuple((0..r.index(5)).map(|_| small(r)).collect()),
            B::Dict => Value::Dict(
                (0..r.index(4) as i64)
                    .map(|i| (Value::int(i), small(r)))
                    .collect(),
            ),
        };
        self.nodes += 1;
        Value::Hostile(Hostile {
            base,
            payload: Box::new(payload),
            behaviours: behaviours(base, r),
        })
    }

    /// A callback for a `Callable` parameter: one that returns `None` (an even byte), or a
    /// hostile one acting on the call's other arguments.
    fn callback(&mut self, r: &mut Reader<'_>) -> Value {
        self.nodes += 1;
        let behaviours = if r.byte() & 1 == 0 {
            Vec::new()
        } else {
            behaviours(HostileBase::Callable, r)
        };
        Value::Hostile(Hostile {
            base: HostileBase::Callable,
            payload: Box::new(Value::None),
            behaviours,
        })
    }

    fn items(&mut self, e: &Shape, r: &mut Reader<'_>, depth: usize) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < MAX_ITEMS && self.nodes < MAX_NODES && r.more() {
            out.push(self.value(e, r, depth + 1, false));
        }
        out
    }

    fn pairs(
        &mut self,
        k: &Shape,
        v: &Shape,
        r: &mut Reader<'_>,
        depth: usize,
    ) -> Vec<(Value, Value)> {
        let mut out = Vec::new();
        while out.len() < MAX_ITEMS && self.nodes < MAX_NODES && r.more() {
            let key = self.value(k, r, depth + 1, false);
            let value = self.value(v, r, depth + 1, false);
            out.push((key, value));
        }
        // A repeated key keeps its first position and its last value, as a dict literal does.
        let mut merged: Vec<(Value, Value)> = Vec::with_capacity(out.len());
        for (key, value) in out {
            match merged
                .iter_mut()
                .find(|(k2, _)| k2.hash_key() == key.hash_key())
            {
                Some(slot) => slot.1 = value,
                None => merged.push((key, value)),
            }
        }
        merged
    }
}

/// One action, in every method of `base` (a zero byte) or in one of them.
fn behaviours(base: HostileBase, r: &mut Reader<'_>) -> Vec<Behaviour> {
    let action = Action::ALL[r.index(Action::ALL.len())];
    let methods = base.methods();
    let which = r.byte() as usize;
    let chosen: Vec<Method> = if which == 0 {
        methods.to_vec()
    } else {
        vec![methods[(which - 1) % methods.len()]]
    };
    chosen
        .into_iter()
        .map(|method| Behaviour { method, action })
        .collect()
}

fn unreachable_fraction() -> Fraction {
    // The denominator is never zero here; keep decoding total regardless.
    Fraction::new(0.into(), 1.into()).expect("1 is not zero")
}

/// Raw bytes: a length-prefixed run, or everything left for the last argument.
/// The bytes of a `str`, `bytes` or `bytearray`: a length and that many bytes, or all that is
/// left for the call's `last` argument.
pub(crate) fn raw<'a>(r: &mut Reader<'a>, last: bool) -> &'a [u8] {
    if last {
        r.rest()
    } else {
        let n = r.length();
        r.bytes(n)
    }
}

/// Reads a float: raw bits, a small integer, an edge value or an `f32`.
pub(crate) fn float(r: &mut Reader<'_>) -> f64 {
    match r.byte() % 4 {
        0 => f64::from_bits(r.le(8)),
        1 => r.byte() as i8 as f64,
        2 => {
            let edges = scalar::float_edges();
            edges[r.index(edges.len())]
        }
        _ => f32::from_bits(r.le(4) as u32) as f64,
    }
}

fn digits(n: &BigInt) -> String {
    n.magnitude().to_str_radix(10)
}

fn decimal(r: &mut Reader<'_>) -> Decimal {
    let tag = r.byte();
    let negative = tag & 0x80 != 0;
    let kind = match tag % 16 {
        0 => DecimalKind::Infinity,
        1 | 2 => {
            let payload = if r.more() {
                // Python drops a zero payload (`NaN0` is `NaN`).
                (r.le(2) as u16).max(1).to_string()
            } else {
                String::new()
            };
            if tag % 16 == 1 {
                DecimalKind::NaN { payload }
            } else {
                DecimalKind::SNaN { payload }
            }
        }
        t => {
            let coefficient = digits(&int(r));
            let exponent = if t == 3 {
                // Huge exponents, inside what the decimal module accepts.
                (r.le(5) as i64 % 999_999_999_999).max(-999_999_999_999)
            } else {
                r.byte() as i8 as i64
            };
            DecimalKind::Finite {
                coefficient,
                exponent,
            }
        }
    };
    Decimal { negative, kind }
}

fn date(r: &mut Reader<'_>) -> Date {
    // Zero bytes decode to 2000-01-01, a date of the usual range.
    let year = ((r.le(2) as u16 as i32 + 1999) % 9999) + 1;
    let month = r.byte() % 12 + 1;
    let day = r.byte() % days_in_month(year, month) + 1;
    Date { year, month, day }
}

fn time(r: &mut Reader<'_>) -> Time {
    let hour = r.byte() % 24;
    let minute = r.byte() % 60;
    let second = r.byte() % 60;
    let microsecond = r.le(3) as u32 % 1_000_000;
    let flags = r.byte();
    let tz = (flags & 1 == 1).then(|| Tz {
        // Whole minutes strictly inside ±24 h.
        offset_us: (r.le(2) as u16 as i16 as i64 % 1440) * 60_000_000,
        name: None,
    });
    Time {
        hour,
        minute,
        second,
        microsecond,
        tz,
        fold: flags & 2 == 2,
    }
}

fn array(kind: ArrayKind, r: &mut Reader<'_>) -> NdArray {
    let kind = match kind {
        ArrayKind::Kind(k) => k,
        ArrayKind::Any => {
            let kinds = numpy::all_kinds();
            kinds[r.index(kinds.len())]
        }
        ArrayKind::AnyDateTime => DKind::DateTime64(TimeUnit::ALL[r.index(TimeUnit::ALL.len())]),
    };
    let flags = r.byte();
    let mut dtype = crate::value::DType::native(kind);
    if flags & 8 != 0 && dtype.has_byte_order() {
        dtype.order = ByteOrder::Big;
    }
    let ndim = [1, 1, 1, 1, 2, 2, 0, 3][r.index(8)];
    let mut shape = Vec::with_capacity(ndim);
    let mut count = 1usize;
    for _ in 0..ndim {
        let cap = MAX_ARRAY / count.max(1);
        let n = (r.byte() as usize % 17).min(cap);
        count *= n.max(1);
        shape.push(n);
    }
    let size: usize = shape.iter().product();
    let item = dtype.itemsize();
    let mut bytes = r.bytes(size * item).to_vec();
    bytes.resize(size * item, 0);
    let data = match crate::value::decode(&dtype, &bytes) {
        ArrayData::Unicode(v) => ArrayData::Unicode(
            v.into_iter()
                .map(|s| PyStr(s.0.into_iter().map(|c| c % 0x11_0000).collect()))
                .map(|mut s| {
                    while s.0.last() == Some(&0) {
                        s.0.pop();
                    }
                    s
                })
                .collect(),
        ),
        other => other,
    };
    let order = if flags & 1 != 0 { Order::F } else { Order::C };
    let layout = if flags & 2 != 0 && ndim > 0 {
        let steps = (0..ndim)
            .map(|_| {
                let b = r.byte();
                let step = 1 + (b & 0x7f) as isize % 3;
                if b & 0x80 != 0 {
                    -step
                } else {
                    step
                }
            })
            .collect();
        Layout::Strided {
            base_order: order,
            steps,
        }
    } else {
        Layout::Contiguous(order)
    };
    let mut a = NdArray {
        dtype,
        shape,
        data,
        layout,
        writeable: flags & 4 == 0,
    };
    a.canonicalize();
    a
}

/// The bytes that [`decode_args`] reads back as exactly `s` for a single `str` argument (seed
/// corpora for string functions).
pub fn str_input(s: &str) -> Vec<u8> {
    encode_text(&s.chars().map(|c| c as u32).collect::<Vec<_>>())
}
