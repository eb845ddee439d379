//! Utilities shared by every test module: throwaway projects in temp dirs ([`Project`]: a PyO3
//! crate, a setuptools C extension, a git repository, fixtures with variables) and the `pyz3`
//! command ([`Pyz3`], with [`Assert::assert_exit`] that shows both streams on a mismatch).

pub mod command;
pub mod project;

pub use command::{Assert, Pyz3};
pub use project::{fixture, render, Project};

/// The repository's root (where Cargo.toml is).
pub fn repo_root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The project virtualenv (`.venv` at the repository's root).
pub const VENV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv");

/// The project virtualenv's Python (CPython 3.11, shared libpython).
pub fn venv_python() -> std::path::PathBuf {
    std::path::Path::new(VENV).join("bin/python")
}
