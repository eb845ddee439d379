//! Value → live Python object of the exact type.
//!
//! For test bodies and the harness: [`Value::to_python`] needs the GIL and builds a fresh object
//! every call (mutable containers are never shared between two conversions).

use std::collections::HashMap;
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;
use pyo3::types::{
    PyByteArray, PyBytes, PyComplex, PyDate, PyDateTime, PyDelta, PyDict, PyFloat, PyFrozenSet,
    PyList, PySet, PyTime, PyTuple, PyTzInfo,
};

use super::model::*;
use super::ndarray::{encode, reverse_data, ArrayData, Layout, NdArray, Order};
use crate::py::{std_type, StdType};

impl PyStr {
    /// A Python `str` with exactly these code points (surrogates included).
    pub fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: PyUnicode_FromKindAndData copies `len` UCS4 units from a valid buffer and
        // accepts any code point up to U+10FFFF, lone surrogates included.
        unsafe {
            let ptr = ffi::PyUnicode_FromKindAndData(
                ffi::PyUnicode_4BYTE_KIND as _,
                self.0.as_ptr().cast(),
                self.0.len() as ffi::Py_ssize_t,
            );
            Bound::from_owned_ptr_or_err(py, ptr)
        }
    }
}

fn pairs_into_dict<'py>(
    py: Python<'py>,
    dict: &Bound<'py, PyAny>,
    items: &[(Value, Value)],
) -> PyResult<()> {
    for (k, v) in items {
        dict.set_item(k.to_python(py)?, v.to_python(py)?)?;
    }
    Ok(())
}

fn new_dict<'py>(py: Python<'py>, items: &[(Value, Value)]) -> PyResult<Bound<'py, PyAny>> {
    let d = PyDict::new(py).into_any();
    pairs_into_dict(py, &d, items)?;
    Ok(d)
}

fn seq<'py>(py: Python<'py>, items: &[Value]) -> PyResult<Vec<Bound<'py, PyAny>>> {
    items.iter().map(|v| v.to_python(py)).collect()
}

/// How many items [`tuple_of`] and short lists hold on the stack while they are made.
const ON_STACK: usize = 16;

/// The Python objects of `items` (at most [`ON_STACK`]), in the first `items.len()` slots, all
/// made before the caller builds anything of them: making one can run Python code (a
/// collection, a finalizer), which must never see a container with empty slots. Held on the
/// stack, so a short list or an argument tuple costs no allocation of its own; the fuzz
/// targets make one or more per input.
fn on_stack<'py>(
    py: Python<'py>,
    items: &[Value],
) -> PyResult<[Option<Bound<'py, PyAny>>; ON_STACK]> {
    let mut made: [Option<Bound<'py, PyAny>>; ON_STACK] = Default::default();
    for (slot, v) in made.iter_mut().zip(items) {
        *slot = Some(v.to_python(py)?);
    }
    Ok(made)
}

/// The tuple of the objects of `items`, every one made before the tuple (see [`on_stack`]).
pub(crate) fn tuple_of<'py>(py: Python<'py>, items: &[Value]) -> PyResult<Bound<'py, PyTuple>> {
    if items.len() <= ON_STACK {
        PyTuple::new(py, on_stack(py, items)?[..items.len()].iter())
    } else {
        PyTuple::new(py, seq(py, items)?)
    }
}

fn list_of<'py>(py: Python<'py>, items: &[Value]) -> PyResult<Bound<'py, PyList>> {
    if items.len() <= ON_STACK {
        PyList::new(py, on_stack(py, items)?[..items.len()].iter())
    } else {
        PyList::new(py, seq(py, items)?)
    }
}

static ENUM_CLASSES: Mutex<Option<HashMap<GeneratedEnum, Py<PyAny>>>> = Mutex::new(None);

