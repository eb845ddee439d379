//! Ints from fuzzer bytes: the tag-and-width layout every int of an input is read with, by
//! the value model ([`super::decode_args`]) and by the fuzz runtime's direct path alike.

use num_bigint::BigInt;
use num_integer::Integer;

use super::Reader;
use crate::strategy::scalar;

/// Reads an int into a `BigInt`.
pub(super) fn int(r: &mut Reader<'_>) -> BigInt {
    int_read(r).into()
}

/// `v` moved into `lo..=hi` (`lo` ≤ `hi`): itself when it is in, else wrapped around.
pub(crate) fn in_range(v: BigInt, lo: &BigInt, hi: &BigInt) -> BigInt {
    if &v >= lo && &v <= hi {
        v
    } else {
        let span = hi - lo + 1;
        lo + (v - lo).mod_floor(&span)
    }
}

/// An int as read from the input: most fit in 64 bits, and need no allocation then.
pub(crate) enum Int<'a> {
    /// One that fits in an `i64`.
    Small(i64),
    /// A longer one, as signed little-endian bytes (more than 8 of them).
    Bytes(&'a [u8]),
    /// An edge value that does not fit in an `i64`.
    Big(BigInt),
}

impl From<Int<'_>> for BigInt {
    fn from(v: Int<'_>) -> BigInt {
        match v {
            Int::Small(v) => BigInt::from(v),
            Int::Bytes(b) => BigInt::from_signed_bytes_le(b),
            Int::Big(v) => v,
        }
    }
}

/// Reads an int: a tag byte picks its size (an `i8`, `i16`, `i32` or `i64`, an edge value, or
/// up to 32 little-endian bytes).
pub(crate) fn int_read<'a>(r: &mut Reader<'a>) -> Int<'a> {
    let tag = r.byte();
    Int::Small(match tag % 8 {
        0..=2 => i64::from(r.byte() as i8),
        3 => i64::from(r.le(2) as u16 as i16),
        4 => i64::from(r.le(4) as u32 as i32),
        5 => r.le(8) as i64,
        6 => {
            // Made once: building the edge values each time was a tenth of a decode.
            static EDGES: std::sync::OnceLock<Vec<BigInt>> = std::sync::OnceLock::new();
            let edges = EDGES.get_or_init(scalar::int_edges);
            let edge = &edges[r.index(edges.len())];
            match i64::try_from(edge) {
                Ok(v) => v,
                Err(_) => return Int::Big(edge.clone()),
            }
        }
        _ => {
            let n = 1 + r.byte() as usize % 32;
            let bytes = r.bytes(n);
            match bytes.len() {
                0 => 0,
                // Sign-extended from the last byte, as `BigInt::from_signed_bytes_le` reads it.
                len @ 1..=8 => {
                    let fill = if bytes[len - 1] & 0x80 != 0 { 0xff } else { 0 };
                    let mut buf = [fill; 8];
                    buf[..len].copy_from_slice(bytes);
                    i64::from_le_bytes(buf)
                }
                _ => return Int::Bytes(bytes),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_int_of_up_to_eight_bytes_reads_as_its_signed_little_endian_bytes() {
        for bytes in [
            vec![0x80],
            vec![0x7f],
            vec![0xff, 0xff],
            vec![0x00, 0x80, 0x00],
            vec![0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88],
            vec![0xff; 8],
            vec![0x12, 0x34, 0x56, 0x78, 0x9a],
        ] {
            // Tag 7 (a long int), then its length less one, then the bytes.
            let mut data = vec![7, bytes.len() as u8 - 1];
            data.extend(&bytes);
            let want = BigInt::from_signed_bytes_le(&bytes);
            assert_eq!(int(&mut Reader::new(&data)), want, "{bytes:02x?}");
            assert!(
                matches!(int_read(&mut Reader::new(&data)), Int::Small(v) if BigInt::from(v) == want)
            );
        }
        // Nine bytes and more are big ints.
        let data = [7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0x80];
        assert!(matches!(int_read(&mut Reader::new(&data)), Int::Bytes(b) if b == &data[2..]));
        assert_eq!(
            int(&mut Reader::new(&data)),
            BigInt::from_signed_bytes_le(&data[2..])
        );
    }
}
