//! `pyz3 fuzz init-ci`: the ClusterFuzzLite files of a project, so the targets `pyz3 fuzz`
//! runs also run in CI under ClusterFuzzLite.
//!
//! For the `pyz3 fuzz init-ci` command line. [`files`] renders, from validated
//! [`CiTarget`]s, `.clusterfuzzlite/project.yaml`, `.clusterfuzzlite/Dockerfile`,
//! `.clusterfuzzlite/build.sh` (which builds each target with `pyz3 fuzz export` into `$OUT`:
//! the same binary `pyz3 fuzz` runs, see [`super::export`]) and the GitHub Actions workflows
//! `.github/workflows/cflite_pr.yml` and `cflite_batch.yml`; [`write`] checks every path
//! before it writes any.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::export::{is_identifier, is_module_name, target_name};

/// One target of the generated files: a function of an importable module.
#[derive(Clone, Debug, PartialEq)]
pub struct CiTarget {
    /// The module's dotted name.
    pub module: String,
    /// The function.
    pub function: String,
}

impl CiTarget {
    /// Parses `MODULE:FUNC`, where MODULE is a dotted name of ASCII identifiers and FUNC an
    /// identifier: names end up in a shell script, so nothing else is taken (a path to a `.so`
    /// would not exist in ClusterFuzzLite's image anyway).
    pub fn parse(text: &str) -> anyhow::Result<CiTarget> {
        let Some((module, function)) = text.split_once(':') else {
            bail!("`{}` must be MODULE:FUNC (e.g. mymod:parse)", safe(text));
        };
        if !is_module_name(module) || !is_identifier(function) {
            bail!(
                "`{}` is not MODULE:FUNC of Python identifiers (an importable module, not a path)",
                safe(text)
            );
        }
        target_name(module, function)?;
        Ok(CiTarget {
            module: module.into(),
            function: function.into(),
        })
    }
}

/// The targets of every function of `module` (a dotted name, imported by `interpreter`) whose
/// signature is known, the way `pyz3 check MODULE` finds them; functions without one (or whose
/// name is not an ASCII identifier) are named in `skipped`. An error when none is left.
pub fn discover(
    module: &str,
    interpreter: &crate::project::Interpreter,
    stubs: Option<&Path>,
    skipped: &mut Vec<String>,
) -> anyhow::Result<Vec<CiTarget>> {
    if !is_module_name(module) {
        bail!(
            "`{}` is not MODULE or MODULE:FUNC of Python identifiers (an importable module, not a path)",
            safe(module)
        );
    }
    let spec = crate::check::discover::ModuleSpec::parse(module)?;
    let found = crate::check::discover::describe(
        interpreter,
        &spec,
        stubs,
        std::time::Duration::from_secs(120),
    )?;
    let mut targets = Vec::new();
    for f in &found.functions {
        if f.params.is_some() && is_identifier(&f.name) {
            targets.push(CiTarget {
                module: module.into(),
                function: f.name.clone(),
            });
        } else {
            skipped.push(format!("{module}:{}", f.name.escape_debug()));
        }
    }
    if targets.is_empty() {
        bail!("`{module}` has no public function with a known signature to fuzz (give a stub with --stubs, or MODULE:FUNC)");
    }
    Ok(targets)
}

/// Text from the command line made printable on one line.
fn safe(text: &str) -> String {
    text.escape_debug().to_string()
}

/// What the generated files say beyond the targets.
#[derive(Clone, Debug)]
pub struct CiOptions {
    /// The project's name: its directory under `$SRC` in the image.
    pub project: String,
    /// The git URL pyz3 is installed from in the image (`ARG PYZ3_GIT`; empty: to be set).
    pub pyz3_git: Option<String>,
}

/// The project name for the image from a directory name: letters (lower case), digits, `_` and
/// `-` kept, anything else `_`; `project` when nothing is left.
pub fn project_name(dir: &Path) -> String {
    let base = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.trim_matches('_').is_empty() {
        "project".into()
    } else {
        name
    }
}

/// Whether `url` can stand in the Dockerfile as it is: a URL or path without spaces, quotes
/// or shell characters.
pub fn is_plain_url(url: &str) -> bool {
    !url.is_empty()
        && !url.starts_with('-')
        && url
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/:._-@~+%=".contains(c))
}

/// One generated file: its path under the project root, its text, and whether it is executable.
#[derive(Clone, Debug)]
pub struct CiFile {
    /// The path, relative to the project root.
    pub path: PathBuf,
    /// The contents.
    pub text: String,
    /// Mode 0755 rather than 0644.
    pub executable: bool,
}