impl GeneratedEnum {
    /// The Python class for this definition, created once per process and then reused.
    pub fn class<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // Wait for the lock detached from the interpreter: the thread holding it calls Python
        // below, which may hand the GIL to this thread.
        let mut guard = ENUM_CLASSES
            .lock_py_attached(py)
            .unwrap_or_else(|e| e.into_inner());
        let map = guard.get_or_insert_with(HashMap::new);
        if let Some(cls) = map.get(self) {
            return Ok(cls.bind(py).clone());
        }
        let base = std_type(
            py,
            match self.kind {
                EnumKind::Enum => StdType::Enum,
                EnumKind::IntEnum => StdType::IntEnum,
                EnumKind::Flag => StdType::Flag,
            },
        )?;
        let members = PyList::new(py, self.members.iter().map(|(n, v)| (n.as_str(), *v)))?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("module", GENERATED_ENUM_MODULE)?;
        let cls = base.call((self.name.as_str(), members), Some(&kwargs))?;
        map.insert(self.clone(), cls.clone().unbind());
        Ok(cls)
    }
}

impl EnumClass {
    /// The Python class.
    pub fn class<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self {
            EnumClass::User { module, qualname } => {
                let mut obj = py.import(module.as_str())?.into_any();
                for part in qualname.split('.') {
                    obj = obj.getattr(part)?;
                }
                Ok(obj)
            }
            EnumClass::Generated(g) => g.class(py),
        }
    }
}

impl Tz {
    /// The `datetime.timezone` object.
    pub fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTzInfo>> {
        let delta = PyDelta::new(
            py,
            0,
            (self.offset_us.div_euclid(1_000_000)) as i32,
            self.offset_us.rem_euclid(1_000_000) as i32,
            true,
        )?;
        let tz = std_type(py, StdType::Timezone)?;
        let obj = match &self.name {
            Some(name) => tz.call1((delta, name.to_python(py)?))?,
            None => tz.call1((delta,))?,
        };
        Ok(obj.cast_into()?)
    }
}

impl Value {
    /// Builds the Python object this value describes.
    pub fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(match self {
            Value::None => py.None().into_bound(py),
            Value::Bool(b) => pyo3::types::PyBool::new(py, *b).to_owned().into_any(),
            Value::Int(i) => {
                if let Ok(small) = i64::try_from(i) {
                    small.into_pyobject(py)?.into_any()
                } else {
                    i.into_pyobject(py)?.into_any()
                }
            }
            Value::Float(f) => PyFloat::new(py, *f).into_any(),
            Value::Complex { re, im } => PyComplex::from_doubles(py, *re, *im).into_any(),
            Value::Str(s) => s.to_python(py)?,
            Value::Bytes(b) => PyBytes::new(py, b).into_any(),
            Value::ByteArray(b) => PyByteArray::new(py, b).into_any(),
            Value::List(items) => list_of(py, items)?.into_any(),
            Value::Tuple(items) => tuple_of(py, items)?.into_any(),
            Value::Dict(items) => new_dict(py, items)?,
            Value::Set(items) => PySet::new(py, seq(py, items)?)?.into_any(),
            Value::FrozenSet(items) => PyFrozenSet::new(py, seq(py, items)?)?.into_any(),
            Value::Counter(items) => {
                // Counter keeps all its state in the dict: skip the Python-level __init__.
                let cls = std_type(py, StdType::Counter)?;
                let c = cls.call_method1("__new__", (cls,))?;
                pairs_into_dict(py, &c, items)?;
                c
            }
            Value::Deque { items, maxlen } => {
                std_type(py, StdType::Deque)?.call1((PyList::new(py, seq(py, items)?)?, *maxlen))?
            }
            Value::DefaultDict { factory, items } => {
                let f = match factory {
                    DefaultFactory::None => py.None().into_bound(py),
                    DefaultFactory::Int => py.get_type::<pyo3::types::PyInt>().into_any(),
                    DefaultFactory::List => py.get_type::<PyList>().into_any(),
                    DefaultFactory::Set => py.get_type::<PySet>().into_any(),
                    DefaultFactory::Str => py.get_type::<pyo3::types::PyString>().into_any(),
                };
                let d = std_type(py, StdType::DefaultDict)?.call1((f,))?;
                pairs_into_dict(py, &d, items)?;
                d
            }
            Value::OrderedDict(items) => {
                let d = std_type(py, StdType::OrderedDict)?.call0()?;
                pairs_into_dict(py, &d, items)?;
                d
            }
            Value::Fraction(f) => {
                std_type(py, StdType::Fraction)?.call1((f.numer().clone(), f.denom().clone()))?
            }
            Value::Decimal(d) => std_type(py, StdType::Decimal)?.call1((d.to_decimal_string(),))?,
            Value::Enum(m) => {
                let cls = m.class.class(py)?;
                match &m.member {
                    MemberRef::Name(n) => cls.get_item(n.as_str())?,
                    MemberRef::Value(v) => cls.call1((*v,))?,
                }
            }
            Value::Date(d) => PyDate::new(py, d.year, d.month, d.day)?.into_any(),
            Value::Time(t) => {
                let tz = t.tz.as_ref().map(|tz| tz.to_python(py)).transpose()?;
                PyTime::new_with_fold(
                    py,
                    t.hour,
                    t.minute,
                    t.second,
                    t.microsecond,
                    tz.as_ref(),
                    t.fold,
                )?
                .into_any()
            }
            Value::DateTime(dt) => {
                let (d, t) = (&dt.date, &dt.time);
                let tz = t.tz.as_ref().map(|tz| tz.to_python(py)).transpose()?;
                PyDateTime::new_with_fold(
                    py,
                    d.year,
                    d.month,
                    d.day,
                    t.hour,
                    t.minute,
                    t.second,
                    t.microsecond,
                    tz.as_ref(),
                    t.fold,
                )?
                .into_any()
            }
            Value::TimeDelta(td) => PyDelta::new(
                py,
                td.days,
                td.seconds as i32,
                td.microseconds as i32,
                false,
            )?
            .into_any(),
            Value::Array(a) => a.to_python(py)?,
            Value::Hostile(h) => {
                return Err(PyValueError::new_err(format!(
                    "hostile value {} is built only from its pickle",
                    h.class_name()
                )))
            }
        })
    }
}

