//! Python source rendering: text that evaluates to an equal object.
//!
//! For every report that shows an input: `Value::python_source` gives an expression plus the
//! imports it needs, e.g. `collections.Counter({'a': -2})` with `import collections`, so a
//! counterexample pastes straight into a Python shell. Non-ASCII text is escaped so the source
//! survives any terminal or file encoding.

use std::collections::BTreeSet;
use std::fmt::Write;

use num_bigint::BigInt;
use num_traits::Signed;

use super::model::*;
use super::ndarray::{reverse_data, ArrayData, DKind, Layout, NdArray, Order};

/// A Python expression and the modules it needs imported.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PySource {
    /// Modules to import first (`collections`, `numpy`, ...).
    pub imports: BTreeSet<String>,
    /// The expression.
    pub expr: String,
}

impl PySource {
    /// The import lines, one per module (empty when none are needed).
    pub fn import_lines(&self) -> String {
        self.imports
            .iter()
            .map(|m| format!("import {m}\n"))
            .collect()
    }

    /// Imports followed by `name = <expr>`: a snippet that runs as-is.
    pub fn assignment(&self, name: &str) -> String {
        format!("{}{name} = {}\n", self.import_lines(), self.expr)
    }
}

impl std::fmt::Display for PySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.expr)
    }
}

/// Renders several values together (e.g. the arguments of one call), sharing one import set.
#[derive(Debug, Default)]
pub struct Renderer {
    imports: BTreeSet<String>,
    /// Class definitions of the hostile values rendered, by class name.
    definitions: std::collections::BTreeMap<String, String>,
}

impl Renderer {
    /// A renderer with no imports yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The imports collected so far.
    pub fn into_imports(self) -> BTreeSet<String> {
        self.imports
    }

    /// The class definitions the rendered hostile values need (empty when there are none),
    /// in name order; they need [`crate::value::HOSTILE_PRELUDE`] first.
    pub fn definitions(&self) -> Vec<String> {
        self.definitions.values().cloned().collect()
    }

    fn import(&mut self, m: &str) {
        if !self.imports.contains(m) {
            self.imports.insert(m.to_string());
        }
    }

    /// Renders one value as an expression, recording its imports.
    pub fn render(&mut self, v: &Value) -> String {
        let mut out = String::new();
        self.write(&mut out, v);
        out
    }

