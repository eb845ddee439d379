//! Fuzzer bytes straight to Python objects, for arguments of the common shapes.
//!
//! For the fuzz runtime. [`super::decode`] reads an input into the value model's [`Value`]s,
//! which are then made into Python objects: every int a `BigInt`, every container a vector, all
//! of it freed again after the call. For arguments made only of `None`, `bool`, `int`, `float`,
//! `complex`, `str`, `bytes`, `bytearray`, lists, tuples, `Optional`, unions and `Literal`s
//! ([`supported`]), this module reads the same bytes the same way (the decoder's own readers)
//! and makes the Python objects at once, setting the shape counters ([`super::shapes`]) and
//! filling the cheap reference-count watch ([`super::refcount::Fresh`]) as it goes. The
//! arguments are equal, object for object, to those of the value model, and set the same
//! counters (a test holds both to it); the value model is still used to print an input that is
//! a finding, and for every other shape.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyComplex, PyFloat, PyTuple};

use super::decode::{self, float, in_range, int_read, raw, Int, Reader};
use super::refcount::{self, Fresh};
use super::shapes::{self, kind, At};
use crate::strategy::Shape;
use crate::value::{PyStr, Value};

/// Whether values of `shape` can be made straight from the input.
pub(crate) fn supported(shape: &Shape) -> bool {
    match shape {
        Shape::None
        | Shape::Bool
        | Shape::Int
        | Shape::IntRange(..)
        | Shape::Float
        | Shape::Complex
        | Shape::Str
        | Shape::Bytes
        | Shape::ByteArray
        | Shape::Literal(_) => true,
        Shape::List(e) | Shape::TupleOf(e) | Shape::Optional(e) => supported(e),
        Shape::Tuple(items) | Shape::OneOf(items) => items.iter().all(supported),
        _ => false,
    }
}

/// The call's arguments made from a whole fuzz input, as
/// [`decode_args`](super::decode::decode_args) and [`Value::to_python`] would make them (every
/// shape [`supported`]). Sets the shape counters when they are on, and adds the arguments'
/// unshared objects to `watch`.
pub(crate) fn arguments<'py>(
    py: Python<'py>,
    shapes: &[Shape],
    data: &[u8],
    watch: Option<&mut Fresh>,
) -> PyResult<Bound<'py, PyTuple>> {
    let mut d = Direct {
        py,
        nodes: 0,
        made: Made::new(),
        watch,
        budget: shapes::budget(),
        counting: shapes::enabled(),
    };
    let mut r = Reader::new(data);
    let n = shapes.len();
    for (i, s) in shapes.iter().enumerate() {
        let at = if d.counting {
            shapes::argument(i)
        } else {
            None
        };
        d.value(s, &mut r, i + 1 == n, at)?;
    }
    // The argument tuple is not watched (the value model's watch starts below it too).
    let args = d.made.container(py, 0, false)?;
    // SAFETY: made as a tuple just above.
    Ok(unsafe { args.cast_into_unchecked() })
}

/// Owned references to the objects made so far, not yet in a container: made before their
/// container, as [`Value::to_python`] makes them (making one can run Python code, which must
/// never see a container with empty slots). The vector is kept from one input to the next.
struct Made {
    objects: Vec<*mut ffi::PyObject>,
}

thread_local! {
    static SPARE: std::cell::Cell<Vec<*mut ffi::PyObject>> =
        const { std::cell::Cell::new(Vec::new()) };
}

impl Made {
    fn new() -> Made {
        Made {
            objects: SPARE.take(),
        }
    }

    fn len(&self) -> usize {
        self.objects.len()
    }

    fn push(&mut self, obj: Bound<'_, PyAny>) {
        self.objects.push(obj.into_ptr());
    }

    /// A list (`list`) or a tuple of the objects made since `start`, which it takes.
    fn container<'py>(
        &mut self,
        py: Python<'py>,
        start: usize,
        list: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let n = (self.objects.len() - start) as ffi::Py_ssize_t;
        // SAFETY: a new list or tuple of `n` slots, each set once with a reference it takes
        // over (taken out of `objects`, so never given back twice).
        unsafe {
            let new = if list {
                ffi::PyList_New(n)
            } else {
                ffi::PyTuple_New(n)
            };
            let c = Bound::from_owned_ptr_or_err(py, new)?;
            for (i, o) in self.objects.drain(start..).enumerate() {
                if list {
                    ffi::PyList_SET_ITEM(c.as_ptr(), i as ffi::Py_ssize_t, o);
                } else {
                    ffi::PyTuple_SET_ITEM(c.as_ptr(), i as ffi::Py_ssize_t, o);
                }
            }
            Ok(c)
        }
    }
}

