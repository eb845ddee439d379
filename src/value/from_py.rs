//! Live Python object → value.
//!
//! For the harness (reading back arguments and results) and for tests of the converters.
//! [`Value::from_python`] accepts exactly the types the model represents and names the type of
//! anything else in its error.

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyComplex, PyDate, PyDateAccess, PyDateTime, PyDelta,
    PyDeltaAccess, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTime,
    PyTimeAccess, PyTuple, PyTzInfoAccess,
};

use super::model::*;
use super::ndarray::{decode, DType, NdArray};
use crate::py::{std_type, StdType};

impl PyStr {
    /// Reads the code points of a Python `str`.
    pub fn from_python(obj: &Bound<'_, PyAny>) -> PyResult<PyStr> {
        let s = obj.cast::<PyString>()?;
        // SAFETY: `s` is a live str; the copy is NUL-terminated, `len` units long, and freed here.
        unsafe {
            let len = ffi::PyUnicode_GetLength(s.as_ptr());
            if len < 0 {
                return Err(PyErr::fetch(obj.py()));
            }
            let buf = ffi::PyUnicode_AsUCS4Copy(s.as_ptr());
            if buf.is_null() {
                return Err(PyErr::fetch(obj.py()));
            }
            let out = std::slice::from_raw_parts(buf, len as usize).to_vec();
            ffi::PyMem_Free(buf.cast());
            Ok(PyStr(out))
        }
    }
}

fn items_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Value>> {
    obj.try_iter()?.map(|x| Value::from_python(&x?)).collect()
}

fn pairs_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(Value, Value)>> {
    let d = obj.cast::<PyDict>()?;
    d.iter()
        .map(|(k, v)| Ok((Value::from_python(&k)?, Value::from_python(&v)?)))
        .collect()
}

fn is(obj: &Bound<'_, PyAny>, ty: StdType) -> PyResult<bool> {
    Ok(obj.get_type().is(std_type(obj.py(), ty)?))
}

fn tz_of(tz: Option<Bound<'_, pyo3::types::PyTzInfo>>) -> PyResult<Option<Tz>> {
    let Some(tz) = tz else { return Ok(None) };
    let py = tz.py();
    let timezone = std_type(py, StdType::Timezone)?;
    if !tz.get_type().is(timezone) {
        return Err(PyTypeError::new_err(format!(
            "tzinfo of type {} is outside the value model (only datetime.timezone)",
            tz.get_type().name()?
        )));
    }
    let delta = tz.call_method1("utcoffset", (py.None(),))?;
    let delta = delta.cast::<PyDelta>()?;
    let offset_us = (delta.get_days() as i64 * 86_400 + delta.get_seconds() as i64) * 1_000_000
        + delta.get_microseconds() as i64;
    let name = tz.call_method1("tzname", (py.None(),))?;
    let default = timezone
        .call1((delta,))?
        .call_method1("tzname", (py.None(),))?;
    let name = if name.eq(&default)? {
        None
    } else {
        Some(PyStr::from_python(&name)?)
    };
    Ok(Some(Tz { offset_us, name }))
}

fn time_of(t: &Bound<'_, PyTime>) -> PyResult<Time> {
    Ok(Time {
        hour: t.get_hour(),
        minute: t.get_minute(),
        second: t.get_second(),
        microsecond: t.get_microsecond(),
        tz: tz_of(t.get_tzinfo())?,
        fold: t.get_fold(),
    })
}

