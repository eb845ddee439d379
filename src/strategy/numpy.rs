//! Strategies for NumPy arrays of every dtype, shape and memory layout.
//!
//! Covers bool, int8–int64, uint8–uint64, float16/32/64, complex64/128, `U<n>`, `S<n>` and
//! datetime64; 0-d arrays and zero-length axes; C and Fortran order; strided views with positive
//! and negative steps; both byte orders; writeable and read-only. Shape, data and layout are drawn
//! independently (data is a flat list cut or zero-padded to the shape), so arrays shrink toward
//! one dimension, fewer elements, smaller elements and the plain C-contiguous writeable layout.

use proptest::collection::vec;
use proptest::prelude::*;

use super::text::code_point;
use super::{scalar, w, Size, ValueStrategy};
use crate::value::{
    ArrayData, ByteOrder, DKind, DType, Layout, NdArray, Order, PyStr, TimeUnit, Value,
};

/// Every dtype kind the model has (one width per string kind).
pub fn all_kinds() -> Vec<DKind> {
    let mut v = vec![DKind::Bool];
    for n in [1u8, 2, 4, 8] {
        v.push(DKind::Int(n));
        v.push(DKind::UInt(n));
    }
    v.extend([DKind::Float(2), DKind::Float(4), DKind::Float(8)]);
    v.extend([DKind::Complex(8), DKind::Complex(16)]);
    v.extend([DKind::Unicode(1), DKind::Unicode(5), DKind::Bytes(1), DKind::Bytes(5)]);
    v.extend(TimeUnit::ALL.iter().map(|&u| DKind::DateTime64(u)));
    v
}

/// Any dtype, with either byte order (native first, so it shrinks toward native).
pub fn dtypes() -> BoxedStrategy<DType> {
    (
        proptest::sample::select(all_kinds()),
        prop_oneof![4 => Just(ByteOrder::Little), 1 => Just(ByteOrder::Big)],
    )
        .prop_map(|(kind, order)| DType { kind, order }.canonical())
        .boxed()
}

fn int_elems(bytes: u8, size: Size) -> BoxedStrategy<i64> {
    let bits = 8 * bytes as u32;
    let (min, max) = if bits == 64 {
        (i64::MIN, i64::MAX)
    } else {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    };
    prop_oneof![
        w(size.normal_weight()) => (-100i64..=100).prop_map(move |x| x.clamp(min, max)),
        w(size.normal_weight() / 2) => min..=max,
        size.edge() => proptest::sample::select(vec![0, 1, -1, min, max, min + 1, max - 1]),
    ]
    .boxed()
}

fn uint_elems(bytes: u8, size: Size) -> BoxedStrategy<u64> {
    let max = if bytes == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes as u32)) - 1
    };
    prop_oneof![
        w(size.normal_weight()) => 0u64..=100u64.min(max),
        w(size.normal_weight() / 2) => 0..=max,
        size.edge() => proptest::sample::select(vec![0, 1, max, max - 1]),
    ]
    .boxed()
}

/// Rounds to the nearest value the float dtype of `bytes` width holds.
fn to_width(x: f64, bytes: u8) -> f64 {
    match bytes {
        2 => half::f16::from_f64(x).to_f64(),
        4 => x as f32 as f64,
        _ => x,
    }
}

fn float_elems(bytes: u8, size: Size) -> BoxedStrategy<f64> {
    let (max, tiny) = match bytes {
        2 => (65504.0, 5.960464477539063e-8),
        4 => (f32::MAX as f64, 1.401298464324817e-45),
        _ => (f64::MAX, 5e-324),
    };
    prop_oneof![
        w(size.normal_weight()) => scalar::f64s(Size { edge_weight: 1, ..size }),
        size.edge() => proptest::sample::select(vec![
            0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, max, -max, tiny, -tiny, 1.0, -1.0
        ]),
    ]
    .prop_map(move |x| to_width(x, bytes))
    .boxed()
}

fn strip_nul<T: PartialEq + Default>(mut v: Vec<T>) -> Vec<T> {
    while v.last() == Some(&T::default()) {
        v.pop();
    }
    v
}

fn datetime_elems(size: Size) -> BoxedStrategy<i64> {
    prop_oneof![
        w(size.normal_weight()) => -1_000_000i64..=1_000_000,
        w(size.normal_weight() / 4) => any::<i64>(),
        size.edge() => proptest::sample::select(vec![0, i64::MIN, i64::MIN + 1, i64::MAX, -1]),
    ]
    .boxed()
}

