//! Strategies from type expressions: the forms a stub uses, the registry, and bad input.

use pyo3::prelude::*;
use pyz3::strategy::{Registry, Size};
use pyz3::value::{DKind, Value};

use crate::common::{python, sample};

fn values(expr: &str) -> Vec<Value> {
    let ts = Registry::new(Size::default()).resolve(expr).unwrap();
    assert!(
        ts.warnings.is_empty(),
        "{expr}: unexpected warnings {:?}",
        ts.warnings
    );
    sample(&ts.strategy, 200, 9)
}

/// Checks every generated value with a Python predicate over `x`.
fn all_satisfy(expr: &str, predicate: &str) {
    python(|py| {
        let code = std::ffi::CString::new(predicate).unwrap();
        for v in values(expr) {
            let globals = pyo3::types::PyDict::new(py);
            py.run(
                c"import collections, fractions, decimal, datetime, enum, numpy, typing",
                Some(&globals),
                None,
            )
            .unwrap();
            globals.set_item("x", v.to_python(py).unwrap()).unwrap();
            let ok: bool = py
                .eval(&code, Some(&globals), None)
                .unwrap()
                .extract()
                .unwrap();
            assert!(ok, "{expr}: {v:?} fails `{predicate}`");
        }
    });
}

#[test]
fn builtin_and_generic_forms() {
    all_satisfy("int", "type(x) is int");
    all_satisfy("list[dict[str, int]]", "type(x) is list and all(type(d) is dict and all(type(k) is str and type(v) is int for k, v in d.items()) for d in x)");
    all_satisfy("typing.Optional[int]", "x is None or type(x) is int");
    all_satisfy("Union[int, str]", "type(x) in (int, str)");
    all_satisfy("int | None", "x is None or type(x) is int");
    all_satisfy(
        "tuple[int, ...]",
        "type(x) is tuple and all(type(i) is int for i in x)",
    );
    all_satisfy(
        "tuple[int, str]",
        "type(x) is tuple and len(x) == 2 and type(x[0]) is int and type(x[1]) is str",
    );
    all_satisfy("tuple[()]", "x == ()");
    all_satisfy(
        "typing.Sequence[float]",
        "type(x) is list and all(type(i) is float for i in x)",
    );
    all_satisfy(
        "Mapping[str, Any]",
        "type(x) is dict and all(type(k) is str for k in x)",
    );
    all_satisfy(
        "set[bytes]",
        "type(x) is set and all(type(i) is bytes for i in x)",
    );
    all_satisfy("frozenset[int]", "type(x) is frozenset");
    all_satisfy("Literal['a', 1, None, True]", "x in ('a', 1, None, True)");
    all_satisfy("collections.Counter[str]", "type(x) is collections.Counter and all(type(k) is str and type(v) is int for k, v in x.items())");
    all_satisfy(
        "collections.deque[int]",
        "type(x) is collections.deque and (x.maxlen is None or len(x) <= x.maxlen)",
    );
    all_satisfy(
        "collections.defaultdict[str, list[int]]",
        "type(x) is collections.defaultdict and x.default_factory in (int, list, set, str, None)",
    );
    all_satisfy(
        "collections.OrderedDict[int, str]",
        "type(x) is collections.OrderedDict",
    );
    all_satisfy("fractions.Fraction", "type(x) is fractions.Fraction");
    all_satisfy("decimal.Decimal", "type(x) is decimal.Decimal");
    all_satisfy("datetime.datetime", "type(x) is datetime.datetime");
    all_satisfy("datetime.date", "type(x) is datetime.date");
    all_satisfy("datetime.time", "type(x) is datetime.time");
    all_satisfy("datetime.timedelta", "type(x) is datetime.timedelta");
    all_satisfy(
        "numpy.typing.NDArray[numpy.int64]",
        "type(x) is numpy.ndarray and x.dtype.type is numpy.int64",
    );
    all_satisfy(
        "npt.NDArray[np.float32]",
        "type(x) is numpy.ndarray and x.dtype.type is numpy.float32",
    );
    all_satisfy("np.ndarray", "type(x) is numpy.ndarray");
    all_satisfy(
        "numpy.ndarray[typing.Any, numpy.dtype[numpy.uint8]]",
        "x.dtype == numpy.uint8",
    );
    all_satisfy("NDArray[np.datetime64]", "x.dtype.kind == 'M'");
    all_satisfy("'list[int]'", "type(x) is list");
    all_satisfy("Any", "True");
    all_satisfy("enum.Enum", "isinstance(x, enum.Enum)");
}

