//! Value → pickle protocol 5 bytes written without Python, for the harness that runs the
//! checked function in another CPython process (3.9 or later, with or without the GIL).
//!
//! [`Value::to_pickle`] and [`args_pickle`] write bytes that CPython's `pickle.loads` turns into
//! exactly the object [`Value::to_python`] builds, of the same type, with the same NaN payloads,
//! signed zeros, lone surrogates, timezones, folds and array layouts.
//!
//! Plain types use pickle's own opcodes, as CPython's pickler writes them (small pickles are
//! byte-for-byte equal to `pickle.dumps(x, 5)` without its memo opcodes); the standard-library
//! types are rebuilt by calling their classes; generated enum classes and NumPy arrays by two
//! small functions of the helper module [`PICKLE_HELPERS`], which the receiving interpreter
//! installs as `_pyz3` first. One FRAME holds the whole pickle. Nothing is memoized: a value
//! tree shares no objects, so every unpickled object is new. Values that [`Value::to_python`]
//! would reject (array data not matching the shape or dtype, out-of-range dates, code points
//! above U+10FFFF) give a [`PickleError`] instead of bytes.

use num_bigint::BigInt;

use super::model::*;
use super::ndarray::{encode, reverse_data, ArrayData, DKind, Layout, NdArray, Order};

/// Python source of the helper module that pickles of generated enums and arrays refer to.
///
/// The receiving interpreter installs it under [`PICKLE_HELPERS_MODULE`] before unpickling:
///
/// ```python
/// import sys, types
/// m = types.ModuleType('_pyz3')
/// exec(PICKLE_HELPERS, m.__dict__)
/// sys.modules['_pyz3'] = m
/// ```
///
/// It defines `enum_class(kind, name, members)` (the generated enum class, created once per
/// process with module `pyz3_generated`) and `ndarray(data, dtype, shape, order, steps,
/// writeable)` (an array from its raw bytes and layout). Importing it has no side effects;
/// NumPy is imported when the first array is unpickled.
pub const PICKLE_HELPERS: &str = concat!(
    include_str!("pickle_helpers.py"),
    "\n\n",
    include_str!("hostile_prelude.py")
);

/// The module name the pickles use for [`PICKLE_HELPERS`]: `_pyz3`.
pub const PICKLE_HELPERS_MODULE: &str = "_pyz3";

/// A value that cannot be pickled because it is inconsistent (the same values
/// [`Value::to_python`] rejects); the message says what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot pickle value: {0}")]
pub struct PickleError(pub String);

type Result<T = ()> = std::result::Result<T, PickleError>;

fn err<T>(msg: String) -> Result<T> {
    Err(PickleError(msg))
}

// Opcodes (pickletools names).
const MARK: u8 = b'(';
const STOP: u8 = b'.';
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const NONE: u8 = b'N';
const REDUCE: u8 = b'R';
const BINUNICODE: u8 = b'X';
const APPEND: u8 = b'a';
const APPENDS: u8 = b'e';
const BINFLOAT: u8 = b'G';
const SETITEM: u8 = b's';
const SETITEMS: u8 = b'u';
const EMPTY_TUPLE: u8 = b')';
const TUPLE: u8 = b't';
const EMPTY_LIST: u8 = b']';
const EMPTY_DICT: u8 = b'}';
const PROTO: u8 = 0x80;
const NEWOBJ: u8 = 0x81;
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const LONG1: u8 = 0x8a;
const LONG4: u8 = 0x8b;
const BINBYTES: u8 = b'B';
const SHORT_BINBYTES: u8 = b'C';
const SHORT_BINUNICODE: u8 = 0x8c;
const BINUNICODE8: u8 = 0x8d;
const BINBYTES8: u8 = 0x8e;
const EMPTY_SET: u8 = 0x8f;
const ADDITEMS: u8 = 0x90;
const FROZENSET: u8 = 0x91;
const STACK_GLOBAL: u8 = 0x93;
const FRAME: u8 = 0x95;
const BYTEARRAY8: u8 = 0x96;

