//! NumPy arrays in the value model: dtype, shape, elements and memory layout.
//!
//! For strategies and converters. An [`NdArray`] holds its elements in logical C order of the
//! view, plus a [`Layout`] saying how the view sits in memory: C or Fortran contiguous, or a
//! strided view `base[::s0, ::s1, ...]` of a larger base (negative steps give negative strides).
//! Layouts are kept in a canonical form ([`NdArray::canonicalize`]) so that a round trip through
//! NumPy gives back an equal value.

use super::model::{float_same, PyStr};

/// Element byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `<`
    Little,
    /// `>`
    Big,
}

/// `datetime64` units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    /// Years.
    Y,
    /// Months.
    M,
    /// Weeks.
    W,
    /// Days.
    D,
    /// Hours.
    H,
    /// Minutes.
    Min,
    /// Seconds.
    S,
    /// Milliseconds.
    Ms,
    /// Microseconds.
    Us,
    /// Nanoseconds.
    Ns,
}

impl TimeUnit {
    /// Every unit.
    pub const ALL: [TimeUnit; 10] = [
        TimeUnit::Y,
        TimeUnit::M,
        TimeUnit::W,
        TimeUnit::D,
        TimeUnit::H,
        TimeUnit::Min,
        TimeUnit::S,
        TimeUnit::Ms,
        TimeUnit::Us,
        TimeUnit::Ns,
    ];
    /// NumPy's code for the unit (`"s"`, `"ns"`, ...).
    pub fn code(self) -> &'static str {
        match self {
            TimeUnit::Y => "Y",
            TimeUnit::M => "M",
            TimeUnit::W => "W",
            TimeUnit::D => "D",
            TimeUnit::H => "h",
            TimeUnit::Min => "m",
            TimeUnit::S => "s",
            TimeUnit::Ms => "ms",
            TimeUnit::Us => "us",
            TimeUnit::Ns => "ns",
        }
    }
    /// Parses NumPy's code.
    pub fn from_code(code: &str) -> Option<Self> {
        TimeUnit::ALL.into_iter().find(|u| u.code() == code)
    }
}

/// The element type of an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DKind {
    /// `bool`.
    Bool,
    /// Signed integer of 1, 2, 4 or 8 bytes.
    Int(u8),
    /// Unsigned integer of 1, 2, 4 or 8 bytes.
    UInt(u8),
    /// Float of 2, 4 or 8 bytes.
    Float(u8),
    /// Complex of 8 or 16 bytes.
    Complex(u8),
    /// Fixed-width unicode `U<n>` (n ≥ 1 code points).
    Unicode(usize),
    /// Fixed-width bytes `S<n>` (n ≥ 1).
    Bytes(usize),
    /// `datetime64[unit]`.
    DateTime64(TimeUnit),
}

/// A NumPy dtype: kind plus byte order (ignored for one-byte kinds and `S`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DType {
    /// Element kind and size.
    pub kind: DKind,
    /// Byte order.
    pub order: ByteOrder,
}

