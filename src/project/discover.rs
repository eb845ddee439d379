//! Which extension modules a project declares, and where its tests are.
//!
//! PyO3 crates are the cargo workspace's members that build a `cdylib` and depend on `pyo3`
//! (read through `cargo metadata`); the module name comes from pyproject's
//! `[tool.maturin] module-name`, else the library's `PyInit_` symbol (what `#[pymodule]`
//! exports), else `[lib] name`. C (and Cython) extensions are those a setuptools `setup.py` or
//! pyproject `[tool.setuptools] ext-modules` declares; setuptools itself builds them. A
//! `[build-system] build-backend` of `mesonpy` or `scikit_build_core.build` makes the project one
//! unit built through that backend ([`super::pep517`]); its module names come from the built
//! wheel's file list. `[[tool.pyz3.ext_module]]` entries make it a pyZ3 (Zig) project
//! ([`super::zig`]), whatever its backend. Any other backend, with nothing else found, is an
//! error naming it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::pep517::{Backend, KNOWN_BACKENDS};

/// How a module is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtKind {
    /// A PyO3 crate.
    Rust {
        /// The package name (`cargo -p`).
        package: String,
        /// The library target name (`[lib] name`).
        lib: String,
        /// The package's `Cargo.toml`.
        manifest: PathBuf,
        /// Dotted module path from `[tool.maturin] module-name`, when set.
        module_name: Option<String>,
        /// The directory holding the Python package sources (maturin's `python-source`), when
        /// the module lives inside a Python package.
        python_source: Option<PathBuf>,
        /// Cargo features maturin builds with (`[tool.maturin] features`).
        features: Vec<String>,
    },
    /// A meson-python or scikit-build-core project, built as a wheel through the backend's
    /// hooks; its modules are those in the wheel's file list.
    Pep517 {
        /// The backend.
        backend: Backend,
        /// The directory with `pyproject.toml`.
        dir: PathBuf,
    },
    /// A pyZ3 project: Zig modules declared as `[[tool.pyz3.ext_module]]` and built by the
    /// framework's `zig build` ([`super::zig`]).
    Zig {
        /// The directory with `pyproject.toml`.
        dir: PathBuf,
    },
    /// The setuptools extensions of a project (built together by `build_ext`).
    Setuptools {
        /// The directory with `setup.py` / `pyproject.toml`.
        dir: PathBuf,
        /// Whether there is a `setup.py` to run.
        setup_py: bool,
    },
}

/// One buildable unit: a PyO3 crate, a project's setuptools extensions, or a project built by
/// meson-python or scikit-build-core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtModule {
    /// A short name for messages (crate name, `setuptools`, or the backend: `meson-python`).
    pub name: String,
    /// How it is built.
    pub kind: ExtKind,
}

/// An extension project.
#[derive(Clone, Debug)]
pub struct Project {
    /// The project root (where pyz3 was run).
    pub root: PathBuf,
    /// What it builds.
    pub modules: Vec<ExtModule>,
    /// The cargo target directory (for Rust builds), when there is a workspace.
    pub cargo_target: Option<PathBuf>,
    /// Test paths to give pytest; empty when pytest's own configuration names them.
    pub test_paths: Vec<PathBuf>,
    /// Whether a pytest configuration (`testpaths`) names the tests.
    pub configured_tests: bool,
}

impl Project {
    /// Discovers the project at `root`. A directory with neither a PyO3 crate nor setuptools
    /// extensions is an error naming what was looked for.
    pub fn discover(root: &Path) -> anyhow::Result<Project> {
        let root = root
            .canonicalize()
            .with_context(|| format!("no such directory: {}", root.display()))?;
        let pyproject = read_toml(&root.join("pyproject.toml"))?;
        let mut modules = Vec::new();
        let mut cargo_target = None;
        // maturin projects may keep the crate elsewhere (`manifest-path = "rust/Cargo.toml"`).
        let manifest = table_str(pyproject.as_ref(), &["tool", "maturin", "manifest-path"])
            .map_or_else(|| root.join("Cargo.toml"), |m| root.join(m));
        if manifest.exists() {
            let (rust, target) = rust_modules(&root, &manifest, pyproject.as_ref())?;
            modules.extend(rust);
            cargo_target = Some(target);
        }
        let backend = table_str(pyproject.as_ref(), &["build-system", "build-backend"]);
        let zig = super::zig::declares_zig_modules(pyproject.as_ref());
        if zig {
            // The framework's build (poetry's build script, or the pytest plugin) runs `zig
            // build` whatever the build-backend says.
            modules.push(ExtModule {
                name: "pyZ3".into(),
                kind: ExtKind::Zig { dir: root.clone() },
            });
        } else if let Some(b) = backend.and_then(Backend::from_build_backend) {
            modules.push(ExtModule {
                name: b.name().into(),
                kind: ExtKind::Pep517 {
                    backend: b,
                    dir: root.clone(),
                },
            });
        } else if let Some(m) = setuptools_module(&root, pyproject.as_ref())? {
            modules.push(m);
        }
        if let Some(b) = backend.filter(|b| !KNOWN_BACKENDS.contains(b)) {
            if modules.is_empty() {
                bail!(
                    "{}: pyproject.toml's build-backend `{}` is not one pyz3 builds (it knows {}, \
                     and pyZ3 projects by their [[tool.pyz3.ext_module]] entries)",
                    root.display(),
                    b.escape_debug(),
                    KNOWN_BACKENDS.join(", ")
                );
            }
        }
        if modules.is_empty() {
            bail!(
                "{} is not an extension project: found no PyO3 crate (a Cargo.toml whose cdylib \
                 depends on pyo3), no setuptools extension (setup.py with Extension(...) or \
                 [tool.setuptools] ext-modules), no build-backend mesonpy or \
                 scikit_build_core.build and no pyZ3 [[tool.pyz3.ext_module]]",
                root.display()
            );
        }
        let configured_tests = pytest_configured(&root, pyproject.as_ref());
        let test_paths = if configured_tests {
            Vec::new()
        } else {
            ["tests", "test"]
                .iter()
                .map(|d| root.join(d))
                .filter(|p| p.is_dir())
                .take(1)
                .collect()
        };
        Ok(Project {
            root,
            modules,
            cargo_target,
            test_paths,
            configured_tests,
        })
    }