/// Items per MARK in APPENDS / SETITEMS / ADDITEMS, as CPython writes them.
const BATCH: usize = 1000;
/// PROTO 5 and room for a FRAME header.
const HEADER: usize = 2 + 9;
/// CPython writes no FRAME around fewer bytes than this.
const FRAME_SIZE_MIN: usize = 4;

impl Value {
    /// This value as a pickle (protocol 5) that `pickle.loads` turns into the object
    /// [`Value::to_python`] builds. Generated enums and arrays need [`PICKLE_HELPERS`] installed
    /// as `_pyz3` in the unpickling interpreter.
    pub fn to_pickle(&self) -> std::result::Result<Vec<u8>, PickleError> {
        let mut p = Pickler::new();
        p.value(self)?;
        Ok(p.finish())
    }
}

/// The pickle (protocol 5) of the tuple of `args`: what a call `f(*pickle.loads(b))` takes.
pub fn args_pickle(args: &[Value]) -> std::result::Result<Vec<u8>, PickleError> {
    let mut p = Pickler::new();
    p.tuple(args)?;
    Ok(p.finish())
}

struct Pickler {
    out: Vec<u8>,
}

impl Pickler {
    fn new() -> Self {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(&[PROTO, 5, FRAME, 0, 0, 0, 0, 0, 0, 0, 0]);
        Pickler { out }
    }

    /// STOP, then the FRAME length (or no FRAME for a tiny pickle, as CPython does).
    fn finish(mut self) -> Vec<u8> {
        self.out.push(STOP);
        let n = self.out.len() - HEADER;
        if n >= FRAME_SIZE_MIN {
            self.out[3..HEADER].copy_from_slice(&(n as u64).to_le_bytes());
        } else {
            self.out.drain(2..HEADER);
        }
        self.out
    }

    fn op(&mut self, op: u8) {
        self.out.push(op);
    }

    fn int_i64(&mut self, x: i64) {
        if let Ok(b) = u8::try_from(x) {
            self.out.extend_from_slice(&[BININT1, b]);
        } else if let Ok(h) = u16::try_from(x) {
            self.op(BININT2);
            self.out.extend_from_slice(&h.to_le_bytes());
        } else if let Ok(w) = i32::try_from(x) {
            self.op(BININT);
            self.out.extend_from_slice(&w.to_le_bytes());
        } else {
            let b = BigInt::from(x).to_signed_bytes_le();
            self.out.extend_from_slice(&[LONG1, b.len() as u8]);
            self.out.extend_from_slice(&b);
        }
    }

    fn int_usize(&mut self, x: usize) -> Result {
        match i64::try_from(x) {
            Ok(x) => {
                self.int_i64(x);
                Ok(())
            }
            Err(_) => self.int(&BigInt::from(x)),
        }
    }

    fn int(&mut self, i: &BigInt) -> Result {
        if let Ok(x) = i64::try_from(i) {
            self.int_i64(x);
            return Ok(());
        }
        // Two's complement, little-endian, as short as possible: pickle's encode_long.
        let b = i.to_signed_bytes_le();
        if let Ok(n) = u8::try_from(b.len()) {
            self.out.extend_from_slice(&[LONG1, n]);
        } else if let Ok(n) = i32::try_from(b.len()) {
            self.op(LONG4);
            self.out.extend_from_slice(&n.to_le_bytes());
        } else {
            return err(format!("int of {} bytes is too large", b.len()));
        }
        self.out.extend_from_slice(&b);
        Ok(())
    }

    fn float(&mut self, f: f64) {
        self.op(BINFLOAT);
        self.out.extend_from_slice(&f.to_be_bytes());
    }

