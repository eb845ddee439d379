//! Extension projects on disk: which interpreter to build for, which extension modules a project
//! declares (PyO3 crates of a cargo workspace, setuptools C extensions, meson-python and
//! scikit-build-core projects, pyZ3 Zig projects), and building them.
//!
//! For the subcommands that work on a user's project as a whole (`pyz3 test`, `pyz3 build`,
//! `pyz3 env`): they all share one discovery, one interpreter rule and one build.

pub mod build;
pub mod discover;
pub mod imports;
pub mod pep517;
pub mod python;
pub mod zig;

pub use build::{build, BuildOptions, Built, BuiltModule, Instrumented};
pub use discover::{ExtKind, ExtModule, Project};
pub use python::Interpreter;
