//! The integration tests, in one binary against a real CPython and real NumPy.
//!
//! Modules:
//! - `util`: throwaway projects in temp dirs (PyO3, setuptools, git, fixtures) and the `pyz3`
//!   command with its assertions;
//! - `common`: interpreter set-up (project virtualenv), seeded sampling, Python helpers;
//! - `roundtrip`: value → Python → value, and `eval(python_source)`, for every type;
//! - `pickle`: value → pickle written by Rust → `pickle.loads` equals `to_python`, for edge values;
//!   `generated` (every type, enums, CPython's own pickles), `processes` (a separate process and
//!   every other CPython 3.9+ found on the machine);
//! - `strategies`: each strategy generates, shrinks and is deterministic;
//! - `shrinking`: planted properties shrink to their true minimum;
//! - `edges`: each listed edge value appears within the first 1,000 samples;
//! - `typeexpr`: strategies from type expressions, and malformed expressions;
//! - `property_tests`: use from users' test suites (`proptest!`, `py_proptest`, persistence);
//! - `cli`: the `pyz3 sample` command;
//! - `bad_input`: nonsensical options, unreadable pyproject.toml, directories, huge inputs,
//!   escape sequences from targets, exits that must reproduce;
//! - `bench`: `pyz3 bench` on temp git repos: A/A stability, a 2× slowdown, formats, bad input,
//!   a bench that hangs (its step limit), Ctrl-C during `--compare` (its worktree removed);
//! - `check`: `pyz3 check` on the demo extension and a C extension, reproducers; `inputs` (bad
//!   input, stubs, pyproject.toml), `library` (the harness as a library), `error_paths` (leaks
//!   before an exception), `stubs` (stub types and aliases);
//! - `containment`: hostile results, crashing oracles and properties, blamed correctly; results
//!   whose comparison hangs, imports that hang, garbage on the protocol, SIGINT/SIGTERM cleanup;
//! - `interpreters`: `pyz3 check` on CPython 3.11 (shared) and a free-threaded 3.13 (static);
//! - `threads`: `pyz3 check --threads` on C and PyO3 fixtures with races, and their correct
//!   twins, on 3.11 and a free-threaded 3.13;
//! - `hostile`: hostile values in `pyz3 check` (objects whose dunder methods mutate the
//!   container being walked, hostile callbacks) on a C fixture with re-entrancy bugs and its
//!   correct twin, reproducers that crash a fresh interpreter, `--no-hostile`, their share;
//! - `files`: hostile exception messages and function names in reproducers, planted temporary
//!   files and symlinks, private scratch directories, output paths checked before any work;
//! - `realworld`: stub packages, private names, empty runs, related oracle exceptions,
//!   mutating functions' memory checks, fresh callables, interpreters without NumPy, slow
//!   inputs and hangs;
//! - `pypi`: real extensions (mmh3, ujson, orjson, xxhash, jiter, msgpack, regex) and ten C
//!   modules of the standard library: known defects found with no options, no false alarms;
//! - `layout`: the source tree's shape: file sizes, `mod.rs` files, import cycles, printing;
//! - `doctor`: `pyz3 doctor` lists every check, its exit code, missing tools and their fixes;
//! - `fuzz`: the typed decoder and seed corpora; `targets` (the cargo-fuzz targets), `command`
//!   (`pyz3 fuzz` on a C extension and a linked crate, bad input);
//! - `sanitize`: `pyz3 test --sanitize`, `build` and `env` on example PyO3 and C projects;
//! - `backends`: `pyz3 test --sanitize` on a meson-python C extension and a scikit-build-core C++
//!   extension, an unknown build backend, a build that fails, an editable install that would
//!   shadow the instrumented build;
//! - `bindings`: nanobind and pybind11 (scikit-build-core) and Cython (setuptools, meson-python)
//!   example projects: `pyz3 test --sanitize` (address, undefined, leak, thread), `pyz3 check` on
//!   their built modules, a build that fails;
//! - `edit_cycle`: `pyz3 test --watch` and `pyz3 bench --compare` on a C extension built by
//!   setuptools, meson-python and scikit-build-core;
//! - `zig`: a pyZ3 (Zig) project built by the framework from PyPI: its suite, Zig's safety
//!   checks and AddressSanitizer on its C sources, `pyz3 check` and `pyz3 bench` on its module;
//! - `snapshots`: every text and Markdown writer (check, bench, coverage, sanitize, doctor) fed
//!   fixed data, against the `.snap` files in tests/tests/snapshots/;
//! - `profile`: `pyz3 profile` flamegraphs (drawn by headless Chromium), differential
//!   flamegraphs and memory figures of the demo extension.

#[path = "tests/backends.rs"]
mod backends;
#[path = "tests/bad_input.rs"]
mod bad_input;
#[path = "tests/bench.rs"]
mod bench;
#[path = "tests/bindings.rs"]
mod bindings;
#[path = "tests/check.rs"]
mod check;
#[path = "tests/cli.rs"]
mod cli;
#[path = "tests/common.rs"]
mod common;
#[path = "tests/containment.rs"]
mod containment;
#[path = "tests/coverage.rs"]
mod coverage;
#[path = "tests/doctor.rs"]
mod doctor;
#[path = "tests/edges.rs"]
mod edges;
#[path = "tests/edit_cycle.rs"]
mod edit_cycle;
#[path = "tests/files.rs"]
mod files;
#[path = "tests/fuzz.rs"]
mod fuzz;
#[path = "tests/hostile.rs"]
mod hostile;
#[path = "tests/interpreters.rs"]
mod interpreters;
#[path = "tests/layout.rs"]
mod layout;
#[path = "tests/pickle.rs"]
mod pickle;
#[path = "tests/profile.rs"]
mod profile;
#[path = "tests/property_tests.rs"]
mod property_tests;
#[path = "tests/pypi.rs"]
mod pypi;
#[path = "tests/realworld.rs"]
mod realworld;
#[path = "tests/roundtrip.rs"]
mod roundtrip;
#[path = "tests/sanitize.rs"]
mod sanitize;
#[path = "tests/shrinking.rs"]
mod shrinking;
#[path = "tests/snapshots.rs"]
mod snapshots;
#[path = "tests/strategies.rs"]
mod strategies;
#[path = "tests/threads.rs"]
mod threads;
#[path = "tests/typeexpr.rs"]
mod typeexpr;
mod util;
#[path = "tests/zig.rs"]
mod zig;
