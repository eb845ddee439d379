//! Discovery: which callables a module has and the signatures pyz3 will generate arguments for.
//!
//! For `pyz3 check`. Importing happens in a worker process, so a module whose import crashes
//! cannot take pyz3 down. Signatures come, in order, from a `.pyi` stub (beside the module, or
//! `--stubs`, PEP 561 layouts included), annotations from `inspect.signature`, or parameter
//! names from `__text_signature__` (whose types are then unknown: the any-value strategy).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::pool::{Event, Spawn, Worker};
use super::protocol::{FunctionInfo, Reply, Request};
use crate::project::python::Interpreter;
use crate::Error;

/// A module given on the command line: an importable name, or a path to a `.so`/`.py` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSpec {
    /// The name to import.
    pub module: String,
    /// Directory to put first on `sys.path` (for a path).
    pub path: Option<PathBuf>,
    /// Callables to describe even when their names start with `_` (named explicitly).
    pub include: Vec<String>,
}

impl ModuleSpec {
    /// Parses `pkg.mod`, `path/to/mod.cpython-311-x86_64-linux-gnu.so` or `path/to/mod.py`.
    pub fn parse(text: &str) -> crate::Result<ModuleSpec> {
        let looks_like_path =
            text.contains('/') || [".so", ".py", ".pyd"].iter().any(|e| text.ends_with(e));
        if looks_like_path {
            let p = Path::new(text);
            // A package directory: the package, imported from the directory that holds it.
            let package = p.is_dir()
                && std::fs::read_dir(p).is_ok_and(|entries| {
                    entries.flatten().any(|e| {
                        let name = e.file_name();
                        let name = name.to_string_lossy();
                        name == "__init__.py"
                            || (name.starts_with("__init__.") && name.ends_with(".so"))
                    })
                });
            if package {
                let dir = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
                let module = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                return Ok(ModuleSpec {
                    module,
                    path: dir.parent().map(Path::to_path_buf),
                    include: Vec::new(),
                });
            }
            if p.is_dir() {
                return Err(Error::Usage(format!(
                    "{text} is a directory: give the module's file (`.so`, `.py`), or its import \
                     name run from the directory that holds it"
                )));
            }
            if !p.is_file() {
                return Err(Error::Usage(format!("module file {text} does not exist")));
            }
            let file = p.file_name().and_then(|f| f.to_str()).unwrap_or_default();
            let module = file.split('.').next().unwrap_or_default().to_string();
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
            return Ok(ModuleSpec {
                module,
                path: Some(dir),
                include: Vec::new(),
            });
        }
        let valid = !text.is_empty()
            && text
                .split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'));
        if !valid {
            return Err(Error::Usage(format!(
                "`{text}` is not a module name or path"
            )));
        }
        Ok(ModuleSpec {
            module: text.to_string(),
            path: None,
            include: Vec::new(),
        })
    }
}

/// What discovery found.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// Public callables with their signatures.
    pub functions: Vec<FunctionInfo>,
    /// The stub used, if any.
    pub stub: Option<PathBuf>,
    /// The module's file.
    pub file: Option<PathBuf>,
    /// On a free-threaded interpreter, whether the GIL was on after the import.
    pub gil_enabled: Option<bool>,
}

impl Discovery {
    /// The directory the module was imported from (its package root), so that reproducers and
    /// fuzz targets import the same module from anywhere.
    pub fn import_root(&self, spec: &ModuleSpec) -> Option<PathBuf> {
        spec.path.clone().or_else(|| {
            let file = self.file.as_ref()?;
            let mut root = file.parent()?.to_path_buf();
            let package = file.file_name()?.to_str()?.starts_with("__init__.");
            for _ in 0..spec.module.matches('.').count() + usize::from(package) {
                root = root.parent()?.to_path_buf();
            }
            Some(root)
        })
    }
}

/// Imports the module in a worker run by `interpreter` and lists its callables; the import may
/// take up to `limit`.
pub fn describe(
    interpreter: &Interpreter,
    spec: &ModuleSpec,
    stubs: Option<&Path>,
    limit: Duration,
) -> crate::Result<Discovery> {
    let python = &interpreter.executable;
    let mut w = Worker::spawn(&Spawn {
        python,
        free_threaded: interpreter.free_threaded,
        call_limit: limit,
        env: &interpreter.env,
    })
    .map_err(|e| Error::Usage(format!("cannot start {}: {e}", python.display())))?;
    w.send(&Request::Describe {
        module: spec.module.clone(),
        path: spec.path.clone(),
        stubs: stubs.map(Path::to_path_buf),
        include: spec.include.clone(),
    });
    match w.recv(limit) {
        Event::Reply(Reply::Functions {
            functions,
            stub,
            file,
            gil_enabled,
            version,
        }) => super::protocol::check_version(version)
            .map_err(Error::Usage)
            .map(|()| Discovery {
                functions,
                stub,
                file,
                gil_enabled,
            }),
        Event::Reply(Reply::Error { message }) | Event::Garbled(message) => {
            Err(Error::Usage(message))
        }
        Event::Reply(other) => Err(Error::Usage(format!("unexpected reply {other:?}"))),
        Event::Exited { how, stderr, .. } => {
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(" ({})", l.trim()))
                .unwrap_or_default();
            Err(Error::Usage(format!(
                "importing `{}` crashed the interpreter: it {how}{last}",
                spec.module
            )))
        }
        Event::Silent | Event::Hung(_) => Err(super::runner::import_timed_out(&spec.module, limit)),
    }
}
