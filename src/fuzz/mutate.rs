//! A mutation step that knows how Python stores text.
//!
//! CPython keeps a `str` as one, two or four bytes per code point (PEP 393), and extensions
//! often compare text in those forms (`PyUnicode_AsUCS4`, `str.encode('utf-32')`, arrays of
//! `u32`/`wchar_t`). libFuzzer records the operands of those comparisons and splices them into
//! inputs as they were compared: as UTF-32 or UTF-16 bytes. pyz3 decodes text from UTF-8, so a
//! spliced `"\0\0\0\0p\0\0\0y\0\0\0"` would never become the string `"\0py"`.
//! [`narrow_wide_text`] rewrites one such run into the UTF-8 that decodes to those code points.

use super::decode::encode_text;

/// Finds a run of at least three UTF-32LE code units (two or more of them non-zero) in
/// `data[..size]`, starting the search at an offset chosen by `seed`, and replaces it by the
/// encoding [`super::decode::decode_text`] reads as the same code points. Failing that, does
/// the same for a UTF-16LE run of at least three ASCII characters. Returns the new size (at most
/// `size`); with no run found, `data` is unchanged.
pub fn narrow_wide_text(data: &mut [u8], size: usize, seed: u32) -> usize {
    let size = size.min(data.len());
    // A run has three units or more, each with a zero high byte (UTF-32 code points stop at
    // U+10FFFF, UTF-16 units here are ASCII): text without three NULs has none to look for.
    if size < 6 || data[..size].iter().filter(|&&b| b == 0).nth(2).is_none() {
        return size;
    }
    let start = seed as usize % size;
    for width in [4, 2] {
        for offset in (start..size).chain(0..start) {
            if wide_run(&data[offset..size], width).is_none() {
                continue;
            }
            // The same bytes read at a neighbouring alignment may also pass: keep the
            // alignment whose code points look most like text (most non-zero ASCII).
            let best = (offset..(offset + width).min(size))
                .filter_map(|o| wide_run(&data[o..size], width).map(|r| (o, r)))
                .max_by_key(|(_, run)| (run.ascii, run.units));
            if let Some((o, run)) = best {
                let cps: Vec<u32> = data[o..o + run.units * width]
                    .chunks_exact(width)
                    .map(|u| unit(u, width))
                    .collect();
                return splice(data, size, o, run.units * width, &cps);
            }
        }
    }
    size
}

/// A run of wide code units: how many, and how many are non-zero ASCII.
struct Run {
    units: usize,
    ascii: usize,
}

fn unit(u: &[u8], width: usize) -> u32 {
    if width == 4 {
        u32::from_le_bytes([u[0], u[1], u[2], u[3]])
    } else {
        u32::from(u[0])
    }
}

/// The longest run of `width`-byte little-endian code units at the start of `bytes`, when it has
/// at least three units and two non-zero ones. Runs once per offset on every fourth mutation, so
/// it only counts.
fn wide_run(bytes: &[u8], width: usize) -> Option<Run> {
    let (mut units, mut nonzero, mut ascii) = (0, 0, 0);
    for u in bytes.chunks_exact(width) {
        // UTF-16: ASCII only, so random binary rarely qualifies.
        if width == 2 && (u[1] != 0 || u[0] >= 0x80) {
            break;
        }
        let cp = unit(u, width);
        if cp > 0x10_ffff || (cp >= 0x80 && units == 0) {
            break;
        }
        units += 1;
        nonzero += usize::from(cp != 0);
        ascii += usize::from(cp != 0 && cp < 0x80);
    }
    (units >= 3 && nonzero >= 2).then_some(Run { units, ascii })
}

fn splice(data: &mut [u8], size: usize, offset: usize, len: usize, cps: &[u32]) -> usize {
    let narrow = encode_text(cps);
    debug_assert!(narrow.len() <= len);
    data[offset..offset + narrow.len()].copy_from_slice(&narrow);
    data.copy_within(offset + len..size, offset + narrow.len());
    size - len + narrow.len()
}

