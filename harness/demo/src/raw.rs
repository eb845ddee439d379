//! Functions written directly against the CPython C API (`pyo3::ffi`), bypassing pyo3's
//! wrappers, so that they can break the C-API calling convention in ways pyo3 would not allow.
//!
//! Both are `METH_O` functions (one positional-only argument) built from a static
//! `PyMethodDef` with `PyCFunction_NewEx` and added to the module by [`register`].

use std::ffi::{c_int, c_long, CStr};
use std::ptr;

use pyo3::ffi;
use pyo3::prelude::*;

/// The `PyMethodDef` of `null_without_error`. CPython keeps a pointer to it for as long as the
/// function object lives, hence `static`; it is only ever handed out as a raw pointer.
static mut NULL_WITHOUT_ERROR_DEF: ffi::PyMethodDef = ffi::PyMethodDef {
    ml_name: c"null_without_error".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        PyCFunction: null_without_error,
    },
    ml_flags: ffi::METH_O,
    ml_doc:
        c"null_without_error($module, x, /)\n--\n\nReturn x + 1 for an int x that fits in a C long."
            .as_ptr(),
};

/// The `PyMethodDef` of `result_with_error`; see [`NULL_WITHOUT_ERROR_DEF`].
static mut RESULT_WITH_ERROR_DEF: ffi::PyMethodDef = ffi::PyMethodDef {
    ml_name: c"result_with_error".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer {
        PyCFunction: result_with_error,
    },
    ml_flags: ffi::METH_O,
    ml_doc:
        c"result_with_error($module, x, /)\n--\n\nReturn x + 1 for an int x that fits in a C long."
            .as_ptr(),
};

/// Adds the raw functions to `m`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let module_name = m.name()?;
    let defs = [
        ("null_without_error", &raw mut NULL_WITHOUT_ERROR_DEF),
        ("result_with_error", &raw mut RESULT_WITH_ERROR_DEF),
    ];
    for (name, def) in defs {
        // SAFETY: `def` points to a valid, 'static `PyMethodDef` whose `ml_meth` matches
        // `ml_flags` (METH_O); `m` and `module_name` are live objects; a NULL result comes
        // with an exception set, which `from_owned_ptr_or_err` turns into `Err`.
        let function = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyCFunction_NewEx(def, m.as_ptr(), module_name.as_ptr()),
            )?
        };
        m.add(name, function)?;
    }
    Ok(())
}

/// The argument as a C long; `None` with `TypeError` or `OverflowError` set if it is not an int
/// or does not fit.
///
/// # Safety
/// The GIL must be held and `arg` must be a live object.
unsafe fn long_arg(function: &'static CStr, arg: *mut ffi::PyObject) -> Option<c_long> {
    if ffi::PyLong_Check(arg) == 0 {
        ffi::PyErr_Format(
            ffi::PyExc_TypeError,
            c"%.200s() argument must be int, not %.200s".as_ptr(),
            function.as_ptr(),
            (*ffi::Py_TYPE(arg)).tp_name,
        );
        return None;
    }
    let mut overflow: c_int = 0;
    let value = ffi::PyLong_AsLongAndOverflow(arg, &mut overflow);
    if overflow != 0 {
        ffi::PyErr_Format(
            ffi::PyExc_OverflowError,
            c"%.200s() argument does not fit in a C long".as_ptr(),
            function.as_ptr(),
        );
        return None;
    }
    if value == -1 && !ffi::PyErr_Occurred().is_null() {
        return None;
    }
    Some(value)
}

/// A new reference to the int `x + 1` (which may exceed a C long); NULL with an exception set
/// on allocation failure.
///
/// # Safety
/// The GIL must be held.
unsafe fn plus_one(x: c_long) -> *mut ffi::PyObject {
    let y = i128::from(x) + 1;
    match i64::try_from(y) {
        Ok(y) => ffi::PyLong_FromLongLong(y),
        // Only x == i64::MAX gets here, and 2**63 fits in a u64.
        Err(_) => ffi::PyLong_FromUnsignedLongLong(u64::try_from(y).unwrap_or(u64::MAX)),
    }
}

/// `null_without_error(x: int, /) -> int`: `x + 1` for an int `x` that fits in a C long
/// (`TypeError` / `OverflowError` otherwise, properly set).
///
/// Planted defect: **NULL without an exception** when `x >= 7`, which CPython reports as
/// `SystemError: <built-in function null_without_error> returned NULL without setting an
/// exception`.
unsafe extern "C" fn null_without_error(
    _module: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let Some(x) = long_arg(c"null_without_error", arg) else {
        return ptr::null_mut();
    };
    if x >= 7 {
        // The planted defect: a failure return with no exception set.
        return ptr::null_mut();
    }
    plus_one(x)
}

/// `result_with_error(x: int, /) -> int`: `x + 1` for an int `x` that fits in a C long
/// (`TypeError` / `OverflowError` otherwise, properly set).
///
/// Planted defect: **result with an exception set** when `x % 5 == 3` (Python's `%`, so also
/// `x == -2`): it sets `ValueError` *and* returns the result, which CPython reports as
/// `SystemError: <built-in function result_with_error> returned a result with an exception
/// set`.
unsafe extern "C" fn result_with_error(
    _module: *mut ffi::PyObject,
    arg: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    let Some(x) = long_arg(c"result_with_error", arg) else {
        return ptr::null_mut();
    };
    let result = plus_one(x);
    if !result.is_null() && x.rem_euclid(5) == 3 {
        // The planted defect: an exception left set on a success return.
        ffi::PyErr_SetString(
            ffi::PyExc_ValueError,
            c"result_with_error: stray exception".as_ptr(),
        );
    }
    result
}
