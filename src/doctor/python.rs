//! The interpreter's rows of `pyz3 doctor`: the Python (its version and build), its libpython
//! (for embedding), NumPy, pytest and setuptools, and the build backends and binding libraries of
//! extension projects (meson-python, scikit-build-core, Cython, nanobind, pybind11, the pyZ3
//! framework and Zig), read by one
//! probe run in that interpreter.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::checks::{Check, MIN_PYTHON, NOT_AN_INTERPRETER};
use super::probes::{run, table_text, Ran};

/// The Python packages of extension projects' builds: (import name, row name, what to install
/// for the kind of project that needs it).
pub(super) const BACKEND_PACKAGES: [(&str, &str, &str); 7] = [
    ("mesonpy", "meson-python", "meson-python meson ninja"),
    (
        "scikit_build_core",
        "scikit-build-core",
        "scikit-build-core cmake ninja",
    ),
    ("Cython", "cython", "cython"),
    (
        "nanobind",
        "nanobind",
        "nanobind scikit-build-core cmake ninja",
    ),
    (
        "pybind11",
        "pybind11",
        "pybind11 scikit-build-core cmake ninja",
    ),
    // The pyZ3 framework (Zig extensions) and the Zig compiler it builds with, from PyPI.
    ("pyz3", "pyZ3", "pyz3 ziglang"),
    ("ziglang", "zig", "ziglang"),
];

const PYTHON_PROBE: &str = r#"
import importlib, json, os, sys, sysconfig
v = sysconfig.get_config_var
libdir = v("LIBDIR") or ""
dirs = [d for d in (libdir, os.path.join(libdir, v("MULTIARCH") or ""), v("LIBPL")) if d]
names = [n for n in (v("INSTSONAME"), v("LDLIBRARY"), v("LIBRARY")) if n]
r = {
    "implementation": sys.implementation.name,
    "free_threaded": bool(v("Py_GIL_DISABLED")),
    "debug": hasattr(sys, "gettotalrefcount"),
    "version": "%d.%d.%d" % sys.version_info[:3],
    "major": sys.version_info[0],
    "minor": sys.version_info[1],
    "executable": sys.executable,
    "shared": bool(v("Py_ENABLE_SHARED")),
    "ldlibrary": v("LDLIBRARY") or "",
    "libs": [os.path.join(d, n) for d in dirs for n in names],
    "scripts": sysconfig.get_path("scripts") or "",
    "packages": {},
}
for name in ("numpy", "pytest", "setuptools", "mesonpy", "scikit_build_core", "Cython", "nanobind",
             "pybind11", "pyz3", "ziglang"):
    try:
        if name == "pyz3":
            # The framework's module states an older version than its distribution.
            import importlib.metadata
            importlib.import_module("pyz3.buildzig")
            version = importlib.metadata.version("pyz3")
        elif name == "ziglang":
            import subprocess
            importlib.import_module(name)
            out = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True,
                                 text=True, timeout=30, stdin=subprocess.DEVNULL)
            if out.returncode != 0:
                raise RuntimeError("`python -m ziglang version` failed: " + out.stderr.strip()[:200])
            version = out.stdout.strip()
        else:
            m = importlib.import_module(name)
            version = str(getattr(m, "__version__", "") or "")
        r["packages"][name] = [True, version]
    except BaseException as e:
        r["packages"][name] = [False, "%s: %s" % (type(e).__name__, e)]
sys.stdout.write("\nPYZ3_DOCTOR " + json.dumps(r) + "\n")
"#;

#[derive(Deserialize)]
struct PythonFacts {
    #[serde(default)]
    implementation: String,
    #[serde(default)]
    free_threaded: bool,
    #[serde(default)]
    debug: bool,
    version: String,
    major: u32,
    minor: u32,
    executable: String,
    shared: bool,
    ldlibrary: String,
    libs: Vec<String>,
    scripts: String,
    packages: std::collections::BTreeMap<String, (bool, String)>,
}

pub(super) struct PythonChecks {
    pub(super) python: Check,
    pub(super) libpython: Check,
    pub(super) numpy: Check,
    pub(super) pytest: Check,
    pub(super) setuptools: Check,
    /// The build backends and binding libraries ([`BACKEND_PACKAGES`]).
    pub(super) backends: Vec<Check>,
    /// Where the interpreter's scripts (py-spy) would be.
    pub(super) scripts_dirs: Vec<PathBuf>,
}

impl PythonChecks {
    /// Every Python check missing, with `why` on the interpreter's row.
    fn missing(python: &Path, why: String) -> PythonChecks {
        PythonChecks {
            python: Check::missing(
                "core",
                "python",
                why,
                "install CPython 3.9+: apt-get install python3 python3-dev python3-venv",
            ),
            libpython: Check::missing(
                "fuzzing",
                "libpython",
                "no interpreter",
                "install CPython 3.9+: apt-get install python3 python3-dev python3-venv",
            ),
            // Nothing to install packages into until the interpreter works.
            numpy: Check::missing("core", "numpy", "no interpreter", ""),
            pytest: Check::missing("tests", "pytest", "no interpreter", ""),
            setuptools: Check::missing("tests", "setuptools", "no interpreter", ""),
            backends: BACKEND_PACKAGES
                .iter()
                .map(|(_, name, _)| Check::missing("backends", *name, "no interpreter", ""))
                .collect(),
            scripts_dirs: python.parent().map(Path::to_path_buf).into_iter().collect(),
        }
    }

