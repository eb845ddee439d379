//! Starting the embedded interpreter and reaching the Python objects pyz3 needs.
//!
//! For everything in the crate that touches Python: [`init`] starts CPython once (adding the
//! active virtualenv's site-packages, since an embedded interpreter does not find it by itself),
//! [`std_type`] hands out cached classes (`collections.Counter`, `numpy.ndarray`, ...), and
//! [`err_text`] turns a `PyErr` into one line of text.

mod start;
mod types;

pub use start::{err_text, init, take_warnings, with_python};
pub use types::{std_type, StdType};
