//! The Python interpreter a project is built for and tested with.
//!
//! The rule: `--python PATH`, else the active virtualenv's `bin/python`, else `python3` on PATH.
//! The facts pyz3 needs (version, extension suffix, the real executable behind a shim) are read
//! from the interpreter itself, once.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde::Deserialize;

/// An interpreter and the facts about it that builds need.
#[derive(Clone, Debug, Deserialize)]
pub struct Interpreter {
    /// The executable to run (`sys.executable`: a virtualenv's python, never a pyenv shim).
    pub executable: PathBuf,
    /// `major.minor`.
    pub version: String,
    /// The file-name suffix of extension modules (`.cpython-311-x86_64-linux-gnu.so`).
    pub ext_suffix: String,
    /// Whether `-P` (do not prepend the working directory to `sys.path`) is available (3.11+).
    pub safe_path: bool,
}

const PROBE: &str = "import json, sys, sysconfig; print(json.dumps({'executable': sys.executable, \
'version': '%d.%d' % sys.version_info[:2], 'ext_suffix': sysconfig.get_config_var('EXT_SUFFIX'), \
'safe_path': sys.version_info >= (3, 11)}))";

impl Interpreter {
    /// The interpreter chosen by the rule above; `explicit` is `--python`.
    pub fn select(explicit: Option<&Path>) -> anyhow::Result<Interpreter> {
        let candidate: PathBuf = match explicit {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os("VIRTUAL_ENV") {
                Some(venv) if Path::new(&venv).join("bin/python").exists() => {
                    Path::new(&venv).join("bin/python")
                }
                _ => PathBuf::from("python3"),
            },
        };
        Interpreter::probe(&candidate)
    }

    /// Reads the facts from `python`.
    pub fn probe(python: &Path) -> anyhow::Result<Interpreter> {
        let out = Command::new(python)
            .args(["-c", PROBE])
            .output()
            .with_context(|| format!("cannot run the Python interpreter `{}`", python.display()))?;
        if !out.status.success() {
            bail!(
                "the Python interpreter `{}` failed: {}",
                python.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout)
            .with_context(|| format!("unexpected output from `{}`", python.display()))
    }

    /// Whether `module` imports in this interpreter (with its own environment).
    pub fn has_module(&self, module: &str) -> bool {
        Command::new(&self.executable)
            .args(["-c", &format!("import {module}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}
