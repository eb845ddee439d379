//! Value → pickle (written by Rust) → `pickle.loads` gives what `Value::to_python` builds.
//!
//! Objects are compared through `describe`, an exact text form (type, float bits, dict order,
//! deque maxlen, defaultdict factory, Decimal digits, tzinfo, fold, array dtype/shape/strides/
//! flags/bytes and base), and read back with `Value::from_python`. Also: byte-for-byte equality
//! with CPython's own pickles where the two should agree, independence of two unpickled copies,
//! and loading in every other CPython found on the machine.

use crate::util::Project;
use std::path::Path;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyModule, PyTuple};
use pyz3::strategy::{self, Size, ValueStrategy};
use pyz3::value::*;

use crate::common::{all_strategies, python, sample};

/// `describe(o)`: an exact, process-independent text form of an object of the value model.
/// `mutable_parts(o)`: every mutable object inside `o` (itself included).
const SUPPORT: &str = r#"
import datetime, decimal, enum, fractions, struct, collections

def _f(x):
    return struct.pack('>d', x).hex()

def _tz(tz):
    if tz is None:
        return 'None'
    return '%s.%s %a %a %a utc=%s' % (type(tz).__module__, type(tz).__qualname__,
        tz.utcoffset(None), tz.tzname(None), tz, tz is datetime.timezone.utc)

def _arr(a):
    f = a.flags
    return '%s %a %a c=%s f=%s w=%s own=%s %s' % (a.dtype.str, a.shape, a.strides,
        f.c_contiguous, f.f_contiguous, f.writeable, f.owndata, a.tobytes('A').hex())

def describe(o):
    t = type(o)
    name = '%s.%s' % (t.__module__, t.__qualname__)
    if isinstance(o, enum.Enum):
        if t.__module__ == 'pyz3_generated':
            kind = ('IntEnum' if issubclass(t, enum.IntEnum)
                    else 'Flag' if issubclass(t, enum.Flag) else 'Enum')
            name = '%s<%s %a>' % (name, kind,
                                  [(k, m._value_) for k, m in t.__members__.items()])
        names = [k for k, m in t.__members__.items() if m is o]
        return 'enum %s %a %a' % (name, names, o._value_)
    if t is float:
        return 'float ' + _f(o)
    if t is complex:
        return 'complex %s %s' % (_f(o.real), _f(o.imag))
    if t is int:
        return 'int ' + hex(o)
    if t in (bool, type(None), str, bytes, bytearray):
        return '%s %a' % (name, o)
    if t in (list, tuple):
        return '%s[%s]' % (name, ', '.join(map(describe, o)))
    if t is collections.deque:
        return '%s(maxlen=%a)[%s]' % (name, o.maxlen, ', '.join(map(describe, o)))
    if t in (set, frozenset):
        return '%s{%s}' % (name, ', '.join(sorted(map(describe, o))))
    if isinstance(o, dict):
        extra = ''
        if t is collections.defaultdict:
            extra = '(%a)' % (o.default_factory,)
        return '%s%s{%s}' % (name, extra, ', '.join(
            '%s: %s' % (describe(k), describe(v)) for k, v in o.items()))
    if t is fractions.Fraction:
        return '%s %s/%s' % (name, describe(o.numerator), describe(o.denominator))
    if t is decimal.Decimal:
        return '%s %a %s' % (name, tuple(o.as_tuple()), o)
    if t is datetime.date:
        return '%s %a' % (name, (o.year, o.month, o.day))
    if t is datetime.time:
        return '%s %a fold=%d %s' % (name, (o.hour, o.minute, o.second, o.microsecond),
                                     o.fold, _tz(o.tzinfo))
    if t is datetime.datetime:
        return '%s %a fold=%d %s' % (name, (o.year, o.month, o.day, o.hour, o.minute,
                                     o.second, o.microsecond), o.fold, _tz(o.tzinfo))
    if t is datetime.timedelta:
        return '%s %a' % (name, (o.days, o.seconds, o.microseconds))
    if name == 'numpy.ndarray':
        base = 'None' if o.base is None else _arr(o.base) + ' base.base=%s' % (o.base.base is None)
        return '%s %s base=%s' % (name, _arr(o), base)
    raise TypeError('describe: %s is outside the value model' % name)

