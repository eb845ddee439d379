//! Generated values of every type, enum members, agreement with CPython's own pickles,
//! independent unpicklings and argument tuples.

use super::*;

/// The common families, plus arrays of every dtype kind and byte order, bigger values and
/// members of user enum classes.
fn strategies(py: Python<'_>) -> Vec<(String, ValueStrategy, usize)> {
    let mut out: Vec<(String, ValueStrategy, usize)> = all_strategies()
        .into_iter()
        .map(|(name, s)| {
            let n = if name == "any" { 1500 } else { 1000 };
            (name.to_string(), s, n)
        })
        .collect();
    let s = Size::default();
    for kind in strategy::numpy::all_kinds() {
        out.push((
            format!("ndarray {kind:?}"),
            strategy::numpy::arrays_of_kind(kind, s),
            150,
        ));
    }
    let large = Size::large();
    out.push(("int (large)".into(), strategy::scalar::int(large), 1000));
    out.push(("str (large)".into(), strategy::text::string(large), 1000));
    out.push((
        "ndarray (large)".into(),
        strategy::numpy::arrays(large),
        200,
    ));
    out.push(("any (default)".into(), strategy::any_value(s), 500));
    for kind in [EnumKind::Enum, EnumKind::IntEnum, EnumKind::Flag] {
        out.push((
            format!("enum {kind:?}"),
            strategy::enums::generated_member_of(kind),
            300,
        ));
    }
    for path in ["re:RegexFlag", "http:HTTPStatus", USER_ENUM_PATH] {
        out.push((
            path.to_string(),
            strategy::enums::member_of(py, path).unwrap(),
            100,
        ));
    }
    out
}

const USER_ENUM_MODULE: &str = "pyz3_pickle_test_enums";
const USER_ENUM_PATH: &str = "pyz3_pickle_test_enums:Outer.Color";

/// A user module with a nested enum class and a Flag, importable by name (installed once: tests
/// run in parallel and must all see the same classes).
fn install_user_enums(py: Python<'_>) {
    let modules = py.import("sys").unwrap().getattr("modules").unwrap();
    if modules.contains(USER_ENUM_MODULE).unwrap() {
        return;
    }
    let m = PyModule::new(py, USER_ENUM_MODULE).unwrap();
    py.run(
        c"import enum\nclass Outer:\n    class Color(enum.Enum):\n        RED = 1\n        GREEN = 'g'\n        ALIAS = 1\nclass Perm(enum.Flag):\n    R = 4\n    W = 2\n    X = 1\n",
        Some(&m.dict()),
        None,
    )
    .unwrap();
    modules
        .call_method1("setdefault", (USER_ENUM_MODULE, m))
        .unwrap();
}

#[test]
fn generated_values_of_every_type_unpickle_to_what_to_python_builds() {
    python(|py| {
        let ns = setup(py);
        install_user_enums(py);
        let mut total = 0;
        for (name, s, n) in strategies(py) {
            for v in sample(&s, n, 11) {
                check(py, &ns, &v, &name);
                total += 1;
            }
        }
        eprintln!("{total} generated values checked");
        assert!(total > 30_000, "only {total} values checked");
    });
}

#[test]
fn enum_members_by_value_and_generated_classes_made_once() {
    python(|py| {
        let ns = setup(py);
        install_user_enums(py);
        let user = |qualname: &str, member| {
            Value::Enum(EnumMember {
                class: EnumClass::User {
                    module: USER_ENUM_MODULE.into(),
                    qualname: qualname.into(),
                },
                member,
            })
        };
        let def = std::sync::Arc::new(GeneratedEnum {
            name: "FlagX".into(),
            kind: EnumKind::Flag,
            members: vec![("A".into(), 1), ("B".into(), 2), ("C".into(), 4)],
        });
        let gen = |member| {
            Value::Enum(EnumMember {
                class: EnumClass::Generated(def.clone()),
                member,
            })
        };
        let values = [
            user("Perm", MemberRef::Value(6)),
            user("Perm", MemberRef::Value(0)),
            user("Perm", MemberRef::Name("X".into())),
            user("Outer.Color", MemberRef::Name("GREEN".into())),
            gen(MemberRef::Value(5)),
            gen(MemberRef::Value(0)),
            gen(MemberRef::Name("B".into())),
        ];
        for v in &values {
            check(py, &ns, v, "enum");
        }
        let a = loads(py, &gen(MemberRef::Name("A".into())).to_pickle().unwrap()).unwrap();
        let b = loads(py, &gen(MemberRef::Value(3)).to_pickle().unwrap()).unwrap();
        assert!(a.get_type().is(b.get_type()), "one class per definition");
        let module: String = a
            .get_type()
            .getattr("__module__")
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(module, GENERATED_ENUM_MODULE);
    });
}

/// `pickle.dumps(x, 5)` in fast mode (no memo): what CPython writes for the same object.
const CPYTHON_DUMPS: &std::ffi::CStr = c"
import io, pickle
def cpython_dumps(x):
    f = io.BytesIO()
    p = pickle.Pickler(f, 5)
    p.fast = True
    p.dump(x)
    return f.getvalue()
