//! clang of rustc's LLVM major, and its compiler-rt runtimes.
//!
//! C extensions built with this clang share one profile format and one set of sanitizer
//! runtimes with the Rust crates. [`find_clang`] and [`runtime`] are the lookups both the
//! commands and `pyz3 doctor` use.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::llvm::{first_of_major, llvm_bin, tool_version, Found, NotFound};
use super::path::find_on_path;
use super::rust::{llvm_major, Channel};
use crate::process::{output_within, TOOL_LIMIT};

/// clang of LLVM `major`: `clang-N` on PATH, `/usr/lib/llvm-N/bin/clang`, or `clang` on PATH,
/// the first whose version matches.
pub fn find_clang(major: u32) -> Result<Found, NotFound> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    candidates.extend(find_on_path(&format!("clang-{major}")));
    candidates.push(llvm_bin(major).join("clang"));
    candidates.extend(find_on_path("clang"));
    first_of_major(candidates, major, "clang")
}

/// A clang whose LLVM matches the default rustc's (`clang-22` for LLVM 22), so Rust and C
/// profiles merge with one `llvm-profdata`. Without rustc, the major of `clang` on PATH. `None`
/// when there is none (C coverage then uses gcc's gcov).
pub fn matching_clang() -> Option<PathBuf> {
    let major = llvm_major(Channel::Default)
        .or_else(|| tool_version(&find_on_path("clang")?).map(|v| v.major))?;
    find_clang(major).ok().map(|f| f.path)
}

/// The file name of compiler-rt runtime `kind` (`asan`, `tsan`, `fuzzer`, `ubsan_standalone`)
/// with extension `ext` (`so`, `a`) for this machine's architecture.
pub fn runtime_file(kind: &str, ext: &str) -> String {
    format!("libclang_rt.{kind}-{}.{ext}", std::env::consts::ARCH)
}

/// Compiler-rt runtime `kind` of LLVM `major` ([`runtime_file`]): in
/// `/usr/lib/llvm-N/lib/clang/N/lib/linux/`, or where `clang` says its runtimes are
/// (`-print-runtime-dir`, also in the per-target `libclang_rt.KIND.EXT` layout, and
/// `-print-file-name`).
pub fn runtime(major: u32, clang: Option<&Path>, kind: &str, ext: &str) -> Option<PathBuf> {
    let file = runtime_file(kind, ext);
    let mut candidates = vec![PathBuf::from(format!(
        "/usr/lib/llvm-{major}/lib/clang/{major}/lib/linux/{file}"
    ))];
    let ask = |arg: &str| -> Option<PathBuf> {
        let out = output_within(
            Command::new(clang?).arg(arg).stdin(Stdio::null()),
            TOOL_LIMIT,
        )
        .ok()
        .filter(|o| o.status.success())?;
        let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        p.is_absolute().then_some(p)
    };
    if let Some(dir) = ask("-print-runtime-dir") {
        candidates.push(dir.join(&file));
        candidates.push(dir.join(format!("libclang_rt.{kind}.{ext}")));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .or_else(|| ask(&format!("-print-file-name={file}")).filter(|p| p.is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_names_carry_the_architecture() {
        let arch = std::env::consts::ARCH;
        assert_eq!(
            runtime_file("asan", "so"),
            format!("libclang_rt.asan-{arch}.so")
        );
        assert_eq!(
            runtime_file("fuzzer", "a"),
            format!("libclang_rt.fuzzer-{arch}.a")
        );
    }

    #[test]
    fn a_runtime_is_found_where_clang_says() {
        // A stand-in clang that names a runtime directory: the per-target layout is accepted.
        let dir = tempfile::tempdir().unwrap();
        let rt = dir.path().join("rt");
        std::fs::create_dir(&rt).unwrap();
        std::fs::write(rt.join("libclang_rt.tsan.so"), "").unwrap();
        let clang = crate::toolchain::path::test_script(
            dir.path(),
            "clang",
            &format!("[ \"$1\" = -print-runtime-dir ] && echo {}", rt.display()),
        );
        // An LLVM major no machine has, so the Debian directory does not answer first.
        let found = runtime(9999, Some(&clang), "tsan", "so");
        assert_eq!(found, Some(rt.join("libclang_rt.tsan.so")));
        assert_eq!(runtime(9999, Some(&clang), "asan", "so"), None);
        assert_eq!(runtime(9999, None, "tsan", "so"), None);
    }

    #[test]
    fn this_machines_clang_and_runtimes_match_rustcs_llvm() {
        // The machine's real toolchain (scripts/setup.sh installs clang and compiler-rt of
        // rustc's LLVM major): what the builds pick is of that major.
        let major = llvm_major(Channel::Default).expect("rustc says its LLVM version");
        let clang = find_clang(major).expect("a clang of rustc's LLVM major");
        assert_eq!(clang.version.major, major);
        assert_eq!(matching_clang(), Some(clang.path.clone()));
        let asan = runtime(major, Some(&clang.path), "asan", "so").expect("the ASan runtime");
        assert!(asan.is_file(), "{}", asan.display());
        let sym = crate::toolchain::llvm::find_tool("llvm-symbolizer", major).expect("symbolizer");
        assert_eq!(sym.version.major, major);
    }
}