    pub(super) fn failed(python: &Path) -> PythonChecks {
        PythonChecks::missing(python, "probe failed".to_string())
    }
}

pub(super) fn python_checks(python: &Path) -> PythonChecks {
    let ran = match run(python, &["-c", PYTHON_PROBE]) {
        None => {
            let why = if python.components().count() > 1 && !python.exists() {
                format!("{}: no such file", python.display())
            } else {
                format!("{}: cannot run", python.display())
            };
            return PythonChecks::missing(python, why);
        }
        Some(r) => r,
    };
    let facts = ran
        .stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("PYZ3_DOCTOR "))
        .and_then(|j| serde_json::from_str::<PythonFacts>(j).ok());
    let Some(facts) = facts else {
        return PythonChecks::missing(python, not_an_interpreter(python, &ran));
    };
    let found = format!(
        "{} {} ({}; {})",
        facts.implementation,
        facts.version,
        crate::project::python::build_traits(facts.free_threaded, facts.debug, facts.shared),
        facts.executable
    );
    let python_check = if facts.implementation != "cpython" && !facts.implementation.is_empty() {
        Check::missing(
            "core",
            "python",
            found,
            format!(
                "pyz3 runs extensions in CPython {}.{}+: install it (apt-get install python3)",
                MIN_PYTHON.0, MIN_PYTHON.1
            ),
        )
    } else if (facts.major, facts.minor) >= MIN_PYTHON {
        Check::ok("core", "python", found)
    } else {
        Check::missing(
            "core",
            "python",
            found,
            format!("install CPython {}.{}+", MIN_PYTHON.0, MIN_PYTHON.1),
        )
    };
    // Only embedding (fuzz targets, property tests in Rust) links libpython: shared or static.
    let lib = facts.libs.iter().find(|l| Path::new(l).is_file());
    let kind = if facts.shared { "shared" } else { "static" };
    let libpython = match lib {
        Some(lib) => Check::ok("fuzzing", "libpython", format!("{kind}: {lib}")),
        None => Check::missing(
            "fuzzing",
            "libpython",
            format!("{} ({kind}) not found", facts.ldlibrary),
            format!(
                "apt-get install libpython{}.{}-dev",
                facts.major, facts.minor
            ),
        ),
    };
    let package = |feature: &'static str, name: &str| {
        package_check(python, &facts, feature, name, name, name)
    };
    let backends = BACKEND_PACKAGES
        .iter()
        .map(|(module, row, install)| {
            package_check(python, &facts, "backends", module, row, install)
        })
        .collect();
    let mut scripts_dirs = Vec::new();
    if !facts.scripts.is_empty() {
        scripts_dirs.push(PathBuf::from(&facts.scripts));
    }
    if let Some(dir) = Path::new(&facts.executable).parent() {
        scripts_dirs.push(dir.to_path_buf());
    }
    if let Some(dir) = python.parent().filter(|d| !d.as_os_str().is_empty()) {
        scripts_dirs.push(dir.to_path_buf());
    }
    PythonChecks {
        python: python_check,
        libpython,
        numpy: package("core", "numpy"),
        pytest: package("tests", "pytest"),
        setuptools: package("tests", "setuptools"),
        backends,
        scripts_dirs,
    }
}

/// The row `row` of the package imported as `module`: its version, or what to install
/// (`install`, with this interpreter's pip).
fn package_check(
    python: &Path,
    facts: &PythonFacts,
    feature: &'static str,
    module: &str,
    row: &str,
    install: &str,
) -> Check {
    match facts.packages.get(module) {
        Some((true, version)) => Check::ok(feature, row, version.clone()),
        other => {
            let error = other.map(|(_, e)| e.as_str()).unwrap_or("");
            // "No module named" says only what the row already says.
            let found = if error.starts_with("ModuleNotFoundError") {
                ""
            } else {
                error
            };
            Check::missing(
                feature,
                row,
                found,
                format!("{} -m pip install {install}", python.display()),
            )
        }
    }
}

/// The `python` row's text for a program that did not answer the probe: one line, whatever it
/// printed. Its last line of stderr is kept when it reads as text (a Python too old for the
/// probe says why there); binary output and escape sequences are not shown.
fn not_an_interpreter(python: &Path, ran: &Ran) -> String {
    let status = match (ran.code, ran.success) {
        (_, true) => "it exited 0".to_string(),
        (Some(code), _) => format!("it exited with status {code}"),
        (None, _) if ran.stderr.starts_with("timed out") => ran.stderr.clone(),
        (None, _) => "it was killed by a signal".to_string(),
    };
    let timed_out = ran.code.is_none() && ran.stderr.starts_with("timed out");
    let said = Some(&ran.stderr)
        .filter(|_| !timed_out)
        .into_iter()
        .flat_map(|s| s.lines())
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .filter(|l| !l.chars().any(|c| c.is_control() || c == '\u{fffd}'))
        .map(|l| format!(": {}", table_text(l)))
        .unwrap_or_default();
    format!(
        "`{}` {NOT_AN_INTERPRETER} (no answer to pyz3's probe; {status}){said}",
        table_text(&python.display().to_string())
    )
}
