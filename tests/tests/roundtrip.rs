//! value → Python → value, and eval(python_source) == value, for every type.

use pyo3::prelude::*;
use pyz3::value::{NdArray, Value};

use crate::common::{all_strategies, eval_source, python, sample};

fn check_array_object(obj: &Bound<'_, PyAny>, a: &NdArray, what: &str) {
    let strides: Vec<isize> = obj.getattr("strides").unwrap().extract().unwrap();
    let dtype: String = obj
        .getattr("dtype")
        .unwrap()
        .getattr("str")
        .unwrap()
        .extract()
        .unwrap();
    let writeable: bool = obj
        .getattr("flags")
        .unwrap()
        .getattr("writeable")
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(dtype, a.dtype.numpy_str(), "{what}: dtype of {a:?}");
    if a.size() > 0 {
        assert_eq!(
            strides,
            a.strides(),
            "{what}: strides of {:?}",
            Value::Array(a.clone())
        );
    }
    assert_eq!(writeable, a.writeable, "{what}: writeable");
}

fn check_nested_arrays(obj: &Bound<'_, PyAny>, v: &Value, what: &str) {
    if let Value::Array(a) = v {
        check_array_object(obj, a, what);
    }
}

#[test]
fn every_type_round_trips_through_python() {
    python(|py| {
        for (name, s) in all_strategies() {
            for v in sample(&s, 300, 1) {
                let obj = v
                    .to_python(py)
                    .unwrap_or_else(|e| panic!("{name}: to_python({v:?}): {e}"));
                let expected_type = match &v {
                    Value::Enum(_) => None,
                    other => Some(other.type_name()),
                };
                if let Some(t) = expected_type {
                    let ty = obj.get_type();
                    let module: String = ty.getattr("__module__").unwrap().extract().unwrap();
                    let qual: String = ty.getattr("__qualname__").unwrap().extract().unwrap();
                    let full = if module == "builtins" {
                        qual
                    } else {
                        format!("{module}.{qual}")
                    };
                    assert_eq!(full, t, "{name}: exact type of {v:?}");
                }
                let back = Value::from_python(&obj)
                    .unwrap_or_else(|e| panic!("{name}: from_python of {v:?}: {e}"));
                assert_eq!(back, v, "{name}: round trip");
                check_nested_arrays(&obj, &v, name);
            }
        }
    });
}

#[test]
fn python_source_evaluates_to_an_equal_object() {
    python(|py| {
        for (name, s) in all_strategies() {
            let n = if name == "any" { 500 } else { 1000 };
            for v in sample(&s, n, 2) {
                let obj = eval_source(py, &v)
                    .unwrap_or_else(|e| panic!("{name}: eval of `{v:?}` failed: {e}"));
                let back = Value::from_python(&obj)
                    .unwrap_or_else(|e| panic!("{name}: from_python of eval(`{v:?}`): {e}"));
                assert_eq!(
                    back, v,
                    "{name}: eval(python_source) differs; source: {v:?}"
                );
                check_nested_arrays(&obj, &v, name);
            }
        }
    });
}

#[test]
fn python_source_examples_from_the_docs() {
    use pyz3::value::*;
    let counter = Value::Counter(vec![(Value::str("a"), Value::int(-2))]);
    assert_eq!(
        counter.python_source().expr,
        "collections.Counter({'a': -2})"
    );
    assert_eq!(
        counter
            .python_source()
            .imports
            .into_iter()
            .collect::<Vec<_>>(),
        vec!["collections".to_string()]
    );
    assert_eq!(
        Value::Str(PyStr(vec![0xD800])).python_source().expr,
        "'\\ud800'"
    );
    assert_eq!(Value::Float(-0.0).python_source().expr, "-0.0");
    assert_eq!(Value::Float(f64::NAN).python_source().expr, "float('nan')");
    assert_eq!(
        Value::Tuple(vec![Value::int(1)]).python_source().expr,
        "(1,)"
    );
    let strided = Value::Array(NdArray {
        dtype: DType::native(DKind::Int(8)),
        shape: vec![4],
        data: ArrayData::Int(vec![0, 3, 6, 9]),
        layout: Layout::Strided {
            base_order: Order::C,
            steps: vec![3],
        },
        writeable: true,
    });
    assert_eq!(
        strided.python_source().expr,
        "numpy.array([0, 3, 6, 9], dtype='<i8').repeat(3, axis=0)[::3]"
    );
    python(|py| {
        let obj = eval_source(py, &strided).unwrap();
        let strides: Vec<isize> = obj.getattr("strides").unwrap().extract().unwrap();
        assert_eq!(strides, vec![24]);
        assert_eq!(Value::from_python(&obj).unwrap(), strided);
    });
}

#[test]
fn arrays_built_by_numpy_itself_are_read_faithfully() {
    python(|py| {
        let cases = [
            ("numpy.arange(12, dtype='<i8')[::3]", vec![24isize]),
            (
                "numpy.arange(12, dtype='>i4').reshape(3, 4)[:, ::-2]",
                vec![16, -8],
            ),
            (
                "numpy.asfortranarray(numpy.arange(6.0).reshape(2, 3))",
                vec![8, 16],
            ),
            // NumPy gives arrays without elements all-zero strides.
            ("numpy.zeros((0, 3), dtype='<f4')", vec![0, 0]),
            ("numpy.array(5, dtype='|u1')", vec![]),
        ];
        for (src, strides) in cases {
            let globals = pyo3::types::PyDict::new(py);
            py.run(c"import numpy", Some(&globals), None).unwrap();
            let code = std::ffi::CString::new(src).unwrap();
            let obj = py.eval(&code, Some(&globals), None).unwrap();
            let v = Value::from_python(&obj).unwrap();
            let again = v.to_python(py).unwrap();
            let eq: bool = py
                .import("numpy")
                .unwrap()
                .call_method1("array_equal", (&obj, &again))
                .unwrap()
                .extract()
                .unwrap();
            assert!(eq, "{src}: elements differ after a round trip");
            let original: Vec<isize> = obj.getattr("strides").unwrap().extract().unwrap();
            assert_eq!(original, strides, "{src}: NumPy's own strides");
            let got: Vec<isize> = again.getattr("strides").unwrap().extract().unwrap();
            assert_eq!(got, strides, "{src}: strides after a round trip ({v:?})");
        }
    });
}

#[test]
fn objects_outside_the_model_are_named_in_the_error() {
    python(|py| {
        let obj = py.eval(c"object()", None, None).unwrap();
        let err = Value::from_python(&obj).unwrap_err().to_string();
        assert!(err.contains("object"), "{err}");
        let obj = py.eval(c"range(3)", None, None).unwrap();
        let err = Value::from_python(&obj).unwrap_err().to_string();
        assert!(err.contains("range"), "{err}");
    });
}

#[test]
fn exception_text_names_the_module_of_non_builtin_exceptions() {
    python(|py| {
        let err = py
            .run(c"import struct; struct.pack('b', 1000)", None, None)
            .unwrap_err();
        let text = pyz3::py::err_text(py, &err);
        assert!(text.starts_with("struct.error: "), "{text}");
        let err = py.run(c"int('x')", None, None).unwrap_err();
        assert!(pyz3::py::err_text(py, &err).starts_with("ValueError: "));
    });
}
