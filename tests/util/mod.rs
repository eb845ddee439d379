//! Utilities shared by every test module: throwaway projects in temp dirs ([`Project`]: a PyO3
//! crate, a setuptools C extension, a git repository, fixtures with variables) and the `pyz3`
//! command ([`Pyz3`], with [`Assert::assert_exit`] that shows both streams on a mismatch).

pub mod command;
pub mod project;
pub mod report;

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

/// Compiles `dir/NAME.c` with gcc into the extension module `dir/NAME<EXT_SUFFIX>` for the
/// project virtualenv's Python (`-O1`, no instrumentation).
pub fn compile_c_extension(dir: &std::path::Path, name: &str) {
    let py = venv_python();
    let q = |code: &str| {
        let o = std::process::Command::new(&py)
            .args(["-c", code])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let include = q("import sysconfig; print(sysconfig.get_paths()['include'])");
    let suffix = q("import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))");
    let status = std::process::Command::new("gcc")
        .args(["-shared", "-fPIC", "-O1", "-I", &include, "-o"])
        .arg(dir.join(format!("{name}{suffix}")))
        .arg(dir.join(format!("{name}.c")))
        .status()
        .unwrap();
    assert!(status.success(), "gcc could not build {name}.c");
}

/// Held by the tests that need the machine's cores to themselves: rounds of threads (a race
/// needs the cores), timing comparisons, and whole C++ projects built with their binding
/// libraries (both cores for minutes). They never run at the same time.
pub fn cores() -> std::sync::MutexGuard<'static, ()> {
    static CORES: std::sync::Mutex<()> = std::sync::Mutex::new(());
    CORES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds the PyO3 crate in `crate_dir` (release, for the project's interpreter, in one shared
/// target directory) and copies its library into `dest` as `{module}.so`.
pub fn build_pyo3_module(crate_dir: &std::path::Path, module: &str, dest: &std::path::Path) {
    let build_dir = repo_root().join("target/threads-tests");
    let out = std::process::Command::new("cargo")
        .args(["build", "--release", "--quiet"])
        .current_dir(crate_dir)
        .env("CARGO_TARGET_DIR", &build_dir)
        .env("PYO3_BUILD_EXTENSION_MODULE", "1")
        .env("PYO3_PYTHON", venv_python())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::copy(
        build_dir.join(format!("release/lib{module}.so")),
        dest.join(format!("{module}.so")),
    )
    .unwrap();
}