    fn unicode_header(&mut self, n: usize) {
        if let Ok(n) = u8::try_from(n) {
            self.out.extend_from_slice(&[SHORT_BINUNICODE, n]);
        } else if let Ok(n) = u32::try_from(n) {
            self.op(BINUNICODE);
            self.out.extend_from_slice(&n.to_le_bytes());
        } else {
            self.op(BINUNICODE8);
            self.out.extend_from_slice(&(n as u64).to_le_bytes());
        }
    }

    fn text(&mut self, s: &str) {
        self.unicode_header(s.len());
        self.out.extend_from_slice(s.as_bytes());
    }

    /// A `str` of any code points. The unpickler decodes with `surrogatepass`, so a surrogate is
    /// written as its own 3-byte sequence (a high and a low surrogate stay two code points).
    fn pystr(&mut self, s: &PyStr) -> Result {
        let mut n = 0usize;
        for &c in &s.0 {
            n += match c {
                0..=0x7f => 1,
                0x80..=0x7ff => 2,
                0x800..=0xffff => 3,
                0x1_0000..=0x10_ffff => 4,
                _ => return err(format!("code point {c:#x} in a str is above U+10FFFF")),
            };
        }
        self.unicode_header(n);
        self.out.reserve(n);
        for &c in &s.0 {
            match c {
                0..=0x7f => self.out.push(c as u8),
                0x80..=0x7ff => self
                    .out
                    .extend_from_slice(&[0xc0 | (c >> 6) as u8, 0x80 | (c & 0x3f) as u8]),
                0x800..=0xffff => self.out.extend_from_slice(&[
                    0xe0 | (c >> 12) as u8,
                    0x80 | ((c >> 6) & 0x3f) as u8,
                    0x80 | (c & 0x3f) as u8,
                ]),
                _ => self.out.extend_from_slice(&[
                    0xf0 | (c >> 18) as u8,
                    0x80 | ((c >> 12) & 0x3f) as u8,
                    0x80 | ((c >> 6) & 0x3f) as u8,
                    0x80 | (c & 0x3f) as u8,
                ]),
            }
        }
        Ok(())
    }

    fn bytes(&mut self, b: &[u8]) {
        if let Ok(n) = u8::try_from(b.len()) {
            self.out.extend_from_slice(&[SHORT_BINBYTES, n]);
        } else if let Ok(n) = u32::try_from(b.len()) {
            self.op(BINBYTES);
            self.out.extend_from_slice(&n.to_le_bytes());
        } else {
            self.op(BINBYTES8);
            self.out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        }
        self.out.extend_from_slice(b);
    }

    fn bytearray(&mut self, b: &[u8]) {
        self.op(BYTEARRAY8);
        self.out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        self.out.extend_from_slice(b);
    }

    /// `module.name`, looked up by the unpickler (dotted names walk attributes).
    fn global(&mut self, module: &str, name: &str) {
        self.text(module);
        self.text(name);
        self.op(STACK_GLOBAL);
    }

    fn tuple(&mut self, items: &[Value]) -> Result {
        match items.len() {
            0 => self.op(EMPTY_TUPLE),
            n @ 1..=3 => {
                for v in items {
                    self.value(v)?;
                }
                self.op(TUPLE1 + n as u8 - 1);
            }
            _ => {
                self.op(MARK);
                for v in items {
                    self.value(v)?;
                }
                self.op(TUPLE);
            }
        }
        Ok(())
    }

    /// Appends to the list on the stack.
    fn appends(&mut self, items: &[Value]) -> Result {
        if let [v] = items {
            self.value(v)?;
            self.op(APPEND);
            return Ok(());
        }
        for chunk in items.chunks(BATCH) {
            self.op(MARK);
            for v in chunk {
                self.value(v)?;
            }
            self.op(APPENDS);
        }
        Ok(())
    }

    /// Sets items, in order, on the dict (or dict subclass, through its `__setitem__`) on the stack.
    fn setitems(&mut self, items: &[(Value, Value)]) -> Result {
        if let [(k, v)] = items {
            self.value(k)?;
            self.value(v)?;
            self.op(SETITEM);
            return Ok(());
        }
        for chunk in items.chunks(BATCH) {
            self.op(MARK);
            for (k, v) in chunk {
                self.value(k)?;
                self.value(v)?;
            }
            self.op(SETITEMS);
        }
        Ok(())
    }

