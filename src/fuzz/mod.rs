//! Fuzzing extension functions with libFuzzer: typed decoding of fuzz inputs, the runtime
//! behind every pyz3 fuzz target, and the campaigns `pyz3 fuzz` runs with them.
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
//!   `property-failed`) into a libFuzzer crash after printing it ([`spec::ReportLine`]) with the
//!   input as Python source. A crash of the extension itself is caught by libFuzzer (and the
//!   sanitizer) directly. Ordinary Python exceptions are not findings: rejecting bad input is
//!   what a function should do.
//!
//! Around the targets, for `pyz3 fuzz` and anyone driving it from Rust: which function a
//! `MODULE:FUNC` or a `cargo fuzz` target calls ([`locate`]), building the generic target
//! ([`build`], once per interpreter and sanitizer into the user cache: [`cache`]), a run's libFuzzer command line ([`campaign`]) and its output ([`run`]), what
//! an artifact is a finding of ([`artifacts`]), corpus minimization ([`cmin`]), replaying a
//! corpus for coverage ([`replay`]), a target as a standalone libFuzzer target ([`export`]) and
//! the ClusterFuzzLite files that build it in CI ([`cflite`]). None of it prints: progress goes through
//! [`crate::report::Progress`].

pub mod artifacts;
pub mod build;
pub mod cache;
#[cfg(feature = "embed")]
mod call;
pub mod campaign;
pub mod cflite;
pub mod cmin;
pub mod decode;
#[cfg(feature = "embed")]
mod direct;
pub mod export;
#[cfg(feature = "embed")]
mod input;
pub mod instrumented;
pub mod locate;
mod macros;
pub mod mutate;
#[cfg(feature = "embed")]
mod refcount;
pub mod replay;
pub mod run;
#[cfg(feature = "embed")]
mod runtime;
pub mod scope;
#[cfg(feature = "embed")]
mod shapes;
pub mod spec;
#[cfg(feature = "embed")]
mod text;

pub use decode::{decode_args, Reader};
#[cfg(feature = "embed")]
pub use input::Input;
#[cfg(feature = "embed")]
pub use runtime::{fuzz_one, install, say, spec_from_env, Builtin, FuzzTarget};
pub use spec::{ReportLine, DESCRIBE_ENV, GUIDANCE_PREFIX, REPORT_PREFIX, SPEC_ENV};
#[cfg(feature = "embed")]
pub use text::{mutate_wide_text, narrow_text, reencode_text};
