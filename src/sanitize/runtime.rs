//! The sanitizer runtimes and the environment Python runs in under them.
//!
//! Python itself is not instrumented: the runtime is preloaded (`LD_PRELOAD`), chosen by what the
//! built modules link — gcc's `libasan`/`libtsan` for gcc-built C, clang's runtime (matching
//! rustc's LLVM) otherwise. `PYTHONMALLOC=malloc` puts Python's objects inside ASan's view.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::project::build::{Built, Language};
use crate::toolchain::{clang, llvm, rust, Sanitizer};

/// Exit code the runtimes use when they stop the process on a report.
pub const SANITIZER_EXIT: i32 = 86;

/// The shipped ThreadSanitizer suppressions (false races from the uninstrumented std).
pub const TSAN_SUPPRESSIONS: &str = include_str!("tsan.supp");

/// The runtime library to preload for `built`, when its sanitizers need one.
pub fn preload(built: &Built) -> anyhow::Result<Option<PathBuf>> {
    let Some(rt) = built.sanitizers.runtime() else {
        return Ok(None);
    };
    let linked: Vec<&PathBuf> = built
        .modules
        .iter()
        .flat_map(|m| &m.runtimes)
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with(&format!("lib{rt}.")) || name.starts_with(&format!("libclang_rt.{rt}"))
        })
        .collect();
    if let Some(first) = linked.first() {
        if linked.iter().any(|p| p != first) {
            bail!(
                "the built modules link two different {rt} runtimes ({} and {}): build the C \
                 extensions with the compiler the others use (CC=clang-N for clang's)",
                first.display(),
                linked
                    .iter()
                    .find(|p| *p != first)
                    .map_or(String::new(), |p| p.display().to_string())
            );
        }
        let gcc = first.file_name().is_some_and(|n| {
            n.to_string_lossy().starts_with("lib")
                && !n.to_string_lossy().starts_with("libclang_rt")
        });
        let rust = built.modules.iter().any(|m| m.language == Language::Rust);
        if gcc && rt == "tsan" && rust {
            bail!(
                "gcc's libtsan cannot run the Rust modules' ThreadSanitizer instrumentation: build \
                 the C extensions with clang (CC=clang-N) so clang's runtime serves both"
            );
        }
        return Ok(Some((*first).clone()));
    }
    let major = rust::sanitizer_llvm_major();
    let file = clang::runtime_file(rt, "so");
    let found = major.and_then(|m| {
        let clang = clang::find_clang(m).ok().map(|f| f.path);
        clang::runtime(m, clang.as_deref(), rt, "so")
    });
    match found {
        Some(path) => Ok(Some(path)),
        None => {
            let m = major.map_or("N".to_string(), |m| m.to_string());
            bail!(
                "the {} runtime {file} for LLVM {m} (rustc's LLVM) is missing: install it with \
                 `apt-get install libclang-rt-{m}-dev`",
                if rt == "asan" {
                    "AddressSanitizer"
                } else {
                    "ThreadSanitizer"
                }
            )
        }
    }
}

/// `GLIBC_TUNABLES` for a ThreadSanitizer build of Zig modules. Zig links a ThreadSanitizer
/// runtime of its own into each module (unused: the preloaded one interposes it), and that
/// runtime's initial-exec thread-local storage does not fit in the surplus glibc keeps for
/// modules loaded later (512 bytes): loading fails with "cannot allocate memory in static TLS
/// block". The surplus is raised by the modules' own TLS sizes, read from their ELF headers.
/// The user's own tunables come last, so they win.
fn static_tls_tunables(built: &Built) -> Option<String> {
    if !built.sanitizers.contains(Sanitizer::Thread) {
        return None;
    }
    let need: u64 = built
        .modules
        .iter()
        .filter(|m| m.language == Language::Zig)
        .filter_map(|m| std::fs::read(&m.path).ok())
        .filter_map(|elf| tls_size(&elf))
        .sum();
    if need == 0 {
        return None;
    }
    // glibc's default surplus, the modules' blocks, and room for their alignment.
    let mut t = format!("glibc.rtld.optional_static_tls={}", 512 + need + 4096);
    if let Ok(old) = std::env::var("GLIBC_TUNABLES") {
        if !old.is_empty() {
            t = format!("{t}:{old}");
        }
    }
    Some(t)
}

/// The size of a 64-bit little-endian ELF file's thread-local storage segment (`PT_TLS`'s
/// `p_memsz`), when it has one.
fn tls_size(elf: &[u8]) -> Option<u64> {
    const PT_TLS: u32 = 7;
    // Offsets come from the file: every sum is checked.
    let bytes = |o: usize, n: usize| elf.get(o..o.checked_add(n)?);
    let u16_at = |o: usize| Some(u16::from_le_bytes(bytes(o, 2)?.try_into().ok()?));
    let u32_at = |o: usize| Some(u32::from_le_bytes(bytes(o, 4)?.try_into().ok()?));
    let u64_at = |o: usize| Some(u64::from_le_bytes(bytes(o, 8)?.try_into().ok()?));
    // "\x7fELF", 64-bit, little-endian.
    if elf.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let phoff = usize::try_from(u64_at(0x20)?).ok()?;
    let entsize = usize::from(u16_at(0x36)?);
    (0..usize::from(u16_at(0x38)?)).find_map(|i| {
        let ph = phoff.checked_add(i.checked_mul(entsize)?)?;
        (u32_at(ph)? == PT_TLS)
            .then(|| u64_at(ph.checked_add(0x28)?))
            .flatten()
    })
}