    fn value(&mut self, v: &Value) -> Result {
        match v {
            Value::None => self.op(NONE),
            Value::Bool(b) => self.op(if *b { NEWTRUE } else { NEWFALSE }),
            Value::Int(i) => self.int(i)?,
            Value::Float(f) => self.float(*f),
            Value::Complex { re, im } => {
                self.global("builtins", "complex");
                self.float(*re);
                self.float(*im);
                self.op(TUPLE2);
                self.op(REDUCE);
            }
            Value::Str(s) => self.pystr(s)?,
            Value::Bytes(b) => self.bytes(b),
            Value::ByteArray(b) => self.bytearray(b),
            Value::List(items) => {
                self.op(EMPTY_LIST);
                self.appends(items)?;
            }
            Value::Tuple(items) => self.tuple(items)?,
            Value::Dict(items) => {
                self.op(EMPTY_DICT);
                self.setitems(items)?;
            }
            Value::Set(items) => {
                self.op(EMPTY_SET);
                for chunk in items.chunks(BATCH) {
                    self.op(MARK);
                    for v in chunk {
                        self.value(v)?;
                    }
                    self.op(ADDITEMS);
                }
            }
            Value::FrozenSet(items) => {
                self.op(MARK);
                for v in items {
                    self.value(v)?;
                }
                self.op(FROZENSET);
            }
            Value::Counter(items) => {
                // Counter.__new__(Counter), then dict items: Counter's __init__ is skipped.
                self.global("collections", "Counter");
                self.op(EMPTY_TUPLE);
                self.op(NEWOBJ);
                self.setitems(items)?;
            }
            Value::Deque { items, maxlen } => {
                self.global("collections", "deque");
                self.op(EMPTY_LIST);
                self.appends(items)?;
                match maxlen {
                    Some(n) => self.int_usize(*n)?,
                    None => self.op(NONE),
                }
                self.op(TUPLE2);
                self.op(REDUCE);
            }
            Value::DefaultDict { factory, items } => {
                self.global("collections", "defaultdict");
                match factory {
                    DefaultFactory::None => self.op(NONE),
                    f => self.global("builtins", f.python_name()),
                }
                self.op(TUPLE1);
                self.op(REDUCE);
                self.setitems(items)?;
            }
            Value::OrderedDict(items) => {
                self.global("collections", "OrderedDict");
                self.op(EMPTY_TUPLE);
                self.op(REDUCE);
                self.setitems(items)?;
            }
            Value::Fraction(f) => {
                self.global("fractions", "Fraction");
                self.int(f.numer())?;
                self.int(f.denom())?;
                self.op(TUPLE2);
                self.op(REDUCE);
            }
            Value::Decimal(d) => {
                check_decimal(d)?;
                self.global("decimal", "Decimal");
                self.text(&d.to_decimal_string());
                self.op(TUPLE1);
                self.op(REDUCE);
            }
            Value::Enum(m) => self.enum_member(m)?,
            Value::Date(d) => {
                check_date(d)?;
                self.global("datetime", "date");
                let [y0, y1] = (d.year as u16).to_be_bytes();
                self.bytes(&[y0, y1, d.month, d.day]);
                self.op(TUPLE1);
                self.op(REDUCE);
            }
            Value::Time(t) => {
                check_time(t)?;
                self.global("datetime", "time");
                let mut state = time_state(t);
                state[0] |= (t.fold as u8) << 7;
                self.bytes(&state);
                self.tz_arg(&t.tz)?;
                self.op(REDUCE);
            }
            Value::DateTime(dt) => {
                let (d, t) = (&dt.date, &dt.time);
                check_date(d)?;
                check_time(t)?;
                self.global("datetime", "datetime");
                let [y0, y1] = (d.year as u16).to_be_bytes();
                let mut state = vec![y0, y1, d.month | ((t.fold as u8) << 7), d.day];
                state.extend_from_slice(&time_state(t));
                self.bytes(&state);
                self.tz_arg(&t.tz)?;
                self.op(REDUCE);
            }
            Value::TimeDelta(td) => {
                if td.days.unsigned_abs() > 999_999_999
                    || td.seconds >= 86_400
                    || td.microseconds >= 1_000_000
                {
                    return err(format!("timedelta fields out of range: {td:?}"));
                }
                self.timedelta(td.days as i64, td.seconds, td.microseconds);
            }
            Value::Array(a) => self.array(a)?,
            Value::Hostile(h) => {
                // _pyz3.hostile(class source, class name, payload): the class is defined once.
                self.global(PICKLE_HELPERS_MODULE, "hostile");
                self.text(&h.class_source());
                self.text(&h.class_name());
                self.value(&h.payload)?;
                self.op(TUPLE3);
                self.op(REDUCE);
            }
        }
        Ok(())
    }

