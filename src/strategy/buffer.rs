//! Strategies for buffer-protocol objects: `bytes`, `bytearray` and contiguous NumPy `uint8`
//! arrays.
//!
//! For the stub types that accept "anything with a buffer" (`collections.abc.Buffer`,
//! `_typeshed.ReadableBuffer`, `WriteableBuffer`, `typing.ByteString`, `memoryview`): functions
//! that take them usually read the bytes through the buffer protocol, so the interesting
//! differences between the objects are mutability, read-only memory and the type itself, not
//! layout. The arrays here are therefore 1-d, C-contiguous and native `uint8`, the array that
//! behaves most like `bytes`. The value model has no `memoryview`: a `memoryview` parameter gets
//! these objects instead.

use rand::RngExt;

use super::text::{byte_vec, shrink_bytes};
use super::{Shape, Size, ValueStrategy};
use crate::value::{ArrayData, DKind, DType, Layout, NdArray, Order, Value};

/// An array of these bytes: 1-d, C-contiguous, native `uint8`.
pub fn uint8_array(data: &[u8], writeable: bool) -> NdArray {
    NdArray {
        dtype: DType::native(DKind::UInt(1)),
        shape: vec![data.len()],
        data: ArrayData::UInt(data.iter().map(|&b| b as u64).collect()),
        layout: Layout::Contiguous(Order::C),
        writeable,
    }
}

/// The bytes of an array from [`uint8_arrays`], and whether it is writeable.
fn array_bytes(v: &Value) -> Option<(Vec<u8>, bool)> {
    match v {
        Value::Array(a)
            if a.dtype == DType::native(DKind::UInt(1))
                && a.shape.len() == 1
                && a.layout == Layout::Contiguous(Order::C) =>
        {
            match &a.data {
                ArrayData::UInt(d) => Some((d.iter().map(|&x| x as u8).collect(), a.writeable)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// 1-d C-contiguous native `uint8` arrays of the bytes [`super::text::bytes`] draws; with
/// `read_only`, one in four is read-only (`flags.writeable` false), otherwise all are
/// writeable. Shrinks toward writeable, then like `bytes`.
pub fn uint8_arrays(size: Size, read_only: bool) -> ValueStrategy {
    let b = byte_vec(size);
    ValueStrategy::direct(
        move |rng| {
            let data = b.draw(rng);
            let writeable = !read_only || rng.random_range(0..4) != 0;
            Value::Array(uint8_array(&data, writeable))
        },
        |v| {
            let Some((data, writeable)) = array_bytes(v) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            if !writeable {
                out.push(Value::Array(uint8_array(&data, true)));
            }
            out.extend(
                shrink_bytes(&data)
                    .into_iter()
                    .map(|d| Value::Array(uint8_array(&d, writeable))),
            );
            out
        },
        move |v| matches!(array_bytes(v), Some((_, w)) if w || read_only),
        Value::Array(uint8_array(&[], true)),
    )
}

/// Objects that export a readable buffer: `bytes`, `bytearray` and `uint8` arrays (some
/// read-only), equally likely; shrinks toward `b''`.
pub fn buffers(size: Size) -> ValueStrategy {
    Shape::buffer(false).strategy(size)
}

/// Objects that export a writeable buffer: `bytearray` and writeable `uint8` arrays, equally
/// likely; shrinks toward `bytearray(b'')`.
pub fn writeable_buffers(size: Size) -> ValueStrategy {
    Shape::buffer(true).strategy(size)
}