/// A flat list of up to `n` elements of `dtype`, as [`ArrayData`].
pub fn elements(dtype: DType, n: usize, size: Size) -> BoxedStrategy<ArrayData> {
    match dtype.kind {
        DKind::Bool => vec(any::<bool>(), 0..=n).prop_map(ArrayData::Bool).boxed(),
        DKind::Int(b) => vec(int_elems(b, size), 0..=n).prop_map(ArrayData::Int).boxed(),
        DKind::UInt(b) => vec(uint_elems(b, size), 0..=n).prop_map(ArrayData::UInt).boxed(),
        DKind::Float(b) => vec(float_elems(b, size), 0..=n).prop_map(ArrayData::Float).boxed(),
        DKind::Complex(b) => vec((float_elems(b / 2, size), float_elems(b / 2, size)), 0..=n)
            .prop_map(ArrayData::Complex)
            .boxed(),
        DKind::Unicode(k) => vec(vec(code_point(size), 0..=k).prop_map(|s| PyStr(strip_nul(s))), 0..=n)
            .prop_map(ArrayData::Unicode)
            .boxed(),
        DKind::Bytes(k) => vec(vec(any::<u8>(), 0..=k).prop_map(strip_nul), 0..=n)
            .prop_map(ArrayData::Bytes)
            .boxed(),
        DKind::DateTime64(_) => vec(datetime_elems(size), 0..=n)
            .prop_map(ArrayData::DateTime)
            .boxed(),
    }
}

/// Cuts or pads (with zeros / empty strings) the flat data to exactly `n` elements.
fn fit(data: ArrayData, n: usize) -> ArrayData {
    fn f<T: Clone + Default>(mut v: Vec<T>, n: usize) -> Vec<T> {
        v.resize(n, T::default());
        v
    }
    match data {
        ArrayData::Bool(v) => ArrayData::Bool(f(v, n)),
        ArrayData::Int(v) => ArrayData::Int(f(v, n)),
        ArrayData::UInt(v) => ArrayData::UInt(f(v, n)),
        ArrayData::Float(v) => ArrayData::Float(f(v, n)),
        ArrayData::Complex(v) => ArrayData::Complex(f(v, n)),
        ArrayData::Unicode(v) => ArrayData::Unicode(f(v, n)),
        ArrayData::Bytes(v) => ArrayData::Bytes(f(v, n)),
        ArrayData::DateTime(v) => ArrayData::DateTime(f(v, n)),
    }
}

/// Shapes with `min_ndim..=max_ndim` axes and at most `size.max_array_elems` elements; 1-d is the
/// simplest, then 2-d, 0-d, 3-d...
pub fn shapes(size: Size, min_ndim: usize, max_ndim: usize) -> BoxedStrategy<Vec<usize>> {
    let max_ndim = max_ndim.max(min_ndim);
    let first = 1usize.clamp(min_ndim, max_ndim);
    let ndim = prop_oneof![
        6 => Just(first),
        3 => min_ndim..=max_ndim,
        1 => Just(min_ndim),
    ];
    let max_elems = size.max_array_elems.max(1);
    ndim.prop_flat_map(move |nd| {
        let per_axis = if nd == 0 {
            1
        } else {
            ((max_elems as f64).powf(1.0 / nd as f64).floor() as usize).max(1)
        };
        vec(0..=per_axis, nd)
    })
    .boxed()
}

/// Layout choices: C (simplest), Fortran, or a strided view with per-axis steps.
fn layouts(max_ndim: usize) -> BoxedStrategy<Layout> {
    let step = proptest::sample::select(vec![1isize, 2, -1, 3, -2]);
    prop_oneof![
        6 => Just(Layout::Contiguous(Order::C)),
        2 => Just(Layout::Contiguous(Order::F)),
        3 => (vec(step, max_ndim), prop_oneof![Just(Order::C), Just(Order::F)])
            .prop_map(|(steps, base_order)| Layout::Strided { base_order, steps }),
    ]
    .boxed()
}

/// Arrays of one dtype with shapes from `shape`.
pub fn arrays_with(dtype: DType, shape: BoxedStrategy<Vec<usize>>, size: Size) -> ValueStrategy {
    let max_ndim = size.max_ndim.max(8);
    (
        shape,
        elements(dtype, size.max_array_elems.max(1), size),
        layouts(max_ndim),
        // Drawn as "read-only" so that it shrinks toward writeable.
        prop::bool::weighted(0.15),
    )
        .prop_map(move |(shape, data, layout, read_only)| {
            let n: usize = shape.iter().product();
            let layout = match layout {
                Layout::Strided { base_order, mut steps } => {
                    steps.truncate(shape.len());
                    Layout::Strided { base_order, steps }
                }
                l => l,
            };
            let mut a = NdArray {
                dtype,
                data: fit(data, n),
                shape,
                layout,
                writeable: !read_only,
            };
            a.canonicalize();
            Value::Array(a)
        })
        .boxed()
}

/// Arrays of one dtype, 0..=`size.max_ndim` dimensions.
pub fn arrays_of(dtype: DType, size: Size) -> ValueStrategy {
    arrays_with(dtype, shapes(size, 0, size.max_ndim), size)
}

/// Arrays of a dtype kind in either byte order (native more often).
pub fn arrays_of_kind(kind: DKind, size: Size) -> ValueStrategy {
    let little = arrays_of(DType::native(kind), size);
    let dt = DType {
        kind,
        order: ByteOrder::Big,
    };
    if dt.has_byte_order() {
        prop_oneof![4 => little, 1 => arrays_of(dt, size)].boxed()
    } else {
        little
    }
}

/// Arrays of any dtype.
pub fn arrays(size: Size) -> ValueStrategy {
    dtypes().prop_flat_map(move |dt| arrays_of(dt, size)).boxed()
}