/// The ClusterFuzzLite files for `targets` (at least one).
pub fn files(targets: &[CiTarget], options: &CiOptions) -> anyhow::Result<Vec<CiFile>> {
    if targets.is_empty() {
        bail!("name at least one MODULE:FUNC to fuzz (e.g. pyz3 fuzz init-ci mymod:parse)");
    }
    if let Some(url) = &options.pyz3_git {
        if !is_plain_url(url) {
            bail!("--pyz3-git `{}` is not a plain git URL", safe(url));
        }
    }
    let file = |path: &str, text: String, executable: bool| CiFile {
        path: PathBuf::from(path),
        text,
        executable,
    };
    Ok(vec![
        file(".clusterfuzzlite/project.yaml", PROJECT_YAML.into(), false),
        file(".clusterfuzzlite/Dockerfile", dockerfile(options), false),
        file(".clusterfuzzlite/build.sh", build_sh(targets), true),
        file(".github/workflows/cflite_pr.yml", PR_WORKFLOW.into(), false),
        file(
            ".github/workflows/cflite_batch.yml",
            BATCH_WORKFLOW.into(),
            false,
        ),
    ])
}

const PROJECT_YAML: &str = "\
# Generated by `pyz3 fuzz init-ci`. The targets fuzz a Python extension module: each is a script
# beside the libFuzzer binary it runs (NAME and NAME.pkg), the layout of a Python target.
language: python
";

fn dockerfile(options: &CiOptions) -> String {
    let git = options.pyz3_git.as_deref().unwrap_or("");
    let project = &options.project;
    format!(
        "# Generated by `pyz3 fuzz init-ci`: the image ClusterFuzzLite builds the fuzz targets in.
# The Python builder has the CPython the targets embed (its libraries are copied beside them)
# and the clang, CFLAGS and sanitizers ClusterFuzzLite builds C and C++ extensions with.
FROM gcr.io/oss-fuzz-base/base-builder-python
# Nightly Rust and cargo-fuzz, which pyz3 builds its fuzz targets with.
ENV CARGO_HOME=/rust RUSTUP_HOME=/rust/rustup PATH=/rust/bin:$PATH
RUN curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \\
    | sh -s -- -y --profile minimal --default-toolchain nightly \\
 && cargo install --locked cargo-fuzz
# pyz3, installed from its sources (it builds its fuzz targets from them, so they stay here).
# PYZ3_GIT: the git URL of pyz3; PYZ3_REF: a tag or commit (empty: the default branch).
ARG PYZ3_GIT={git}
ARG PYZ3_REF=
RUN test -n \"$PYZ3_GIT\" || {{ echo 'set ARG PYZ3_GIT in .clusterfuzzlite/Dockerfile to the git URL of pyz3' >&2; exit 1; }} \\
 && git clone \"$PYZ3_GIT\" /opt/pyz3 \\
 && {{ test -z \"$PYZ3_REF\" || git -C /opt/pyz3 checkout \"$PYZ3_REF\"; }} \\
 && cargo install --locked --path /opt/pyz3 --root /usr/local
COPY . $SRC/{project}
WORKDIR $SRC/{project}
COPY .clusterfuzzlite/build.sh $SRC/
"
    )
}

fn build_sh(targets: &[CiTarget]) -> String {
    let mut exports = String::new();
    for t in targets {
        // Validated identifiers: quoting is belt and braces.
        exports.push_str(&format!(
            "env -u CFLAGS -u CXXFLAGS -u RUSTFLAGS pyz3 fuzz export '{}:{}' --out \"$OUT\" --sanitize \"$pyz3_sanitizer\" --bundle-python\n",
            t.module, t.function
        ));
    }
    format!(
        "#!/bin/bash -eu
# Generated by `pyz3 fuzz init-ci`: builds the pyz3 fuzz targets into $OUT. ClusterFuzzLite
# runs it in the image of .clusterfuzzlite/Dockerfile, from the project's directory; it runs
# the same anywhere pyz3 is on PATH, with OUT set (and SANITIZER, default address).

case \"${{SANITIZER:-address}}\" in
  address) pyz3_sanitizer=address ;;
  none) pyz3_sanitizer=none ;;
  *) echo \"pyz3 fuzz targets are built with AddressSanitizer or none, not ${{SANITIZER}}\" >&2; exit 1 ;;
esac

# The extension itself, built with ClusterFuzzLite's CFLAGS (the sanitizer and
# -fsanitize=fuzzer-no-link, so the fuzzer is guided by its code) and installed for the
# interpreter the targets embed. A project that is built already (PYZ3_NO_INSTALL=1) skips it.
if [ -z \"${{PYZ3_NO_INSTALL:-}}\" ] && {{ [ -f pyproject.toml ] || [ -f setup.py ]; }}; then
  python3 -m pip install .
fi

# Each target: the binary `pyz3 fuzz MODULE:FUNC` runs, a script that runs it as pyz3 does,
# its seed corpus (corpora/FUNC, corpora/MODULE.FUNC) and options, and the interpreter's
# libraries (ClusterFuzzLite runs the targets in another image). pyz3 builds the binary itself,
# so ClusterFuzzLite's compiler flags are not passed on to it.
{exports}"
    )
}

