//! Strategies for NumPy arrays of every dtype, shape and memory layout.
//!
//! Covers bool, int8–int64, uint8–uint64, float16/32/64, complex64/128, `U<n>`, `S<n>` and
//! datetime64; 0-d arrays and zero-length axes; C and Fortran order; strided views with positive
//! and negative steps; both byte orders; writeable and read-only. Arrays shrink toward the plain
//! C-contiguous writeable layout, one dimension, fewer slices and simpler elements
//! (see [`super::array_shrink`]).

use proptest::prelude::*;

use rand::RngExt;

use super::rng::FastRng;

use super::leaf::{shrink_f64, shrink_i64, shrink_u64, Leaf};
use super::text::{self, code_point};
use super::{scalar, Size, ValueStrategy};
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
    v.extend([
        DKind::Unicode(1),
        DKind::Unicode(5),
        DKind::Bytes(1),
        DKind::Bytes(5),
    ]);
    v.extend(TimeUnit::ALL.iter().map(|&u| DKind::DateTime64(u)));
    v
}

/// Any dtype, with either byte order (native first, so it shrinks toward native).
pub fn dtypes() -> BoxedStrategy<DType> {
    (
        proptest::sample::select(all_kinds()),
        crate::one_of![4 => Just(ByteOrder::Little), 1 => Just(ByteOrder::Big)],
    )
        .prop_map(|(kind, order)| DType { kind, order }.canonical())
        .boxed()
}

fn int_elems(bytes: u8, size: Size) -> Leaf<i64> {
    let bits = 8 * bytes as u32;
    let (min, max) = if bits == 64 {
        (i64::MIN, i64::MAX)
    } else {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    };
    let edge = size.edge();
    Leaf::new(
        move |rng| {
            if rng.random_range(0..100u32) < edge {
                [0, 1, -1, min, max, min + 1, max - 1][rng.random_range(0..7)]
            } else if rng.random_range(0..3) < 2 {
                rng.random_range(-100i64..=100).clamp(min, max)
            } else {
                rng.random_range(min..=max)
            }
        },
        shrink_i64,
    )
}

fn uint_elems(bytes: u8, size: Size) -> Leaf<u64> {
    let max = if bytes == 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes as u32)) - 1
    };
    let edge = size.edge();
    Leaf::new(
        move |rng| {
            if rng.random_range(0..100u32) < edge {
                [0, 1, max, max - 1][rng.random_range(0..4)]
            } else if rng.random_range(0..3) < 2 {
                rng.random_range(0..=100u64.min(max))
            } else {
                rng.random_range(0..=max)
            }
        },
        shrink_u64,
    )
}

/// Rounds to the nearest value the float dtype of `bytes` width holds.
fn to_width(x: f64, bytes: u8) -> f64 {
    match bytes {
        2 => half::f16::from_f64(x).to_f64(),
        4 => x as f32 as f64,
        _ => x,
    }
}

fn float_elems(bytes: u8, size: Size) -> Leaf<f64> {
    let (max, tiny) = match bytes {
        2 => (65504.0, 5.960464477539063e-8),
        4 => (f32::MAX as f64, 1.401298464324817e-45),
        _ => (f64::MAX, 5e-324),
    };
    let edges = [
        0.0,
        -0.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        max,
        -max,
        tiny,
        -tiny,
        1.0,
        -1.0,
    ];
    let edge = size.edge();
    let normal = scalar::f64s(Size {
        edge_weight: 1,
        ..size
    });
    Leaf::new(
        move |rng| {
            let x = if rng.random_range(0..100u32) < edge {
                edges[rng.random_range(0..edges.len())]
            } else {
                normal.draw(rng)
            };
            to_width(x, bytes)
        },
        shrink_f64,
    )
}

fn datetime_elems(size: Size) -> Leaf<i64> {
    let edge = size.edge();
    Leaf::new(
        move |rng| {
            if rng.random_range(0..100u32) < edge {
                [0, i64::MIN, i64::MIN + 1, i64::MAX, -1][rng.random_range(0..5)]
            } else if rng.random_range(0..4) < 3 {
                rng.random_range(-1_000_000i64..=1_000_000)
            } else {
                rng.random()
            }
        },
        shrink_i64,
    )
}

fn strip_nul<T: PartialEq + Default>(mut v: Vec<T>) -> Vec<T> {
    while v.last() == Some(&T::default()) {
        v.pop();
    }
    v
}

/// Element generators for one dtype.
#[derive(Clone)]
enum Elems {
    Bool,
    Int(Leaf<i64>),
    UInt(Leaf<u64>),
    Float(Leaf<f64>),
    Complex(Leaf<f64>),
    Unicode(Leaf<u32>, usize),
    Bytes(Leaf<u8>, usize),
    DateTime(Leaf<i64>),
}

impl Elems {
    fn new(dtype: DType, size: Size) -> Self {
        match dtype.kind {
            DKind::Bool => Elems::Bool,
            DKind::Int(b) => Elems::Int(int_elems(b, size)),
            DKind::UInt(b) => Elems::UInt(uint_elems(b, size)),
            DKind::Float(b) => Elems::Float(float_elems(b, size)),
            DKind::Complex(b) => Elems::Complex(float_elems(b / 2, size)),
            DKind::Unicode(k) => Elems::Unicode(code_point(size), k),
            DKind::Bytes(k) => Elems::Bytes(text::byte(size), k),
            DKind::DateTime64(_) => Elems::DateTime(datetime_elems(size)),
        }
    }