impl Drop for Made {
    /// Gives back what no container took (after an error), and keeps the vector.
    fn drop(&mut self) {
        for o in self.objects.drain(..) {
            // SAFETY: an owned reference; the GIL is held (a `Made` lives within one call of
            // `arguments`).
            unsafe { ffi::Py_DECREF(o) };
        }
        SPARE.set(std::mem::take(&mut self.objects));
    }
}

struct Direct<'py, 'w> {
    py: Python<'py>,
    /// Values decoded so far, counted as [`super::decode`] counts them (it caps containers by
    /// it).
    nodes: usize,
    made: Made,
    watch: Option<&'w mut Fresh>,
    /// What is left of the shape counters' budget for this input.
    budget: u32,
    counting: bool,
}

impl<'py> Direct<'py, '_> {
    /// Makes one value of `shape` (its object is pushed on `made`), as `Decoder::value` reads
    /// it; `at` is its place for the shape counters.
    fn value(&mut self, shape: &Shape, r: &mut Reader<'_>, last: bool, at: At) -> PyResult<()> {
        self.nodes += 1;
        let py = self.py;
        match shape {
            Shape::None => self.none(at),
            Shape::Bool => {
                let b = r.byte() & 1 == 1;
                let obj = pyo3::types::PyBool::new(py, b).to_owned().into_any();
                self.scalar(obj, true, at, kind::BOOL, u64::from(b));
            }
            Shape::Int => self.int(int_read(r), at)?,
            Shape::IntRange(lo, hi) => {
                let v = match (int_read(r), i64::try_from(lo), i64::try_from(hi)) {
                    (Int::Small(v), Ok(lo), Ok(hi)) => {
                        let (v, lo, hi) = (i128::from(v), i128::from(lo), i128::from(hi));
                        let v = if (lo..=hi).contains(&v) {
                            v
                        } else {
                            lo + (v - lo).rem_euclid(hi - lo + 1)
                        };
                        // In `lo..=hi`, so an `i64`.
                        Int::Small(v as i64)
                    }
                    (v, _, _) => {
                        let v = in_range(v.into(), lo, hi);
                        match i64::try_from(&v) {
                            Ok(small) => Int::Small(small),
                            Err(_) => Int::Big(v),
                        }
                    }
                };
                self.int(v, at)?;
            }
            Shape::Float => {
                let f = float(r);
                let obj = PyFloat::new(py, f).into_any();
                self.scalar(obj, false, at, kind::FLOAT, shapes::float_detail(f));
            }
            Shape::Complex => {
                let (re, im) = (float(r), float(r));
                let obj = PyComplex::from_doubles(py, re, im).into_any();
                let detail = shapes::discriminant_hash(&Value::Complex { re, im });
                self.scalar(obj, false, at, kind::OTHER, detail);
            }
            Shape::Str => {
                let s = PyStr(decode::decode_str(raw(r, last)));
                let obj = s.to_python(py)?;
                self.scalar(obj, s.len() <= 1, at, kind::STR, shapes::class(s.len()));
            }
            Shape::Bytes => {
                let b = raw(r, last);
                let obj = PyBytes::new(py, b).into_any();
                self.scalar(obj, b.len() <= 1, at, kind::BYTES, shapes::class(b.len()));
            }
            Shape::ByteArray => {
                let b = raw(r, last);
                let obj = PyByteArray::new(py, b).into_any();
                self.scalar(obj, false, at, kind::BYTES, shapes::class(b.len()));
            }
            Shape::List(e) | Shape::TupleOf(e) => {
                let is_list = matches!(shape, Shape::List(_));
                let k = if is_list { kind::LIST } else { kind::TUPLE };
                let at = self.enter(at);
                let inner = shapes::children(at, k, 0);
                let start = self.made.len();
                let mut n = 0;
                while n < decode::MAX_ITEMS && self.nodes < decode::MAX_NODES && r.more() {
                    self.value(e, r, false, inner)?;
                    n += 1;
                }
                shapes::bump(at, k, shapes::class(n));
                let obj = self.made.container(py, start, is_list)?;
                self.made_one(obj, !is_list && n == 0);
            }
            Shape::Tuple(items) => {
                let at = self.enter(at);
                let inner = shapes::children(at, kind::TUPLE, 0);
                let start = self.made.len();
                for s in items {
                    self.value(s, r, false, inner)?;
                }
                shapes::bump(at, kind::TUPLE, shapes::class(items.len()));
                let obj = self.made.container(py, start, false)?;
                self.made_one(obj, items.is_empty());
            }
            Shape::Optional(inner) => {
                if r.byte() & 3 == 0 {
                    self.none(at);
                } else {
                    self.value(inner, r, last, at)?;
                }
            }
            Shape::OneOf(alts) if alts.is_empty() => self.none(at),
            Shape::OneOf(alts) => {
                let i = r.index(alts.len());
                self.value(&alts[i], r, last, at)?;
            }
            Shape::Literal(values) if values.is_empty() => self.none(at),
            Shape::Literal(values) => {
                let v = &values[r.index(values.len())];
                if self.counting {
                    shapes::visit(v, at, &mut self.budget);
                }
                let obj = v.to_python(py)?;
                let shared = refcount::shared(&obj);
                self.made_one(obj, shared);
            }
            // Not `supported`: the runtime decodes such arguments into the value model.
            _ => {
                return Err(pyo3::exceptions::PyTypeError::new_err(
                    "pyz3: a shape the direct decoder does not make",
                ))
            }
        }
        Ok(())
    }

    fn none(&mut self, at: At) {
        let obj = self.py.None().into_bound(self.py);
        self.scalar(obj, true, at, kind::NONE, 0);
    }

    fn int(&mut self, v: Int, at: At) -> PyResult<()> {
        let (obj, shared, detail) = match v {
            Int::Small(v) => (
                // SAFETY: the GIL is held; a new reference or NULL with an exception set.
                unsafe { Bound::from_owned_ptr_or_err(self.py, ffi::PyLong_FromLongLong(v))? },
                (-5..=256).contains(&v),
                shapes::int_detail(v < 0, u64::from(64 - v.unsigned_abs().leading_zeros())),
            ),
            Int::Bytes(b) => {
                let (negative, bits) = signed_bits(b);
                let obj = match int_of_bytes(self.py, b) {
                    Some(obj) => obj?,
                    None => num_bigint::BigInt::from_signed_bytes_le(b)
                        .into_pyobject(self.py)?
                        .into_any(),
                };
                // More than 8 bytes: never one of the shared small ints.
                (obj, false, shapes::int_detail(negative, bits))
            }
            Int::Big(v) => (
                (&v).into_pyobject(self.py)?.into_any(),
                false,
                shapes::int_detail(v.sign() == num_bigint::Sign::Minus, v.bits()),
            ),
        };
        self.scalar(obj, shared, at, kind::INT, detail);
        Ok(())
    }

    /// Takes the shape counters' budget for a value at `at` (see [`shapes::enter`]).
    fn enter(&mut self, at: At) -> At {
        shapes::enter(at, &mut self.budget)
    }

    /// A value without items: its counter, its watch and its place on `made`.
    fn scalar(&mut self, obj: Bound<'py, PyAny>, shared: bool, at: At, k: u64, detail: u64) {
        let at = self.enter(at);
        shapes::bump(at, k, detail);
        self.made_one(obj, shared);
    }

    fn made_one(&mut self, obj: Bound<'py, PyAny>, shared: bool) {
        if !shared {
            if let Some(w) = self.watch.as_deref_mut() {
                w.add(&obj);
            }
        }
        self.made.push(obj);
    }
}

