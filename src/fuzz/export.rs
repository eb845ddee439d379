//! A `pyz3 fuzz MODULE:FUNC` target as a standalone libFuzzer target in a directory: what
//! ClusterFuzzLite (or OSS-Fuzz) expects in `$OUT`.
//!
//! For `pyz3 fuzz export` (which the `build.sh` of `pyz3 fuzz init-ci` runs). The directory gets,
//! for a target named `NAME` ([`target_name`]):
//!
//! - `NAME`: an executable script that runs the binary below with the environment `pyz3 fuzz`
//!   gives it (the target in `PYZ3_FUZZ_SPEC`, `PYTHONMALLOC=malloc`, AddressSanitizer's
//!   options); it names `LLVMFuzzerTestOneInput`, which is how ClusterFuzz recognises a fuzz
//!   target;
//! - `NAME.pkg`: the very binary `pyz3 fuzz` runs (named as ClusterFuzzLite names the binary
//!   behind a Python target's script: its checks of a build look at it, and its extension keeps
//!   it from being taken for a target of its own);
//! - `NAME.pyz3.json`: the [`Target`], as `pyz3 fuzz` passes it;
//! - `NAME.pylib/`: a copy of the module's files, first on the target's `sys.path`;
//! - `NAME.options`: libFuzzer options (the call timeout);
//! - `NAME_seed_corpus.zip`: the seed inputs;
//! - with [`ExportOptions::bundle_python`], `pyz3-python/`: the interpreter's shared library
//!   and standard library, which the script points the binary at (`PYTHONHOME`,
//!   `LD_LIBRARY_PATH`), so the target runs where that Python is not installed (ClusterFuzzLite
//!   runs targets in another image than the one that built them).

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::spec::ASAN_DEFAULTS;
use crate::target::Target;

/// What [`export`] wrote.
#[derive(Debug)]
pub struct Exported {
    /// The target's name: the script ClusterFuzzLite runs is `dir/NAME`.
    pub name: String,
    /// The script.
    pub script: PathBuf,
    /// The seed corpus archive.
    pub seeds: PathBuf,
    /// How many seed inputs it holds.
    pub seed_count: usize,
}

/// Whether `text` is an ASCII Python identifier.
pub fn is_identifier(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether `text` is a dotted module name of ASCII identifiers (`pkg.mod`).
pub fn is_module_name(text: &str) -> bool {
    !text.is_empty() && text.split('.').all(is_identifier)
}

/// The fuzz target's name for `module` and `function`: `MODULE_FUNC`, dots made underscores
/// (ClusterFuzzLite runs only names of letters, digits, `_` and `-`). An error unless both are
/// identifiers.
pub fn target_name(module: &str, function: &str) -> anyhow::Result<String> {
    if !is_module_name(module) {
        bail!("`{module}` is not a module name of ASCII identifiers (e.g. pkg.mod)");
    }
    if !is_identifier(function) {
        bail!("`{function}` is not an ASCII identifier");
    }
    Ok(format!("{}_{function}", module.replace('.', "_")))
}

/// How [`export`] writes a target.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Directories whose files are the seed corpus (read-only).
    pub seeds: Vec<PathBuf>,
    /// A call running longer than this many seconds is a timeout (at least 1).
    pub timeout_s: u64,
    /// The interpreter whose shared library and standard library go to `pyz3-python/` in the
    /// directory, for the target to run with; none: the target uses the interpreter it was
    /// built for, where it is installed.
    pub bundle_python: Option<PathBuf>,
}

