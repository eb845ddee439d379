//! Calling the function under test inside the embedded interpreter, as the fuzz runtime does.
//!
//! For [`super`]'s runtime, which is linked into a fuzz binary built against the chosen
//! interpreter. `pyz3 check` does the same in the target interpreter's own worker program
//! (`src/check/worker.py`); these are the embedded counterparts: import, call with the
//! interpreter's own result checks, evaluate a property, format a traceback.

use pyo3::exceptions::PySystemError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::py::err_text;
use crate::report::{FindingKind, Observation};
use crate::value::Value;

pub(crate) fn import_target<'py>(
    py: Python<'py>,
    module: &str,
    path: Option<&std::path::Path>,
) -> Result<Bound<'py, PyAny>, String> {
    // Like `python -c`, the current directory is importable.
    let cwd = std::env::current_dir().ok();
    if let Some(dir) = path.or(cwd.as_deref()) {
        let sys = py.import("sys").map_err(|e| err_text(py, &e))?;
        let sys_path = sys.getattr("path").map_err(|e| err_text(py, &e))?;
        sys_path
            .call_method1("insert", (0, dir.to_string_lossy().to_string()))
            .map_err(|e| err_text(py, &e))?;
    }
    py.import(module)
        .map(|m| m.into_any())
        .map_err(|e| format!("cannot import `{module}`: {}", err_text(py, &e)))
}

pub(crate) fn resolve(module: &Bound<'_, PyAny>, dotted: &str) -> PyResult<Py<PyAny>> {
    let mut obj = module.clone();
    for part in dotted.split('.') {
        obj = obj.getattr(part)?;
    }
    Ok(obj.unbind())
}

/// `f(*args)`'s arguments as Python objects.
pub(crate) fn objects<'py>(py: Python<'py>, args: &[Value]) -> PyResult<Bound<'py, PyTuple>> {
    // Every object is made before the tuple: making one can run Python code (a collection, and
    // the finalizers of what earlier inputs left behind), which must never see a tuple with
    // empty slots.
    crate::value::to_py::tuple_of(py, args)
}

/// Evaluates a compiled property expression over the parameters (by name), `args`, `result`
/// and `exception`: `Some` (a `property-failed` observation) when it is false or raises.
pub(crate) fn check_property(
    py: Python<'_>,
    code: &Bound<'_, PyAny>,
    expr: &str,
    param_names: &[String],
    args: &Bound<'_, PyTuple>,
    result: Result<&Bound<'_, PyAny>, &PyErr>,
    show: impl Fn(&Bound<'_, PyAny>) -> String,
) -> PyResult<Option<Observation>> {
    let globals = PyDict::new(py);
    globals.set_item("__builtins__", py.import("builtins")?)?;
    for (name, obj) in param_names.iter().zip(args.iter()) {
        globals.set_item(name, obj)?;
    }
    globals.set_item("args", args)?;
    match result {
        Ok(r) => {
            globals.set_item("result", r)?;
            globals.set_item("exception", py.None())?;
        }
        Err(e) => {
            globals.set_item("result", py.None())?;
            globals.set_item("exception", e.value(py))?;
        }
    }
    let eval = py.import("builtins")?.getattr("eval")?;
    Ok(match eval.call1((code, &globals)) {
        Ok(v) if v.is_truthy().unwrap_or(false) => None,
        Ok(v) => Some(Observation {
            kind: FindingKind::PropertyFailed,
            message: format!(
                "property `{expr}` is {} for result {}",
                show(&v),
                match result {
                    Ok(r) => show(r),
                    Err(e) => format!("raised {}", err_text(py, e)),
                }
            ),
            traceback: None,
        }),
        Err(e) => Some(Observation {
            kind: FindingKind::PropertyFailed,
            message: format!("property `{expr}` raised {}", err_text(py, &e)),
            traceback: traceback(py, &e),
        }),
    })
}

/// Calls `f(*args)` and checks the result as the interpreter's own call path does, whatever
/// route the binding library takes: a NULL return without an exception, or a result returned
/// with an exception set, is a `SystemError` with CPython's wording.
///
/// # Safety
/// Must be called with the GIL held (guaranteed by `py`).
pub(crate) unsafe fn checked_call<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let ptr = pyo3::ffi::PyObject_Call(f.as_ptr(), args.as_ptr(), std::ptr::null_mut());
    finish_call(py, f, ptr)
}

/// [`checked_call`] for a caller that needs nothing of the call but a `SystemError` (raised, or
/// made of a broken calling convention as [`checked_call`] makes it): the result is dropped at
/// once, and any other exception is cleared without being read. Reading one makes CPython build
/// the exception object (before 3.12 an error set from a message is only a type and a string
/// until then), and for a function that rejects most inputs that cost more than the call itself.
///
/// # Safety
/// Must be called with the GIL held (guaranteed by `py`).
pub(crate) unsafe fn call_for_system_error<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
) -> Option<PyErr> {
    use pyo3::ffi;
    let ptr = ffi::PyObject_Call(f.as_ptr(), args.as_ptr(), std::ptr::null_mut());
    if ptr.is_null()
        && !ffi::PyErr_Occurred().is_null()
        && ffi::PyErr_ExceptionMatches(ffi::PyExc_SystemError) == 0
    {
        ffi::PyErr_Clear();
        return None;
    }
    finish_call(py, f, ptr).err()
}

/// Turns what `PyObject_Call` returned (`ptr`, and the pending exception) into a result, with
/// a broken calling convention made a `SystemError` as CPython words it.
///
/// # Safety
/// Must be called with the GIL held, right after the call that returned `ptr`.
unsafe fn finish_call<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    ptr: *mut pyo3::ffi::PyObject,
) -> PyResult<Bound<'py, PyAny>> {
    let pending = !pyo3::ffi::PyErr_Occurred().is_null();
    let what = || {
        f.repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "the function".into())
    };
    match (ptr.is_null(), pending) {
        (true, true) => Err(PyErr::fetch(py)),
        (true, false) => Err(PySystemError::new_err(format!(
            "{} returned NULL without setting an exception",
            what()
        ))),
        (false, false) => Ok(Bound::from_owned_ptr(py, ptr)),
        (false, true) => {
            let cause = PyErr::fetch(py);
            pyo3::ffi::Py_DecRef(ptr);
            let err = PySystemError::new_err(format!(
                "{} returned a result with an exception set",
                what()
            ));
            err.set_cause(py, Some(cause));
            Err(err)
        }
    }
}

pub(crate) fn traceback(py: Python<'_>, err: &PyErr) -> Option<String> {
    err.traceback(py)
        .and_then(|tb| tb.format().ok())
        .map(|tb| format!("{tb}{}", err_text(py, err)))
}