const PR_WORKFLOW: &str = "\
# Generated by `pyz3 fuzz init-ci`: ClusterFuzzLite fuzzes each pull request's code.
name: ClusterFuzzLite PR fuzzing
on:
  pull_request:
    paths:
      - '**'
permissions: read-all
jobs:
  PR:
    runs-on: ubuntu-latest
    concurrency:
      group: ${{ github.workflow }}-${{ matrix.sanitizer }}-${{ github.ref }}
      cancel-in-progress: true
    strategy:
      fail-fast: false
      matrix:
        sanitizer:
        - address
    steps:
    - name: Build Fuzzers (${{ matrix.sanitizer }})
      id: build
      uses: google/clusterfuzzlite/actions/build_fuzzers@v1
      with:
        language: python
        github-token: ${{ secrets.GITHUB_TOKEN }}
        sanitizer: ${{ matrix.sanitizer }}
    - name: Run Fuzzers (${{ matrix.sanitizer }})
      id: run
      uses: google/clusterfuzzlite/actions/run_fuzzers@v1
      with:
        github-token: ${{ secrets.GITHUB_TOKEN }}
        fuzz-seconds: 600
        mode: 'code-change'
        sanitizer: ${{ matrix.sanitizer }}
        output-sarif: true
";

const BATCH_WORKFLOW: &str = "\
# Generated by `pyz3 fuzz init-ci`: ClusterFuzzLite fuzzes the default branch every 6 hours.
name: ClusterFuzzLite batch fuzzing
on:
  schedule:
    - cron: '0 0/6 * * *'
  workflow_dispatch:
permissions: read-all
jobs:
  BatchFuzzing:
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix:
        sanitizer:
        - address
    steps:
    - name: Build Fuzzers (${{ matrix.sanitizer }})
      id: build
      uses: google/clusterfuzzlite/actions/build_fuzzers@v1
      with:
        language: python
        sanitizer: ${{ matrix.sanitizer }}
    - name: Run Fuzzers (${{ matrix.sanitizer }})
      id: run
      uses: google/clusterfuzzlite/actions/run_fuzzers@v1
      with:
        github-token: ${{ secrets.GITHUB_TOKEN }}
        fuzz-seconds: 3600
        mode: 'batch'
        sanitizer: ${{ matrix.sanitizer }}
        output-sarif: true
";

/// Writes `files` under the project directory `root`. Every path is checked first: an existing
/// file is an error unless `force`, and a directory on the way that is a symbolic link or not a
/// directory is always one; then nothing is written at all. Files are written atomically, never
/// through a symbolic link. Returns the paths written.
pub fn write(root: &Path, files: &[CiFile], force: bool) -> anyhow::Result<Vec<PathBuf>> {
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        _ => bail!("project directory {} does not exist", root.display()),
    }
    for f in files {
        let mut at = root.to_path_buf();
        let parts: Vec<_> = f.path.components().collect();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            let last = i + 1 == parts.len();
            let Ok(meta) = std::fs::symlink_metadata(&at) else {
                break;
            };
            if meta.file_type().is_symlink() {
                bail!(
                    "{} is a symbolic link: not writing through it",
                    at.display()
                );
            }
            if last && !meta.is_file() {
                bail!("{} exists and is not a regular file", at.display());
            }
            if last && !force {
                bail!("{} exists (--force overwrites it)", at.display());
            }
            if !last && !meta.is_dir() {
                bail!("{} exists and is not a directory", at.display());
            }
        }
    }
    let mut written = Vec::new();
    for f in files {
        let path = root.join(&f.path);
        if let Some(dir) = path.parent() {
            crate::fs::create_dir_all(dir)?;
        }
        super::export::write_file(&path, f.text.as_bytes(), f.executable)?;
        written.push(path);
    }
    Ok(written)
}