    /// Whether pytest has something to run without arguments naming tests.
    pub fn has_tests(&self) -> bool {
        self.configured_tests || !self.test_paths.is_empty()
    }

    /// pyz3's own working directory in the project (`.pyz3/`, ignored by git).
    pub fn work_dir(&self) -> PathBuf {
        let dir = self.root.join(".pyz3");
        if !dir.join(".gitignore").exists() {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(dir.join(".gitignore"), "*\n");
        }
        dir
    }
}

fn read_toml(path: &Path) -> anyhow::Result<Option<toml::Table>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            Ok(Some(text.parse::<toml::Table>().with_context(|| {
                format!("{} does not parse", path.display())
            })?))
        }
        Err(_) => Ok(None),
    }
}

fn table_str<'a>(t: Option<&'a toml::Table>, path: &[&str]) -> Option<&'a str> {
    let mut cur = t?;
    for key in &path[..path.len() - 1] {
        cur = cur.get(*key)?.as_table()?;
    }
    cur.get(*path.last()?)?.as_str()
}

/// The workspace's PyO3 cdylib crates and its target directory.
fn rust_modules(
    root: &Path,
    manifest: &Path,
    root_pyproject: Option<&toml::Table>,
) -> anyhow::Result<(Vec<ExtModule>, PathBuf)> {
    let mut cmd = cargo_metadata::MetadataCommand::new();
    cmd.current_dir(root).manifest_path(manifest).no_deps();
    cmd.cargo_path(crate::toolchain::rust::cargo_program());
    let meta = cmd.exec().map_err(|e| {
        anyhow::anyhow!(
            "`cargo metadata` failed in {}: {}",
            root.display(),
            e.to_string()
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
        )
    })?;
    let mut modules = Vec::new();
    for pkg in meta.workspace_packages() {
        if !pkg.dependencies.iter().any(|d| d.name == "pyo3") {
            continue;
        }
        let Some(lib) = pkg
            .targets
            .iter()
            .find(|t| t.crate_types.contains(&cargo_metadata::CrateType::CDyLib))
        else {
            continue;
        };
        let manifest = PathBuf::from(pkg.manifest_path.as_std_path());
        let dir = manifest.parent().unwrap_or(root).to_path_buf();
        // A pyproject beside the crate wins over the root's (a workspace of several modules).
        let own = read_toml(&dir.join("pyproject.toml"))?;
        // maturin's paths are relative to the pyproject.toml that holds them.
        let (pyproject, base) = match &own {
            Some(t) => (Some(t), dir.clone()),
            None => (root_pyproject, root.to_path_buf()),
        };
        let module_name =
            table_str(pyproject, &["tool", "maturin", "module-name"]).map(str::to_string);
        let python_source = table_str(pyproject, &["tool", "maturin", "python-source"])
            .map(|s| base.join(s))
            .or_else(|| {
                // maturin's default mixed layout: a Python package named after the module.
                let top = module_name.as_deref()?.split('.').next()?;
                base.join(top)
                    .join("__init__.py")
                    .exists()
                    .then(|| base.clone())
            });
        let features = pyproject
            .and_then(|t| {
                t.get("tool")?
                    .get("maturin")?
                    .get("features")?
                    .as_array()
                    .cloned()
            })
            .unwrap_or_default()
            .iter()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        modules.push(ExtModule {
            name: pkg.name.to_string(),
            kind: ExtKind::Rust {
                package: pkg.name.to_string(),
                lib: lib.name.clone(),
                manifest,
                module_name,
                python_source,
                features,
            },
        });
    }
    Ok((modules, meta.target_directory.into_std_path_buf()))
}

/// The project's setuptools extensions, when it declares any.
fn setuptools_module(
    root: &Path,
    pyproject: Option<&toml::Table>,
) -> anyhow::Result<Option<ExtModule>> {
    let setup_py = root.join("setup.py");
    let declared_in_setup = std::fs::read_to_string(&setup_py).is_ok_and(|text| {
        regex::Regex::new(r"\bExtension\s*\(|\bcythonize\s*\(|ext_modules\s*=")
            .expect("valid regex")
            .is_match(&text)
    });
    let declared_in_pyproject = pyproject
        .and_then(|t| t.get("tool")?.get("setuptools")?.get("ext-modules"))
        .is_some();
    if !declared_in_setup && !declared_in_pyproject {
        return Ok(None);
    }
    Ok(Some(ExtModule {
        name: "setuptools".into(),
        kind: ExtKind::Setuptools {
            dir: root.to_path_buf(),
            setup_py: setup_py.exists(),
        },
    }))
}

/// Whether a pytest configuration file names `testpaths`.
fn pytest_configured(root: &Path, pyproject: Option<&toml::Table>) -> bool {
    let in_pyproject = pyproject
        .and_then(|t| {
            t.get("tool")?
                .get("pytest")?
                .get("ini_options")?
                .get("testpaths")
        })
        .is_some();
    in_pyproject
        || ["pytest.ini", "tox.ini", "setup.cfg"].iter().any(|f| {
            std::fs::read_to_string(root.join(f)).is_ok_and(|text| {
                text.lines()
                    .any(|l| l.trim_start().starts_with("testpaths"))
            })
        })
}
