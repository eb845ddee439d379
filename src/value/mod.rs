//! The typed model of Python values: a Rust mirror of Python data with no Python objects inside.
//!
//! For strategies (generate and shrink without the GIL), the harness and reports. A [`Value`]
//! converts to a real Python object of the exact type ([`Value::to_python`]), back from one
//! ([`Value::from_python`]), renders as pasteable source ([`Value::python_source`]), and
//! pickles without Python for an interpreter in another process ([`Value::to_pickle`]).

#[cfg(feature = "embed")]
mod from_py;
mod hostile;
mod hostile_behaviour;
mod key;
mod model;
mod ndarray;
mod pickle;
mod source;
#[cfg(feature = "embed")]
pub(crate) mod to_py;

pub use hostile::{Hostile, HostileBase, HOSTILE_PRELUDE};
pub use hostile_behaviour::{Action, Behaviour, Method, Raised};
pub use key::{dedup_by_key, HashKey, KeyKind};
pub use model::*;
pub use ndarray::{
    contiguous_strides, decode, encode, ArrayData, ByteOrder, DKind, DType, Layout, NdArray, Order,
    TimeUnit,
};
pub use pickle::{args_pickle, PickleError, PICKLE_HELPERS, PICKLE_HELPERS_MODULE};
pub use source::{bytes_source, float_source, int_source, str_source, PySource, Renderer};