#[test]
fn registry_supplies_user_classes() {
    let mut reg = Registry::new(Size::default());
    reg.register(
        "mymod.Celsius",
        pyz3::strategy::scalar::int_range(-273, 1000),
    );
    let ts = reg.resolve("list[mymod.Celsius]").unwrap();
    assert!(ts.warnings.is_empty());
    for v in sample(&ts.strategy, 100, 1) {
        let Value::List(items) = v else { panic!() };
        for i in items {
            let Value::Int(i) = i else { panic!() };
            assert!(i >= (-273).into() && i <= 1000.into());
        }
    }
    // Found by its last component too.
    assert!(reg.resolve("Celsius").unwrap().warnings.is_empty());
}

#[test]
fn user_enum_class_members() {
    python(|py| {
        py.run(
            c"import enum, sys, types\nm = types.ModuleType('pyz3_test_colors')\nclass Color(enum.Enum):\n    RED = 1\n    GREEN = 2\n    VERDE = 2\nm.Color = Color\nColor.__module__ = 'pyz3_test_colors'\nsys.modules['pyz3_test_colors'] = m\n",
            None,
            None,
        )
        .unwrap();
        let s = pyz3::strategy::enums::member_of(py, "pyz3_test_colors:Color").unwrap();
        let values = sample(&s, 50, 1);
        let sources: std::collections::BTreeSet<String> =
            values.iter().map(|v| format!("{v:?}")).collect();
        assert_eq!(
            sources.into_iter().collect::<Vec<_>>(),
            vec![
                "pyz3_test_colors.Color['GREEN']",
                "pyz3_test_colors.Color['RED']"
            ]
        );
        for v in values {
            let obj = v.to_python(py).unwrap();
            assert_eq!(Value::from_python(&obj).unwrap(), v);
        }
        assert!(pyz3::strategy::enums::member_of(py, "pyz3_test_colors:Nope").is_err());
    });
}

#[test]
fn unknown_names_fall_back_with_a_warning() {
    let ts = Registry::new(Size::default())
        .resolve("list[Frobnicator]")
        .unwrap();
    assert_eq!(ts.warnings.len(), 1, "{:?}", ts.warnings);
    assert!(ts.warnings[0].contains("Frobnicator"), "{:?}", ts.warnings);
    assert_eq!(sample(&ts.strategy, 50, 1).len(), 50);
    let ts = Registry::new(Size::default())
        .resolve("NDArray[np.float128]")
        .unwrap();
    assert!(ts.warnings[0].contains("float128"), "{:?}", ts.warnings);
    // A `Callable` is no fallback: it gets a generated callback (docs/hostile-values.md).
    let ts = Registry::new(Size::default())
        .resolve("Callable[[int], str]")
        .unwrap();
    assert!(ts.warnings.is_empty(), "{:?}", ts.warnings);
    let callbacks = sample(&ts.strategy, 5, 1);
    assert!(
        callbacks.iter().all(|v| matches!(v, Value::Hostile(_))),
        "{callbacks:?}"
    );
}

#[test]
fn malformed_expressions_are_rejected_with_the_offending_part() {
    for (expr, part) in [
        ("list[int", "["),
        ("list[int]]", "]"),
        ("int str", "str"),
        ("dict[,int]", ","),
        ("list[]", "]"),
        ("list[int$]", "$"),
        ("'abc", "'"),
        ("int || str", "|"),
        ("", "empty"),
    ] {
        let err = Registry::new(Size::default())
            .resolve(expr)
            .unwrap_err()
            .to_string();
        assert!(err.contains(part), "`{expr}`: {err}");
        assert!(!err.contains('\n'), "`{expr}`: multi-line error {err}");
    }
}

#[test]
fn numpy_scalar_dtypes_map_to_their_kinds() {
    assert_eq!(
        pyz3::strategy::annotation::dtype_kind("np.int8"),
        Some(DKind::Int(1))
    );
    assert_eq!(
        pyz3::strategy::annotation::dtype_kind("numpy.complex64"),
        Some(DKind::Complex(8))
    );
    assert_eq!(
        pyz3::strategy::annotation::dtype_kind("np.float16"),
        Some(DKind::Float(2))
    );
    assert_eq!(pyz3::strategy::annotation::dtype_kind("np.thing"), None);
}