impl DType {
    /// A native (little-endian on this platform) dtype.
    pub fn native(kind: DKind) -> Self {
        DType {
            kind,
            order: ByteOrder::Little,
        }
    }

    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        match self.kind {
            DKind::Bool => 1,
            DKind::Int(n) | DKind::UInt(n) | DKind::Float(n) | DKind::Complex(n) => n as usize,
            DKind::Unicode(n) => 4 * n,
            DKind::Bytes(n) => n,
            DKind::DateTime64(_) => 8,
        }
    }

    /// Whether byte order means anything for this dtype.
    pub fn has_byte_order(&self) -> bool {
        !matches!(self.kind, DKind::Bool | DKind::Bytes(_)) && self.itemsize_unit() > 1
    }

    fn itemsize_unit(&self) -> usize {
        match self.kind {
            DKind::Unicode(_) => 4,
            DKind::Complex(n) => n as usize / 2,
            _ => self.itemsize(),
        }
    }

    /// The canonical form: byte order is little for kinds where it means nothing.
    pub fn canonical(mut self) -> Self {
        if !self.has_byte_order() {
            self.order = ByteOrder::Little;
        }
        self
    }

    /// NumPy's `dtype.str`: `'<i8'`, `'|b1'`, `'>U3'`, `'<M8[s]'`.
    pub fn numpy_str(&self) -> String {
        let bo = if !self.has_byte_order() {
            '|'
        } else if self.order == ByteOrder::Little {
            '<'
        } else {
            '>'
        };
        match self.kind {
            DKind::Bool => "|b1".to_string(),
            DKind::Int(n) => format!("{bo}i{n}"),
            DKind::UInt(n) => format!("{bo}u{n}"),
            DKind::Float(n) => format!("{bo}f{n}"),
            DKind::Complex(n) => format!("{bo}c{n}"),
            DKind::Unicode(n) => format!("{bo}U{n}"),
            DKind::Bytes(n) => format!("|S{n}"),
            DKind::DateTime64(u) => format!("{bo}M8[{}]", u.code()),
        }
    }

    /// Parses NumPy's `dtype.str`; `None` for dtypes outside the model.
    pub fn parse_numpy_str(s: &str) -> Option<Self> {
        let mut chars = s.chars();
        let order = match chars.next()? {
            '<' | '|' | '=' => ByteOrder::Little,
            '>' => ByteOrder::Big,
            _ => return None,
        };
        let rest = chars.as_str();
        let (code, size) = rest.split_at(1);
        let kind = if code == "M" {
            let unit = size.strip_prefix("8[")?.strip_suffix(']')?;
            DKind::DateTime64(TimeUnit::from_code(unit)?)
        } else {
            let n: usize = size.parse().ok()?;
            match (code, n) {
                ("b", 1) => DKind::Bool,
                ("i", 1 | 2 | 4 | 8) => DKind::Int(n as u8),
                ("u", 1 | 2 | 4 | 8) => DKind::UInt(n as u8),
                ("f", 2 | 4 | 8) => DKind::Float(n as u8),
                ("c", 8 | 16) => DKind::Complex(n as u8),
                ("U", n) if n > 0 => DKind::Unicode(n),
                ("S", n) if n > 0 => DKind::Bytes(n),
                _ => return None,
            }
        };
        Some(DType { kind, order }.canonical())
    }
}

/// The elements of an array, in logical C order of the view.
#[derive(Clone, Debug)]
pub enum ArrayData {
    /// For `bool`.
    Bool(Vec<bool>),
    /// For signed ints (values fit the dtype).
    Int(Vec<i64>),
    /// For unsigned ints (values fit the dtype).
    UInt(Vec<u64>),
    /// For floats (values exactly representable in the dtype).
    Float(Vec<f64>),
    /// For complex (parts exactly representable in the dtype's half width).
    Complex(Vec<(f64, f64)>),
    /// For `U<n>`: at most n code points, no trailing NUL.
    Unicode(Vec<PyStr>),
    /// For `S<n>`: at most n bytes, no trailing NUL.
    Bytes(Vec<Vec<u8>>),
    /// For `datetime64`: ticks since the epoch; `i64::MIN` is NaT.
    DateTime(Vec<i64>),
}

impl ArrayData {
    /// No elements, of the variant that holds `kind`.
    pub fn empty(kind: DKind) -> Self {
        match kind {
            DKind::Bool => ArrayData::Bool(Vec::new()),
            DKind::Int(_) => ArrayData::Int(Vec::new()),
            DKind::UInt(_) => ArrayData::UInt(Vec::new()),
            DKind::Float(_) => ArrayData::Float(Vec::new()),
            DKind::Complex(_) => ArrayData::Complex(Vec::new()),
            DKind::Unicode(_) => ArrayData::Unicode(Vec::new()),
            DKind::Bytes(_) => ArrayData::Bytes(Vec::new()),
            DKind::DateTime64(_) => ArrayData::DateTime(Vec::new()),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ArrayData::Bool(v) => v.len(),
            ArrayData::Int(v) | ArrayData::DateTime(v) => v.len(),
            ArrayData::UInt(v) => v.len(),
            ArrayData::Float(v) => v.len(),
            ArrayData::Complex(v) => v.len(),
            ArrayData::Unicode(v) => v.len(),
            ArrayData::Bytes(v) => v.len(),
        }
    }
    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for ArrayData {
    fn eq(&self, other: &Self) -> bool {
        use ArrayData::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) | (DateTime(a), DateTime(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            (Float(a), Float(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| float_same(*x, *y))
            }
            (Complex(a), Complex(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(x, y)| float_same(x.0, y.0) && float_same(x.1, y.1))
            }
            (Unicode(a), Unicode(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            _ => false,
        }
    }
}

/// Memory order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Order {
    /// Row-major.
    C,
    /// Column-major.
    F,
}

/// How the array's elements sit in memory.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// A contiguous array in this order.
    Contiguous(Order),
    /// `base[::steps[0], ::steps[1], ...]` where `base` is contiguous in `base_order` with
    /// `shape[i] * |steps[i]|` elements along axis i.
    Strided {
        /// Order of the base array.
        base_order: Order,
        /// Non-zero step per axis.
        steps: Vec<isize>,
    },
}

/// A NumPy array.
#[derive(Clone, Debug, PartialEq)]
pub struct NdArray {
    /// Element type.
    pub dtype: DType,
    /// Shape of the (view) array; empty for 0-d.
    pub shape: Vec<usize>,
    /// Elements in logical C order.
    pub data: ArrayData,
    /// Memory layout.
    pub layout: Layout,
    /// `flags.writeable`.
    pub writeable: bool,
}

impl NdArray {
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// The base array's shape for a strided layout (the view's shape otherwise).
    pub fn base_shape(&self) -> Vec<usize> {
        match &self.layout {
            Layout::Strided { steps, .. } => self
                .shape
                .iter()
                .zip(steps)
                .map(|(&n, &s)| n * s.unsigned_abs())
                .collect(),
            Layout::Contiguous(_) => self.shape.clone(),
        }
    }

