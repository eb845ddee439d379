//! pyz3 finds bugs in Python native extension modules (PyO3/Rust, C API, Cython, nanobind, Zig).
//!
//! This crate is the library behind the `pyz3` command-line tool, and what users call from their
//! own Rust test suites:
//!
//! - [`value`]: a typed Rust model of Python values (ints of any size, strings with surrogates,
//!   containers, `collections`, Fraction, Decimal, enums, datetimes, NumPy arrays of every dtype
//!   and layout) that converts to and from real Python objects and renders as pasteable source;
//! - [`strategy`]: proptest strategies for every type, biased toward edge values, shrinking to
//!   minimal counterexamples, and built from Python type expressions (`"list[dict[str, int]]"`);
//! - [`fuzz`]: structure-aware decoding of fuzzer bytes into typed arguments, and the runtime of
//!   libFuzzer targets ([`fuzz_target!`]);
//! - [`target`]: what to call (module, function, parameter types, declarations), for check,
//!   fuzz and the reproducers;
//! - [`py`]: starting the embedded interpreter; [`proptest_py`]: running properties with the GIL;
//! - [`fs`]: how every command writes its files (atomically, output paths checked first).
//!
//! Everything that embeds CPython (live objects, `py_proptest`, the fuzz-target runtime) is
//! behind the `embed` feature, which links libpython; the `pyz3` command does without it and
//! runs the user's interpreter as a subprocess ([`check`]).
//!
//! ```no_run
//! use pyz3::prelude::*;
//!
//! let strategy = pyz3::strategy::from_type("dict[str, list[int]]").unwrap();
//! pyz3::py_proptest(&strategy, |py, value| {
//!     let obj = value.to_python(py)?;
//!     assert_eq!(obj.len()?, value_len(value));
//!     Ok(())
//! });
//! # fn value_len(v: &pyz3::value::Value) -> usize { match v { pyz3::value::Value::Dict(d) => d.len(), _ => 0 } }
//! ```
#![deny(missing_docs)]

pub mod bench;
pub mod check;
pub mod coverage;
pub mod doctor;
pub mod error;
pub mod fs;
pub mod fuzz;
pub mod process;
pub mod profile;
pub mod project;
#[cfg(feature = "embed")]
pub mod proptest_py;
#[cfg(feature = "embed")]
pub mod py;
pub mod report;
pub mod sample;
pub mod sanitize;
pub mod strategy;
pub mod suite;
pub mod target;
pub mod toolchain;
pub mod typeexpr;
pub mod value;

pub use error::{Error, Result};

#[cfg(feature = "embed")]
pub use proptest_py::{py_proptest, py_proptest_with};
#[cfg(feature = "embed")]
#[doc(hidden)]
pub use pyo3 as __pyo3;

/// The names most users need.
pub mod prelude {
    #[cfg(feature = "embed")]
    pub use crate::py::with_python;
    pub use crate::strategy::{from_type, Size, ValueStrategy};
    pub use crate::value::{PySource, Value};
    #[cfg(feature = "embed")]
    pub use crate::{py_proptest, py_proptest_with};
    #[cfg(feature = "embed")]
    pub use pyo3::prelude::*;
}
