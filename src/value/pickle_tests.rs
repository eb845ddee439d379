//! Unit tests of the pickle writer: opcodes against CPython's own, batching, errors.

use super::*;

fn p(v: Value) -> Vec<u8> {
    v.to_pickle().unwrap()
}

// Expected bytes: pickletools.optimize(pickle.dumps(x, protocol=5)) on CPython 3.11, which
// is pickle.dumps without its MEMOIZE opcodes.
#[test]
fn scalars_match_cpython() {
    // pickle.dumps(1, 5)
    assert_eq!(p(Value::int(1)), b"\x80\x05K\x01.");
    // 300, -1, 2**31, -2**31 - 1, 2**64
    assert_eq!(
        p(Value::int(300)),
        b"\x80\x05\x95\x04\x00\x00\x00\x00\x00\x00\x00M,\x01."
    );
    assert_eq!(
        p(Value::int(-1)),
        b"\x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00J\xff\xff\xff\xff."
    );
    assert_eq!(
        p(Value::int(1i64 << 31)),
        b"\x80\x05\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8a\x05\x00\x00\x00\x80\x00."
    );
    assert_eq!(
        p(Value::int(-(1i64 << 31) - 1)),
        b"\x80\x05\x95\x08\x00\x00\x00\x00\x00\x00\x00\x8a\x05\xff\xff\xff\x7f\xff."
    );
    assert_eq!(
        p(Value::Int(BigInt::from(1u128 << 64))),
        b"\x80\x05\x95\x0c\x00\x00\x00\x00\x00\x00\x00\x8a\t\x00\x00\x00\x00\x00\x00\x00\x00\x01."
    );
    // 2**2048: LONG4 with 257 bytes.
    let long = p(Value::Int(BigInt::from(1) << 2048));
    assert_eq!(
        &long[..16],
        b"\x80\x05\x95\x07\x01\x00\x00\x00\x00\x00\x00\x8b\x01\x01\x00\x00"
    );
    assert_eq!(long.len(), 274);
    // None, True, -0.0
    assert_eq!(p(Value::None), b"\x80\x05N.");
    assert_eq!(p(Value::Bool(true)), b"\x80\x05\x88.");
    assert_eq!(
        p(Value::Float(-0.0)),
        b"\x80\x05\x95\n\x00\x00\x00\x00\x00\x00\x00G\x80\x00\x00\x00\x00\x00\x00\x00."
    );
    // b'ab', bytearray(b'ab')
    assert_eq!(
        p(Value::Bytes(b"ab".to_vec())),
        b"\x80\x05\x95\x05\x00\x00\x00\x00\x00\x00\x00C\x02ab."
    );
    assert_eq!(
        p(Value::ByteArray(b"ab".to_vec())),
        b"\x80\x05\x95\x0c\x00\x00\x00\x00\x00\x00\x00\x96\x02\x00\x00\x00\x00\x00\x00\x00ab."
    );
}

#[test]
fn strings_match_cpython_surrogates_included() {
    // 'h\xe9\u20ac\U0001f600'
    assert_eq!(
        p(Value::str("h\u{e9}\u{20ac}\u{1f600}")),
        b"\x80\x05\x95\r\x00\x00\x00\x00\x00\x00\x00\x8c\n\
          h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80."
    );
    // '\ud800\udc00': two code points, two 3-byte sequences (surrogatepass).
    assert_eq!(
        p(Value::Str(PyStr(vec![0xd800, 0xdc00]))),
        b"\x80\x05\x95\t\x00\x00\x00\x00\x00\x00\x00\x8c\x06\xed\xa0\x80\xed\xb0\x80."
    );
    // 'a' * 256: BINUNICODE.
    let long = p(Value::str(&"a".repeat(256)));
    assert_eq!(&long[11..16], b"X\x00\x01\x00\x00");
    assert_eq!(long.len(), 11 + 5 + 256 + 1);
    assert!(Value::Str(PyStr(vec![0x11_0000])).to_pickle().is_err());
}