/// The sign of the signed little-endian number `b` and the length in bits of its magnitude
/// (as `BigInt::bits` counts it), without making the number.
fn signed_bits(b: &[u8]) -> (bool, u64) {
    let negative = b.last().is_some_and(|&top| top & 0x80 != 0);
    // A negative number's magnitude is `w + 1`, where `w` is its complement (non-negative).
    let unit = |x: u8| if negative { !x } else { x };
    let Some(top) = b.iter().rposition(|&x| unit(x) != 0) else {
        // 0, or -1 (magnitude 1).
        return (negative, u64::from(negative));
    };
    let high = unit(b[top]);
    let bits = 8 * top as u64 + u64::from(8 - high.leading_zeros());
    // `w + 1` has one bit more than `w` when `w` is all ones (2^k - 1).
    let all_ones = high & high.wrapping_add(1) == 0 && b[..top].iter().all(|&x| unit(x) == 0xff);
    (negative, bits + u64::from(negative && all_ones))
}

/// The interpreter's own conversion of signed little-endian bytes to an int, found once by
/// name: `PyLong_FromNativeBytes` (3.13 and later) or `_PyLong_FromByteArray` (before it);
/// `None` when the interpreter exports neither.
fn int_of_bytes<'py>(py: Python<'py>, b: &[u8]) -> Option<PyResult<Bound<'py, PyAny>>> {
    use std::ffi::{c_int, c_void};
    use std::sync::OnceLock;
    type Native = unsafe extern "C" fn(*const c_void, usize, c_int) -> *mut ffi::PyObject;
    type ByteArray = unsafe extern "C" fn(*const u8, usize, c_int, c_int) -> *mut ffi::PyObject;
    #[derive(Clone, Copy)]
    enum Conv {
        Native(Native),
        ByteArray(ByteArray),
    }
    static CONV: OnceLock<Option<Conv>> = OnceLock::new();
    let conv = (*CONV.get_or_init(|| {
        // SAFETY: lookups of NUL-terminated names; a symbol found has the type of the C API
        // function of that name.
        unsafe {
            let native = libc::dlsym(libc::RTLD_DEFAULT, c"PyLong_FromNativeBytes".as_ptr());
            if !native.is_null() {
                return Some(Conv::Native(std::mem::transmute::<*mut c_void, Native>(
                    native,
                )));
            }
            let old = libc::dlsym(libc::RTLD_DEFAULT, c"_PyLong_FromByteArray".as_ptr());
            (!old.is_null())
                .then(|| Conv::ByteArray(std::mem::transmute::<*mut c_void, ByteArray>(old)))
        }
    }))?;
    // SAFETY: the GIL is held; `b` is valid for its length; both return a new reference or
    // NULL with an exception set.
    let ptr = unsafe {
        match conv {
            // Little-endian, signed (no `Py_ASNATIVEBYTES_UNSIGNED_BUFFER`).
            Conv::Native(f) => f(b.as_ptr().cast(), b.len(), 1),
            Conv::ByteArray(f) => f(b.as_ptr(), b.len(), 1, 1),
        }
    };
    // SAFETY: as above.
    Some(unsafe { Bound::from_owned_ptr_or_err(py, ptr) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz::call::objects;
    use crate::fuzz::decode::decode_args;
    use crate::strategy::shape::Shape as S;

    fn shapes_under_test() -> Vec<Vec<Shape>> {
        let b = |s: S| Box::new(s);
        vec![
            vec![S::Bytes],
            vec![S::Str],
            vec![S::List(b(S::Int))],
            vec![S::Int, S::Float, S::Bool, S::None, S::Complex],
            vec![S::TupleOf(b(S::List(b(S::Int)))), S::ByteArray],
            vec![S::Tuple(vec![S::Int, S::Str]), S::Tuple(vec![])],
            vec![
                S::Optional(b(S::Bytes)),
                S::OneOf(vec![S::Int, S::Str, S::List(b(S::Float))]),
            ],
            vec![
                S::IntRange((-128).into(), 127.into()),
                S::IntRange(0.into(), num_bigint::BigInt::from(u64::MAX)),
            ],
            vec![
                S::Literal(vec![Value::int(3), Value::Str(PyStr(vec![104, 105]))]),
                S::List(b(S::List(b(S::List(b(S::List(b(S::List(b(S::Int)))))))))),
            ],
        ]
    }

    /// Deterministic inputs of every length up to 96, biased to the bytes that pick the
    /// decoders' branches (small tags, "more" bits, long ints).
    fn inputs() -> Vec<Vec<u8>> {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut out = vec![Vec::new(), vec![0xff; 64], vec![7, 31, 0xff, 0xff, 1, 7, 2]];
        for len in 0..400 {
            let v = (0..len % 97)
                .map(|_| {
                    let r = next();
                    if r % 3 == 0 {
                        (r >> 8) as u8 % 16
                    } else {
                        (r >> 8) as u8
                    }
                })
                .collect();
            out.push(v);
        }
        out
    }

    #[test]
    fn the_direct_arguments_equal_the_value_models_and_set_the_same_shape_counters() {
        Python::attach(|py| {
            let repr = |t: &Bound<'_, PyTuple>| -> String {
                // `repr` tells `True` from `1`, `1.0` from `1` and `bytes` from `bytearray`.
                t.repr().map(|s| s.to_string()).unwrap_or_default()
            };
            let mut compared = 0;
            for shapes in shapes_under_test() {
                assert!(shapes.iter().all(supported), "{shapes:?}");
                for data in inputs() {
                    let values = decode_args(&shapes, &data);
                    let mut want = None;
                    let expected = shapes::counters_after(|| {
                        shapes::record(&values);
                        want = Some(repr(&objects(py, &values).unwrap()));
                    });
                    let mut got = None;
                    let counters = shapes::counters_after(|| {
                        got = Some(repr(&arguments(py, &shapes, &data, None).unwrap()));
                    });
                    assert_eq!(got, want, "{shapes:?} on {data:?}");
                    assert_eq!(counters, expected, "counters of {shapes:?} on {data:?}");
                    compared += 1;
                }
            }
            assert!(compared > 3000);
        });
    }

    #[test]
    fn the_bits_of_signed_bytes_are_those_of_the_number() {
        let mut cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0],
            vec![0xff],
            vec![0x80],
            vec![0x00, 0x80],
            vec![0xff, 0x7f],
            vec![0x01, 0x00, 0xff],
            vec![0xff; 12],
            vec![0x00; 12],
        ];
        for i in 0..=255u8 {
            cases.push(vec![i, 0xff, 0xff, 0xfe]);
            cases.push(vec![0, 0, i, 0x80]);
            cases.push(vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, i]);
            cases.push(vec![1, 2, 3, 4, 5, 6, 7, 8, 9, i]);
        }
        Python::attach(|py| {
            for b in cases {
                let v = num_bigint::BigInt::from_signed_bytes_le(&b);
                let want = (v.sign() == num_bigint::Sign::Minus, v.bits());
                assert_eq!(signed_bits(&b), want, "{b:02x?}");
                let obj = int_of_bytes(py, &b).expect("the interpreter converts");
                let got: num_bigint::BigInt = obj.unwrap().extract().unwrap();
                assert_eq!(got, v, "{b:02x?}");
            }
        });
    }

    #[test]
    fn an_item_the_call_over_released_is_left_to_its_container() {
        Python::attach(|py| {
            let shapes = [S::List(Box::new(S::Int))];
            // [1000]
            let data = [1, 3, 0xe8, 0x03];
            let mut watch = Fresh::new();
            let args = arguments(py, &shapes, &data, Some(&mut watch)).unwrap();
            let item = args.get_item(0).unwrap().get_item(0).unwrap().as_ptr();
            watch.arm();
            refcount::over_release(item, || watch.changed());
            drop(watch);
            // SAFETY: alive: the watch left its reference to the list's item.
            assert_eq!(unsafe { ffi::Py_REFCNT(item) }, 1);
            assert_eq!(args.repr().unwrap().to_string(), "([1000],)");
        });
    }

    #[test]
    fn the_watch_sees_a_reference_kept_to_an_item_and_skips_shared_objects() {
        Python::attach(|py| {
            let shapes = [S::List(Box::new(S::Int))];
            // Two ints: 1 (shared) and 1000 (an i16: tag 3).
            let data = [1, 0, 1, 1, 3, 0xe8, 0x03];
            let mut watch = Fresh::new();
            let args = arguments(py, &shapes, &data, Some(&mut watch)).unwrap();
            assert_eq!(args.repr().unwrap().to_string(), "([1, 1000],)");
            let list = args.get_item(0).unwrap();
            watch.arm();
            assert!(!watch.changed());
            let kept = list.get_item(1).unwrap();
            assert!(watch.changed(), "a new reference to 1000");
            drop(kept);
            assert!(!watch.changed());
            // The shared 1 is not watched: a reference to it changes nothing.
            let one = list.get_item(0).unwrap();
            assert!(!watch.changed());
            drop(one);
        });
    }
}
