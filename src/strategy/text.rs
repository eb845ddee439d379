//! Strategies for `str`, `bytes` and `bytearray`.
//!
//! Strings are code points, so lone surrogates (U+D800–U+DFFF) and non-BMP characters appear
//! alongside ASCII; they shrink toward `''` and then toward ASCII, `'0'` first.

use proptest::collection::vec;
use proptest::prelude::*;

use super::{w, Size, ValueStrategy};
use crate::value::{PyStr, Value};

/// Printable ASCII in shrink order: digits, lowercase, uppercase, then the rest.
const ASCII_ORDER: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ _-.,:;!?'\"`~@#$%^&*()[]{}<>/\\|+=";

/// Code points chosen on purpose: NUL, controls, separators, BOM, quotes, the last code point.
pub const EDGE_CHARS: &[u32] = &[
    0x00, 0x7F, 0x0A, 0x0D, 0x09, 0x5C, 0x27, 0x22, 0x85, 0xA0, 0x2028, 0x2029, 0xFEFF, 0xFFFD,
    0xFFFF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x10000, 0x1F600, 0x10FFFF,
];

/// One code point: ASCII, other BMP, lone surrogates, non-BMP, and edge code points.
pub fn code_point(size: Size) -> BoxedStrategy<u32> {
    let n = size.normal_weight();
    prop_oneof![
        w(n * 3) => (0..ASCII_ORDER.len()).prop_map(|i| ASCII_ORDER[i] as u32),
        w(n / 2) => prop_oneof![0x80u32..0xD800, 0xE000u32..0x10000],
        w(n / 4) => 0x10000u32..=0x10FFFF,
        w(size.edge() / 2) => 0xD800u32..=0xDFFF,
        size.edge() => proptest::sample::select(EDGE_CHARS),
    ]
    .boxed()
}

/// Code-point sequences of length up to `max_len`, sometimes long (up to 16×).
pub fn code_points(size: Size) -> BoxedStrategy<Vec<u32>> {
    let cp = code_point(size);
    let long = (size.max_len * 16).max(1);
    prop_oneof![
        95 => vec(cp.clone(), 0..=size.max_len),
        5 => vec(cp, 0..=long),
    ]
    .boxed()
}

/// Python `str` values.
pub fn string(size: Size) -> ValueStrategy {
    code_points(size)
        .prop_map(|v| Value::Str(PyStr(v)))
        .boxed()
}

/// Python `str` values of ASCII letters and digits only (readable identifiers).
pub fn ascii_string(max_len: usize) -> ValueStrategy {
    vec(0..62usize, 0..=max_len)
        .prop_map(|v| Value::Str(PyStr(v.into_iter().map(|i| ASCII_ORDER[i] as u32).collect())))
        .boxed()
}

/// Byte strings with edge bytes, shrinking toward `b''` and `\x00`.
pub fn byte_vec(size: Size) -> BoxedStrategy<Vec<u8>> {
    let byte = prop_oneof![
        size.normal_weight() => any::<u8>(),
        size.edge() => proptest::sample::select(vec![0u8, 0xFF, b'\n', b'\\', 0x80]),
    ];
    let long = (size.max_len * 16).max(1);
    prop_oneof![
        95 => vec(byte.clone(), 0..=size.max_len),
        5 => vec(byte, 0..=long),
    ]
    .boxed()
}

/// Python `bytes` values.
pub fn bytes(size: Size) -> ValueStrategy {
    byte_vec(size).prop_map(Value::Bytes).boxed()
}

/// Python `bytearray` values.
pub fn bytearray(size: Size) -> ValueStrategy {
    byte_vec(size).prop_map(Value::ByteArray).boxed()
}