#[test]
fn review_fixes_for_type_names() {
    // Builtin scalar types as dtypes.
    all_satisfy("NDArray[float]", "x.dtype.type is numpy.float64");
    all_satisfy("NDArray[int]", "x.dtype.type is numpy.int64");
    // Each enum base gives members of that kind only.
    all_satisfy("enum.IntEnum", "isinstance(x, enum.IntEnum)");
    all_satisfy("enum.Flag", "isinstance(x, enum.Flag)");
    all_satisfy("Iterator", "type(x) is list");
    // NumPy unsigned scalars reach their whole range.
    let ts = Registry::new(Size::default()).resolve("np.uint64").unwrap();
    let big = sample(&ts.strategy, 1000, 1)
        .into_iter()
        .any(|v| matches!(v, Value::Int(i) if i > num_bigint::BigInt::from(i64::MAX)));
    assert!(big, "np.uint64 never above 2**63 - 1");
    // Unhashable key types warn instead of silently giving empty dicts.
    let ts = Registry::new(Size::default())
        .resolve("dict[list[int], int]")
        .unwrap();
    assert!(
        ts.warnings.iter().any(|w| w.contains("not hashable")),
        "{:?}",
        ts.warnings
    );
    // A registered `mymod.date` does not capture `datetime.date`, but `date` alone finds it.
    let mut reg = Registry::new(Size::default());
    reg.register("mymod.date", pyz3::strategy::scalar::int_range(0, 0));
    python(|py| {
        for v in sample(&reg.resolve("datetime.date").unwrap().strategy, 20, 1) {
            assert_eq!(v.to_python(py).unwrap().get_type().name().unwrap(), "date");
        }
    });
    assert_eq!(
        sample(&reg.resolve("date").unwrap().strategy, 3, 1),
        vec![Value::int(0); 3]
    );
}

/// The Python type names of the values of `expr` (no warnings allowed), each checked against
/// `predicate` over `x`.
fn type_names(expr: &str, predicate: &str) -> std::collections::BTreeSet<String> {
    all_satisfy(expr, predicate);
    python(|py| {
        values(expr)
            .iter()
            .map(|v| {
                let obj = v.to_python(py).unwrap();
                let name = obj.get_type().name().unwrap().to_string();
                let read_only = name == "ndarray"
                    && !obj
                        .getattr("flags")
                        .unwrap()
                        .getattr("writeable")
                        .unwrap()
                        .extract::<bool>()
                        .unwrap();
                if read_only {
                    "read-only ndarray".to_string()
                } else {
                    name
                }
            })
            .collect()
    })
}

