//! Running proptest properties over Python objects with the GIL held.
//!
//! For users' Rust test suites. Either write an ordinary `proptest!` block over a
//! [`crate::strategy::ValueStrategy`] and call [`crate::py::with_python`] in its body — values
//! print as Python source in proptest's failure message — or call [`py_proptest`], which also
//! converts exceptions raised by the test into failures with their Python traceback, keeps
//! proptest's failure persistence (regression files beside the calling source file) and panics
//! with the minimal input as a pasteable snippet.

use std::panic::Location;

use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use pyo3::prelude::*;

use crate::py::{err_text, with_python};
use crate::strategy::ValueStrategy;
use crate::value::Value;

/// Runs `test` on values from `strategy` with proptest's default configuration.
///
/// Panics (failing the surrounding `#[test]`) with the minimal failing input rendered as Python.
#[track_caller]
pub fn py_proptest<F>(strategy: &ValueStrategy, test: F)
where
    F: Fn(Python<'_>, &Value) -> PyResult<()>,
{
    py_proptest_with(Config::default(), strategy, test)
}

/// [`py_proptest`] with an explicit proptest [`Config`] (cases, seed persistence, ...).
#[track_caller]
pub fn py_proptest_with<F>(mut config: Config, strategy: &ValueStrategy, test: F)
where
    F: Fn(Python<'_>, &Value) -> PyResult<()>,
{
    if config.source_file.is_none() {
        config.source_file = Some(Location::caller().file());
    }
    let mut runner = TestRunner::new(config);
    let result = runner.run(strategy, |value| {
        with_python(|py| test(py, &value).map_err(|e| TestCaseError::fail(describe(py, &e))))
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, value)) => panic!(
            "property failed: {reason}\nminimal failing input, as Python:\n{}",
            value.python_source().assignment("value")
        ),
        Err(TestError::Abort(reason)) => panic!("property aborted: {reason}"),
    }
}

/// The exception with its traceback, as Python prints it.
pub fn describe(py: Python<'_>, err: &PyErr) -> String {
    let tb = err
        .traceback(py)
        .and_then(|tb| tb.format().ok())
        .unwrap_or_default();
    format!("{tb}{}", err_text(py, err))
}