#[test]
fn containers_match_cpython() {
    // [1, 2]
    assert_eq!(
        p(Value::List(vec![Value::int(1), Value::int(2)])),
        b"\x80\x05\x95\x08\x00\x00\x00\x00\x00\x00\x00](K\x01K\x02e."
    );
    // [1]
    assert_eq!(
        p(Value::List(vec![Value::int(1)])),
        b"\x80\x05\x95\x05\x00\x00\x00\x00\x00\x00\x00]K\x01a."
    );
    // (), (1,), (1, 2, 3, 4)
    assert_eq!(p(Value::Tuple(vec![])), b"\x80\x05).");
    assert_eq!(
        p(Value::Tuple(vec![Value::int(1)])),
        b"\x80\x05\x95\x04\x00\x00\x00\x00\x00\x00\x00K\x01\x85."
    );
    assert_eq!(
        p(Value::Tuple((1..=4).map(Value::int).collect())),
        b"\x80\x05\x95\x0b\x00\x00\x00\x00\x00\x00\x00(K\x01K\x02K\x03K\x04t."
    );
    // {'a': 1.5}
    assert_eq!(
        p(Value::Dict(vec![(Value::str("a"), Value::Float(1.5))])),
        b"\x80\x05\x95\x0f\x00\x00\x00\x00\x00\x00\x00}\x8c\x01aG?\xf8\x00\x00\x00\x00\x00\x00s."
    );
    // frozenset({1})
    assert_eq!(
        p(Value::FrozenSet(vec![Value::int(1)])),
        b"\x80\x05\x95\x05\x00\x00\x00\x00\x00\x00\x00(K\x01\x91."
    );
}

#[test]
fn big_containers_are_batched_by_a_thousand() {
    let v = Value::List((0..2500).map(|_| Value::None).collect());
    let bytes = p(v);
    assert_eq!(bytes.iter().filter(|&&b| b == MARK).count(), 3);
    assert_eq!(bytes.iter().filter(|&&b| b == APPENDS).count(), 3);
}

#[test]
fn inconsistent_values_are_errors_not_panics() {
    use super::super::ndarray::{DType, Order};
    let arr = |shape: Vec<usize>, data: ArrayData, layout: Layout| {
        Value::Array(NdArray {
            dtype: DType::native(DKind::Int(8)),
            shape,
            data,
            layout,
            writeable: true,
        })
    };
    let bad = [
        arr(
            vec![2, 3],
            ArrayData::Int(vec![1; 5]),
            Layout::Contiguous(Order::C),
        ),
        arr(
            vec![2],
            ArrayData::Float(vec![1.0; 2]),
            Layout::Contiguous(Order::C),
        ),
        arr(
            vec![2],
            ArrayData::Int(vec![1; 2]),
            Layout::Strided {
                base_order: Order::C,
                steps: vec![],
            },
        ),
        arr(
            vec![2],
            ArrayData::Int(vec![1; 2]),
            Layout::Strided {
                base_order: Order::C,
                steps: vec![0],
            },
        ),
        arr(
            vec![usize::MAX, 3],
            ArrayData::Int(vec![]),
            Layout::Contiguous(Order::C),
        ),
        Value::Date(Date {
            year: 2023,
            month: 2,
            day: 29,
        }),
        Value::TimeDelta(TimeDelta {
            days: 0,
            seconds: 86_400,
            microseconds: 0,
        }),
        Value::Time(Time {
            hour: 1,
            minute: 0,
            second: 0,
            microsecond: 0,
            tz: Some(Tz {
                offset_us: -86_400_000_000,
                name: None,
            }),
            fold: false,
        }),
        Value::Decimal(Decimal {
            negative: false,
            kind: DecimalKind::Finite {
                coefficient: "1x".into(),
                exponent: 0,
            },
        }),
    ];
    for v in bad {
        let e = Value::List(vec![v.clone()]).to_pickle().unwrap_err();
        assert!(!e.0.is_empty(), "{v:?}");
    }
}