#[test]
fn buffer_types_give_bytes_bytearray_and_uint8_arrays() {
    // Every object exports a contiguous buffer of bytes, read as it is.
    let readable = "memoryview(x).c_contiguous and memoryview(x).tobytes() == bytes(x) \
        and (type(x) in (bytes, bytearray) or (type(x) is numpy.ndarray \
        and x.dtype == numpy.uint8 and x.ndim == 1))";
    for expr in [
        "Buffer",
        "collections.abc.Buffer",
        "typing_extensions.Buffer",
        "_typeshed.ReadableBuffer",
        "_typeshed.ReadOnlyBuffer",
        "ReadableBuffer",
        "typing.ByteString",
        "collections.abc.ByteString",
        "memoryview",
        "builtins.memoryview",
        "memoryview[int]",
    ] {
        let kinds = type_names(expr, readable);
        let want = ["bytes", "bytearray", "ndarray", "read-only ndarray"];
        assert_eq!(
            kinds,
            want.iter().map(|s| s.to_string()).collect(),
            "{expr}"
        );
    }
    // A writeable buffer: never bytes, never read-only.
    let kinds = type_names(
        "_typeshed.WriteableBuffer",
        &format!("{readable} and not memoryview(x).readonly"),
    );
    assert_eq!(
        kinds,
        ["bytearray", "ndarray"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    // Never hashable, so never a key.
    let ts = Registry::new(Size::default())
        .resolve("set[WriteableBuffer]")
        .unwrap();
    assert!(
        ts.warnings.iter().any(|w| w.contains("not hashable")),
        "{:?}",
        ts.warnings
    );
    // The fuzzer's decoder makes the same objects.
    let (shape, warnings) = Registry::new(Size::default())
        .shape("_typeshed.ReadableBuffer")
        .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let shapes = vec![shape; 3];
    let args = pyz3::fuzz::decode_args(&shapes, &[0, 0, 1, 0, 2, 4, b'y', b'z']);
    assert!(
        matches!(&args[0], Value::Bytes(b) if b.is_empty()),
        "{args:?}"
    );
    assert!(
        matches!(&args[1], Value::ByteArray(b) if b.is_empty()),
        "{args:?}"
    );
    let Value::Array(a) = &args[2] else {
        panic!("{args:?}")
    };
    assert_eq!((a.shape.clone(), a.writeable), (vec![2], false));
    assert_eq!(a.data, pyz3::value::ArrayData::UInt(vec![121, 122]));
}

#[test]
fn any_str_is_str_or_bytes() {
    let kinds = type_names("AnyStr", "type(x) in (str, bytes)");
    assert_eq!(
        kinds,
        ["bytes", "str"].iter().map(|s| s.to_string()).collect()
    );
    all_satisfy("typing.AnyStr", "type(x) in (str, bytes)");
}

#[test]
fn any_str_parameters_agree_in_every_case_and_shrink() {
    use proptest::strategy::ValueTree;
    use pyz3::check::cases::{arg_strategies, case_tree, generate_case};

    let names = ["a".to_string(), "n".to_string(), "b".to_string()];
    let types = [
        "AnyStr".to_string(),
        "int".to_string(),
        "typing.AnyStr".to_string(),
    ];
    let a = arg_strategies(&names, &types, 0).unwrap();
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    let kind = |v: &Value| match v {
        Value::Str(_) => "str",
        Value::Bytes(_) => "bytes",
        other => panic!("not str or bytes: {other:?}"),
    };
    let mut seen = std::collections::BTreeSet::new();
    for index in 0..300 {
        let case = generate_case(&a.strategies, 0, index);
        assert_eq!(case.len(), 3);
        assert!(matches!(case[1], Value::Int(_)), "{case:?}");
        assert_eq!(kind(&case[0]), kind(&case[2]), "case {index}: {case:?}");
        // The shrinking tree starts from the same case.
        let tree = case_tree(&a.strategies, 0, index).unwrap();
        assert_eq!(tree.current(), case);
        seen.insert(kind(&case[0]));
    }
    assert_eq!(seen.len(), 2, "only {seen:?}");

    // Shrinking a `bytes` case never mixes the two: a failure that needs `bytes` shrinks to the
    // simplest `bytes` call, and one that fails for anything to the simplest `str` call (the
    // first alternative).
    let first_bytes_case = (0..300)
        .find(|&i| matches!(generate_case(&a.strategies, 0, i)[0], Value::Bytes(ref b) if b.len() > 2))
        .expect("a bytes case");
    let shrink = |fails: &dyn Fn(&[Value]) -> bool| {
        let tree = case_tree(&a.strategies, 0, first_bytes_case).unwrap();
        let mut runner = proptest::test_runner::TestRunner::default();
        let result = runner.run_one(tree, |args: Vec<Value>| {
            assert_eq!(
                kind(&args[0]),
                kind(&args[2]),
                "mixed while shrinking: {args:?}"
            );
            if fails(&args) {
                Err(proptest::test_runner::TestCaseError::fail("fails"))
            } else {
                Ok(())
            }
        });
        match result {
            Err(proptest::test_runner::TestError::Fail(_, minimal)) => minimal,
            other => panic!("{other:?}"),
        }
    };
    let long_bytes = |args: &[Value]| matches!(&args[2], Value::Bytes(b) if b.len() >= 2);
    assert_eq!(
        shrink(&long_bytes),
        vec![
            Value::Bytes(vec![]),
            Value::int(0),
            Value::Bytes(vec![0, 0])
        ]
    );
    assert_eq!(
        shrink(&|_| true),
        vec![Value::Str("".into()), Value::int(0), Value::Str("".into())]
    );
}