/// Writes `target`, run by the fuzz binary `bin`, into `dir` (created when missing) as a
/// standalone libFuzzer target.
pub fn export(
    target: &Target,
    bin: &Path,
    dir: &Path,
    options: &ExportOptions,
) -> anyhow::Result<Exported> {
    let name = target_name(&target.module, &target.function)?;
    crate::fs::check_output_dir(dir)?;
    crate::fs::create_dir_all(dir)?;
    let mut spec = target.clone();
    let lib = dir.join(format!("{name}.pylib"));
    // The module's files go beside the target; when none are found where it was imported
    // from, the target keeps importing it from there.
    let copied = match &target.path {
        Some(root) => copy_module(root, &target.module, &lib)?,
        None => false,
    };
    if copied {
        spec.path = None;
    }
    write_file(
        &dir.join(format!("{name}.pyz3.json")),
        serde_json::to_string(&spec)?.as_bytes(),
        false,
    )?;
    let binary = crate::fs::read(bin)?;
    write_file(&dir.join(format!("{name}.pkg")), &binary, true)?;
    let bundled = match &options.bundle_python {
        Some(python) => Some(bundle_python(python, &dir.join(BUNDLE))?),
        None => None,
    };
    let script = dir.join(&name);
    write_file(
        &script,
        wrapper(&name, target, copied, bundled.is_some()).as_bytes(),
        true,
    )?;
    write_file(
        &dir.join(format!("{name}.options")),
        format!("[libfuzzer]\ntimeout = {}\n", options.timeout_s.max(1)).as_bytes(),
        false,
    )?;
    let mut inputs = Vec::new();
    for (i, s) in options.seeds.iter().enumerate() {
        let mut files: Vec<PathBuf> = crate::fs::read_dir(s)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for f in files {
            let base = f.file_name().map(|n| n.to_string_lossy().into_owned());
            let entry = format!(
                "{i}-{}",
                crate::fs::safe_file_name(&base.unwrap_or_default())
            );
            inputs.push((entry, crate::fs::read(&f)?));
        }
    }
    let zip = dir.join(format!("{name}_seed_corpus.zip"));
    write_file(&zip, &stored_zip(&inputs), false)?;
    Ok(Exported {
        name,
        script,
        seeds: zip,
        seed_count: inputs.len(),
    })
}

/// The script ClusterFuzzLite runs: the binary with the environment `pyz3 fuzz` gives it.
fn wrapper(name: &str, target: &Target, lib: bool, bundled: bool) -> String {
    let mut path = String::new();
    if lib {
        path.push_str(&format!(
            "PYTHONPATH=\"$here/{name}.pylib${{PYTHONPATH:+:$PYTHONPATH}}\"\nexport PYTHONPATH\n"
        ));
    }
    if bundled {
        path.push_str(&format!(
            "PYTHONHOME=\"$here/{BUNDLE}\"\nexport PYTHONHOME\n\
             LD_LIBRARY_PATH=\"$here/{BUNDLE}/lib${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\"\n\
             export LD_LIBRARY_PATH\n"
        ));
    }
    format!(
        "#!/bin/sh\n\
         # The pyz3 fuzz target of {module}:{function}, written by `pyz3 fuzz export`. The libFuzzer\n\
         # binary (LLVMFuzzerTestOneInput) is {name}.pkg beside this script, the one\n\
         # `pyz3 fuzz` runs; it reads the function to call from {name}.pyz3.json.\n\
         here=$(dirname \"$0\")\n\
         PYZ3_FUZZ_SPEC=$(cat \"$here/{name}.pyz3.json\") || exit 1\n\
         export PYZ3_FUZZ_SPEC\n\
         PYTHONMALLOC=malloc\n\
         export PYTHONMALLOC\n\
         {path}\
         ASAN_OPTIONS=\"${{ASAN_OPTIONS:+$ASAN_OPTIONS:}}{ASAN_DEFAULTS}\"\n\
         export ASAN_OPTIONS\n\
         exec \"$here/{name}.pkg\" \"$@\"\n",
        module = target.module,
        function = target.function,
    )
}

/// The directory of the bundled interpreter, beside the targets.
pub const BUNDLE: &str = "pyz3-python";

/// What of the standard library is not bundled: its tests, the IDE, Tk, and what installs
/// packages.
const NOT_BUNDLED: [&str; 8] = [
    "test",
    "site-packages",
    "__pycache__",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "config-3",
];

