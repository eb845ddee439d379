//! Starting the embedded interpreter once, with the active virtualenv importable, and the one
//! line of text a Python exception becomes.

use pyo3::prelude::*;
use std::sync::{Mutex, Once};

static INIT: Once = Once::new();

/// What [`init`] could not do, kept for [`take_warnings`].
static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The warnings of starting the interpreter (a virtualenv whose site-packages could not be
/// added), each once: the library does not print them, its caller decides.
pub fn take_warnings() -> Vec<String> {
    std::mem::take(&mut *WARNINGS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Starts the interpreter if it is not running and makes the active virtualenv importable.
///
/// The virtualenv is `$VIRTUAL_ENV` when set, else `$PYZ3_VENV`. Idempotent and cheap after the
/// first call. What goes wrong on the way is kept for [`take_warnings`].
pub fn init() {
    INIT.call_once(|| {
        let venv = std::env::var("VIRTUAL_ENV")
            .or_else(|_| std::env::var("PYZ3_VENV"))
            .unwrap_or_default();
        // A virtualenv made without system site-packages must not see them (another numpy, say),
        // and their .pth files can cost more than the rest of start-up: skip the interpreter's
        // own `site` then, and add only the virtualenv's site-packages, as its python would.
        let isolated = !venv.is_empty()
            && std::fs::read_to_string(std::path::Path::new(&venv).join("pyvenv.cfg"))
                .map(|cfg| {
                    cfg.lines().any(|l| {
                        let l = l.replace(' ', "").to_ascii_lowercase();
                        l == "include-system-site-packages=false"
                    })
                })
                .unwrap_or(false);
        if isolated {
            // SAFETY: written once, before the interpreter starts. (Deprecated from 3.12 in
            // favour of PyConfig, which the embedding API used here does not expose.)
            #[allow(deprecated)]
            unsafe {
                pyo3::ffi::Py_NoSiteFlag = 1;
            }
        }
        Python::initialize();
        Python::attach(|py| {
            if !venv.is_empty() {
                let code = c"import site, sys, glob, os\n\
for d in glob.glob(os.path.join(VENV, 'lib', 'python%d.%d' % sys.version_info[:2], 'site-packages')):\n    site.addsitedir(d)\n";
                let globals = pyo3::types::PyDict::new(py);
                let _ = globals.set_item("VENV", &venv);
                if let Err(e) = py.run(code, Some(&globals), None) {
                    WARNINGS
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(format!("could not add virtualenv {venv}: {}", err_text(py, &e)));
                }
            }
        });
    });
}

/// Runs `f` with the GIL held, starting the interpreter first if needed.
pub fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    init();
    Python::attach(f)
}

/// One line describing a Python exception: `TypeError: message`.
pub fn err_text(py: Python<'_>, err: &PyErr) -> String {
    // `struct.error`, not just `error`; builtins keep their bare name.
    let ty = err
        .get_type(py)
        .fully_qualified_name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let msg = err
        .value(py)
        .str()
        .map(|s| s.to_string())
        .unwrap_or_default();
    if msg.is_empty() {
        ty
    } else {
        format!("{ty}: {msg}")
    }
}