    /// Byte strides this layout gives the view.
    pub fn strides(&self) -> Vec<isize> {
        let item = self.dtype.itemsize() as isize;
        let (order, base, steps): (Order, Vec<usize>, Vec<isize>) = match &self.layout {
            Layout::Contiguous(o) => (*o, self.shape.clone(), vec![1; self.shape.len()]),
            Layout::Strided { base_order, steps } => {
                (*base_order, self.base_shape(), steps.clone())
            }
        };
        let base_strides = contiguous_strides(&base, item, order);
        base_strides.iter().zip(steps).map(|(b, s)| b * s).collect()
    }

    /// Puts the layout in the canonical form NumPy reports back: zero-size arrays and arrays
    /// that are contiguous anyway are `Contiguous`, C preferred over F when both hold.
    pub fn canonicalize(&mut self) {
        self.dtype = self.dtype.canonical();
        if self.size() == 0 {
            self.layout = Layout::Contiguous(Order::C);
            return;
        }
        let strides = self.strides();
        let item = self.dtype.itemsize() as isize;
        if is_contiguous(&self.shape, &strides, item, Order::C) {
            self.layout = Layout::Contiguous(Order::C);
        } else if is_contiguous(&self.shape, &strides, item, Order::F) {
            self.layout = Layout::Contiguous(Order::F);
        } else if let Layout::Strided { base_order, steps } = &mut self.layout {
            // A base that is contiguous in both orders is reported as C.
            let base: Vec<usize> = self
                .shape
                .iter()
                .zip(steps.iter())
                .map(|(&n, &s)| n * s.unsigned_abs())
                .collect();
            if base.iter().filter(|&&m| m > 1).count() <= 1 {
                *base_order = Order::C;
            }
        }
    }