impl Value {
    /// Reads a Python object of one of the model's types into a value.
    pub fn from_python(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
        let py = obj.py();
        if obj.is_none() {
            return Ok(Value::None);
        }
        if obj.is_exact_instance_of::<PyBool>() {
            return Ok(Value::Bool(obj.is_truthy()?));
        }
        if obj.is_exact_instance_of::<PyInt>() {
            // Most ints fit a machine word: skip the big-int conversion for them.
            if let Ok(small) = obj.extract::<i64>() {
                return Ok(Value::int(small));
            }
            return Ok(Value::Int(obj.extract()?));
        }
        if obj.is_exact_instance_of::<PyFloat>() {
            return Ok(Value::Float(obj.extract()?));
        }
        if obj.is_exact_instance_of::<PyComplex>() {
            let c = obj.cast::<PyComplex>()?;
            return Ok(Value::Complex {
                re: c.real(),
                im: c.imag(),
            });
        }
        if obj.is_exact_instance_of::<PyString>() {
            return Ok(Value::Str(PyStr::from_python(obj)?));
        }
        if obj.is_exact_instance_of::<PyBytes>() {
            return Ok(Value::Bytes(obj.cast::<PyBytes>()?.as_bytes().to_vec()));
        }
        if obj.is_exact_instance_of::<PyByteArray>() {
            return Ok(Value::ByteArray(obj.cast::<PyByteArray>()?.to_vec()));
        }
        if obj.is_exact_instance_of::<PyList>() {
            return Ok(Value::List(items_of(obj)?));
        }
        if obj.is_exact_instance_of::<PyTuple>() {
            return Ok(Value::Tuple(items_of(obj)?));
        }
        if obj.is_exact_instance_of::<PyDict>() {
            return Ok(Value::Dict(pairs_of(obj)?));
        }
        if obj.is_exact_instance_of::<PySet>() {
            return Ok(Value::Set(items_of(obj)?));
        }
        if obj.is_exact_instance_of::<PyFrozenSet>() {
            return Ok(Value::FrozenSet(items_of(obj)?));
        }
        if obj.is_exact_instance_of::<PyDateTime>() {
            let dt = obj.cast::<PyDateTime>()?;
            let date = Date {
                year: dt.get_year(),
                month: dt.get_month(),
                day: dt.get_day(),
            };
            let time = Time {
                hour: dt.get_hour(),
                minute: dt.get_minute(),
                second: dt.get_second(),
                microsecond: dt.get_microsecond(),
                tz: tz_of(dt.get_tzinfo())?,
                fold: dt.get_fold(),
            };
            return Ok(Value::DateTime(DateTime { date, time }));
        }
        if obj.is_exact_instance_of::<PyDate>() {
            let d = obj.cast::<PyDate>()?;
            return Ok(Value::Date(Date {
                year: d.get_year(),
                month: d.get_month(),
                day: d.get_day(),
            }));
        }
        if obj.is_exact_instance_of::<PyTime>() {
            return Ok(Value::Time(time_of(obj.cast::<PyTime>()?)?));
        }
        if obj.is_exact_instance_of::<PyDelta>() {
            let d = obj.cast::<PyDelta>()?;
            return Ok(Value::TimeDelta(TimeDelta {
                days: d.get_days(),
                seconds: d.get_seconds() as u32,
                microseconds: d.get_microseconds() as u32,
            }));
        }
        if is(obj, StdType::Counter)? {
            return Ok(Value::Counter(pairs_of(obj)?));
        }
        if is(obj, StdType::OrderedDict)? {
            return Ok(Value::OrderedDict(pairs_of(obj)?));
        }
        if is(obj, StdType::DefaultDict)? {
            let f = obj.getattr("default_factory")?;
            let factory = if f.is_none() {
                DefaultFactory::None
            } else if f.is(py.get_type::<PyInt>()) {
                DefaultFactory::Int
            } else if f.is(py.get_type::<PyList>()) {
                DefaultFactory::List
            } else if f.is(py.get_type::<PySet>()) {
                DefaultFactory::Set
            } else if f.is(py.get_type::<PyString>()) {
                DefaultFactory::Str
            } else {
                return Err(PyTypeError::new_err(format!(
                    "defaultdict factory {} is outside the value model (None, int, list, set, str)",
                    f.repr()?
                )));
            };
            return Ok(Value::DefaultDict {
                factory,
                items: pairs_of(obj)?,
            });
        }
        if is(obj, StdType::Deque)? {
            let maxlen: Option<usize> = obj.getattr("maxlen")?.extract()?;
            return Ok(Value::Deque {
                items: items_of(obj)?,
                maxlen,
            });
        }
        if is(obj, StdType::Fraction)? {
            let f = Fraction::new(
                obj.getattr("numerator")?.extract()?,
                obj.getattr("denominator")?.extract()?,
            )
            .ok_or_else(|| PyTypeError::new_err("Fraction with a zero denominator"))?;
            return Ok(Value::Fraction(f));
        }
        if is(obj, StdType::Decimal)? {
            return Ok(Value::Decimal(decimal_of(obj)?));
        }
        if is(obj, StdType::NdArray)? {
            return Ok(Value::Array(NdArray::from_python(obj)?));
        }
        if obj.is_instance(std_type(py, StdType::Enum)?)? {
            return Ok(Value::Enum(enum_of(obj)?));
        }
        Err(PyTypeError::new_err(format!(
            "objects of type {} are outside the value model",
            obj.get_type().fully_qualified_name()?
        )))
    }
}

