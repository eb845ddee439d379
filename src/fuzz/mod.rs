//! Fuzzing extension functions with libFuzzer: typed decoding of fuzz inputs and the runtime
//! behind every pyz3 fuzz target.
//!
//! For `cargo fuzz` targets (written with [`fuzz_target!`](crate::fuzz_target)) and for
//! `pyz3 fuzz MODULE:FUNC`, whose generic target is the same runtime configured from the
//! environment. A target:
//!
//! - starts the interpreter once, with `PYTHONMALLOC=malloc` (so AddressSanitizer sees Python
//!   objects) and `PYTHONHASHSEED=0` (so an input replays the same way), after registering any
//!   Rust extension linked into the binary as a built-in module: its code is then compiled with
//!   the fuzzer's coverage instrumentation;
//! - decodes each input into typed arguments ([`decode`]), calls the function the way the
//!   interpreter does, and turns what the harness calls a finding (`system-error`, `refcount`,
//!   `property-failed`) into a libFuzzer crash after printing it with the input as Python source.
//!   A crash of the extension itself is caught by libFuzzer (and the sanitizer) directly.
//!   Ordinary Python exceptions are not findings: rejecting bad input is what a function should do.

pub mod build;
#[cfg(feature = "embed")]
mod call;
pub mod decode;
pub mod mutate;
#[cfg(feature = "embed")]
mod refcount;
pub mod run;
#[cfg(feature = "embed")]
mod runtime;
pub mod scope;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::strategy::{Registry, Shape, Size};
use crate::value::Value;

pub use decode::{decode_args, Reader};
#[cfg(feature = "embed")]
pub use runtime::{fuzz_one, install, spec_from_env, Builtin, FuzzTarget};

/// Environment variable holding a [`TargetSpec`] as JSON, for the generic target.
pub const SPEC_ENV: &str = "PYZ3_FUZZ_SPEC";
/// When set to a path, a target writes its [`TargetSpec`] there as JSON and exits (for
/// `pyz3 fuzz repro`, which needs the signature to decode an artifact).
pub const DESCRIBE_ENV: &str = "PYZ3_FUZZ_DESCRIBE";
/// Line prefix of a finding report on stderr; `pyz3 fuzz` reads the JSON that follows it.
pub const REPORT_PREFIX: &str = "==pyz3-finding== ";

/// What a fuzz target calls and how its arguments are typed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetSpec {
    /// Module to import.
    pub module: String,
    /// Function (dotted attribute path) in the module.
    pub function: String,
    /// Directory to put first on `sys.path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Parameter names (for messages and reproducers).
    #[serde(default)]
    pub param_names: Vec<String>,
    /// Parameter type expressions (`"str"`, `"list[int]"`, ...).
    pub param_types: Vec<String>,
    /// Python expression that must hold (names: parameters, `args`, `result`, `exception`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Skip the reference-count check.
    #[serde(default)]
    pub no_refcount: bool,
}

impl TargetSpec {
    /// A target calling `module.function` with arguments of the given type expressions.
    pub fn new(module: &str, function: &str, types: &[&str]) -> Self {
        TargetSpec {
            module: module.into(),
            function: function.into(),
            param_names: (0..types.len()).map(|i| format!("arg{i}")).collect(),
            param_types: types.iter().map(|t| t.to_string()).collect(),
            ..TargetSpec::default()
        }
    }

    /// Adds a property (see [`TargetSpec::property`]).
    pub fn with_property(mut self, expr: &str) -> Self {
        self.property = Some(expr.into());
        self
    }

    /// The argument shapes, with the warnings of any part that fell back to any value.
    pub fn shapes(&self) -> crate::Result<(Vec<Shape>, Vec<String>)> {
        let registry = Registry::new(Size::default());
        let mut shapes = Vec::new();
        let mut warnings = Vec::new();
        for t in &self.param_types {
            let (s, w) = registry.shape(t)?;
            shapes.push(s);
            warnings.extend(w);
        }
        Ok((shapes, warnings))
    }

    /// Decodes a fuzz input into this target's arguments.
    pub fn decode(&self, data: &[u8]) -> crate::Result<Vec<Value>> {
        Ok(decode_args(&self.shapes()?.0, data))
    }

    /// The call as Python source (`parse_string('[[{}]]')`) and the imports it needs.
    pub fn call_source(&self, args: &[Value]) -> (String, Vec<String>) {
        let mut imports = Vec::new();
        let parts: Vec<String> = args
            .iter()
            .map(|a| {
                let src = a.python_source();
                for i in src.imports {
                    if !imports.contains(&i) {
                        imports.push(i);
                    }
                }
                src.expr
            })
            .collect();
        let name = self.function.rsplit('.').next().unwrap_or(&self.function);
        (format!("{name}({})", parts.join(", ")), imports)
    }
}

