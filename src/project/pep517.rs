//! Projects built by a PEP 517 backend pyz3 drives through the backend's own hooks: meson-python
//! (`mesonpy`) and scikit-build-core (`scikit_build_core.build`).
//!
//! One build path for both: the backend's `build_wheel` hook, run by the project's interpreter
//! with no build isolation (the backend, meson/ninja or CMake come from that environment), into
//! `.pyz3/build/<label>/` (the backend's build directory and the wheel), and the wheel unpacked
//! into the label's import directory. The instrumentation goes in the way each backend honours
//! it: meson's `-Dc_args=` / `-Dc_link_args=` (and the C++ ones) through `setup-args`, CMake's
//! `CMAKE_<LANG>_FLAGS` and linker flags through scikit-build-core's `cmake.define.*` (and
//! `install.strip=false`, so the installed modules keep their symbols). The
//! modules are the extension modules in the wheel's file list.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use super::build::{is_clang, BuildOptions, BuiltModule, Instrumented, Language};
use super::discover::{ExtKind, ExtModule};
use super::python::Interpreter;
use crate::report::Progress;
use crate::toolchain::{clang as clang_tools, coverage_flags};

/// The hook runner: builds the wheel and unpacks it (`pep517_wheel.py`).
const WHEEL_PY: &str = include_str!("pep517_wheel.py");

/// The `build-backend` values pyz3 builds, as pyproject.toml spells them.
pub const KNOWN_BACKENDS: [&str; 5] = [
    "maturin",
    "setuptools.build_meta",
    "setuptools.build_meta:__legacy__",
    "mesonpy",
    "scikit_build_core.build",
];

/// A PEP 517 backend pyz3 builds through its hooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// meson-python (`build-backend = "mesonpy"`).
    MesonPython,
    /// scikit-build-core (`build-backend = "scikit_build_core.build"`).
    ScikitBuildCore,
}

impl Backend {
    /// The backend of a pyproject `build-backend` value, when it is one of these.
    pub fn from_build_backend(value: &str) -> Option<Backend> {
        match value {
            "mesonpy" => Some(Backend::MesonPython),
            "scikit_build_core.build" => Some(Backend::ScikitBuildCore),
            _ => None,
        }
    }

    /// The `build-backend` value (the module with the hooks).
    pub fn module(self) -> &'static str {
        match self {
            Backend::MesonPython => "mesonpy",
            Backend::ScikitBuildCore => "scikit_build_core.build",
        }
    }

    /// The backend's name on PyPI (for messages and install hints).
    pub fn name(self) -> &'static str {
        match self {
            Backend::MesonPython => "meson-python",
            Backend::ScikitBuildCore => "scikit-build-core",
        }
    }

    /// What to install for it: the backend and the tools it runs.
    fn install(self) -> &'static str {
        match self {
            Backend::MesonPython => "meson-python meson ninja",
            Backend::ScikitBuildCore => "scikit-build-core cmake ninja",
        }
    }
}

/// The backend's build directory in `out` (where meson and CMake run the compilers).
pub fn compile_dir(backend: Backend, out: &Path) -> PathBuf {
    out.join(match backend {
        Backend::MesonPython => "meson",
        Backend::ScikitBuildCore => "cmake",
    })
}

