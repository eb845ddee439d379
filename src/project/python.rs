//! The Python interpreter a project is built for and tested with.
//!
//! The rule: `--python PATH`, else the active virtualenv's `bin/python`, else `python3` on PATH.
//! The facts pyz3 needs (version, extension suffix, the real executable behind a shim) are read
//! from the interpreter itself, once.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use serde::Deserialize;

/// An interpreter and the facts about it that builds and the harness need.
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
    /// `sys.implementation.name` (`cpython`, `pypy`, ...).
    #[serde(default)]
    pub implementation: String,
    /// A free-threaded build (`Py_GIL_DISABLED`).
    #[serde(default)]
    pub free_threaded: bool,
    /// A debug build (`--with-pydebug`: `sys.gettotalrefcount` exists).
    #[serde(default)]
    pub debug: bool,
    /// libpython is a shared library (`Py_ENABLE_SHARED`).
    #[serde(default)]
    pub shared: bool,
    /// The interpreter itself was built with ThreadSanitizer (`--with-thread-sanitizer`), so
    /// TSan sees its locks.
    #[serde(default)]
    pub tsan: bool,
    /// NumPy is importable (found on its path; not imported by the probe).
    #[serde(default)]
    pub numpy: bool,
    /// Variables set for every process pyz3 runs with this interpreter (a coverage build's
    /// `PYTHONPATH` and profile path); empty from the probe.
    #[serde(skip)]
    pub env: Vec<(String, String)>,
}

/// The oldest CPython the harness runs in.
pub const MIN_VERSION: (u32, u32) = (3, 9);

// Written for every Python 3 (and then some): the checks on the answer give the errors.
const PROBE: &str = "import importlib.util, json, sys, sysconfig; v = sysconfig.get_config_var; \
print(json.dumps({'executable': sys.executable, \
'version': '%d.%d' % sys.version_info[:2], 'ext_suffix': v('EXT_SUFFIX') or '', \
'safe_path': sys.version_info >= (3, 11), 'implementation': sys.implementation.name, \
'free_threaded': bool(v('Py_GIL_DISABLED')), 'debug': hasattr(sys, 'gettotalrefcount'), \
'shared': bool(v('Py_ENABLE_SHARED')), \
'tsan': '--with-thread-sanitizer' in (v('CONFIG_ARGS') or '') \
or 'sanitize=thread' in (v('PY_CFLAGS') or ''), \
'numpy': importlib.util.find_spec('numpy') is not None}))";

/// How long an interpreter may take to answer the probe.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The configure line that builds a free-threaded CPython ThreadSanitizer can judge.
pub const TSAN_CONFIGURE: &str =
    "./configure --disable-gil --with-thread-sanitizer CC=clang CXX=clang++";

impl Interpreter {
    /// `Err` with the reason when ThreadSanitizer cannot judge extensions in this interpreter:
    /// a free-threaded build not itself built with TSan synchronises through locks TSan does
    /// not see, so correct code reports races.
    pub fn require_tsan_ready(&self) -> anyhow::Result<()> {
        if self.free_threaded && !self.tsan {
            bail!(
                "--sanitize thread needs a free-threaded interpreter built with ThreadSanitizer: \
                 {} was not (its own locks are invisible to TSan, so correct code would report \
                 races); build one with `{TSAN_CONFIGURE}`, or use a GIL build",
                self.executable.display()
            );
        }
        Ok(())
    }

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

    /// Reads the facts from `python` (which must answer within 60 s).
    pub fn probe(python: &Path) -> anyhow::Result<Interpreter> {
        let mut cmd = Command::new(python);
        cmd.args(["-c", PROBE]).stdin(std::process::Stdio::null());
        let out = match crate::process::output_within(&mut cmd, PROBE_TIMEOUT) {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => bail!(
                "the Python interpreter `{}` did not answer within {} s",
                python.display(),
                PROBE_TIMEOUT.as_secs()
            ),
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot run the Python interpreter `{}`", python.display())
                })
            }
        };
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            bail!(
                "`{}` is not a usable Python 3 interpreter: {}",
                python.display(),
                printable(last)
            );
        }
        serde_json::from_slice(&out.stdout).map_err(|_| {
            anyhow::anyhow!(
                "`{}` is not a usable Python 3 interpreter (unexpected answer: {})",
                python.display(),
                printable(String::from_utf8_lossy(&out.stdout).trim())
            )
        })
    }

    /// Checks that the harness can run in this interpreter: CPython 3.9 or newer.
    pub fn require_harness(&self) -> anyhow::Result<()> {
        if self.implementation != "cpython" {
            bail!(
                "`{}` is {} {}: pyz3 runs extension modules in CPython 3.9 or newer",
                self.executable.display(),
                self.implementation,
                self.version
            );
        }
        let (major, minor) = self
            .version
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
            .unwrap_or((0, 0));
        if (major, minor) < MIN_VERSION {
            bail!(
                "`{}` is CPython {}: pyz3 needs CPython {}.{} or newer",
                self.executable.display(),
                self.version,
                MIN_VERSION.0,
                MIN_VERSION.1
            );
        }
        Ok(())
    }

    /// A short description: `CPython 3.13 (free-threaded, static)`.
    pub fn describe(&self) -> String {
        format!(
            "CPython {} ({})",
            self.version,
            build_traits(self.free_threaded, self.debug, self.shared)
        )
    }

    /// Whether `module` imports in this interpreter (with its own environment), within
    /// [`crate::process::TOOL_LIMIT`].
    pub fn has_module(&self, module: &str) -> bool {
        let mut cmd = Command::new(&self.executable);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(["-c", &format!("import {module}")])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        crate::process::status_within(&mut cmd, crate::process::TOOL_LIMIT)
            .is_ok_and(|s| s.success())
    }
}

/// Text from an interpreter, cut short and stripped of control characters, for one-line errors.
fn printable(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(200)
        .collect();
    clean
}

/// What sets a build apart, for descriptions: `free-threaded, debug, static`.
pub fn build_traits(free_threaded: bool, debug: bool, shared: bool) -> String {
    let mut traits = Vec::new();
    if free_threaded {
        traits.push("free-threaded");
    }
    if debug {
        traits.push("debug");
    }
    traits.push(if shared { "shared" } else { "static" });
    traits.join(", ")
}
