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