    /// Infers the layout from NumPy's view of the array (shape, byte strides, contiguity flags).
    /// Layouts outside the model (e.g. from `as_strided`) come back as C contiguous.
    pub fn infer_layout(
        shape: &[usize],
        strides: &[isize],
        itemsize: usize,
        c_contiguous: bool,
        f_contiguous: bool,
    ) -> Layout {
        if shape.iter().product::<usize>() == 0 || c_contiguous {
            return Layout::Contiguous(Order::C);
        }
        if f_contiguous {
            return Layout::Contiguous(Order::F);
        }
        for order in [Order::C, Order::F] {
            if let Some(steps) = infer_steps(shape, strides, itemsize as isize, order) {
                return Layout::Strided {
                    base_order: order,
                    steps,
                };
            }
        }
        Layout::Contiguous(Order::C)
    }
}

fn infer_steps(
    shape: &[usize],
    strides: &[isize],
    item: isize,
    order: Order,
) -> Option<Vec<isize>> {
    let n = shape.len();
    let axes: Vec<usize> = match order {
        Order::C => (0..n).rev().collect(),
        Order::F => (0..n).collect(),
    };
    let mut steps = vec![0isize; n];
    let mut base_stride = item;
    for i in axes {
        if base_stride == 0 || strides[i] % base_stride != 0 {
            return None;
        }
        let s = strides[i] / base_stride;
        if s == 0 {
            return None;
        }
        steps[i] = s;
        base_stride *= (shape[i] * s.unsigned_abs()) as isize;
    }
    Some(steps)
}

/// Byte strides of a contiguous array.
pub fn contiguous_strides(shape: &[usize], item: isize, order: Order) -> Vec<isize> {
    let n = shape.len();
    let mut strides = vec![0isize; n];
    let mut acc = item;
    let axes: Vec<usize> = match order {
        Order::C => (0..n).rev().collect(),
        Order::F => (0..n).collect(),
    };
    for i in axes {
        strides[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    strides
}

/// NumPy's (relaxed) contiguity test: axes of length 1 are ignored.
fn is_contiguous(shape: &[usize], strides: &[isize], item: isize, order: Order) -> bool {
    let n = shape.len();
    let axes: Vec<usize> = match order {
        Order::C => (0..n).rev().collect(),
        Order::F => (0..n).collect(),
    };
    let mut expected = item;
    for i in axes {
        if shape[i] != 1 {
            if strides[i] != expected {
                return false;
            }
            expected *= shape[i] as isize;
        }
    }
    true
}

/// Encodes elements as the raw bytes of a C-contiguous array of `dtype`.
pub fn encode(dtype: &DType, data: &ArrayData) -> Vec<u8> {
    let big = dtype.order == ByteOrder::Big;
    let item = dtype.itemsize();
    let mut out = Vec::with_capacity(item * data.len());
    macro_rules! put {
        ($v:expr) => {
            if big {
                out.extend_from_slice(&$v.to_be_bytes())
            } else {
                out.extend_from_slice(&$v.to_le_bytes())
            }
        };
    }
    fn put_float(out: &mut Vec<u8>, size: u8, x: f64, big: bool) {
        match (size, big) {
            (2, false) => out.extend_from_slice(&half::f16::from_f64(x).to_le_bytes()),
            (2, true) => out.extend_from_slice(&half::f16::from_f64(x).to_be_bytes()),
            (4, false) => out.extend_from_slice(&(x as f32).to_le_bytes()),
            (4, true) => out.extend_from_slice(&(x as f32).to_be_bytes()),
            (_, false) => out.extend_from_slice(&x.to_le_bytes()),
            (_, true) => out.extend_from_slice(&x.to_be_bytes()),
        }
    }
    match (dtype.kind, data) {
        (DKind::Bool, ArrayData::Bool(v)) => out.extend(v.iter().map(|&b| b as u8)),
        (DKind::Int(n), ArrayData::Int(v)) => {
            for &x in v {
                match n {
                    1 => put!(x as i8),
                    2 => put!(x as i16),
                    4 => put!(x as i32),
                    _ => put!(x),
                }
            }
        }
        (DKind::UInt(n), ArrayData::UInt(v)) => {
            for &x in v {
                match n {
                    1 => put!(x as u8),
                    2 => put!(x as u16),
                    4 => put!(x as u32),
                    _ => put!(x),
                }
            }
        }
        (DKind::Float(n), ArrayData::Float(v)) => {
            for &x in v {
                put_float(&mut out, n, x, big);
            }
        }
        (DKind::Complex(n), ArrayData::Complex(v)) => {
            for &(re, im) in v {
                put_float(&mut out, n / 2, re, big);
                put_float(&mut out, n / 2, im, big);
            }
        }
        (DKind::Unicode(n), ArrayData::Unicode(v)) => {
            for s in v {
                for i in 0..n {
                    put!(s.0.get(i).copied().unwrap_or(0));
                }
            }
        }
        (DKind::Bytes(n), ArrayData::Bytes(v)) => {
            for b in v {
                let mut b = b.clone();
                b.resize(n, 0);
                out.extend_from_slice(&b);
            }
        }
        (DKind::DateTime64(_), ArrayData::DateTime(v)) => {
            for &x in v {
                put!(x);
            }
        }
        _ => panic!("array data does not match dtype {}", dtype.numpy_str()),
    }
    out
}

/// Decodes the raw bytes of a C-contiguous array of `dtype`.
pub fn decode(dtype: &DType, bytes: &[u8]) -> ArrayData {
    let big = dtype.order == ByteOrder::Big;
    let item = dtype.itemsize();
    let chunks = if item == 0 {
        [].chunks(1)
    } else {
        bytes.chunks(item)
    };
    macro_rules! get {
        ($t:ty, $c:expr) => {{
            let arr: [u8; std::mem::size_of::<$t>()] = $c.try_into().unwrap();
            if big {
                <$t>::from_be_bytes(arr)
            } else {
                <$t>::from_le_bytes(arr)
            }
        }};
    }
    let float = |c: &[u8], n: usize| -> f64 {
        match n {
            2 => {
                let arr: [u8; 2] = c.try_into().unwrap();
                let h = if big {
                    half::f16::from_be_bytes(arr)
                } else {
                    half::f16::from_le_bytes(arr)
                };
                h.to_f64()
            }
            4 => get!(f32, c) as f64,
            _ => get!(f64, c),
        }
    };
    match dtype.kind {
        DKind::Bool => ArrayData::Bool(bytes.iter().map(|&b| b != 0).collect()),
        DKind::Int(n) => ArrayData::Int(
            chunks
                .map(|c| match n {
                    1 => c[0] as i8 as i64,
                    2 => get!(i16, c) as i64,
                    4 => get!(i32, c) as i64,
                    _ => get!(i64, c),
                })
                .collect(),
        ),
        DKind::UInt(n) => ArrayData::UInt(
            chunks
                .map(|c| match n {
                    1 => c[0] as u64,
                    2 => get!(u16, c) as u64,
                    4 => get!(u32, c) as u64,
                    _ => get!(u64, c),
                })
                .collect(),
        ),
        DKind::Float(n) => ArrayData::Float(chunks.map(|c| float(c, n as usize)).collect()),
        DKind::Complex(n) => {
            let h = n as usize / 2;
            ArrayData::Complex(
                chunks
                    .map(|c| (float(&c[..h], h), float(&c[h..], h)))
                    .collect(),
            )
        }
        DKind::Unicode(_) => ArrayData::Unicode(
            chunks
                .map(|c| {
                    let mut cps: Vec<u32> = c.chunks(4).map(|q| get!(u32, q)).collect();
                    while cps.last() == Some(&0) {
                        cps.pop();
                    }
                    PyStr(cps)
                })
                .collect(),
        ),
        DKind::Bytes(_) => ArrayData::Bytes(
            chunks
                .map(|c| {
                    let mut v = c.to_vec();
                    while v.last() == Some(&0) {
                        v.pop();
                    }
                    v
                })
                .collect(),
        ),
        DKind::DateTime64(_) => ArrayData::DateTime(chunks.map(|c| get!(i64, c)).collect()),
    }
}

/// Reverses the data along the given axes (C order, `shape`).
pub fn reverse_axes<T: Clone>(data: &[T], shape: &[usize], axes: &[bool]) -> Vec<T> {
    if !axes.iter().any(|&a| a) {
        return data.to_vec();
    }
    let n = data.len();
    let mut out = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        let mut flat = 0;
        for (k, &i) in idx.iter().enumerate() {
            let j = if axes[k] { shape[k] - 1 - i } else { i };
            flat = flat * shape[k] + j;
        }
        out.push(data[flat].clone());
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    out
}

/// [`reverse_axes`] over every kind of [`ArrayData`].
pub fn reverse_data(data: &ArrayData, shape: &[usize], axes: &[bool]) -> ArrayData {
    match data {
        ArrayData::Bool(v) => ArrayData::Bool(reverse_axes(v, shape, axes)),
        ArrayData::Int(v) => ArrayData::Int(reverse_axes(v, shape, axes)),
        ArrayData::UInt(v) => ArrayData::UInt(reverse_axes(v, shape, axes)),
        ArrayData::Float(v) => ArrayData::Float(reverse_axes(v, shape, axes)),
        ArrayData::Complex(v) => ArrayData::Complex(reverse_axes(v, shape, axes)),
        ArrayData::Unicode(v) => ArrayData::Unicode(reverse_axes(v, shape, axes)),
        ArrayData::Bytes(v) => ArrayData::Bytes(reverse_axes(v, shape, axes)),
        ArrayData::DateTime(v) => ArrayData::DateTime(reverse_axes(v, shape, axes)),
    }
}