#[cfg(feature = "embed")]
/// Where the installed target's text starts in `data[..size]`: the offset of its last argument,
/// when that is a `str` (which takes all remaining bytes).
pub(crate) fn text_start(data: &[u8], size: usize) -> Option<usize> {
    runtime::TARGET.with(|cell| {
        let t = cell.get()?;
        let (Shape::Str, head) = t.shapes.split_last()? else {
            return None;
        };
        let mut r = Reader::new(&data[..size.min(data.len())]);
        for s in head {
            decode::decode(s, &mut r);
        }
        Some(r.consumed())
    })
}

#[cfg(feature = "embed")]
/// Re-encodes the text of the installed target's last argument, when it is a `str`, in the other
/// storage width: UTF-8 becomes UTF-32LE (with its `0xFF` mark) and UTF-32/UTF-16 becomes UTF-8.
/// The decoded string is the same; what changes is which comparisons libFuzzer can splice into it:
/// an extension comparing code points compares UTF-32, one comparing bytes UTF-8. Returns the new
/// size (unchanged when there is no such argument or the result would exceed `max_size`).
pub fn reencode_text(data: &mut [u8], size: usize, max_size: usize) -> usize {
    let size = size.min(data.len());
    let Some(start) = text_start(data, size) else {
        return size;
    };
    let tail = &data[start..size];
    let cps = decode::decode_str(tail);
    let new: Vec<u8> = if matches!(tail.first(), Some(0xff | 0xfe)) {
        decode::encode_text(&cps)
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

#[cfg(feature = "embed")]
/// A code-point mutation ([`mutate::mutate_code_points`]) of the installed target's text
/// argument when it is stored as UTF-32 (`0xFF` mark); `None` (nothing changed) otherwise.
/// Returns the new size, at most `max_size`.
pub fn mutate_wide_text(data: &mut [u8], size: usize, max_size: usize, seed: u32) -> Option<usize> {
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
    mutate::mutate_code_points(&mut cps, u64::from(seed), room);
    let mut at = start + 1;
    for c in cps {
        data[at..at + 4].copy_from_slice(&c.to_le_bytes());
        at += 4;
    }
    Some(at)
}

#[cfg(feature = "embed")]
/// [`mutate::narrow_wide_text`] on the part of the input that holds text stored as UTF-8: the
/// installed target's text argument unless it is marked UTF-32 or UTF-16 (whose runs are already
/// in the width they are compared in), or the whole input when the last argument is not a `str`.
pub fn narrow_text(data: &mut [u8], size: usize, seed: u32) -> usize {
    let size = size.min(data.len());
    let text = text_start(data, size);
    if text.is_some_and(|s| matches!(data[..size].get(s), Some(0xff | 0xfe))) {
        return size;
    }
    let start = text.unwrap_or(0).min(size);
    start + mutate::narrow_wide_text(&mut data[start..], size - start, seed)
}

#[cfg(feature = "embed")]
/// A fuzz input: the raw bytes, whose `Debug` is the decoded call as Python source (what
/// `cargo fuzz run` and `cargo fuzz fmt` print for a failing input).
#[derive(Clone, PartialEq, Eq)]
pub struct Input(pub Vec<u8>);

#[cfg(feature = "embed")]
impl<'a> arbitrary::Arbitrary<'a> for Input {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input(u.bytes(u.len())?.to_vec()))
    }

    fn arbitrary_take_rest(u: arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Input(u.take_rest().to_vec()))
    }
}

#[cfg(feature = "embed")]
impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        runtime::TARGET.with(|cell| match cell.get() {
            Some(t) => {
                let args = decode_args(&t.shapes, &self.0);
                let (call, imports) = t.spec.call_source(&args);
                for i in imports {
                    writeln!(f, "import {i}")?;
                }
                write!(f, "{call}")
            }
            None => write!(f, "{:?}", self.0),
        })
    }
}

/// Defines AddressSanitizer's defaults for a fuzz binary that embeds CPython:
/// `detect_leaks=0` (CPython's own allocations at exit are not the extension's leaks),
/// `allocator_may_return_null=1`, `detect_stack_use_after_return=0`. [`fuzz_target!`] includes
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
/// [`SPEC_ENV`] (what `pyz3 fuzz` uses). The fuzz crate needs `libfuzzer-sys` and an rpath to
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
            let mut spec = $crate::fuzz::TargetSpec::new($module, $function, &[$($ty),*]);
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
            |input: $crate::fuzz::Input| {
                $crate::fuzz::fuzz_one(&input.0);
            }
        );
    };
}