/// One mutation of text held as code points (UTF-32), on whole code points: libFuzzer's byte
/// mutations shift UTF-32 text off its 4-byte grid (an inserted byte turns everything after it
/// into other characters), so the text would otherwise rarely grow or shrink by a character.
/// `rng` picks the operation — insert, erase, duplicate a run, or replace — and the code points,
/// which come from the text itself, from printable ASCII, or are U+0000. At most `max_len` code
/// points are kept.
pub fn mutate_code_points(cps: &mut Vec<u32>, mut rng: u64, max_len: usize) {
    let mut next = |n: usize| -> usize {
        // SplitMix64: cheap and good enough to pick among a few choices.
        rng = rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    };
    let len = cps.len();
    let count = 1 + next(4);
    match next(if len == 0 { 1 } else { 4 }) {
        0 => {
            let at = next(len + 1);
            let new: Vec<u32> = (0..count)
                .map(|_| match next(4) {
                    0 | 1 if len > 0 => cps[next(len)],
                    2 => 0,
                    _ => 0x20 + next(0x5f) as u32,
                })
                .collect();
            cps.splice(at..at, new);
        }
        1 => {
            let at = next(len);
            cps.drain(at..(at + count).min(len));
        }
        2 => {
            let from = next(len);
            let run: Vec<u32> = cps[from..(from + count).min(len)].to_vec();
            let at = next(len + 1);
            cps.splice(at..at, run);
        }
        _ => {
            let at = next(len);
            cps[at] = if next(2) == 0 {
                cps[next(len)]
            } else {
                0x20 + next(0x5f) as u32
            };
        }
    }
    cps.truncate(max_len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf32_run_becomes_utf8() {
        let mut data = b"[[{\"".to_vec();
        for c in "\0pyz3".chars() {
            data.extend((c as u32).to_le_bytes());
        }
        data.extend(b"\":1}]]");
        let n = data.len();
        let m = narrow_wide_text(&mut data, n, 0);
        assert_eq!(&data[..m], b"[[{\"\0pyz3\":1}]]");
    }

    #[test]
    fn utf16_run_becomes_utf8() {
        let mut data = b"x".to_vec();
        data.extend([b'a', 0, b'b', 0, b'c', 0]);
        let n = data.len();
        let m = narrow_wide_text(&mut data, n, 0);
        assert_eq!(&data[..m], b"xabc");
    }

    #[test]
    fn code_point_mutations_keep_whole_code_points() {
        let text: Vec<u32> = "[[{\"key\": 1}]]".chars().map(u32::from).collect();
        let mut lengths = std::collections::BTreeSet::new();
        for seed in 0..200u64 {
            let mut cps = text.clone();
            mutate_code_points(&mut cps, seed, 64);
            // Every code point is one of the text's, printable ASCII or U+0000.
            assert!(
                cps.iter()
                    .all(|c| text.contains(c) || (0x20..0x7f).contains(c) || *c == 0),
                "{cps:?}"
            );
            lengths.insert(cps.len() as i64 - text.len() as i64);
        }
        // Insertions and erasures of one to four code points, and same-length replacements.
        for d in [-4, -1, 0, 1, 4] {
            assert!(lengths.contains(&d), "{lengths:?}");
        }
        let mut empty = Vec::new();
        mutate_code_points(&mut empty, 7, 64);
        assert!(!empty.is_empty() && empty.len() <= 4);
        let mut long = vec![0x41; 64];
        for seed in 0..50 {
            mutate_code_points(&mut long, seed, 64);
            assert!(long.len() <= 64);
        }
    }

    #[test]
    fn plain_text_is_left_alone() {
        let mut data = b"hello, world".to_vec();
        let n = data.len();
        assert_eq!(narrow_wide_text(&mut data, n, 3), n);
        assert_eq!(&data, b"hello, world");
    }
}