_MUTABLE = (list, dict, set, bytearray, collections.deque)

def mutable_parts(o, out=None):
    out = [] if out is None else out
    t = type(o)
    if isinstance(o, _MUTABLE) or t.__name__ == 'ndarray':
        out.append(o)
    if isinstance(o, dict):
        for k, v in o.items():
            mutable_parts(k, out)
            mutable_parts(v, out)
    elif t in (list, tuple, set, frozenset, collections.deque):
        for x in o:
            mutable_parts(x, out)
    return out

def independent(a, b):
    """None when no mutable part of `a` is shared with `b` (arrays: no shared memory)."""
    pa, pb = mutable_parts(a), mutable_parts(b)
    ids = set(map(id, pb))
    if len(set(map(id, pa))) != len(pa):
        return 'one mutable object appears twice in one unpickled value'
    for x in pa:
        if id(x) in ids:
            return 'shared %a' % (x,)
    arrays = [y for y in pb if type(y).__name__ == 'ndarray']
    for x in pa:
        if type(x).__name__ == 'ndarray':
            import numpy
            for y in arrays:
                if numpy.may_share_memory(x, y):
                    return 'arrays share memory: %a %a' % (x, y)
    return None
"#;

/// Installs the helper module as `_pyz3` (as the receiving interpreter does) and returns the
/// test support namespace.
fn setup(py: Python<'_>) -> Bound<'_, PyDict> {
    let sys_modules = py.import("sys").unwrap().getattr("modules").unwrap();
    if !sys_modules.contains(PICKLE_HELPERS_MODULE).unwrap() {
        let m = PyModule::new(py, PICKLE_HELPERS_MODULE).unwrap();
        let code = std::ffi::CString::new(PICKLE_HELPERS).unwrap();
        py.run(&code, Some(&m.dict()), None).unwrap();
        // Two tests may race here; both modules work, the first stays.
        sys_modules
            .call_method1("setdefault", (PICKLE_HELPERS_MODULE, m))
            .unwrap();
    }
    let ns = PyDict::new(py);
    let code = std::ffi::CString::new(SUPPORT).unwrap();
    py.run(&code, Some(&ns), None).unwrap();
    ns
}

fn loads<'py>(py: Python<'py>, bytes: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    py.import("pickle")?
        .call_method1("loads", (PyBytes::new(py, bytes),))
}

fn describe(ns: &Bound<'_, PyDict>, o: &Bound<'_, PyAny>) -> String {
    ns.get_item("describe")
        .unwrap()
        .unwrap()
        .call1((o,))
        .unwrap_or_else(|e| panic!("describe({o}): {e}"))
        .extract()
        .unwrap()
}

/// The whole check for one value: unpickled object described exactly like `to_python`'s,
/// same class for user enums, and `from_python` gives the value back.
fn check(py: Python<'_>, ns: &Bound<'_, PyDict>, v: &Value, what: &str) {
    let bytes = v
        .to_pickle()
        .unwrap_or_else(|e| panic!("{what}: to_pickle({v:?}): {e}"));
    let o = loads(py, &bytes).unwrap_or_else(|e| {
        panic!(
            "{what}: pickle.loads of {v:?} failed: {}\n{bytes:?}",
            pyz3::py::err_text(py, &e)
        )
    });
    let expected = v
        .to_python(py)
        .unwrap_or_else(|e| panic!("{what}: to_python({v:?}): {e}"));
    let (got, want) = (describe(ns, &o), describe(ns, &expected));
    assert!(
        got == want,
        "{what}: unpickled object differs from to_python for {v:?}\n{}",
        first_difference(&got, &want)
    );
    if let Value::Enum(EnumMember {
        class: EnumClass::User { .. },
        ..
    }) = v
    {
        assert!(o.is(&expected), "{what}: {v:?} is not the same member");
    }
    let back = Value::from_python(&o)
        .unwrap_or_else(|e| panic!("{what}: from_python of unpickled {v:?}: {e}"));
    assert_eq!(&back, v, "{what}: from_python(pickle.loads(to_pickle(v)))");
}

