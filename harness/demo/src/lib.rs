//! `pyz3_demo`: the demo Python extension module that `pyz3 check` is exercised against.
//!
//! It holds two kinds of functions, all described by `pyz3_demo.pyi` next to this crate:
//!
//! * **Correct functions** ([`add`], [`reverse`], [`word_count`], [`mean`], [`clamp`],
//!   [`checked_abs`]). They must behave for *every* input of their stub types: arbitrarily large
//!   ints, NaN and infinities, empty containers, strings with lone surrogates. On input outside
//!   their domain they raise `TypeError`, `ValueError` or `OverflowError`, never anything worse.
//!   A checker that reports a bug in one of these has a false positive.
//! * **Functions with exactly one planted defect** ([`defects`], [`raw`] and [`parse`]). The name
//!   of each says which kind; outside the trigger the function behaves correctly, so a checker
//!   has to find the trigger (and should shrink it to a small input):
//!
//!   | function | defect | trigger |
//!   |---|---|---|
//!   | `crash_when_negative_third` | SIGSEGV (null write) | `len(xs) >= 3 and xs[2] < 0` |
//!   | `hang_on_nul` | endless loop, GIL released | `'\x00' in s` |
//!   | `leak_reference` | leaks a reference to `xs` | every call |
//!   | `over_release` | one `Py_DecRef` too many on `d` | `len(d) >= 2` |
//!   | `leak_memory` | leaks a 4 KiB heap block | `n > 0` |
//!   | `null_without_error` | returns NULL, no exception set | `x >= 7` |
//!   | `result_with_error` | returns a result *and* sets ValueError | `x % 5 == 3` |
//!   | `sort_in_place` | sorts the caller's list | every call |
//!   | `flaky_len` | result depends on a call counter | every other call |
//!   | `bad_abs` | wrong result vs `builtins.abs` | `x < -1000` |
//!   | `bad_clamp` | result above `hi` | `x > hi + 100` |
//!   | `parse_string` | SIGSEGV (null write) | key `"\x00pyz3"` nested 3 containers deep |
//!
//! Build it with `scripts/build-demo.sh`, which produces `pyz3_demo.so` and the stub.

use num_bigint::BigInt;
use num_traits::{Signed, Zero};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

pub mod defects;
pub mod parse;
pub mod raw;

/// `add(a: int, b: int) -> int`: the exact sum of two ints of any size.
#[pyfunction]
pub fn add(a: BigInt, b: BigInt) -> BigInt {
    a + b
}

/// `reverse(xs: list[int]) -> list[int]`: a new list with the items of `xs` in reverse order.
/// `xs` itself is left untouched.
#[pyfunction]
pub fn reverse<'py>(xs: &Bound<'py, PyList>) -> PyResult<Bound<'py, PyList>> {
    let items: Vec<Bound<'py, PyAny>> = xs.iter().collect();
    PyList::new(xs.py(), items.into_iter().rev())
}

/// `word_count(s: str) -> dict[str, int]`: how often each whitespace-separated word occurs.
///
/// Splitting is done by `str.split(s)` itself, so "whitespace" means exactly what it means to
/// Python (including e.g. `\x1c`..`\x1f`, which Rust's `char::is_whitespace` disagrees on), and
/// strings with lone surrogates work, since they never need to become Rust `&str`.
#[pyfunction]
pub fn word_count<'py>(s: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyDict>> {
    let py = s.py();
    // `str.split(s)` rather than `s.split()`: a `str` subclass may override `split`.
    let words = py.get_type::<PyString>().call_method1("split", (s,))?;
    let counts = PyDict::new(py);
    for word in words.try_iter()? {
        let word = word?;
        let n = match counts.get_item(&word)? {
            Some(old) => old.extract::<u64>()? + 1,
            None => 1,
        };
        counts.set_item(word, n)?;
    }
    Ok(counts)
}

