//! Properties written in Rust for the harness (feature `embed`: they run in this process's
//! embedded interpreter).
//!
//! For library users' test suites: [`RustProperty`] (defined beside [`Target`]) wraps a closure over the arguments and what
//! the call returned; the runner calls [`check`] on a case after the worker has run it safely.

use pyo3::prelude::*;

use crate::report::{FindingKind, Observation};
use crate::target::Target;
pub use crate::target::{RustProperty, RustPropertyFn};
use crate::value::Value;
use crate::Error;

/// Runs a Rust property in this process on one case.
pub(crate) fn check(
    target: &Target,
    prop: &RustProperty,
    args: &[Value],
) -> crate::Result<Option<Observation>> {
    crate::py::with_python(|py| {
        let python_error = |e: PyErr| Error::Python {
            context: format!("running the Rust property of {}", target.function),
            message: crate::py::err_text(py, &e),
        };
        if let Some(dir) = &target.path {
            let sys_path = py
                .import("sys")
                .and_then(|s| s.getattr("path"))
                .map_err(python_error)?;
            let dir = dir.to_string_lossy().to_string();
            if !sys_path.contains(&dir).map_err(python_error)? {
                sys_path
                    .call_method1("insert", (0, dir))
                    .map_err(python_error)?;
            }
        }
        let mut f = py
            .import(target.module.as_str())
            .map_err(python_error)?
            .into_any();
        for part in target.function.split('.') {
            f = f.getattr(part).map_err(python_error)?;
        }
        let objs = args
            .iter()
            .map(|a| a.to_python(py))
            .collect::<PyResult<Vec<_>>>()
            .map_err(python_error)?;
        let tuple = pyo3::types::PyTuple::new(py, objs).map_err(python_error)?;
        let result = f.call1(tuple);
        Ok((prop.0)(py, args, &result).err().map(|why| Observation {
            kind: FindingKind::PropertyFailed,
            message: format!("the Rust property failed: {why}"),
            traceback: None,
        }))
    })
}