/// Where two descriptions part, with some context.
fn first_difference(got: &str, want: &str) -> String {
    let at = got
        .char_indices()
        .zip(want.chars())
        .find(|((_, a), b)| a != b)
        .map_or(got.len().min(want.len()), |((i, _), _)| i);
    let from = got[..at].char_indices().rev().nth(60).map_or(0, |(i, _)| i);
    let tail = |s: &str| s[from..].chars().take(160).collect::<String>();
    format!("unpickled: …{}\nto_python: …{}", tail(got), tail(want))
}

fn array(dtype: DType, shape: Vec<usize>, data: ArrayData, layout: Layout, w: bool) -> Value {
    let mut a = NdArray {
        dtype,
        shape,
        data,
        layout,
        writeable: w,
    };
    a.canonicalize();
    Value::Array(a)
}

fn tz(offset_us: i64, name: Option<PyStr>) -> Option<Tz> {
    Some(Tz { offset_us, name })
}

/// Hand-picked edges: NaN payloads, signed zeros, surrogate pairs kept apart, huge ints, every
/// Decimal kind, every defaultdict factory, folds and named timezones, array layouts.
fn edge_values() -> Vec<Value> {
    use num_bigint::BigInt;
    let f = Value::Float;
    let mut v = vec![
        f(-0.0),
        f(f64::from_bits(0x7ff8_0000_dead_beef)),
        f(f64::from_bits(0xfff0_0000_0000_0001)),
        f(f64::INFINITY),
        f(f64::MIN_POSITIVE / 4.0),
        Value::Complex {
            re: -0.0,
            im: f64::from_bits(0x7ff8_0000_0000_1234),
        },
        Value::Str(PyStr(vec![0xd800, 0xdc00])),
        Value::Str(PyStr(vec![0xdfff, b'a' as u32, 0xd83d, 0, 0x10ffff])),
        Value::Str(PyStr((0..300).map(|i| 0xd800 + i).collect())),
        Value::Str(PyStr(vec![0x1f600; 70_000])),
        Value::Int(BigInt::from(1) << 4000),
        Value::Int(-(BigInt::from(1) << 2047usize)),
        Value::Int(BigInt::from(i64::MIN)),
        Value::Int(BigInt::from(u64::MAX)),
        Value::Int(BigInt::from(-129)),
        Value::Int(BigInt::from(65536)),
        Value::Bytes(vec![7; 300]),
        Value::ByteArray(vec![]),
        Value::List((0..2500).map(Value::int).collect()),
        Value::Dict((0..1001).map(|i| (Value::int(i), Value::None)).collect()),
        Value::Set((0..1001).map(Value::int).collect()),
        Value::Counter(vec![
            (Value::str("a"), Value::int(0)),
            (Value::str("b"), Value::int(-3)),
            (Value::str("c"), Value::Float(1.5)),
        ]),
        Value::Counter(vec![]),
        Value::Deque {
            items: vec![],
            maxlen: Some(0),
        },
        Value::Deque {
            items: vec![Value::int(1), Value::int(2)],
            maxlen: Some(2),
        },
        Value::Deque {
            items: vec![Value::int(1)],
            maxlen: None,
        },
        Value::OrderedDict(vec![
            (Value::int(2), Value::int(1)),
            (Value::int(1), Value::int(2)),
        ]),
        Value::Fraction(Fraction::new(BigInt::from(-3) << 200, BigInt::from(7)).unwrap()),
    ];
    for factory in [
        DefaultFactory::None,
        DefaultFactory::Int,
        DefaultFactory::List,
        DefaultFactory::Set,
        DefaultFactory::Str,
    ] {
        v.push(Value::DefaultDict {
            factory,
            items: vec![(Value::str("k"), Value::List(vec![]))],
        });
    }
    let dec = |negative, kind| Value::Decimal(Decimal { negative, kind });
    for negative in [false, true] {
        v.push(dec(
            negative,
            DecimalKind::Finite {
                coefficient: "0".into(),
                exponent: 0,
            },
        ));
        v.push(dec(
            negative,
            DecimalKind::Finite {
                coefficient: "12345678901234567890123456789".into(),
                exponent: -40,
            },
        ));
        v.push(dec(
            negative,
            DecimalKind::Finite {
                coefficient: "1".into(),
                exponent: 999_999,
            },
        ));
        v.push(dec(negative, DecimalKind::Infinity));
        v.push(dec(
            negative,
            DecimalKind::NaN {
                payload: String::new(),
            },
        ));
        v.push(dec(
            negative,
            DecimalKind::NaN {
                payload: "123".into(),
            },
        ));
        v.push(dec(
            negative,
            DecimalKind::SNaN {
                payload: String::new(),
            },
        ));
        v.push(dec(
            negative,
            DecimalKind::SNaN {
                payload: "9".into(),
            },
        ));
    }
    let date = Date {
        year: 2024,
        month: 2,
        day: 29,
    };
    let times = [
        (0, None, false),
        (0, None, true),
        (0, tz(0, None), false),
        (0, tz(0, Some(PyStr::from("Z"))), true),
        (0, tz(-1, None), false),
        (
            0,
            tz(86_399_999_999, Some(PyStr(vec![0xd800, b'x' as u32]))),
            true,
        ),
        (0, tz(-86_399_999_999, None), false),
        (999_999, tz(5 * 3_600_000_000 + 30 * 60_000_000, None), true),
    ];
    for (us, tz, fold) in times {
        let t = Time {
            hour: 23,
            minute: 59,
            second: 59,
            microsecond: us,
            tz,
            fold,
        };
        v.push(Value::Time(t.clone()));
        v.push(Value::DateTime(DateTime { date, time: t }));
    }
    for (year, month, day) in [(1, 1, 1), (9999, 12, 31), (2000, 2, 29)] {
        v.push(Value::Date(Date { year, month, day }));
    }
    for (days, seconds, microseconds) in [
        (-999_999_999, 0, 0),
        (999_999_999, 86_399, 999_999),
        (-1, 86_399, 999_999),
    ] {
        v.push(Value::TimeDelta(TimeDelta {
            days,
            seconds,
            microseconds,
        }));
    }
    let i8le = DType::native(DKind::Int(8));
    let i4be = DType {
        kind: DKind::Int(4),
        order: ByteOrder::Big,
    };
    let ints = |n: i64| ArrayData::Int((0..n).collect());
    let strided = |base_order, steps: Vec<isize>| Layout::Strided { base_order, steps };
    v.extend([
        array(i8le, vec![], ints(1), Layout::Contiguous(Order::C), true),
        array(
            i8le,
            vec![0, 3],
            ints(0),
            Layout::Contiguous(Order::C),
            false,
        ),
        array(
            i4be,
            vec![2, 3],
            ints(6),
            Layout::Contiguous(Order::F),
            true,
        ),
        array(
            i4be,
            vec![2, 3],
            ints(6),
            strided(Order::F, vec![-2, 3]),
            false,
        ),
        array(
            i8le,
            vec![3, 2, 2],
            ints(12),
            strided(Order::C, vec![1, -1, 2]),
            true,
        ),
        array(
            DType::native(DKind::Float(8)),
            vec![2],
            ArrayData::Float(vec![-0.0, f64::from_bits(0x7ff8_0000_0000_0042)]),
            strided(Order::C, vec![-1]),
            false,
        ),
        array(
            DType {
                kind: DKind::Unicode(3),
                order: ByteOrder::Big,
            },
            vec![2],
            ArrayData::Unicode(vec![PyStr(vec![0xd800, 0x10ffff]), PyStr::from("abc")]),
            Layout::Contiguous(Order::C),
            true,
        ),
        array(
            DType::native(DKind::DateTime64(TimeUnit::Ns)),
            vec![2],
            ArrayData::DateTime(vec![i64::MIN, 1]),
            strided(Order::C, vec![-3]),
            true,
        ),
    ]);
    v.push(Value::List(v.clone()));
    v
}

#[test]
fn edge_values_unpickle_to_what_to_python_builds() {
    python(|py| {
        let ns = setup(py);
        for v in edge_values() {
            check(py, &ns, &v, "edge");
        }
    });
}

#[path = "pickle/generated.rs"]
mod generated;
#[path = "pickle/processes.rs"]
mod processes;
