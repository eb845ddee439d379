//! The macros that declare pyz3 fuzz targets in a `cargo fuzz` crate.
//!
//! For users' fuzz crates and for the generic target `pyz3 fuzz` builds: [`fuzz_target!`]
//! and [`asan_defaults!`] (both exported at the crate root).

/// Defines AddressSanitizer's defaults for a fuzz binary that embeds CPython:
/// `detect_leaks=0` (CPython's own allocations at exit are not the extension's leaks),
/// `allocator_may_return_null=1`, `detect_stack_use_after_return=0`. [`fuzz_target!`](crate::fuzz_target) includes
/// it; a target written directly with `libfuzzer_sys::fuzz_target!` should invoke it once.
/// Options in `ASAN_OPTIONS` still win.
#[macro_export]
macro_rules! asan_defaults {
    () => {
        /// AddressSanitizer's defaults for a binary embedding CPython.
        #[no_mangle]
        pub extern "C" fn __asan_default_options() -> *const ::std::os::raw::c_char {
            c"detect_leaks=0:allocator_may_return_null=1:detect_stack_use_after_return=0".as_ptr()
        }
    };
}

/// Declares a libFuzzer target (in a `cargo fuzz` crate) that fuzzes one Python function with
/// typed arguments.
///
/// ```ignore
/// #![no_main]
/// pyz3::fuzz_target!(
///     module: "pyz3_demo",            // the module to import
///     function: "parse_string",       // the function (a dotted path is fine)
///     args: ["str"],                  // one Python type expression per argument
///     link: pyz3_demo,                // optional: a Rust extension crate to link in
///     property: "exception is None or isinstance(exception, ValueError)", // optional
/// );
/// ```
///
/// With `link`, the crate (a dependency with `crate-type` including `rlib`) is compiled into
/// the fuzz binary and registered as a built-in module before the interpreter starts, so the
/// fuzzer sees the coverage of its code. `generic` instead reads the target from
/// [`SPEC_ENV`](crate::fuzz::SPEC_ENV) (what `pyz3 fuzz` uses). The fuzz crate needs `libfuzzer-sys` and an rpath to
/// the interpreter's library directory (see `docs/fuzzing.md`).
#[macro_export]
macro_rules! fuzz_target {
    (generic $(, link: $module:literal => $krate:ident)* $(,)?) => {
        $crate::fuzz_target!(@body $crate::fuzz::spec_from_env(), [$($module => $krate),*]);
    };
    (module: $module:literal, function: $function:expr, args: [$($ty:expr),* $(,)?]
     $(, link: $krate:ident)? $(, property: $property:expr)? $(,)?) => {
        $crate::fuzz_target!(@body {
            #[allow(unused_mut)]
            let mut spec = $crate::target::Target::new($module, $function, &[$($ty),*]);
            $(spec = spec.with_property($property);)?
            spec
        }, [$($module => $krate)?]);
    };
    (@body $spec:expr, [$($module:literal => $krate:ident),*]) => {
        $(extern crate $krate;)*

        $crate::asan_defaults!();

        // libFuzzer's own mutations, around three text-aware steps: one time in four the text
        // argument is first re-encoded in the other storage width (so a traced comparison of
        // code points, or of bytes, finds its operand in the input); one time in four, text
        // stored as UTF-32 is mutated on whole code points instead of bytes; and one time in
        // four a UTF-32/UTF-16 run spliced in afterwards is rewritten as UTF-8.
        ::libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
            let size = if seed % 4 == 1 {
                $crate::fuzz::reencode_text(data, size, max_size)
            } else {
                size
            };
            let wide = if seed % 4 == 2 {
                $crate::fuzz::mutate_wide_text(data, size, max_size, seed / 4)
            } else {
                None
            };
            let size = match wide {
                Some(size) => size,
                None => ::libfuzzer_sys::fuzzer_mutate(data, size, max_size),
            };
            if seed % 4 == 0 {
                $crate::fuzz::narrow_text(data, size, seed / 4)
            } else {
                size
            }
        });

        ::libfuzzer_sys::fuzz_target!(
            init: {
                #[allow(unused_mut)]
                let mut builtins: ::std::vec::Vec<$crate::fuzz::Builtin> = ::std::vec::Vec::new();
                $({
                    extern "C" {
                        #[link_name = concat!("PyInit_", $module)]
                        fn init() -> *mut $crate::__pyo3::ffi::PyObject;
                    }
                    builtins.push(($module, init));
                })*
                $crate::fuzz::install($spec, &builtins);
            },
            |input: $crate::fuzz::Input<'_>| {
                $crate::fuzz::fuzz_one(input.0);
            }
        );
    };
}
