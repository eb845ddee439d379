//! Whether a compiled library carries libFuzzer's coverage instrumentation.
//!
//! For the fuzz runtime (which libraries loaded into the fuzz binary give it coverage), `pyz3
//! fuzz` and `pyz3 build --fuzz` (whether a module was built for fuzzing). A library compiled
//! with `-fsanitize=fuzzer-no-link` (clang) or with cargo-fuzz's flags has a `__sancov_cntrs`
//! section: one inline 8-bit counter per edge, which registers with libFuzzer when the library
//! is loaded.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The ELF section of libFuzzer's inline 8-bit counters.
pub const COUNTERS_SECTION: &str = "__sancov_cntrs";

/// The size in bytes (one per counter) of `section` in the 64-bit little-endian ELF file
/// `path`; `None` when the file is not such an ELF file or has no such section.
pub fn section_size(path: &Path, section: &str) -> Option<u64> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = [0u8; 64];
    f.read_exact(&mut h).ok()?;
    // ELF magic, 64-bit class, little-endian.
    if h[..4] != *b"\x7fELF" || h[4] != 2 || h[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u64;
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap()) as u64;
    let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let (shoff, shentsize, shnum, shstrndx) = (
        u64_at(&h, 0x28),
        u16_at(&h, 0x3a),
        u16_at(&h, 0x3c),
        u16_at(&h, 0x3e),
    );
    if shentsize < 64 || shnum == 0 || shnum > 65_000 || shstrndx >= shnum {
        return None;
    }
    let mut table = vec![0u8; (shentsize * shnum) as usize];
    f.seek(SeekFrom::Start(shoff)).ok()?;
    f.read_exact(&mut table).ok()?;
    let header = |i: u64| &table[(i * shentsize) as usize..((i + 1) * shentsize) as usize];
    let strtab = header(shstrndx);
    let (str_off, str_size) = (u64_at(strtab, 0x18), u64_at(strtab, 0x20));
    if str_size > 1 << 24 {
        return None;
    }
    let mut names = vec![0u8; str_size as usize];
    f.seek(SeekFrom::Start(str_off)).ok()?;
    f.read_exact(&mut names).ok()?;
    (0..shnum).find_map(|i| {
        let s = header(i);
        let start = u32_at(s, 0) as usize;
        let name = names.get(start..)?;
        let end = name.iter().position(|&b| b == 0)?;
        (&name[..end] == section.as_bytes()).then(|| u64_at(s, 0x20))
    })
}

/// libFuzzer's inline 8-bit counters in the library or executable `path` (0 when it has none).
pub fn coverage_counters(path: &Path) -> u64 {
    section_size(path, COUNTERS_SECTION).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_read_from_a_real_elf_file_and_nothing_from_others() {
        let exe = std::env::current_exe().unwrap();
        assert!(section_size(&exe, ".text").is_some_and(|n| n > 0));
        assert_eq!(section_size(&exe, "no-such-section"), None);
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), b"\x7fELF not really").unwrap();
        assert_eq!(coverage_counters(tmp.path()), 0);
    }
}