    fn timedelta(&mut self, days: i64, seconds: u32, microseconds: u32) {
        self.global("datetime", "timedelta");
        self.int_i64(days);
        self.int_i64(seconds as i64);
        self.int_i64(microseconds as i64);
        self.op(TUPLE3);
        self.op(REDUCE);
    }

    /// Closes the argument tuple of a date/time state: `(state,)` or `(state, tz)`.
    fn tz_arg(&mut self, tz: &Option<Tz>) -> Result {
        let Some(tz) = tz else {
            self.op(TUPLE1);
            return Ok(());
        };
        const DAY_US: i64 = 86_400_000_000;
        if tz.offset_us.unsigned_abs() >= DAY_US as u64 {
            return err(format!(
                "timezone offset {} us is not strictly within a day",
                tz.offset_us
            ));
        }
        self.global("datetime", "timezone");
        let us = tz.offset_us;
        self.timedelta(
            us.div_euclid(DAY_US),
            (us.rem_euclid(DAY_US) / 1_000_000) as u32,
            us.rem_euclid(1_000_000) as u32,
        );
        match &tz.name {
            Some(name) => {
                self.pystr(name)?;
                self.op(TUPLE2);
            }
            None => self.op(TUPLE1),
        }
        self.op(REDUCE);
        self.op(TUPLE2);
        Ok(())
    }

    fn enum_member(&mut self, m: &EnumMember) -> Result {
        if let MemberRef::Name(_) = m.member {
            // Cls[name], as to_python looks members up.
            self.global("_operator", "getitem");
        }
        match &m.class {
            EnumClass::User { module, qualname } => self.global(module, qualname),
            EnumClass::Generated(g) => {
                self.global(PICKLE_HELPERS_MODULE, "enum_class");
                self.text(g.kind.python_name());
                self.text(&g.name);
                self.op(MARK);
                for (name, value) in &g.members {
                    self.text(name);
                    self.int_i64(*value);
                    self.op(TUPLE2);
                }
                self.op(TUPLE);
                self.op(TUPLE3);
                self.op(REDUCE);
            }
        }
        match &m.member {
            MemberRef::Name(n) => {
                self.text(n);
                self.op(TUPLE2);
            }
            MemberRef::Value(v) => {
                self.int_i64(*v);
                self.op(TUPLE1);
            }
        }
        self.op(REDUCE);
        Ok(())
    }