fn decimal_of(obj: &Bound<'_, PyAny>) -> PyResult<Decimal> {
    let t = obj.call_method0("as_tuple")?;
    let negative = t.get_item(0)?.extract::<i64>()? != 0;
    let digits: Vec<u8> = t.get_item(1)?.extract()?;
    let mut text: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
    let exp = t.get_item(2)?;
    let kind = if let Ok(code) = exp.extract::<String>() {
        let payload = text.trim_start_matches('0').to_string();
        match code.as_str() {
            "F" => DecimalKind::Infinity,
            "n" => DecimalKind::NaN { payload },
            _ => DecimalKind::SNaN { payload },
        }
    } else {
        let trimmed = text.trim_start_matches('0');
        text = if trimmed.is_empty() {
            "0".into()
        } else {
            trimmed.into()
        };
        DecimalKind::Finite {
            coefficient: text,
            exponent: exp.extract()?,
        }
    };
    Ok(Decimal { negative, kind })
}

fn enum_of(obj: &Bound<'_, PyAny>) -> PyResult<EnumMember> {
    let py = obj.py();
    let cls = obj.get_type();
    let module: String = cls.getattr("__module__")?.extract()?;
    let qualname: String = cls.getattr("__qualname__")?.extract()?;
    let members = cls.getattr("__members__")?;
    let name = obj.getattr("_name_")?;
    let named = match name.extract::<Option<String>>()? {
        Some(n) => {
            // A composite Flag has a name like "A|B" that is not a member.
            match members.get_item(n.as_str()) {
                Ok(m) if m.is(obj) => Some(n),
                _ => None,
            }
        }
        None => None,
    };
    let member = match named {
        Some(n) => MemberRef::Name(n),
        None => MemberRef::Value(obj.getattr("_value_")?.extract()?),
    };
    let class = if module == GENERATED_ENUM_MODULE {
        let kind = if cls.is_subclass(std_type(py, StdType::IntEnum)?)? {
            EnumKind::IntEnum
        } else if cls.is_subclass(std_type(py, StdType::Flag)?)? {
            EnumKind::Flag
        } else {
            EnumKind::Enum
        };
        let mut list = Vec::new();
        for item in members.call_method0("items")?.try_iter()? {
            let (n, m): (String, Bound<'_, PyAny>) = item?.extract()?;
            list.push((n, m.getattr("_value_")?.extract()?));
        }
        EnumClass::Generated(std::sync::Arc::new(GeneratedEnum {
            name: cls.getattr("__name__")?.extract()?,
            kind,
            members: list,
        }))
    } else {
        EnumClass::User { module, qualname }
    };
    Ok(EnumMember { class, member })
}

impl NdArray {
    /// Reads a NumPy array: dtype, shape, elements, layout and writeability.
    pub fn from_python(obj: &Bound<'_, PyAny>) -> PyResult<NdArray> {
        let dtype_str: String = obj.getattr("dtype")?.getattr("str")?.extract()?;
        let dtype = DType::parse_numpy_str(&dtype_str).ok_or_else(|| {
            PyTypeError::new_err(format!("dtype {dtype_str} is outside the value model"))
        })?;
        let shape: Vec<usize> = obj.getattr("shape")?.extract()?;
        let strides: Vec<isize> = obj.getattr("strides")?.extract()?;
        let flags = obj.getattr("flags")?;
        let c: bool = flags.getattr("c_contiguous")?.extract()?;
        let f: bool = flags.getattr("f_contiguous")?.extract()?;
        let writeable: bool = flags.getattr("writeable")?.extract()?;
        let bytes = obj.call_method1("tobytes", ("C",))?;
        let data = decode(&dtype, bytes.cast::<PyBytes>()?.as_bytes());
        let layout = NdArray::infer_layout(&shape, &strides, dtype.itemsize(), c, f);
        let mut arr = NdArray {
            dtype,
            shape,
            data,
            layout,
            writeable,
        };
        arr.canonicalize();
        Ok(arr)
    }
}