/// `mean(xs: list[float]) -> float`: the arithmetic mean, `ValueError` on an empty list.
///
/// Computed exactly and rounded once (like `statistics.mean`), so there is no intermediate
/// overflow (`mean([1e308, 1e308]) == 1e308`) and no cancellation error. NaN anywhere, or both
/// infinities, give NaN; otherwise an infinity gives that infinity.
#[pyfunction]
pub fn mean(py: Python<'_>, xs: Vec<f64>) -> PyResult<f64> {
    if xs.is_empty() {
        return Err(PyValueError::new_err("mean() of an empty list"));
    }
    let (mut nan, mut pos_inf, mut neg_inf) = (false, false, false);
    for &x in &xs {
        nan |= x.is_nan();
        pos_inf |= x == f64::INFINITY;
        neg_inf |= x == f64::NEG_INFINITY;
    }
    if nan || (pos_inf && neg_inf) {
        return Ok(f64::NAN);
    }
    if pos_inf {
        return Ok(f64::INFINITY);
    }
    if neg_inf {
        return Ok(f64::NEG_INFINITY);
    }
    // Every finite double is an integer multiple of 2**-1074: sum those integers exactly.
    let total: BigInt = xs.iter().map(|&x| scaled_by_2_pow_1074(x)).sum();
    if total.is_zero() {
        // IEEE addition: the sum is -0.0 only if every term is -0.0.
        let all_negative_zero = xs.iter().all(|x| x.is_sign_negative());
        return Ok(if all_negative_zero { -0.0 } else { 0.0 });
    }
    let denominator = BigInt::from(xs.len()) << 1074u32;
    // CPython's int / int is correctly rounded for operands of any size.
    let quotient = total.into_pyobject(py)?.div(denominator)?;
    quotient.extract::<f64>()
}

/// `x * 2**1074` as an exact integer, for finite `x`.
fn scaled_by_2_pow_1074(x: f64) -> BigInt {
    let bits = x.to_bits();
    let biased_exponent = (bits >> 52) & 0x7ff;
    let fraction = bits & ((1u64 << 52) - 1);
    // x = mantissa * 2**(shift - 1074), with shift >= 0 for every finite x.
    let (mantissa, shift) = if biased_exponent == 0 {
        (fraction, 0)
    } else {
        (fraction | (1u64 << 52), biased_exponent - 1)
    };
    let magnitude = BigInt::from(mantissa) << shift;
    if x.is_sign_negative() {
        -magnitude
    } else {
        magnitude
    }
}

/// `clamp(x: int, lo: int, hi: int) -> int`: `x` limited to `[lo, hi]`; `ValueError` if
/// `lo > hi`.
#[pyfunction]
pub fn clamp(x: BigInt, lo: BigInt, hi: BigInt) -> PyResult<BigInt> {
    if lo > hi {
        return Err(PyValueError::new_err("clamp() requires lo <= hi"));
    }
    Ok(if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    })
}

/// `checked_abs(x: int) -> int`: the absolute value of an int of any size.
#[pyfunction]
pub fn checked_abs(x: BigInt) -> BigInt {
    x.abs()
}

/// The extension module.
#[pymodule]
fn pyz3_demo(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Correct functions.
    m.add_function(wrap_pyfunction!(add, m)?)?;
    m.add_function(wrap_pyfunction!(reverse, m)?)?;
    m.add_function(wrap_pyfunction!(word_count, m)?)?;
    m.add_function(wrap_pyfunction!(mean, m)?)?;
    m.add_function(wrap_pyfunction!(clamp, m)?)?;
    m.add_function(wrap_pyfunction!(checked_abs, m)?)?;
    // One planted defect each.
    m.add_function(wrap_pyfunction!(defects::crash_when_negative_third, m)?)?;
    m.add_function(wrap_pyfunction!(defects::hang_on_nul, m)?)?;
    m.add_function(wrap_pyfunction!(defects::leak_reference, m)?)?;
    m.add_function(wrap_pyfunction!(defects::over_release, m)?)?;
    m.add_function(wrap_pyfunction!(defects::leak_memory, m)?)?;
    m.add_function(wrap_pyfunction!(defects::sort_in_place, m)?)?;
    m.add_function(wrap_pyfunction!(defects::flaky_len, m)?)?;
    m.add_function(wrap_pyfunction!(defects::bad_abs, m)?)?;
    m.add_function(wrap_pyfunction!(defects::bad_clamp, m)?)?;
    m.add_function(wrap_pyfunction!(parse::parse_string, m)?)?;
    raw::register(m)?;
    Ok(())
}
