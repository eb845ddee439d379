//! Which ThreadSanitizer races are inside Rust's standard library rather than the extension's.
//!
//! For [`run`](super::run), which drops them. Rust's std is precompiled without TSan's
//! instrumentation, so TSan does not see the synchronization inside std's `Mutex`, `Once`,
//! channels or `Arc`, and reports races between threads that use them correctly.
//!
//! Only the top of an access's stack decides, as with TSan's own `race_top:` suppressions
//! (src/sanitize/tsan.supp). The top frame itself is often code that works on behalf of its
//! caller: the runtime's `memcpy` or `free`, or core's and alloc's generic helpers (an atomic,
//! `ptr::write`, a `Vec` method). Those frames are read past, up to the first frame of other code.
//! The race is std's when that frame is std's synchronization code (`std::sync`, `std::sys`,
//! `std::thread`, alloc's `Arc`). Frames further down never count: `LocalKey::with` and a
//! spawned thread's start are std frames under code that is not std's.

use std::path::Path;

use super::report::Report;
use crate::report::Frame;

/// Whether `report` is a race inside std: one of its accesses was made by std's synchronization
/// code (see the module docs).
pub fn inside_std(report: &Report) -> bool {
    report.accesses.iter().any(|stack| access_in_std(stack))
}

/// Whether the code that made an access (its stack innermost first) is std's synchronization.
fn access_in_std(stack: &[Frame]) -> bool {
    stack
        .iter()
        .find(|f| !helper(f))
        .is_some_and(|f| std_sync(&f.function))
}

/// Paths of std's synchronization code. alloc's `Arc` is here too: its `Drop` orders the last
/// owner's drop with an atomic fence, which TSan does not model.
const STD_SYNC: &[&str] = &[
    "std::sync::",
    "std::sys::",
    "std::thread::",
    "alloc::sync::",
];

fn std_sync(function: &str) -> bool {
    let path = owner(function);
    STD_SYNC.iter().any(|p| path.starts_with(p))
}

/// A frame that works on behalf of its caller: the sanitizer runtime (interceptors such as
/// `memcpy`, `free`), the allocator, or core's and alloc's generic code.
fn helper(f: &Frame) -> bool {
    let runtime_module = f.module.as_deref().is_some_and(|m| {
        let name = Path::new(m)
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        name.starts_with("libclang_rt.") || name.starts_with("libtsan")
    });
    let name = f.function.as_str();
    if runtime_module
        || ["__tsan_", "__interceptor_", "__rust_", "__rdl_"]
            .iter()
            .any(|p| name.starts_with(p))
    {
        return true;
    }
    // `<Type as Trait>::f` is a helper only when both are core's or alloc's.
    helper_path(owner(name)) && trait_of(name).is_none_or(helper_path)
}

fn helper_path(path: &str) -> bool {
    const PRIMITIVES: &[&str] = &[
        "", "bool", "char", "str", "fn", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
        "i32", "i64", "i128", "isize", "f16", "f32", "f64", "f128",
    ];
    const HELPERS: &[&str] = &["core::", "alloc::", "std::alloc::", "std::sys::alloc::"];
    !path.starts_with("alloc::sync::")
        && (PRIMITIVES.contains(&path) || HELPERS.iter().any(|p| path.starts_with(p)))
}

/// The path of the item a function belongs to: `alloc::vec::Vec` for
/// `<alloc::vec::Vec<u8>>::push`, `core::ptr::write` for `core::ptr::write::<u8>`, `u64` for
/// `<u64 as core::ops::Add>::add`; empty for pointers, slices and tuples (`<*mut T>::write`).
fn owner(function: &str) -> &str {
    let s = function.trim_start_matches(['<', '&']);
    let s = ["mut ", "dyn "]
        .iter()
        .fold(s, |s, p| s.strip_prefix(p).unwrap_or(s));
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(s.len());
    s[..end].trim_end_matches(':')
}

