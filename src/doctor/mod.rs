//! What this machine has for each pyz3 feature, and what to install for what is missing.
//!
//! For users setting up a machine or a CI image for pyz3, and for the `pyz3 doctor` command:
//! [`run_checks`] probes the Rust toolchains (stable and nightly), the LLVM tools and sanitizer
//! runtimes matching rustc's LLVM major, gcc's AddressSanitizer, cargo-fuzz, valgrind, perf,
//! py-spy and a Python interpreter with its packages, by running them or looking for their files
//! (the lookups are [`crate::toolchain`]'s, the ones the builds use). Each probe becomes a
//! [`Check`]: found (with a version or path) or missing (with the command that installs it).
//! [`write_table`] and [`write_json`] write the result to any writer; nothing here prints.
//!
//! Inside: `checks` decides each row, `python` probes the interpreter and decides its rows,
//! `probes` runs a probed program (time limit, safe text), `output` writes the table and JSON.
//!
//! ```no_run
//! let checks = pyz3::doctor::run_checks(&pyz3::doctor::default_python());
//! pyz3::doctor::write_table(&checks, &mut std::io::stdout()).unwrap();
//! assert!(pyz3::doctor::all_ok(&checks));
//! ```

mod checks;
mod output;
mod probes;
mod python;

pub use checks::{all_ok, default_python, run_checks, Check, NOT_AN_INTERPRETER};
pub use output::{install_lines, write_json, write_table, JSON_VERSION};
