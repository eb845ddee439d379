//! Which sanitizers a run uses, which combinations work, and the compiler flags for each.
//!
//! For `pyz3 test|build|env --sanitize LIST`: [`SanitizerSet::parse`] is the one place a list is
//! validated, so every subcommand refuses the same combinations with the same reasons.

use std::fmt;

use crate::error::Error;

/// One sanitizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sanitizer {
    /// AddressSanitizer: out-of-bounds accesses, use-after-free, double free.
    Address,
    /// LeakSanitizer on top of AddressSanitizer: memory the extension allocated and lost.
    Leak,
    /// ThreadSanitizer: data races between threads (the GIL released).
    Thread,
    /// UndefinedBehaviorSanitizer for C; overflow checks, debug assertions and UB checks for Rust.
    Undefined,
}

impl Sanitizer {
    /// Every sanitizer, in the order labels and flags list them.
    pub const ALL: [Sanitizer; 4] = [
        Sanitizer::Address,
        Sanitizer::Leak,
        Sanitizer::Thread,
        Sanitizer::Undefined,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Sanitizer::Address => "address",
            Sanitizer::Leak => "leak",
            Sanitizer::Thread => "thread",
            Sanitizer::Undefined => "undefined",
        }
    }
}

impl fmt::Display for Sanitizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A valid combination of sanitizers (possibly empty: a plain build).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SanitizerSet {
    bits: u8,
}

impl SanitizerSet {
    /// No sanitizer: the ordinary build.
    pub const NONE: SanitizerSet = SanitizerSet { bits: 0 };