    fn write_seq(&mut self, out: &mut String, items: &[Value]) {
        for (i, x) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.write(out, x);
        }
    }

    fn write_dict(&mut self, out: &mut String, items: &[(Value, Value)]) {
        out.push('{');
        for (i, (k, v)) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.write(out, k);
            out.push_str(": ");
            self.write(out, v);
        }
        out.push('}');
    }

    fn write(&mut self, out: &mut String, v: &Value) {
        match v {
            Value::None => out.push_str("None"),
            Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            Value::Int(i) => out.push_str(&int_source(i)),
            Value::Float(f) => out.push_str(&float_source(*f)),
            Value::Complex { re, im } => {
                let _ = write!(out, "complex({}, {})", float_source(*re), float_source(*im));
            }
            Value::Str(s) => out.push_str(&str_source(&s.0)),
            Value::Bytes(b) => out.push_str(&bytes_source(b)),
            Value::ByteArray(b) => {
                let _ = write!(out, "bytearray({})", bytes_source(b));
            }
            Value::List(items) => {
                out.push('[');
                self.write_seq(out, items);
                out.push(']');
            }
            Value::Tuple(items) => {
                out.push('(');
                self.write_seq(out, items);
                if items.len() == 1 {
                    out.push(',');
                }
                out.push(')');
            }
            Value::Dict(items) => self.write_dict(out, items),
            Value::Set(items) if items.is_empty() => out.push_str("set()"),
            Value::Set(items) => {
                out.push('{');
                self.write_seq(out, items);
                out.push('}');
            }
            Value::FrozenSet(items) if items.is_empty() => out.push_str("frozenset()"),
            Value::FrozenSet(items) => {
                out.push_str("frozenset({");
                self.write_seq(out, items);
                out.push_str("})");
            }
            Value::Counter(items) => {
                self.import("collections");
                out.push_str("collections.Counter(");
                if !items.is_empty() {
                    self.write_dict(out, items);
                }
                out.push(')');
            }
            Value::Deque { items, maxlen } => {
                self.import("collections");
                out.push_str("collections.deque([");
                self.write_seq(out, items);
                out.push(']');
                if let Some(m) = maxlen {
                    let _ = write!(out, ", maxlen={m}");
                }
                out.push(')');
            }
            Value::DefaultDict { factory, items } => {
                self.import("collections");
                let _ = write!(out, "collections.defaultdict({}", factory.python_name());
                if !items.is_empty() {
                    out.push_str(", ");
                    self.write_dict(out, items);
                }
                out.push(')');
            }
            Value::OrderedDict(items) => {
                self.import("collections");
                out.push_str("collections.OrderedDict(");
                if !items.is_empty() {
                    self.write_dict(out, items);
                }
                out.push(')');
            }
            Value::Fraction(f) => {
                self.import("fractions");
                let _ = write!(
                    out,
                    "fractions.Fraction({}, {})",
                    int_source(f.numer()),
                    int_source(f.denom())
                );
            }
            Value::Decimal(d) => {
                self.import("decimal");
                let _ = write!(out, "decimal.Decimal('{}')", d.to_decimal_string());
            }
            Value::Enum(m) => self.write_enum(out, m),
            Value::Date(d) => {
                self.import("datetime");
                let _ = write!(out, "datetime.date({}, {}, {})", d.year, d.month, d.day);
            }
            Value::Time(t) => {
                self.import("datetime");
                let _ = write!(out, "datetime.time({}, {}, {}", t.hour, t.minute, t.second);
                self.write_time_tail(out, t);
            }
            Value::DateTime(dt) => {
                self.import("datetime");
                let (d, t) = (&dt.date, &dt.time);
                let _ = write!(
                    out,
                    "datetime.datetime({}, {}, {}, {}, {}, {}",
                    d.year, d.month, d.day, t.hour, t.minute, t.second
                );
                self.write_time_tail(out, t);
            }
            Value::TimeDelta(td) => {
                self.import("datetime");
                let _ = write!(
                    out,
                    "datetime.timedelta(days={}, seconds={}, microseconds={})",
                    td.days, td.seconds, td.microseconds
                );
            }
            Value::Array(a) => self.write_array(out, a),
            Value::Hostile(h) => {
                let name = h.class_name();
                if !self.definitions.contains_key(&name) {
                    self.definitions.insert(name.clone(), h.class_source());
                }
                out.push_str(&name);
                out.push('(');
                if *h.payload != Value::None {
                    self.write(out, &h.payload);
                }
                out.push(')');
            }
        }
    }

    fn write_time_tail(&mut self, out: &mut String, t: &Time) {
        if t.microsecond != 0 {
            let _ = write!(out, ", {}", t.microsecond);
        }
        if let Some(tz) = &t.tz {
            out.push_str(", tzinfo=");
            self.write_tz(out, tz);
        }
        if t.fold {
            out.push_str(", fold=1");
        }
        out.push(')');
    }

    fn write_tz(&mut self, out: &mut String, tz: &Tz) {
        if tz.offset_us == 0 && tz.name.is_none() {
            out.push_str("datetime.timezone.utc");
            return;
        }
        out.push_str("datetime.timezone(datetime.timedelta(");
        if tz.offset_us % 1_000_000 == 0 {
            let _ = write!(out, "seconds={}", tz.offset_us / 1_000_000);
        } else {
            let _ = write!(out, "microseconds={}", tz.offset_us);
        }
        out.push(')');
        if let Some(name) = &tz.name {
            let _ = write!(out, ", {}", str_source(&name.0));
        }
        out.push(')');
    }

    fn write_enum(&mut self, out: &mut String, m: &EnumMember) {
        match &m.class {
            EnumClass::User { module, qualname } => {
                self.import(module);
                let _ = write!(out, "{module}.{qualname}");
            }
            EnumClass::Generated(g) => {
                self.import("enum");
                let _ = write!(
                    out,
                    "enum.{}({}, [",
                    g.kind.python_name(),
                    str_source(&PyStr::from(g.name.as_str()).0)
                );
                for (i, (n, v)) in g.members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "({}, {v})", str_source(&PyStr::from(n.as_str()).0));
                }
                let _ = write!(out, "], module='{GENERATED_ENUM_MODULE}')");
            }
        }
        match &m.member {
            MemberRef::Name(n) => {
                let _ = write!(out, "[{}]", str_source(&PyStr::from(n.as_str()).0));
            }
            MemberRef::Value(v) => {
                let _ = write!(out, "({v})");
            }
        }
    }

    fn write_array(&mut self, out: &mut String, a: &NdArray) {
        self.import("numpy");
        let dt = a.dtype.numpy_str();
        // datetime64 elements are written as int64 ticks and viewed as datetime64.
        let (lit_dtype, view) = match a.dtype.kind {
            DKind::DateTime64(_) => (dt.replace(&dt[1..], "i8"), Some(dt.clone())),
            _ => (dt.clone(), None),
        };
        let mut expr = String::new();
        if a.size() == 0 {
            let order = match a.layout {
                Layout::Contiguous(Order::F) => ", order='F'",
                _ => "",
            };
            let _ = write!(
                expr,
                "numpy.empty({}, dtype='{lit_dtype}'{order})",
                shape_source(&a.shape)
            );
        } else {
            let (data, steps, order) = match &a.layout {
                Layout::Contiguous(o) => (a.data.clone(), None, *o),
                Layout::Strided { base_order, steps } => {
                    let rev: Vec<bool> = steps.iter().map(|&s| s < 0).collect();
                    (
                        reverse_data(&a.data, &a.shape, &rev),
                        Some(steps.clone()),
                        *base_order,
                    )
                }
            };
            let _ = write!(expr, "numpy.array(");
            write_nested(&mut expr, &data, &a.shape);
            let _ = write!(expr, ", dtype='{lit_dtype}'");
            if steps.is_none() && order == Order::F {
                expr.push_str(", order='F'");
            }
            expr.push(')');
            if let Some(steps) = steps {
                for (axis, s) in steps.iter().enumerate() {
                    if s.unsigned_abs() > 1 {
                        let _ = write!(expr, ".repeat({}, axis={axis})", s.unsigned_abs());
                    }
                }
                if order == Order::F {
                    expr = format!("numpy.asfortranarray({expr})");
                }
                expr.push('[');
                for (i, s) in steps.iter().enumerate() {
                    if i > 0 {
                        expr.push_str(", ");
                    }
                    if *s == 1 {
                        expr.push(':');
                    } else {
                        let _ = write!(expr, "::{s}");
                    }
                }
                expr.push(']');
            }
        }
        if let Some(v) = view {
            let _ = write!(expr, ".view('{v}')");
        }
        if !a.writeable {
            expr = format!("(lambda a: (a.setflags(write=False), a)[1])({expr})");
        }
        out.push_str(&expr);
    }
}