/// The config settings passed to the backend's `build_wheel` for a build in `out`.
fn config_settings(
    backend: Backend,
    opts: &BuildOptions,
    clang: bool,
    out: &Path,
) -> serde_json::Value {
    let sans = opts.sanitizers;
    let user = |var: &str| std::env::var(var).ok().filter(|v| !v.trim().is_empty());
    let join = |var: &str, extra: &[String]| {
        user(var)
            .into_iter()
            .chain(extra.iter().cloned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut cflags = sans.c_flags(clang);
    let mut ldflags = sans.ld_flags(clang);
    if opts.coverage {
        let (c, l) = coverage_flags::c_flags(clang);
        cflags.extend(c);
        ldflags.extend(l);
    }
    let instrumented = !sans.is_empty() || opts.coverage;
    match backend {
        Backend::MesonPython => {
            let mut setup_args = Vec::new();
            if instrumented {
                for (option, var, flags) in [
                    ("c_args", "CFLAGS", &cflags),
                    ("cpp_args", "CXXFLAGS", &cflags),
                    ("c_link_args", "LDFLAGS", &ldflags),
                    ("cpp_link_args", "LDFLAGS", &ldflags),
                ] {
                    setup_args.push(format!("-D{option}={}", join(var, flags)));
                }
            }
            serde_json::json!({
                "build-dir": compile_dir(backend, out).display().to_string(),
                "setup-args": setup_args,
            })
        }
        Backend::ScikitBuildCore => {
            let mut settings = serde_json::json!({
                "build-dir": compile_dir(backend, out).display().to_string(),
            });
            if instrumented {
                // scikit-build-core strips the installed modules by default, and nanobind's and
                // pybind11's CMake helpers strip modules built as `Release` (the default build
                // type) after linking: keep the symbols the sanitizers' stack traces name (and
                // the coverage mapping).
                settings["install.strip"] = "false".into();
                settings["cmake.build-type"] = "RelWithDebInfo".into();
                for (define, var, flags) in [
                    ("CMAKE_C_FLAGS", "CFLAGS", &cflags),
                    ("CMAKE_CXX_FLAGS", "CXXFLAGS", &cflags),
                    ("CMAKE_MODULE_LINKER_FLAGS", "LDFLAGS", &ldflags),
                    ("CMAKE_SHARED_LINKER_FLAGS", "LDFLAGS", &ldflags),
                ] {
                    settings[format!("cmake.define.{define}")] = join(var, flags).into();
                }
            }
            settings
        }
    }
}

/// The C and C++ compilers of a coverage build: `$CC`/`$CXX` when `$CC` is clang, else clang
/// matching rustc's LLVM and its `clang++`; an error saying what to install when there is none.
fn coverage_compilers() -> anyhow::Result<(PathBuf, PathBuf)> {
    if let Ok(cc) = std::env::var("CC") {
        if is_clang(&cc) {
            let cxx = std::env::var("CXX").unwrap_or_else(|_| cc.replace("clang", "clang++"));
            return Ok((cc.into(), cxx.into()));
        }
    }
    let Some(cc) = clang_tools::matching_clang() else {
        bail!(
            "coverage of meson-python and scikit-build-core projects needs clang (LLVM's \
             source-based coverage): install clang of rustc's LLVM version (apt install clang-22 \
             llvm-22)"
        );
    };
    let name = cc
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .replacen("clang", "clang++", 1);
    Ok((cc.clone(), cc.with_file_name(name)))
}

/// The first line of build output that states an error (the compiler's, Cython's, meson's or
/// CMake's), without terminal colours.
pub(super) fn first_error(output: &str) -> Option<String> {
    static ANSI: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static CYTHON: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let ansi =
        ANSI.get_or_init(|| regex::Regex::new(r"\x1b\[[0-9;]*[A-Za-z]").expect("valid regex"));
    // Cython states an error as `m.pyx:12:4: message` (its warnings start with `warning: `).
    let cython = CYTHON
        .get_or_init(|| regex::Regex::new(r"^\S+\.(pyx|pxd|pxi):\d+:\d+: ").expect("valid regex"));
    output
        .lines()
        .map(|l| ansi.replace_all(l, "").trim().to_string())
        .find(|l| {
            l.contains("error:")
                || l.starts_with("ERROR:")
                || l.starts_with("CMake Error")
                || cython.is_match(l)
        })
}

/// Builds the wheel of a meson-python or scikit-build-core project into `out` and unpacks it
/// into `lib_dir`; returns the extension modules its file list holds.
pub fn build_pep517(
    m: &ExtModule,
    python: &Interpreter,
    opts: &BuildOptions,
    out: &Path,
    lib_dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<BuiltModule>> {
    let ExtKind::Pep517 { backend, dir } = &m.kind else {
        unreachable!("build_pep517 is called for PEP 517 projects")
    };
    let backend = *backend;
    let sans = opts.sanitizers;
    if opts.fuzz {
        bail!(
            "--fuzz builds of {} projects are not supported yet (setuptools and PyO3 crates are)",
            backend.name()
        );
    }
    // Coverage is LLVM's source-based coverage: clang matching rustc's LLVM (one profile
    // format, one set of tools), for C and C++, unless `$CC` names a clang already.
    let coverage_cc = if opts.coverage {
        Some(coverage_compilers()?)
    } else {
        None
    };
    let cc = match &coverage_cc {
        Some((cc, _)) => cc.display().to_string(),
        None => std::env::var("CC").unwrap_or_else(|_| "cc".into()),
    };
    let clang = is_clang(&cc);
    progress.note(&format!(
        "building with {} ({}{}{}, {})",
        backend.name(),
        if sans.is_empty() {
            "plain".to_string()
        } else {
            sans.to_string()
        },
        if opts.coverage { ", LLVM coverage" } else { "" },
        // The backends build optimized by default (meson-python's `release` build type,
        // scikit-build-core's `Release`): a release build is the plain one in its own directory.
        if opts.release { ", release" } else { "" },
        cc.split_whitespace().next().unwrap_or(&cc)
    ));
    let settings = config_settings(backend, opts, clang, out);
    let result = out.join("wheel.json");
    let _ = std::fs::remove_file(&result);
    let script = out.join("pep517_wheel.py");
    crate::fs::create_dir_all(out)?;
    std::fs::write(&script, WHEEL_PY)
        .with_context(|| format!("cannot write {}", script.display()))?;
    // The environment's own tools (meson, ninja, cmake installed from PyPI) come first.
    let mut path: Vec<PathBuf> = python
        .executable
        .parent()
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let mut cmd = Command::new(&python.executable);
    cmd.arg(&script)
        .arg(backend.module())
        .arg(dir)
        .arg(out.join("wheel"))
        .arg(lib_dir)
        .arg(settings.to_string())
        .arg(&result)
        .current_dir(dir)
        .env("PATH", std::env::join_paths(path)?)
        .stdin(std::process::Stdio::null());
    if let Some((cc, cxx)) = &coverage_cc {
        cmd.env("CC", cc).env("CXX", cxx);
    }
    let output = crate::process::output_within(&mut cmd, crate::process::BUILD_LIMIT)
        .with_context(|| format!("cannot build with {}", python.executable.display()))?;
    if output.status.code() == Some(3) {
        bail!(
            "{} is not installed in {}: run `{} -m pip install {}`",
            backend.name(),
            python.executable.display(),
            python.executable.display(),
            backend.install()
        );
    }
    if !output.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        progress.warn(&format!("{} output:\n{text}", backend.name()));
        bail!(
            "the {} build of {} failed: {}",
            backend.name(),
            dir.display(),
            first_error(&text).unwrap_or_else(|| "see its output above".into())
        );
    }
    let (doc, modules) = super::build::listed_modules(
        &result,
        backend.name(),
        Language::C,
        opts.coverage.then_some(Instrumented::Llvm),
    )?;
    if modules.is_empty() {
        bail!(
            "the {} wheel of {} ({}) holds no extension module",
            backend.name(),
            dir.display(),
            doc["wheel"].as_str().unwrap_or("?")
        );
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::SanitizerSet;

    #[test]
    fn settings_carry_the_instrumentation_per_backend() {
        let opts = BuildOptions {
            sanitizers: SanitizerSet::parse("address").unwrap(),
            release: false,
            coverage: false,
            fuzz: false,
        };
        let out = Path::new("/p/.pyz3/build/address");
        let meson = config_settings(Backend::MesonPython, &opts, false, out);
        assert_eq!(meson["build-dir"], "/p/.pyz3/build/address/meson");
        let args: Vec<&str> = meson["setup-args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(args
            .iter()
            .any(|a| a.starts_with("-Dc_args=") && a.contains("-fsanitize=address")));
        assert!(args
            .iter()
            .any(|a| a.starts_with("-Dcpp_link_args=") && a.contains("-fsanitize=address")));
        let cmake = config_settings(Backend::ScikitBuildCore, &opts, false, out);
        assert_eq!(cmake["build-dir"], "/p/.pyz3/build/address/cmake");
        assert_eq!(cmake["install.strip"], "false");
        assert_eq!(cmake["cmake.build-type"], "RelWithDebInfo");
        assert!(cmake["cmake.define.CMAKE_CXX_FLAGS"]
            .as_str()
            .unwrap()
            .contains("-fsanitize=address"));
        let plain = BuildOptions {
            sanitizers: SanitizerSet::NONE,
            ..opts
        };
        let meson = config_settings(Backend::MesonPython, &plain, false, out);
        assert_eq!(meson["setup-args"].as_array().unwrap().len(), 0);
    }

    #[test]
    fn the_first_error_line_is_the_compilers() {
        let out = "[1/2] Compiling C object x.so.p/x.c.o\nFAILED: x.so.p/x.c.o\n\
                   ../x.c:3:1: \x1b[01;31m\x1b[Kerror: \x1b[m\x1b[Kexpected ';'\n";
        assert_eq!(
            first_error(out).as_deref(),
            Some("../x.c:3:1: error: expected ';'")
        );
        let cython = "Compiling m.pyx because it changed.\nwarning: m.pyx:2:0: unused\n\
                      Error compiling Cython file:\n---\nm.pyx:7:11: Expected ')', found 'NEWLINE'\n";
        assert_eq!(
            first_error(cython).as_deref(),
            Some("m.pyx:7:11: Expected ')', found 'NEWLINE'")
        );
    }
}