    /// Parses a comma-separated list (`address,undefined`). `leak` implies `address`.
    /// Unknown names, `memory` and `address,thread` are refused with the reason.
    pub fn parse(list: &str) -> Result<SanitizerSet, Error> {
        let mut set = SanitizerSet::NONE;
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let s = match name {
                "address" | "asan" => Sanitizer::Address,
                "leak" | "lsan" => Sanitizer::Leak,
                "thread" | "tsan" => Sanitizer::Thread,
                "undefined" | "ubsan" => Sanitizer::Undefined,
                "memory" | "msan" => return Err(Error::Usage(
                    "the memory sanitizer is not supported: MemorySanitizer needs every library \
                         in the process instrumented, CPython and libc included, or it reports \
                         false uninitialized reads; use `address` (with `leak`) and `undefined`"
                        .into(),
                )),
                other => {
                    return Err(Error::Usage(format!(
                        "unknown sanitizer `{other}`: expected address, leak, thread or undefined \
                         (comma-separated)"
                    )))
                }
            };
            set = set.with(s);
        }
        if set.contains(Sanitizer::Leak) {
            set = set.with(Sanitizer::Address);
        }
        if set.contains(Sanitizer::Address) && set.contains(Sanitizer::Thread) {
            return Err(Error::Usage(
                "`address` (or `leak`) and `thread` cannot be combined: ASan and TSan each lay out \
                 the whole address space's shadow memory; run them one after the other"
                    .into(),
            ));
        }
        Ok(set)
    }

    /// This set plus `s`.
    pub fn with(self, s: Sanitizer) -> SanitizerSet {
        SanitizerSet {
            bits: self.bits | 1 << s as u8,
        }
    }

    /// Whether `s` is in the set.
    pub fn contains(self, s: Sanitizer) -> bool {
        self.bits & (1 << s as u8) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// The members, in [`Sanitizer::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Sanitizer> {
        Sanitizer::ALL
            .into_iter()
            .filter(move |s| self.contains(*s))
    }

    /// A file-name-safe label: `address+undefined`, or `plain` for none.
    pub fn label(self) -> String {
        if self.is_empty() {
            return "plain".into();
        }
        self.iter()
            .map(Sanitizer::name)
            .collect::<Vec<_>>()
            .join("+")
    }

    /// Whether a Rust build needs the nightly toolchain (every sanitizer flag is `-Z`).
    pub fn needs_nightly(self) -> bool {
        !self.is_empty()
    }

    /// The runtime library to preload into Python, when the set needs one: `asan` or `tsan`.
    pub fn runtime(self) -> Option<&'static str> {
        if self.contains(Sanitizer::Address) {
            Some("asan")
        } else if self.contains(Sanitizer::Thread) {
            Some("tsan")
        } else {
            None
        }
    }

    /// `RUSTFLAGS` for the extension crates. rustc has no UBSan: `undefined` turns on overflow
    /// checks, debug assertions and the standard library's UB checks instead.
    pub fn rust_flags(self) -> Vec<String> {
        let mut flags = vec!["-Cforce-frame-pointers=yes".to_string()];
        if self.contains(Sanitizer::Address) {
            flags.push("-Zsanitizer=address".into());
        }
        if self.contains(Sanitizer::Thread) {
            // Without -Zbuild-std, std is not TSan-instrumented; nightly refuses the mix unless
            // allowed explicitly. The shipped suppressions cover the false races this causes.
            flags.push("-Zsanitizer=thread".into());
            flags.push("-Cunsafe-allow-abi-mismatch=sanitizer".into());
        }
        if self.contains(Sanitizer::Undefined) {
            flags.push("-Coverflow-checks=on".into());
            flags.push("-Cdebug-assertions=on".into());
            flags.push("-Zub-checks=yes".into());
        }
        flags
    }

    /// Compiler flags for C extensions (`CFLAGS`; the same `-fsanitize` goes into `LDFLAGS`).
    /// `clang` adds `-shared-libsan` so the module links the shared runtime Python preloads.
    pub fn c_flags(self, clang: bool) -> Vec<String> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut flags: Vec<String> = ["-g", "-O1", "-fno-omit-frame-pointer"]
            .map(String::from)
            .to_vec();
        flags.extend(self.fsanitize());
        if self.contains(Sanitizer::Undefined) {
            // CPython's own CFLAGS carry -fwrapv, which defines signed overflow away.
            flags.push("-fno-wrapv".into());
        }
        if clang {
            flags.push("-shared-libsan".into());
        }
        flags
    }

    /// Linker flags for C extensions.
    pub fn ld_flags(self, clang: bool) -> Vec<String> {
        let mut flags = self.fsanitize();
        if clang && !flags.is_empty() {
            flags.push("-shared-libsan".into());
        }
        flags
    }

    fn fsanitize(self) -> Vec<String> {
        let mut names = Vec::new();
        if self.contains(Sanitizer::Address) {
            names.push("address");
        }
        if self.contains(Sanitizer::Thread) {
            names.push("thread");
        }
        if self.contains(Sanitizer::Undefined) {
            names.push("undefined");
        }
        if names.is_empty() {
            Vec::new()
        } else {
            vec![format!("-fsanitize={}", names.join(","))]
        }
    }
}

impl fmt::Display for SanitizerSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let names: Vec<&str> = self.iter().map(Sanitizer::name).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations() {
        let s = SanitizerSet::parse("address,undefined").unwrap();
        assert_eq!(s.label(), "address+undefined");
        assert_eq!(SanitizerSet::parse("leak").unwrap().label(), "address+leak");
        assert!(SanitizerSet::parse("address,thread").is_err());
        assert!(SanitizerSet::parse("leak,thread").is_err());
        let e = SanitizerSet::parse("memory").unwrap_err().to_string();
        assert!(e.contains("CPython"), "{e}");
        let e = SanitizerSet::parse("adress").unwrap_err().to_string();
        assert!(e.contains("unknown sanitizer `adress`"), "{e}");
        assert!(SanitizerSet::parse("").unwrap().is_empty());
    }

    #[test]
    fn flags() {
        let s = SanitizerSet::parse("thread").unwrap();
        assert!(s
            .rust_flags()
            .contains(&"-Cunsafe-allow-abi-mismatch=sanitizer".to_string()));
        let u = SanitizerSet::parse("address,undefined").unwrap();
        assert!(u
            .c_flags(false)
            .contains(&"-fsanitize=address,undefined".to_string()));
        assert!(u.c_flags(false).contains(&"-fno-wrapv".to_string()));
        assert_eq!(u.runtime(), Some("asan"));
        assert_eq!(SanitizerSet::parse("undefined").unwrap().runtime(), None);
    }
}