    /// `n` elements.
    fn draw(&self, rng: &mut FastRng, n: usize) -> ArrayData {
        match self {
            Elems::Bool => ArrayData::Bool((0..n).map(|_| rng.random()).collect()),
            Elems::Int(l) => ArrayData::Int((0..n).map(|_| l.draw(rng)).collect()),
            Elems::UInt(l) => ArrayData::UInt((0..n).map(|_| l.draw(rng)).collect()),
            Elems::Float(l) => ArrayData::Float((0..n).map(|_| l.draw(rng)).collect()),
            Elems::Complex(l) => {
                ArrayData::Complex((0..n).map(|_| (l.draw(rng), l.draw(rng))).collect())
            }
            Elems::Unicode(l, k) => ArrayData::Unicode(
                (0..n)
                    .map(|_| {
                        let len = rng.random_range(0..=*k);
                        PyStr(strip_nul((0..len).map(|_| l.draw(rng)).collect()))
                    })
                    .collect(),
            ),
            Elems::Bytes(l, k) => ArrayData::Bytes(
                (0..n)
                    .map(|_| {
                        let len = rng.random_range(0..=*k);
                        strip_nul((0..len).map(|_| l.draw(rng)).collect())
                    })
                    .collect(),
            ),
            Elems::DateTime(l) => ArrayData::DateTime((0..n).map(|_| l.draw(rng)).collect()),
        }
    }
}

/// Draws a shape with `min_ndim..=max_ndim` axes and at most `max_elems` elements; 1-d most often,
/// then any, then the smallest allowed.
fn draw_shape(rng: &mut FastRng, min_ndim: usize, max_ndim: usize, max_elems: usize) -> Vec<usize> {
    let max_ndim = max_ndim.max(min_ndim);
    let nd = match rng.random_range(0..10) {
        0..=5 => 1usize.clamp(min_ndim, max_ndim),
        6..=8 => rng.random_range(min_ndim..=max_ndim),
        _ => min_ndim,
    };
    let per_axis = if nd == 0 {
        1
    } else {
        ((max_elems.max(1) as f64).powf(1.0 / nd as f64).floor() as usize).max(1)
    };
    (0..nd).map(|_| rng.random_range(0..=per_axis)).collect()
}

const STEPS: [isize; 5] = [1, 2, -1, 3, -2];

fn draw_layout(rng: &mut FastRng, ndim: usize) -> Layout {
    match rng.random_range(0..11) {
        0..=5 => Layout::Contiguous(Order::C),
        6 | 7 => Layout::Contiguous(Order::F),
        _ => Layout::Strided {
            base_order: if rng.random() { Order::C } else { Order::F },
            steps: (0..ndim)
                .map(|_| STEPS[rng.random_range(0..STEPS.len())])
                .collect(),
        },
    }
}

/// Arrays of one dtype with `min_ndim..=max_ndim` axes.
///
/// Direct (see [`super::value_strategy`]): shrinking makes the layout C-contiguous and
/// writeable, drops axes and slices, then simplifies elements (see [`super::array_shrink`]).
pub fn arrays_with(dtype: DType, min_ndim: usize, max_ndim: usize, size: Size) -> ValueStrategy {
    let dtype = dtype.canonical();
    let elems = Elems::new(dtype, size);
    let max_elems = size.leaf_len(size.max_array_elems).max(1);
    let simplest_shape = vec![0; min_ndim.max(1).min(max_ndim.max(min_ndim))];
    let simplest = NdArray {
        dtype,
        data: super::array_shrink::select(&ArrayData::empty(dtype.kind), &[]),
        shape: simplest_shape,
        layout: Layout::Contiguous(Order::C),
        writeable: true,
    };
    ValueStrategy::direct(
        move |rng| {
            let shape = draw_shape(rng, min_ndim, max_ndim, max_elems);
            let n = shape.iter().product();
            let data = elems.draw(rng, n);
            let layout = draw_layout(rng, shape.len());
            let writeable = rng.random_range(0..100) >= 15;
            let mut a = NdArray {
                dtype,
                shape,
                data,
                layout,
                writeable,
            };
            a.canonicalize();
            Value::Array(a)
        },
        move |v| match v {
            Value::Array(a) if a.dtype == dtype => super::array_shrink::candidates(a, min_ndim)
                .into_iter()
                .map(Value::Array)
                .collect(),
            _ => Vec::new(),
        },
        move |v| matches!(v, Value::Array(a) if a.dtype == dtype),
        Value::Array(simplest),
    )
}

/// Arrays of one dtype, 0..=`size.max_ndim` dimensions.
pub fn arrays_of(dtype: DType, size: Size) -> ValueStrategy {
    arrays_with(dtype, 0, size.max_ndim, size)
}

/// Arrays of a dtype kind in either byte order (native more often).
pub fn arrays_of_kind(kind: DKind, size: Size) -> ValueStrategy {
    let little = arrays_of(DType::native(kind), size);
    let dt = DType {
        kind,
        order: ByteOrder::Big,
    };
    if dt.has_byte_order() {
        crate::choose![4 => little, 1 => arrays_of(dt, size)]
    } else {
        little
    }
}

/// Arrays of any dtype.
pub fn arrays(size: Size) -> ValueStrategy {
    let mut alts = Vec::new();
    for kind in all_kinds() {
        alts.push((4, arrays_of(DType::native(kind), size)));
        let big = DType {
            kind,
            order: ByteOrder::Big,
        };
        if big.has_byte_order() {
            alts.push((1, arrays_of(big, size)));
        }
    }
    super::value_strategy::choose(alts)
}
