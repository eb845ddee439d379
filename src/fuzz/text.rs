//! Text-aware steps of a fuzz target's mutator: the text argument re-encoded in another
//! storage width, mutated on whole code points, or narrowed back to UTF-8.
//!
//! For the mutator of [`fuzz_target!`](crate::fuzz_target) (behind the `embed` feature: they
//! read the installed target's argument shapes). Each returns the input's new size. They run
//! only for a target with an argument that can hold text ([`holds_text`]); for any other they
//! leave the input as it is, at the cost of one look at the installed target.

use super::decode::Reader;
use crate::strategy::{ArrayKind, Shape};
use crate::value::DKind;

/// Whether a value of `shape` can hold text decoded from the input's bytes: a `str`, an untyped
/// position (`Any`, hashable, `Callable`, which may decode to a `str`), a NumPy array that may
/// be of a unicode dtype, or a container, `Optional` or union with such an element. Values drawn
/// from a strategy (generated enums, registered classes) and `Literal` choices do not: their
/// text is not the input's bytes, so no text step can shape it.
pub fn holds_text(shape: &Shape) -> bool {
    shape.any_inside(&|s| {
        matches!(
            s,
            Shape::Str
                | Shape::Any
                | Shape::Hashable
                | Shape::Callable
                | Shape::Array(ArrayKind::Any | ArrayKind::Kind(DKind::Unicode(_)))
        )
    })
}

/// Whether the installed target has an argument that can hold text (false with none installed).
fn target_has_text() -> bool {
    super::runtime::TARGET.with(|cell| cell.get().is_some_and(|t| t.text))
}

/// Where the installed target's text starts in `data[..size]`: the offset of its last argument,
/// when that is a `str` (which takes all remaining bytes).
pub(crate) fn text_start(data: &[u8], size: usize) -> Option<usize> {
    super::runtime::TARGET.with(|cell| {
        let t = cell.get()?;
        let (Shape::Str, head) = t.shapes.split_last()? else {
            return None;
        };
        let mut r = Reader::new(&data[..size.min(data.len())]);
        for s in head {
            super::decode::decode(s, &mut r);
        }
        Some(r.consumed())
    })
}

/// Re-encodes the text of the installed target's last argument, when it is a `str`, in the other
/// storage width: UTF-8 becomes UTF-32LE (with its `0xFF` mark) and UTF-32/UTF-16 becomes UTF-8.
/// The decoded string is the same; what changes is which comparisons libFuzzer can splice into it:
/// an extension comparing code points compares UTF-32, one comparing bytes UTF-8. Returns the new
/// size (unchanged when there is no such argument or the result would exceed `max_size`).
pub fn reencode_text(data: &mut [u8], size: usize, max_size: usize) -> usize {
    let size = size.min(data.len());
    if !target_has_text() {
        return size;
    }
    let Some(start) = text_start(data, size) else {
        return size;
    };
    let tail = &data[start..size];
    let cps = super::decode::decode_str(tail);
    let new: Vec<u8> = if matches!(tail.first(), Some(0xff | 0xfe)) {
        super::decode::encode_text(&cps)
    } else {
        std::iter::once(0xff)
            .chain(cps.iter().flat_map(|c| c.to_le_bytes()))
            .collect()
    };
    let end = start + new.len();
    if end > max_size.min(data.len()) {
        return size;
    }
    data[start..end].copy_from_slice(&new);
    end
}

/// A code-point mutation ([`super::mutate::mutate_code_points`]) of the installed target's text
/// argument when it is stored as UTF-32 (`0xFF` mark); `None` (nothing changed) otherwise.
/// Returns the new size, at most `max_size`.
pub fn mutate_wide_text(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> Option<usize> {
    if !target_has_text() {
        return None;
    }
    let size = size.min(data.len());
    let start = text_start(data, size)?;
    if data[..size].get(start) != Some(&0xff) {
        return None;
    }
    let room = max_size.min(data.len()).checked_sub(start + 1)? / 4;
    let mut cps: Vec<u32> = data[start + 1..size]
        .chunks_exact(4)
        .map(|u| u32::from_le_bytes([u[0], u[1], u[2], u[3]]))
        .collect();
    super::mutate::mutate_code_points(&mut cps, u64::from(seed), room);
    let mut at = start + 1;
    for c in cps {
        data[at..at + 4].copy_from_slice(&c.to_le_bytes());
        at += 4;
    }
    Some(at)
}

/// [`super::mutate::narrow_wide_text`] on the part of the input that holds text stored as UTF-8: the
/// installed target's text argument unless it is marked UTF-32 or UTF-16 (whose runs are already
/// in the width they are compared in), or the whole input when the last argument is not a `str`
/// but another one can hold text. Without such an argument, `data` is unchanged.
pub fn narrow_text(data: &mut [u8], size: usize, seed: u32) -> usize {
    let size = size.min(data.len());
    if !target_has_text() {
        return size;
    }
    let text = text_start(data, size);
    if text.is_some_and(|s| matches!(data[..size].get(s), Some(0xff | 0xfe))) {
        return size;
    }
    let start = text.unwrap_or(0).min(size);
    start + super::mutate::narrow_wide_text(&mut data[start..], size - start, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::Target;

    fn text_in(types: &[&str]) -> bool {
        let (shapes, _) = Target::new("m", "f", types).shapes().unwrap();
        shapes.iter().any(holds_text)
    }

    #[test]
    fn text_steps_only_for_arguments_that_hold_text() {
        for types in [
            &["list[int]"][..],
            &["bytes"],
            &["int", "bytes", "float"],
            &["dict[int, list[bytes]]"],
            &["tuple[int, bytes]"],
            &["Optional[int]"],
        ] {
            assert!(!text_in(types), "{types:?}");
        }
        for types in [
            &["str"][..],
            &["str", "int"],
            &["bytes", "str"],
            &["list[str]"],
            &["dict[int, str]"],
            &["tuple[int, str]"],
            &["Optional[str]"],
            &["Union[int, str]"],
            &["Any"],
            &["list[Any]"],
        ] {
            assert!(text_in(types), "{types:?}");
        }
    }
}