";

#[test]
fn pickles_equal_cpython_own_where_the_encodings_agree() {
    python(|py| {
        let ns = PyDict::new(py);
        py.run(CPYTHON_DUMPS, Some(&ns), None).unwrap();
        let dumps = ns.get_item("cpython_dumps").unwrap().unwrap();
        let s = Size::default();
        let families: Vec<(&str, ValueStrategy)> = vec![
            ("int", strategy::scalar::int(Size::large())),
            ("float", strategy::scalar::float(s)),
            ("str", strategy::text::string(Size::large())),
            ("bytes", strategy::text::bytes(s)),
            ("bytearray", strategy::text::bytearray(s)),
            (
                "list[int]",
                strategy::container::list(strategy::scalar::int(s), 40),
            ),
            (
                "tuple[str]",
                strategy::container::tuple_of(strategy::text::string(s), 6),
            ),
            (
                "dict[str, list[float]]",
                strategy::container::dict(
                    strategy::text::string(s),
                    strategy::container::list(strategy::scalar::float(s), 4),
                    6,
                ),
            ),
            ("date", strategy::datetime::date(s)),
            ("time", strategy::datetime::time(s)),
            ("datetime", strategy::datetime::datetime(s)),
            ("timedelta", strategy::datetime::timedelta(s)),
        ];
        for (name, s) in families {
            for v in sample(&s, 500, 5) {
                let ours = v.to_pickle().unwrap();
                let theirs: Vec<u8> = dumps
                    .call1((v.to_python(py).unwrap(),))
                    .unwrap()
                    .extract()
                    .unwrap();
                assert_eq!(ours, theirs, "{name}: {v:?}");
            }
        }
    });
}

#[test]
fn two_unpicklings_give_independent_objects() {
    python(|py| {
        let ns = setup(py);
        let independent = ns.get_item("independent").unwrap().unwrap();
        for v in sample(&strategy::any_value(Size::default()), 500, 3) {
            let bytes = v.to_pickle().unwrap();
            let (a, b) = (loads(py, &bytes).unwrap(), loads(py, &bytes).unwrap());
            let shared: Option<String> = independent.call1((&a, &b)).unwrap().extract().unwrap();
            assert_eq!(shared, None, "{v:?}");
        }
        // Mutate every mutable kind in one copy; the other still equals the value.
        let v = Value::List(vec![
            Value::List(vec![Value::int(1)]),
            Value::Dict(vec![]),
            Value::Set(vec![]),
            Value::ByteArray(b"ab".to_vec()),
            Value::Deque {
                items: vec![],
                maxlen: None,
            },
            Value::Counter(vec![]),
            Value::OrderedDict(vec![]),
            Value::DefaultDict {
                factory: DefaultFactory::List,
                items: vec![],
            },
            array(
                DType::native(DKind::Float(8)),
                vec![3],
                ArrayData::Float(vec![1.0, 2.0, 3.0]),
                Layout::Strided {
                    base_order: Order::C,
                    steps: vec![-2],
                },
                true,
            ),
        ]);
        let bytes = v.to_pickle().unwrap();
        let (a, b) = (loads(py, &bytes).unwrap(), loads(py, &bytes).unwrap());
        let locals = PyDict::new(py);
        locals.set_item("a", &a).unwrap();
        py.run(
            c"a[0].append(2); a[1]['k'] = 1; a[2].add(1); a[3][0] = 0; a[4].append(1)
a[5]['x'] += 1; a[6]['y'] = 2; a[7]['z'].append(3); a[8][0] = 9.0; a[8].base[1] = 7.0",
            None,
            Some(&locals),
        )
        .unwrap();
        assert_eq!(Value::from_python(&b).unwrap(), v);
        assert_ne!(Value::from_python(&a).unwrap(), v);
    });
}

#[test]
fn args_pickle_is_a_tuple_of_the_arguments() {
    python(|py| {
        let ns = setup(py);
        let args = sample(&strategy::any_value(Size::default()), 8, 21);
        for n in [0, 1, 2, 3, 4, 8] {
            let o = loads(py, &args_pickle(&args[..n]).unwrap()).unwrap();
            let t = o.cast::<PyTuple>().expect("a tuple");
            assert_eq!(t.len(), n);
            let expected =
                PyTuple::new(py, args[..n].iter().map(|a| a.to_python(py).unwrap())).unwrap();
            let (got, want) = (describe(&ns, &o), describe(&ns, expected.as_any()));
            assert!(got == want, "{}", first_difference(&got, &want));
            assert_eq!(
                Value::from_python(&o).unwrap(),
                Value::Tuple(args[..n].to_vec())
            );
        }
        let bad = Value::Str(PyStr(vec![0x11_0000]));
        assert!(args_pickle(&[Value::None, bad]).is_err());
    });
}
