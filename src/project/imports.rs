//! Whether the interpreter imports the modules pyz3 built, or finds them elsewhere first.
//!
//! The built modules go first on `PYTHONPATH`, which wins over site-packages; but an import hook
//! on `sys.meta_path` wins over every path entry. Editable installs add one (meson-python's
//! loader, scikit-build-core's redirect mode, setuptools' editable finder), so in an environment
//! where the project is installed editable the tests would run its ordinary build and the
//! instrumented one would never load.

use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::build::Built;
use super::python::Interpreter;

/// Finds each top-level name with `importlib.util.find_spec` (which loads nothing) and prints the
/// ones located outside the import directory, with where they were found.
const PROBE: &str = r#"
import importlib.util, json, os, sys
lib = os.path.realpath(sys.argv[1])
out = []
for name in sys.argv[2:]:
    try:
        spec = importlib.util.find_spec(name)
    except Exception:
        continue
    if spec is None:
        continue
    locs = ([spec.origin] if spec.origin else []) + list(spec.submodule_search_locations or [])
    if locs and not any(os.path.realpath(l).startswith(lib + os.sep) for l in locs):
        out.append([name, str(locs[0])])
print(json.dumps(out))
"#;

/// Fails, naming the module and where it is found instead, when `python` (with `built`'s import
/// directory first on `PYTHONPATH`, as the tests run) would import a built module from
/// anywhere else.
pub fn require_built_modules_first(python: &Interpreter, built: &Built) -> anyhow::Result<()> {
    let mut names: Vec<&str> = built
        .modules
        .iter()
        .filter_map(|m| m.name.split('.').next())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return Ok(());
    }
    let mut path = built.lib_dir.display().to_string();
    if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        path = format!("{path}:{}", old.to_string_lossy());
    }
    let mut cmd = Command::new(&python.executable);
    if python.safe_path {
        cmd.arg("-P");
    }
    cmd.args(["-c", PROBE])
        .arg(&built.lib_dir)
        .args(&names)
        .env("PYTHONPATH", path)
        .stdin(Stdio::null());
    let out = crate::process::output_within(&mut cmd, crate::process::TOOL_LIMIT)
        .with_context(|| format!("cannot run {}", python.executable.display()))?;
    let found: Vec<(String, String)> = if out.status.success() {
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    } else {
        Vec::new()
    };
    if let Some((name, elsewhere)) = found.first() {
        bail!(
            "{} would import `{name}` from {elsewhere}, not from pyz3's build in {}: an import \
             hook comes first (an editable install of the project in this environment?); \
             uninstall it or test in another environment",
            python.executable.display(),
            built.lib_dir.display()
        );
    }
    Ok(())
}