/// The environment variables Python runs with under a build's sanitizers.
pub struct Environment {
    /// The variables, in the order to export them.
    pub vars: Vec<(String, String)>,
}

impl Environment {
    /// The environment for running Python over `built`. `log_dir` collects reports;
    /// `tsan_suppressions` is the path of the suppressions file; `extra_path` goes on
    /// `PYTHONPATH` after the built modules.
    pub fn new(
        built: &Built,
        log_dir: Option<&Path>,
        tsan_suppressions: Option<&Path>,
        extra_path: &[PathBuf],
    ) -> anyhow::Result<Environment> {
        let sans = built.sanitizers;
        let mut vars = Vec::new();
        let mut path: Vec<String> = std::iter::once(&built.lib_dir)
            .chain(extra_path)
            .map(|p| p.display().to_string())
            .collect();
        if let Ok(old) = std::env::var("PYTHONPATH") {
            if !old.is_empty() {
                path.push(old);
            }
        }
        vars.push(("PYTHONPATH".to_string(), path.join(":")));
        if sans.is_empty() {
            return Ok(Environment { vars });
        }
        if let Some(rt) = preload(built)? {
            let mut preload = rt.display().to_string();
            if let Ok(old) = std::env::var("LD_PRELOAD") {
                if !old.is_empty() {
                    preload = format!("{preload}:{old}");
                }
            }
            vars.push(("LD_PRELOAD".into(), preload));
            vars.push(("PYTHONMALLOC".into(), "malloc".into()));
        }
        if let Some(tunables) = static_tls_tunables(built) {
            vars.push(("GLIBC_TUNABLES".into(), tunables));
        }
        let symbolizer = llvm::symbolizer(rust::sanitizer_llvm_major());
        let common = |tag: &str| {
            let mut o = vec![
                format!("exitcode={SANITIZER_EXIT}"),
                "stack_trace_format='    #%n %p %F %L {%m}'".to_string(),
            ];
            if let Some(dir) = log_dir {
                o.push(format!(
                    "log_path={}",
                    dir.join(format!("session.{tag}")).display()
                ));
            }
            if let Some(s) = &symbolizer {
                o.push(format!("external_symbolizer_path={}", s.display()));
            }
            o
        };
        let user = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
        let mut push = |var: &str, mut opts: Vec<String>| {
            // The user's own options come last, so they win.
            opts.extend(user(var));
            vars.push((var.to_string(), opts.join(":")));
        };
        if sans.contains(Sanitizer::Address) {
            let mut o = common("asan");
            o.push(format!(
                "detect_leaks={}",
                u8::from(sans.contains(Sanitizer::Leak))
            ));
            // Tests that ask for huge allocations expect MemoryError, as without ASan.
            o.push("allocator_may_return_null=1".into());
            o.push("handle_abort=1".into());
            push("ASAN_OPTIONS", o);
            if sans.contains(Sanitizer::Leak) {
                push("LSAN_OPTIONS", vec!["print_suppressions=0".into()]);
            }
        }
        if sans.contains(Sanitizer::Thread) {
            let mut o = common("tsan");
            o.push("halt_on_error=0".into());
            o.push("second_deadlock_stack=1".into());
            // TSan drops a race whose earlier access it can no longer find in that thread's
            // history (3 parts of 256 KiB by default), and CPython's intercepted allocations fill
            // it quickly. 7 more parts per thread keep races between two long loops reported.
            o.push("history_size=7".into());
            if let Some(s) = tsan_suppressions {
                o.push(format!("suppressions={}", s.display()));
            }
            push("TSAN_OPTIONS", o);
        }
        if sans.contains(Sanitizer::Undefined) {
            let mut o = common("ubsan");
            o.extend(
                [
                    "print_stacktrace=1",
                    "report_error_type=1",
                    "halt_on_error=0",
                ]
                .map(String::from),
            );
            push("UBSAN_OPTIONS", o);
        }
        if let Some(s) = &symbolizer {
            vars.push(("ASAN_SYMBOLIZER_PATH".into(), s.display().to_string()));
        }
        Ok(Environment { vars })
    }

    /// The `export K='V'` lines for a POSIX shell.
    pub fn export_lines(&self) -> String {
        self.vars
            .iter()
            .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', "'\\''")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::tls_size;

    #[test]
    fn the_tls_segment_size_is_read_from_elf_headers() {
        // An ELF header with one program header, PT_TLS of 0x808 bytes.
        let mut elf = vec![0u8; 0x40 + 0x38];
        elf[..6].copy_from_slice(b"\x7fELF\x02\x01");
        elf[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        elf[0x36..0x38].copy_from_slice(&0x38u16.to_le_bytes());
        elf[0x38..0x3a].copy_from_slice(&1u16.to_le_bytes());
        elf[0x40..0x44].copy_from_slice(&7u32.to_le_bytes());
        elf[0x40 + 0x28..0x40 + 0x30].copy_from_slice(&0x808u64.to_le_bytes());
        assert_eq!(tls_size(&elf), Some(0x808));
        elf[0x40..0x44].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(tls_size(&elf), None);
        assert_eq!(tls_size(&elf[..0x50]), None);
        assert_eq!(tls_size(b"#!/bin/sh"), None);
        // A program header table said to start at the end of the address space.
        let mut far = elf.clone();
        far[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(tls_size(&far), None);
        let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(
            tls_size(&own).is_some(),
            "a Rust test binary has thread locals"
        );
    }
}