fn shape_source(shape: &[usize]) -> String {
    match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn element_source(data: &ArrayData, i: usize) -> String {
    match data {
        ArrayData::Bool(v) => (if v[i] { "True" } else { "False" }).into(),
        ArrayData::Int(v) | ArrayData::DateTime(v) => v[i].to_string(),
        ArrayData::UInt(v) => v[i].to_string(),
        ArrayData::Float(v) => float_source(v[i]),
        ArrayData::Complex(v) => format!(
            "complex({}, {})",
            float_source(v[i].0),
            float_source(v[i].1)
        ),
        ArrayData::Unicode(v) => str_source(&v[i].0),
        ArrayData::Bytes(v) => bytes_source(&v[i]),
    }
}

fn write_nested(out: &mut String, data: &ArrayData, shape: &[usize]) {
    fn rec(out: &mut String, data: &ArrayData, shape: &[usize], offset: usize) {
        if shape.is_empty() {
            out.push_str(&element_source(data, offset));
            return;
        }
        let inner: usize = shape[1..].iter().product();
        out.push('[');
        for j in 0..shape[0] {
            if j > 0 {
                out.push_str(", ");
            }
            rec(out, data, &shape[1..], offset + j * inner);
        }
        out.push(']');
    }
    rec(out, data, shape, 0);
}

/// An `int` literal: decimal, or hexadecimal past CPython's 4300-digit limit on decimal text.
pub fn int_source(i: &BigInt) -> String {
    let s = i.to_string();
    if s.len() <= 4000 {
        s
    } else {
        let sign = if i.is_negative() { "-" } else { "" };
        format!("{sign}0x{}", i.abs().to_str_radix(16))
    }
}

/// A `float` expression that evaluates to exactly `f` (NaN sign kept, payload not).
pub fn float_source(f: f64) -> String {
    if f.is_nan() {
        if f.is_sign_negative() {
            "-float('nan')".into()
        } else {
            "float('nan')".into()
        }
    } else if f.is_infinite() {
        if f > 0.0 {
            "float('inf')".into()
        } else {
            "-float('inf')".into()
        }
    } else {
        format!("{f:?}")
    }
}

/// A `str` literal for these code points, ASCII-only, lone surrogates escaped as `\udxxx`.
pub fn str_source(cps: &[u32]) -> String {
    let mut out = String::with_capacity(cps.len() + 2);
    out.push('\'');
    for &c in cps {
        match c {
            0x5C => out.push_str("\\\\"),
            0x27 => out.push_str("\\'"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x20..=0x7E => out.push(c as u8 as char),
            0..=0xFF => {
                let _ = write!(out, "\\x{c:02x}");
            }
            0x100..=0xFFFF => {
                let _ = write!(out, "\\u{c:04x}");
            }
            _ => {
                let _ = write!(out, "\\U{c:08x}");
            }
        }
    }
    out.push('\'');
    out
}

/// A `bytes` literal.
pub fn bytes_source(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 3);
    out.push_str("b'");
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7E => out.push(c as char),
            _ => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push('\'');
    out
}

impl Value {
    /// Python source that evaluates (after its imports) to an object equal to this value.
    pub fn python_source(&self) -> PySource {
        let mut r = Renderer::new();
        let expr = r.render(self);
        PySource {
            imports: r.into_imports(),
            expr,
        }
    }
}