/// For `<Type as Trait>::f`, the trait's path.
fn trait_of(function: &str) -> Option<&str> {
    let inner = function.strip_prefix('<')?;
    let mut depth = 0usize;
    for (i, c) in inner.char_indices() {
        match c {
            '<' => depth += 1,
            '>' if depth == 0 => return None,
            '>' => depth -= 1,
            ' ' if depth == 0 && inner[i..].starts_with(" as ") => {
                return Some(owner(&inner[i + 4..]))
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitize::report::parse;

    const EXT: &str = "/p/.pyz3/build/thread/lib/ext.so";
    const RT: &str = "/usr/lib/llvm-22/lib/clang/22/lib/linux/libclang_rt.tsan-x86_64.so";

    /// A TSan data race whose two accesses have these stacks (function names, innermost first;
    /// a name starting with `!` is in the runtime).
    fn race(current: &[&str], previous: &[&str]) -> Report {
        let stack = |frames: &[&str]| {
            frames
                .iter()
                .enumerate()
                .map(|(i, f)| match f.strip_prefix('!') {
                    Some(f) => format!("    #{i} 0x1 in {f} (/rt.so+0x1) (BuildId: ab) {{{RT}}}\n"),
                    None => format!("    #{i} 0x1 in {f} /src/lib.rs:3:5 {{{EXT}}}\n"),
                })
                .collect::<String>()
        };
        let log = format!(
            "==================\nWARNING: ThreadSanitizer: data race (pid=5)\n  \
             Write of size 8 at 0x7b by thread T1:\n{}\n  \
             Previous atomic read of size 8 at 0x7b by thread T2 (mutexes: write M0):\n{}\n  \
             Location is heap block of size 8 at 0x7b allocated by thread T2:\n{}\n  \
             Thread T1 (tid=7, running) created by main thread at:\n{}\n\
             SUMMARY: ThreadSanitizer: data race\n==================\n",
            stack(current),
            stack(previous),
            stack(&["!malloc", "std::sync::mpmc::context::Context::new"]),
            stack(&["!pthread_create", "std::thread::lifecycle::spawn_unchecked"]),
        );
        let mut r = parse(&log);
        assert_eq!(r.len(), 1);
        r.remove(0)
    }

    #[test]
    fn access_stacks_are_parsed() {
        let r = race(&["a::x", "a::y"], &["b::z"]);
        let names: Vec<Vec<&str>> = r
            .accesses
            .iter()
            .map(|s| s.iter().map(|f| f.function.as_str()).collect())
            .collect();
        assert_eq!(names, [vec!["a::x", "a::y"], vec!["b::z"]]);
        assert_eq!(r.frames.len(), 7);
    }

    #[test]
    fn races_in_std_synchronization_are_std_s() {
        // Inside std's rendezvous channel, under core's and the runtime's helpers.
        let r = race(
            &[
                "!__tsan_memcpy",
                "core::mem::replace::<core::option::Option<alloc::vec::Vec<u64>>>",
                "<*mut core::option::Option<alloc::vec::Vec<u64>>>::replace",
                "<std::sync::mpmc::zero::Channel<alloc::vec::Vec<u64>>>::read",
                "ext::relay::{closure#0}",
            ],
            &["ext::relay::{closure#0}::{closure#0}"],
        );
        assert!(inside_std(&r));
        // Arc's drop: the last owner frees what another thread's drop released.
        let r = race(
            &[
                "!free",
                "alloc::alloc::dealloc_nonnull",
                "<alloc::alloc::Global>::deallocate_impl",
                "<alloc::sync::Arc<std::thread::scoped::ScopeData> as core::ops::drop::Drop>::drop",
            ],
            &["ext::f"],
        );
        assert!(inside_std(&r));
        // An atomic in std's code, as a trait method of core's type.
        let r = race(
            &[
                "core::sync::atomic::atomic_compare_exchange::<usize>",
                "<core::sync::atomic::Atomic<usize>>::compare_exchange",
                "<std::sync::mpmc::context::Context>::try_select",
            ],
            &["ext::f"],
        );
        assert!(inside_std(&r));
    }

    #[test]
    fn std_frames_under_the_extension_s_code_do_not_count() {
        // The racing access is the extension's, in a closure run by LocalKey::with.
        let r = race(
            &[
                "core::ptr::write_volatile::<u64>",
                "ext::tally::{closure#0}::{closure#0}",
                "<std::thread::local::LocalKey<core::cell::Cell<u64>>>::try_with::<ext::tally::{closure#0}::{closure#0}, ()>",
                "<std::thread::local::LocalKey<core::cell::Cell<u64>>>::with::<ext::tally::{closure#0}::{closure#0}, ()>",
                "std::panicking::catch_unwind::<()>",
            ],
            &[
                "core::ptr::read_volatile::<u64>",
                "ext::tally::{closure#0}::{closure#0}",
                "<std::thread::local::LocalKey<core::cell::Cell<u64>>>::try_with::<ext::tally::{closure#0}::{closure#0}, ()>",
            ],
        );
        assert!(!inside_std(&r));
        // In a std thread: its stack starts in std::sys and std::thread.
        let r = race(
            &[
                "ext::work::{closure#0}",
                "std::sys::backtrace::__rust_begin_short_backtrace::<ext::work::{closure#0}, ()>",
                "std::thread::lifecycle::spawn_unchecked::<ext::work::{closure#0}, ()>::{closure#1}",
            ],
            &["ext::work::{closure#0}"],
        );
        assert!(!inside_std(&r));
        // Code of the extension's own stops the reading, even with std's synchronization under
        // it: its Drop, its trait on a core type. alloc's Vec is read past, whatever it holds.
        for (top, std_s) in [
            ("<ext::Thing as core::ops::drop::Drop>::drop", false),
            ("<u64 as ext::Weight>::weigh", false),
            ("<alloc::vec::Vec<std::sync::Arc<ext::Thing>>>::push", true),
        ] {
            let r = race(
                &["!free", top, "<std::sync::Once>::call_once::<()>"],
                &["ext::f"],
            );
            assert_eq!(inside_std(&r), std_s, "{top}");
        }
    }

    #[test]
    fn owners() {
        assert_eq!(owner("<alloc::vec::Vec<u8>>::push"), "alloc::vec::Vec");
        assert_eq!(owner("core::ptr::write::<u8>"), "core::ptr::write");
        assert_eq!(owner("<u64 as core::ops::Add>::add"), "u64");
        assert_eq!(owner("<*mut u8>::write"), "");
        assert_eq!(
            owner("<&mut ext::Thing as core::fmt::Debug>::fmt"),
            "ext::Thing"
        );
        assert_eq!(
            trait_of("<u64 as core::ops::Add<&u64>>::add"),
            Some("core::ops::Add")
        );
        assert_eq!(trait_of("<alloc::vec::Vec<u8>>::push"), None);
        assert_eq!(
            trait_of("<alloc::sync::Arc<std::thread::Inner, std::alloc::System> as core::ops::Drop>::drop"),
            Some("core::ops::Drop")
        );
    }
}
