//! Cached references to the standard-library and NumPy classes the converters use.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// A class the converters need, imported once per process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdType {
    /// `collections.Counter`
    Counter,
    /// `collections.deque`
    Deque,
    /// `collections.defaultdict`
    DefaultDict,
    /// `collections.OrderedDict`
    OrderedDict,
    /// `fractions.Fraction`
    Fraction,
    /// `decimal.Decimal`
    Decimal,
    /// `enum.Enum`
    Enum,
    /// `enum.IntEnum`
    IntEnum,
    /// `enum.Flag`
    Flag,
    /// `datetime.timezone`
    Timezone,
    /// `datetime.timedelta`
    TimeDelta,
    /// `numpy.ndarray`
    NdArray,
    /// `numpy.frombuffer`
    FromBuffer,
}

const COUNT: usize = 13;

impl StdType {
    fn index(self) -> usize {
        self as usize
    }
    fn path(self) -> (&'static str, &'static str) {
        match self {
            StdType::Counter => ("collections", "Counter"),
            StdType::Deque => ("collections", "deque"),
            StdType::DefaultDict => ("collections", "defaultdict"),
            StdType::OrderedDict => ("collections", "OrderedDict"),
            StdType::Fraction => ("fractions", "Fraction"),
            StdType::Decimal => ("decimal", "Decimal"),
            StdType::Enum => ("enum", "Enum"),
            StdType::IntEnum => ("enum", "IntEnum"),
            StdType::Flag => ("enum", "Flag"),
            StdType::Timezone => ("datetime", "timezone"),
            StdType::TimeDelta => ("datetime", "timedelta"),
            StdType::NdArray => ("numpy", "ndarray"),
            StdType::FromBuffer => ("numpy", "frombuffer"),
        }
    }
}

static CACHE: [PyOnceLock<Py<PyAny>>; COUNT] = [const { PyOnceLock::new() }; COUNT];

/// The class (or function) `ty`, imported on first use.
pub fn std_type(py: Python<'_>, ty: StdType) -> PyResult<&Bound<'_, PyAny>> {
    CACHE[ty.index()]
        .get_or_try_init(py, || {
            let (module, name) = ty.path();
            Ok::<_, PyErr>(py.import(module)?.getattr(name)?.unbind())
        })
        .map(|o| o.bind(py))
}
