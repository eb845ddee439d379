//! Shrinking NumPy arrays from the value: simpler layout, fewer axes and slices, simpler elements.
//!
//! For [`super::numpy`]. Candidates come simplest first: C-contiguous, writeable, native byte
//! order; then one dimension instead of several (1-d is the simplest shape); then each slice of
//! each axis removed; then each element simplified within its dtype. Removing slices moves a
//! failing element toward the front, so "an array with a negative element" shrinks to `[-1]`.

use super::leaf::{shrink_bool, shrink_f64, shrink_i64, shrink_u64};
use super::text::shrink_code_point;
use super::value_strategy::shrink_items;
use crate::value::{ArrayData, ByteOrder, DKind, Layout, NdArray, Order, PyStr};

/// The elements at `indices` (flat, C order).
pub fn select(data: &ArrayData, indices: &[usize]) -> ArrayData {
    fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
        idx.iter().map(|&i| v[i].clone()).collect()
    }
    match data {
        ArrayData::Bool(v) => ArrayData::Bool(pick(v, indices)),
        ArrayData::Int(v) => ArrayData::Int(pick(v, indices)),
        ArrayData::UInt(v) => ArrayData::UInt(pick(v, indices)),
        ArrayData::Float(v) => ArrayData::Float(pick(v, indices)),
        ArrayData::Complex(v) => ArrayData::Complex(pick(v, indices)),
        ArrayData::Unicode(v) => ArrayData::Unicode(pick(v, indices)),
        ArrayData::Bytes(v) => ArrayData::Bytes(pick(v, indices)),
        ArrayData::DateTime(v) => ArrayData::DateTime(pick(v, indices)),
    }
}

fn representable(x: f64, bytes: u8) -> bool {
    let y = match bytes {
        2 => half::f16::from_f64(x).to_f64(),
        4 => x as f32 as f64,
        _ => x,
    };
    y.to_bits() == x.to_bits() || (x.is_nan() && y.is_nan())
}

fn strip<T: PartialEq + Default>(mut v: Vec<T>) -> Vec<T> {
    while v.last() == Some(&T::default()) {
        v.pop();
    }
    v
}

/// Copies of `data` with element `i` replaced by each of its simpler candidates.
fn element_candidates(data: &ArrayData, kind: DKind, i: usize) -> Vec<ArrayData> {
    fn each<T: Clone>(
        v: &[T],
        i: usize,
        cands: Vec<T>,
        wrap: fn(Vec<T>) -> ArrayData,
    ) -> Vec<ArrayData> {
        cands
            .into_iter()
            .map(|c| {
                let mut w = v.to_vec();
                w[i] = c;
                wrap(w)
            })
            .collect()
    }
    let width = match kind {
        DKind::Float(b) => b,
        DKind::Complex(b) => b / 2,
        _ => 8,
    };
    let floats = |x: &f64| -> Vec<f64> {
        shrink_f64(x)
            .into_iter()
            .filter(|c| representable(*c, width))
            .collect()
    };
    match data {
        ArrayData::Bool(v) => each(v, i, shrink_bool(&v[i]), ArrayData::Bool),
        ArrayData::Int(v) => each(v, i, shrink_i64(&v[i]), ArrayData::Int),
        ArrayData::UInt(v) => each(v, i, shrink_u64(&v[i]), ArrayData::UInt),
        ArrayData::DateTime(v) => each(v, i, shrink_i64(&v[i]), ArrayData::DateTime),
        ArrayData::Float(v) => each(v, i, floats(&v[i]), ArrayData::Float),
        ArrayData::Complex(v) => {
            let (re, im) = v[i];
            let mut c: Vec<(f64, f64)> = floats(&re).into_iter().map(|r| (r, im)).collect();
            c.extend(floats(&im).into_iter().map(|m| (re, m)));
            each(v, i, c, ArrayData::Complex)
        }
        ArrayData::Unicode(v) => {
            let c = shrink_items(&v[i].0, &shrink_code_point)
                .into_iter()
                .map(|s| PyStr(strip(s)))
                .filter(|s| *s != v[i])
                .collect();
            each(v, i, c, ArrayData::Unicode)
        }
        ArrayData::Bytes(v) => {
            let c = shrink_items(&v[i], &|b: &u8| {
                shrink_u64(&(*b as u64))
                    .into_iter()
                    .map(|x| x as u8)
                    .collect()
            })
            .into_iter()
            .map(strip)
            .filter(|s| *s != v[i])
            .collect();
            each(v, i, c, ArrayData::Bytes)
        }
    }
}

fn reshaped(a: &NdArray, shape: Vec<usize>, indices: &[usize], keep_layout: bool) -> NdArray {
    let mut b = NdArray {
        dtype: a.dtype,
        data: select(&a.data, indices),
        layout: if keep_layout {
            a.layout.clone()
        } else {
            Layout::Contiguous(Order::C)
        },
        shape,
        writeable: a.writeable,
    };
    b.canonicalize();
    b
}

/// Flat indices of the elements whose coordinate along `axis` satisfies `keep`.
fn along(shape: &[usize], axis: usize, keep: impl Fn(usize) -> bool) -> Vec<usize> {
    let inner: usize = shape[axis + 1..].iter().product();
    let n: usize = shape.iter().product();
    (0..n)
        .filter(|f| keep((f / inner.max(1)) % shape[axis]))
        .collect()
}

/// Simpler arrays than `a`, simplest first, never with fewer than `min_ndim` axes.
pub fn candidates(a: &NdArray, min_ndim: usize) -> Vec<NdArray> {
    let mut out: Vec<NdArray> = Vec::new();
    let push = |b: NdArray, out: &mut Vec<NdArray>| {
        if b != *a && !out.contains(&b) {
            out.push(b);
        }
    };
    let n = a.size();
    let all: Vec<usize> = (0..n).collect();
    // Layout, flags and byte order first: same elements, plainer array.
    if a.layout != Layout::Contiguous(Order::C) {
        push(reshaped(a, a.shape.clone(), &all, false), &mut out);
    }
    if !a.writeable {
        let mut b = a.clone();
        b.writeable = true;
        push(b, &mut out);
    }
    if a.dtype.order == ByteOrder::Big && a.dtype.has_byte_order() {
        let mut b = a.clone();
        b.dtype.order = ByteOrder::Little;
        push(b, &mut out);
    }
    // One dimension is the simplest shape.
    let nd = a.shape.len();
    if nd != 1 && min_ndim <= 1 {
        push(reshaped(a, vec![n], &all, false), &mut out);
    }
    if nd > min_ndim.max(1) && a.shape[0] > 0 {
        // The first sub-array along axis 0.
        let idx = along(&a.shape, 0, |i| i == 0);
        push(reshaped(a, a.shape[1..].to_vec(), &idx, false), &mut out);
    }
    // Fewer slices along each axis: half, then each one removed.
    for axis in 0..nd {
        let len = a.shape[axis];
        if len == 0 {
            continue;
        }
        let mut shape = a.shape.clone();
        if len > 2 {
            shape[axis] = len / 2;
            let idx = along(&a.shape, axis, |i| i < len / 2);
            push(reshaped(a, shape.clone(), &idx, true), &mut out);
        }
        shape[axis] = len - 1;
        for drop in 0..len {
            let idx = along(&a.shape, axis, |i| i != drop);
            push(reshaped(a, shape.clone(), &idx, true), &mut out);
        }
    }
    // Simpler elements.
    for i in 0..n {
        for data in element_candidates(&a.data, a.dtype.kind, i) {
            let mut b = a.clone();
            b.data = data;
            push(b, &mut out);
        }
    }
    out
}
