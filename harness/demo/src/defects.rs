//! Functions written with pyo3 that each carry exactly one planted defect.
//!
//! Outside its trigger every function here behaves correctly; the trigger is documented on each.
//! The defects are deliberate: `pyz3 check` must report every one of them.

use std::sync::atomic::{AtomicU64, Ordering};

use num_bigint::BigInt;
use num_traits::{One, Signed, Zero};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

/// Planted defect: a volatile write through a null pointer, i.e. SIGSEGV.
///
/// The null pointer goes through `black_box` so the compiler cannot see that it is null and
/// cannot turn the write into anything other than a real store to address 0.
#[inline(never)]
pub(crate) fn write_through_null() {
    let target = std::hint::black_box(std::ptr::null_mut::<u64>());
    // SAFETY: none. Crashing the process here is the point (a planted defect).
    unsafe { target.write_volatile(1) }
}

/// `crash_when_negative_third(xs: list[int]) -> int`: the sum of `xs` modulo `2**61`
/// (always in `[0, 2**61)`).
///
/// Planted defect: **crash** (SIGSEGV) when `len(xs) >= 3 and xs[2] < 0`; minimal trigger
/// `[0, 0, -1]`.
#[pyfunction]
pub fn crash_when_negative_third(xs: Vec<BigInt>) -> BigInt {
    if xs.get(2).is_some_and(|third| third.is_negative()) {
        write_through_null();
    }
    let modulus = BigInt::one() << 61u32;
    let total: BigInt = xs.iter().sum::<BigInt>() % &modulus;
    if total.is_negative() {
        total + modulus
    } else {
        total
    }
}

/// `hang_on_nul(s: str) -> int`: `len(s)`.
///
/// Planted defect: **hang** (spins forever, with the GIL released) when `'\x00' in s`.
#[pyfunction]
pub fn hang_on_nul(py: Python<'_>, s: &Bound<'_, PyString>) -> PyResult<usize> {
    if s.as_any().contains("\0")? {
        py.detach(|| loop {
            std::hint::spin_loop();
        });
    }
    s.as_any().len()
}

/// `leak_reference(xs: list[int]) -> int`: `len(xs)`.
///
/// Planted defect: **reference leak**: every call adds one reference to `xs` that is never
/// released, so `sys.getrefcount(xs)` grows by one per call.
#[pyfunction]
pub fn leak_reference(xs: &Bound<'_, PyList>) -> usize {
    // SAFETY: `xs` is a live object; the extra reference is deliberately never released.
    unsafe { ffi::Py_IncRef(xs.as_ptr()) };
    xs.len()
}

/// `over_release(d: dict[str, int]) -> int`: `len(d)`.
///
/// Planted defect: **over-release**: when `len(d) >= 2`, drops one reference to `d` that it
/// never owned. With only the caller's reference this frees `d` under the caller's feet;
/// with extra references held it shows as `sys.getrefcount(d)` shrinking by one per call.
#[pyfunction]
pub fn over_release(d: &Bound<'_, PyDict>) -> usize {
    let n = d.len();
    if n >= 2 {
        // SAFETY: none. This reference belongs to the caller (a planted defect).
        unsafe { ffi::Py_DecRef(d.as_ptr()) };
    }
    n
}

/// `leak_memory(n: int) -> int`: `n * 2` for any `n` that fits in an i64 (`OverflowError`
/// otherwise).
///
/// Planted defect: **memory leak**: every call with `n > 0` leaks a 4 KiB heap block (filled,
/// so its pages are really touched).
#[pyfunction]
pub fn leak_memory(n: i64) -> i128 {
    if n > 0 {
        // `black_box` keeps the allocation and the fill from being optimised away.
        let block = std::hint::black_box(vec![0xa5u8; 4096]);
        std::mem::forget(block);
    }
    i128::from(n) * 2
}

/// `sort_in_place(xs: list[int]) -> int`: the sum of `xs`.
///
/// Planted defect: **input mutation**: it also sorts the caller's list in place.
#[pyfunction]
pub fn sort_in_place(xs: &Bound<'_, PyList>) -> PyResult<BigInt> {
    let mut total = BigInt::zero();
    for item in xs.iter() {
        total += item.extract::<BigInt>()?;
    }
    xs.sort()?;
    Ok(total)
}

/// Calls of [`flaky_len`] so far, in this process.
static FLAKY_CALLS: AtomicU64 = AtomicU64::new(0);

/// `flaky_len(xs: list[int]) -> int`: `len(xs)`.
///
/// Planted defect: **nondeterminism**: every other call returns `len(xs) + 1`.
#[pyfunction]
pub fn flaky_len(xs: &Bound<'_, PyList>) -> usize {
    let parity = FLAKY_CALLS.fetch_add(1, Ordering::Relaxed) % 2;
    // `parity` is 0 or 1, so the cast is lossless.
    xs.len() + parity as usize
}

/// `bad_abs(x: int) -> int`: `abs(x)`.
///
/// Planted defect: **wrong result**: returns `x` unchanged when `x < -1000`
/// (minimal trigger `-1001`).
#[pyfunction]
pub fn bad_abs(x: BigInt) -> BigInt {
    if x < BigInt::from(-1000) {
        x
    } else {
        x.abs()
    }
}

/// `bad_clamp(x: int, lo: int, hi: int) -> int`: like `clamp` (`ValueError` if `lo > hi`).
///
/// Planted defect: **property violation**: returns `hi + 1` when `x > hi + 100`, breaking
/// `lo <= result <= hi`.
#[pyfunction]
pub fn bad_clamp(x: BigInt, lo: BigInt, hi: BigInt) -> PyResult<BigInt> {
    if lo > hi {
        return Err(PyValueError::new_err("bad_clamp() requires lo <= hi"));
    }
    Ok(if x > &hi + 100 {
        hi + 1
    } else if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    })
}