    /// `_pyz3.ndarray(data, dtype, shape, order, steps, writeable)`, built the way
    /// [`NdArray::to_python`] builds the array.
    fn array(&mut self, a: &NdArray) -> Result {
        check_array(a)?;
        let (data, order, steps) = match &a.layout {
            Layout::Contiguous(order) => (encode(&a.dtype, &a.data), *order, None),
            Layout::Strided { base_order, steps } => {
                let rev: Vec<bool> = steps.iter().map(|&s| s < 0).collect();
                let data = reverse_data(&a.data, &a.shape, &rev);
                (encode(&a.dtype, &data), *base_order, Some(steps))
            }
        };
        self.global(PICKLE_HELPERS_MODULE, "ndarray");
        self.op(MARK);
        self.bytes(&data);
        self.text(&a.dtype.numpy_str());
        self.op(MARK);
        for &n in &a.shape {
            self.int_usize(n)?;
        }
        self.op(TUPLE);
        self.text(match order {
            Order::C => "C",
            Order::F => "F",
        });
        match steps {
            Some(steps) => {
                self.op(MARK);
                for &s in steps {
                    self.int_i64(s as i64);
                }
                self.op(TUPLE);
            }
            None => self.op(NONE),
        }
        self.op(if a.writeable { NEWTRUE } else { NEWFALSE });
        self.op(TUPLE);
        self.op(REDUCE);
        Ok(())
    }
}

/// Hour, minute, second and microsecond as in CPython's pickled time state.
fn time_state(t: &Time) -> [u8; 6] {
    let [_, u0, u1, u2] = t.microsecond.to_be_bytes();
    [t.hour, t.minute, t.second, u0, u1, u2]
}

fn check_date(d: &Date) -> Result {
    let leap = d.year % 4 == 0 && (d.year % 100 != 0 || d.year % 400 == 0);
    let days = match d.month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if !(1..=9999).contains(&d.year) || d.day == 0 || d.day > days {
        return err(format!("invalid date {d:?}"));
    }
    Ok(())
}

fn check_time(t: &Time) -> Result {
    if t.hour >= 24 || t.minute >= 60 || t.second >= 60 || t.microsecond >= 1_000_000 {
        return err(format!("invalid time {t:?}"));
    }
    Ok(())
}

fn check_decimal(d: &Decimal) -> Result {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = match &d.kind {
        DecimalKind::Finite { coefficient, .. } => !coefficient.is_empty() && digits(coefficient),
        DecimalKind::Infinity => true,
        DecimalKind::NaN { payload } | DecimalKind::SNaN { payload } => digits(payload),
    };
    if !ok {
        return err(format!("invalid decimal {d:?}"));
    }
    Ok(())
}

/// What [`NdArray::to_python`] checks, plus what would make the encoding itself fail.
fn check_array(a: &NdArray) -> Result {
    let kind_ok = match a.dtype.kind {
        DKind::Bool | DKind::DateTime64(_) => true,
        DKind::Int(n) | DKind::UInt(n) => matches!(n, 1 | 2 | 4 | 8),
        DKind::Float(n) => matches!(n, 2 | 4 | 8),
        DKind::Complex(n) => matches!(n, 8 | 16),
        DKind::Unicode(n) => n >= 1 && n <= i32::MAX as usize / 4,
        DKind::Bytes(n) => n >= 1 && n <= i32::MAX as usize,
    };
    if !kind_ok {
        return err(format!(
            "dtype kind {:?} is not a NumPy dtype",
            a.dtype.kind
        ));
    }
    if std::mem::discriminant(&a.data) != std::mem::discriminant(&ArrayData::empty(a.dtype.kind)) {
        return err(format!(
            "array elements do not match dtype {}",
            a.dtype.numpy_str()
        ));
    }
    let size = a
        .shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n));
    if size != Some(a.data.len()) {
        return err(format!(
            "array data has {} elements for shape {:?}",
            a.data.len(),
            a.shape
        ));
    }
    if a.data
        .len()
        .checked_mul(a.dtype.itemsize())
        .is_none_or(|n| n > isize::MAX as usize)
    {
        return err(format!("array of {} elements is too large", a.data.len()));
    }
    if let Layout::Strided { steps, .. } = &a.layout {
        if steps.len() != a.shape.len() || steps.contains(&0) {
            return err(format!(
                "array steps {steps:?} do not fit shape {:?} (one non-zero step per axis)",
                a.shape
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "pickle_tests.rs"]
mod tests;
