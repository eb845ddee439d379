//! Strategies for `str`, `bytes` and `bytearray`.
//!
//! Strings are code points, so lone surrogates (U+D800–U+DFFF) and non-BMP characters appear
//! alongside ASCII; they shrink toward `''` and then toward ASCII, `'0'` first.

use proptest::collection::vec;
use proptest::prelude::*;

use super::leaf::{shrink_seq, shrink_u64, Leaf};
use super::rng::FastRng;
use super::{Size, ValueStrategy};
use crate::value::{PyStr, Value};
use rand::RngExt;

/// Printable ASCII in shrink order: digits, lowercase, uppercase, then the rest.
const ASCII_ORDER: &[u8] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ _-.,:;!?'\"`~@#$%^&*()[]{}<>/\\|+=";

/// Code points chosen on purpose: NUL, controls, separators, BOM, quotes, the last code point.
pub const EDGE_CHARS: &[u32] = &[
    0x00, 0x7F, 0x0A, 0x0D, 0x09, 0x5C, 0x27, 0x22, 0x85, 0xA0, 0x2028, 0x2029, 0xFEFF, 0xFFFD,
    0xFFFF, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x10000, 0x1F600, 0x10FFFF,
];

/// Where each kind of code point starts (shrinking moves toward the start of the kind).
const RANGES: [(u32, u32); 4] = [
    (0x80, 0xD7FF),
    (0xE000, 0xFFFF),
    (0xD800, 0xDFFF),
    (0x10000, 0x10FFFF),
];

fn ascii_index(c: u32) -> Option<usize> {
    ASCII_ORDER.iter().position(|&a| a as u32 == c)
}

/// Candidates for a code point: `'0'`, then toward the start of its own kind (ASCII in shrink
/// order, other BMP, surrogates, non-BMP, controls toward NUL).
pub fn shrink_code_point(c: &u32) -> Vec<u32> {
    let c = *c;
    let zero = ASCII_ORDER[0] as u32;
    if let Some(i) = ascii_index(c) {
        return halving_toward(0, i as u32)
            .into_iter()
            .map(|j| ASCII_ORDER[j as usize] as u32)
            .collect();
    }
    let lo = RANGES
        .iter()
        .find(|r| r.0 <= c && c <= r.1)
        .map_or(0, |r| r.0);
    let mut v = vec![zero];
    v.extend(
        halving_toward(lo, c)
            .into_iter()
            .filter(|&d| ascii_index(d).is_none()),
    );
    v
}

/// `lo`, then values approaching `x` by halving the distance, then `x - 1` (all below `x`).
fn halving_toward(lo: u32, x: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if x <= lo {
        return out;
    }
    out.push(lo);
    let mut d = (x - lo) / 2;
    while d > 0 {
        let c = x - d;
        if out.last() != Some(&c) {
            out.push(c);
        }
        d /= 2;
    }
    if out.last() != Some(&(x - 1)) {
        out.push(x - 1);
    }
    out
}

/// One code point: ASCII, other BMP, lone surrogates, non-BMP, and edge code points.
pub fn code_point(size: Size) -> Leaf<u32> {
    let edge = size.edge();
    Leaf::new(
        move |rng| {
            let roll = rng.random_range(0..100u32);
            if roll < edge {
                if rng.random_range(0..3) == 0 {
                    rng.random_range(0xD800u32..=0xDFFF)
                } else {
                    EDGE_CHARS[rng.random_range(0..EDGE_CHARS.len())]
                }
            } else {
                match rng.random_range(0..12) {
                    0..=7 => ASCII_ORDER[rng.random_range(0..ASCII_ORDER.len())] as u32,
                    8 => rng.random_range(0x80u32..0xD800),
                    9 => rng.random_range(0xE000u32..0x10000),
                    10 => rng.random_range(0x80u32..0x800),
                    _ => rng.random_range(0x10000u32..=0x10FFFF),
                }
            }
        },
        shrink_code_point,
    )
}

/// A length: up to `max_len`, sometimes (5%) up to 16× that; never over `cap` (the leaf
/// budget, [`Size::max_leaf_len`]).
fn draw_len(rng: &mut FastRng, max_len: usize, cap: usize) -> usize {
    if rng.random_range(0..20) == 0 {
        rng.random_range(0..=max_len.saturating_mul(16).min(cap))
    } else {
        rng.random_range(0..=max_len.min(cap))
    }
}