impl NdArray {
    /// Builds the NumPy array: dtype, shape, strides, order and writeability as described.
    pub fn to_python<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.data.len() != self.size() {
            return Err(PyValueError::new_err(format!(
                "array data has {} elements for shape {:?}",
                self.data.len(),
                self.shape
            )));
        }
        if std::mem::discriminant(&self.data)
            != std::mem::discriminant(&ArrayData::empty(self.dtype.kind))
        {
            return Err(PyValueError::new_err(format!(
                "array elements do not match dtype {}",
                self.dtype.numpy_str()
            )));
        }
        let dtype = self.dtype.numpy_str();
        let frombuffer = std_type(py, StdType::FromBuffer)?;
        let shape = PyTuple::new(py, &self.shape)?;
        let arr = match &self.layout {
            Layout::Contiguous(order) => {
                let bytes = PyBytes::new(py, &encode(&self.dtype, &self.data));
                let flat = frombuffer.call1((bytes, dtype.as_str()))?;
                flat.call_method1("reshape", (shape,))?
                    .call_method1("copy", (order_str(*order),))?
            }
            Layout::Strided { base_order, steps } => {
                // base = repeat(view reversed along negative-step axes, |step|), then slice:
                // base[::step] picks exactly the view's elements.
                let rev: Vec<bool> = steps.iter().map(|&s| s < 0).collect();
                let data = reverse_data(&self.data, &self.shape, &rev);
                let bytes = PyBytes::new(py, &encode(&self.dtype, &data));
                let mut base = frombuffer
                    .call1((bytes, dtype.as_str()))?
                    .call_method1("reshape", (shape,))?;
                for (axis, &s) in steps.iter().enumerate() {
                    if s.unsigned_abs() > 1 {
                        base = base.call_method1("repeat", (s.unsigned_abs(), axis))?;
                    }
                }
                let base = base.call_method1("copy", (order_str(*base_order),))?;
                let index = PyTuple::new(
                    py,
                    steps.iter().map(|&s| {
                        let (start, stop) = if s > 0 {
                            (0, isize::MAX)
                        } else {
                            (isize::MAX, isize::MIN)
                        };
                        pyo3::types::PySlice::new(py, start, stop, s)
                    }),
                )?;
                base.get_item(index)?
            }
        };
        if !self.writeable {
            arr.getattr("flags")?.setattr("writeable", false)?;
        }
        Ok(arr)
    }
}

fn order_str(o: Order) -> &'static str {
    match o {
        Order::C => "C",
        Order::F => "F",
    }
}