/// Copies what `python` needs to start into `home` as a Python prefix (`PYTHONHOME`): its
/// shared library into `lib/`, its standard library (and `lib-dynload`) into
/// `lib/pythonX.Y/`. Returns `home`.
fn bundle_python(python: &Path, home: &Path) -> anyhow::Result<PathBuf> {
    use crate::process::Within;
    let code = "import os, sys, sysconfig\n\
                v = sysconfig.get_config_var\n\
                lib = os.path.join(v('LIBDIR') or '', v('INSTSONAME') or '')\n\
                import _struct\n\
                dyn = os.path.dirname(getattr(_struct, '__file__', '') or '')\n\
                print('%d.%d' % sys.version_info[:2])\n\
                print(lib if v('Py_ENABLE_SHARED') and os.path.isfile(lib) else '')\n\
                print(os.path.dirname(os.__file__))\n\
                print(dyn)\n";
    let out = std::process::Command::new(python)
        .args(["-I", "-c", code])
        .output_within(crate::process::TOOL_LIMIT)
        .with_context(|| format!("running {}", python.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let [version, lib, stdlib, dynload] = lines[..] else {
        bail!(
            "{} did not say where its libraries are: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    };
    let libdir = home.join("lib");
    let dest = libdir.join(format!("python{version}"));
    crate::fs::create_dir_all(&dest)?;
    if !lib.is_empty() {
        let lib = Path::new(lib);
        let file = lib.file_name().context("libpython has no file name")?;
        write_file(&libdir.join(file), &crate::fs::read(lib)?, true)?;
    }
    for e in crate::fs::read_dir(stdlib)?.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        if NOT_BUNDLED.iter().any(|n| file.starts_with(n)) {
            continue;
        }
        copy_tree(&e.path(), &dest.join(&file))?;
    }
    let dyn_dest = dest.join("lib-dynload");
    if !dynload.is_empty() && !dyn_dest.is_dir() {
        copy_tree(Path::new(dynload), &dyn_dest)?;
    }
    Ok(home.to_path_buf())
}

/// Copies the files of the top-level package or module of `module` found in `root` (a package
/// directory, `NAME.py`, `NAME.*.so`, `NAME.so`, `NAME.pyi`) into `lib`. Whether any was found.
fn copy_module(root: &Path, module: &str, lib: &Path) -> anyhow::Result<bool> {
    let top = module.split('.').next().unwrap_or(module);
    let mut found = false;
    let Ok(entries) = crate::fs::read_dir(root) else {
        return Ok(false);
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let ty = e.file_type()?;
        let package = file == top && ty.is_dir();
        let module_file = ty.is_file()
            && (file == format!("{top}.py")
                || file == format!("{top}.pyi")
                || (file.starts_with(&format!("{top}.")) && file.ends_with(".so")));
        if !package && !module_file {
            continue;
        }
        if !found {
            crate::fs::create_dir_all(lib)?;
            found = true;
        }
        copy_tree(&e.path(), &lib.join(&file))?;
    }
    Ok(found)
}

/// Copies a file, or a directory's files and directories (symbolic links are skipped).
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(from)
        .with_context(|| format!("cannot read {}", from.display()))?;
    if meta.is_dir() {
        crate::fs::create_dir_all(to)?;
        for e in crate::fs::read_dir(from)?.flatten() {
            if e.file_name() == "__pycache__" {
                continue;
            }
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
    } else if meta.is_file() {
        let exec = meta.permissions().mode() & 0o111 != 0;
        write_file(to, &crate::fs::read(from)?, exec)?;
    }
    Ok(())
}

/// Writes `data` to `path` atomically (never through a symbolic link there), executable or
/// not.
pub fn write_file(path: &Path, data: &[u8], executable: bool) -> anyhow::Result<()> {
    crate::fs::write_atomic(path, data)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mode = if executable { 0o755 } else { 0o644 };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))?;
    Ok(())
}

/// CRC-32 (IEEE), as zip archives record it.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip archive of `files` (name, content), stored without compression.
pub fn stored_zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let size = data.len() as u32;
        let n = name.len() as u16;
        // Local file header: version 2.0, no flags, stored, no time.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [20u16, 0, 0, 0, 0x21] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 0, 0, 0x21] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, size, size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [n, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let start = out.len() as u32;
    let count = files.len() as u16;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_identifiers_only() {
        assert_eq!(target_name("pkg.mod", "parse").unwrap(), "pkg_mod_parse");
        for (m, f) in [
            ("m", "f;rm"),
            ("m", "f$(x)"),
            ("m-x", "f"),
            ("m..n", "f"),
            ("m", "é"),
            ("", "f"),
            ("m", "1f"),
        ] {
            assert!(target_name(m, f).is_err(), "{m}:{f}");
        }
    }

    #[test]
    fn crc_is_the_zip_one() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }
}