// `&Vec` because shrinkers are `fn(&T)` with `T = Vec<u32>`.
#[allow(clippy::ptr_arg)]
fn shrink_code_points(v: &Vec<u32>) -> Vec<Vec<u32>> {
    shrink_seq(v, shrink_code_point)
}

/// Code-point sequences of length up to `max_len`, sometimes long (up to 16×). One leaf for the
/// whole string: cheap to generate, shrinks by dropping and simplifying characters.
pub fn code_points(size: Size) -> Leaf<Vec<u32>> {
    let cp = code_point(size);
    let (max_len, cap) = (size.max_len, size.max_leaf_len);
    Leaf::new(
        move |rng| {
            let n = draw_len(rng, max_len, cap);
            (0..n).map(|_| cp.draw(rng)).collect()
        },
        shrink_code_points,
    )
}

/// Python `str` values.
pub fn string(size: Size) -> ValueStrategy {
    let cps = code_points(size);
    ValueStrategy::direct(
        move |rng| Value::Str(PyStr(cps.draw(rng))),
        |v| match v {
            Value::Str(s) => shrink_code_points(&s.0)
                .into_iter()
                .map(|c| Value::Str(PyStr(c)))
                .collect(),
            _ => Vec::new(),
        },
        |v| matches!(v, Value::Str(_)),
        Value::Str(PyStr::default()),
    )
}

/// Python `str` values of ASCII letters and digits only (readable identifiers).
pub fn ascii_string(max_len: usize) -> ValueStrategy {
    vec(0..62usize, 0..=max_len)
        .prop_map(|v| {
            Value::Str(PyStr(
                v.into_iter().map(|i| ASCII_ORDER[i] as u32).collect(),
            ))
        })
        .boxed()
        .into()
}

/// One byte: any value, with 0x00, 0xFF, newline, backslash and 0x80 as edges; shrinks toward 0.
pub fn byte(size: Size) -> Leaf<u8> {
    let edge = size.edge();
    Leaf::new(
        move |rng| {
            if rng.random_range(0..100u32) < edge {
                [0u8, 0xFF, b'\n', b'\\', 0x80][rng.random_range(0..5)]
            } else {
                rng.random()
            }
        },
        |b| {
            shrink_u64(&(*b as u64))
                .into_iter()
                .map(|x| x as u8)
                .collect()
        },
    )
}

#[allow(clippy::ptr_arg)]
pub(crate) fn shrink_bytes(v: &Vec<u8>) -> Vec<Vec<u8>> {
    shrink_seq(v, |b| {
        shrink_u64(&(*b as u64))
            .into_iter()
            .map(|x| x as u8)
            .collect()
    })
}

/// Byte strings with edge bytes, shrinking toward `b''` and `\x00`.
pub fn byte_vec(size: Size) -> Leaf<Vec<u8>> {
    let b = byte(size);
    let (max_len, cap) = (size.max_len, size.max_leaf_len);
    Leaf::new(
        move |rng| {
            let n = draw_len(rng, max_len, cap);
            (0..n).map(|_| b.draw(rng)).collect()
        },
        shrink_bytes,
    )
}

/// Python `bytes` values.
pub fn bytes(size: Size) -> ValueStrategy {
    let b = byte_vec(size);
    ValueStrategy::direct(
        move |rng| Value::Bytes(b.draw(rng)),
        |v| match v {
            Value::Bytes(b) => shrink_bytes(b).into_iter().map(Value::Bytes).collect(),
            _ => Vec::new(),
        },
        |v| matches!(v, Value::Bytes(_)),
        Value::Bytes(Vec::new()),
    )
}

/// Python `bytearray` values.
pub fn bytearray(size: Size) -> ValueStrategy {
    let b = byte_vec(size);
    ValueStrategy::direct(
        move |rng| Value::ByteArray(b.draw(rng)),
        |v| match v {
            Value::ByteArray(b) => shrink_bytes(b).into_iter().map(Value::ByteArray).collect(),
            _ => Vec::new(),
        },
        |v| matches!(v, Value::ByteArray(_)),
        Value::ByteArray(Vec::new()),
    )
}
