//! Building a project's extension modules for one interpreter and one set of sanitizers.
//!
//! Rust crates are built with cargo into `<target>/pyz3/<label>` (a separate directory per
//! sanitizer set, so ordinary builds are never invalidated); setuptools extensions with
//! `setup.py build_ext` into `.pyz3/build/<label>`; meson-python and scikit-build-core projects
//! as wheels built in `.pyz3/build/<label>` ([`super::pep517`]); pyZ3 projects by the framework's
//! `zig build` in `.pyz3/build/<label>/zig` ([`super::zig`]). Every module ends up in one import directory,
//! `.pyz3/build/<label>/lib`, under its dotted name.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};

use super::discover::{ExtKind, ExtModule, Project};
use super::python::Interpreter;
use crate::report::Progress;
use crate::toolchain::rust::{self, Channel};
use crate::toolchain::{clang, coverage_flags, fuzz_flags, Sanitizer, SanitizerSet};

/// What to build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The sanitizers (empty: a plain build).
    pub sanitizers: SanitizerSet,
    /// Build Rust crates with the release profile (default: the dev profile).
    pub release: bool,
    /// Instrument for coverage: LLVM source-based coverage for Rust and for C built with clang,
    /// gcov for C built with gcc ([`crate::toolchain::coverage_flags`]).
    pub coverage: bool,
    /// Instrument for libFuzzer (`-fsanitize=fuzzer-no-link` for C with clang, cargo-fuzz's
    /// coverage flags for Rust; [`crate::toolchain::fuzz_flags`]), so that `pyz3 fuzz` is
    /// guided by the modules' own code.
    pub fuzz: bool,
}

/// The language a built module was compiled from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// A PyO3 crate.
    Rust,
    /// C, C++ or Cython through setuptools, meson-python or scikit-build-core.
    C,
    /// Zig through the pyZ3 framework.
    Zig,
}

/// One built extension module.
#[derive(Clone, Debug)]
pub struct BuiltModule {
    /// The dotted import name.
    pub name: String,
    /// The shared library in the import directory.
    pub path: PathBuf,
    /// What it was compiled from.
    pub language: Language,
    /// Sanitizer runtimes it links (from `ldd`): `libasan.so.8`, `libclang_rt.asan-x86_64.so`, ...
    pub runtimes: Vec<PathBuf>,
    /// How it is instrumented for coverage, when it is.
    pub coverage: Option<Instrumented>,
}

/// The coverage instrumentation of a built module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Instrumented {
    /// LLVM source-based coverage (`-Cinstrument-coverage`, clang's `-fcoverage-mapping`),
    /// with counters kept in the profile file as they change, so a crash loses nothing.
    Llvm,
    /// gcc's gcov: `.gcda` files appear beside the object files in this directory.
    Gcov {
        /// The setuptools build-temp directory holding the objects.
        objects: PathBuf,
    },
}

/// The result of a build.
#[derive(Clone, Debug)]
pub struct Built {
    /// The sanitizers built with.
    pub sanitizers: SanitizerSet,
    /// The directory to put first on `PYTHONPATH`.
    pub lib_dir: PathBuf,
    /// Every module built.
    pub modules: Vec<BuiltModule>,
    /// Directories the compilers ran in, when not the project's: relative source paths in the
    /// modules' debug information are relative to one of them (meson's build directory).
    pub compile_dirs: Vec<PathBuf>,
    /// Seconds the build took.
    pub seconds: f64,
}

impl Built {
    /// The modules' names, comma-separated (for messages).
    pub fn names(&self) -> String {
        self.modules
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Builds every module of `project` for `python`. Compiler errors are shown as they come (the
/// compilers write to pyz3's stderr; setuptools' captured output goes to `progress` when the
/// build fails); a module that does not compile is an error naming it.
pub fn build(
    project: &Project,
    python: &Interpreter,
    opts: &BuildOptions,
    progress: &mut dyn Progress,
) -> anyhow::Result<Built> {
    if opts.sanitizers.contains(Sanitizer::Thread) {
        python.require_tsan_ready()?;
    }
    let start = Instant::now();
    let mut label = opts.sanitizers.label();
    if opts.coverage {
        label.push_str("-coverage");
    }
    if opts.fuzz {
        label.push_str("-fuzz");
    }
    if opts.release {
        label.push_str("-release");
    }
    let out = project.work_dir().join("build").join(&label);
    let lib_dir = out.join("lib");
    if lib_dir.exists() {
        std::fs::remove_dir_all(&lib_dir)
            .with_context(|| format!("cannot clear {}", lib_dir.display()))?;
    }
    std::fs::create_dir_all(&lib_dir)
        .with_context(|| format!("cannot create {}", lib_dir.display()))?;
    let mut modules = Vec::new();
    let mut compile_dirs = Vec::new();
    for m in &project.modules {
        match &m.kind {
            ExtKind::Rust { .. } => {
                let target = project
                    .cargo_target
                    .clone()
                    .unwrap_or_else(|| project.root.join("target"))
                    .join("pyz3")
                    .join(&label);
                modules.push(build_rust(m, python, opts, &target, &lib_dir, progress)?);
            }
            ExtKind::Zig { .. } => {
                modules.extend(super::zig::build_zig(
                    m, python, opts, &out, &lib_dir, progress,
                )?);
            }
            ExtKind::Setuptools { .. } => {
                modules.extend(build_setuptools(m, python, opts, &out, &lib_dir, progress)?);
            }
            ExtKind::Pep517 { backend, .. } => {
                modules.extend(super::pep517::build_pep517(
                    m, python, opts, &out, &lib_dir, progress,
                )?);
                compile_dirs.push(super::pep517::compile_dir(*backend, &out));
            }
        }
    }
    for m in &mut modules {
        m.runtimes = linked_runtimes(&m.path);
    }
    Ok(Built {
        sanitizers: opts.sanitizers,
        lib_dir,
        modules,
        compile_dirs,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn build_rust(
    m: &ExtModule,
    python: &Interpreter,
    opts: &BuildOptions,
    target_dir: &Path,
    lib_dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<BuiltModule> {
    let ExtKind::Rust {
        package,
        lib,
        manifest,
        module_name,
        python_source,
        features,
    } = &m.kind
    else {
        unreachable!("build_rust is called for Rust modules")
    };
    let sans = opts.sanitizers;
    progress.note(&format!(
        "building crate `{package}` ({}{}{}{})",
        if sans.is_empty() {
            "plain".to_string()
        } else {
            sans.to_string()
        },
        if opts.coverage { ", coverage" } else { "" },
        if opts.fuzz { ", fuzzing" } else { "" },
        if opts.release { ", release" } else { "" }
    ));
    let channel = Channel::for_build(sans.needs_nightly());
    let mut cmd = rust::cargo(channel);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(manifest)
        .args([
            "-p",
            package,
            "--lib",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--target-dir")
        .arg(target_dir);
    if opts.release {
        cmd.arg("--release");
    }
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    if sans.needs_nightly() || opts.coverage || opts.fuzz {
        // An explicit target keeps proc-macro crates and build scripts (run during the build)
        // uninstrumented. Also for coverage: an instrumented proc macro would leave
        // `default_*.profraw` files in the project each time the compiler runs it.
        cmd.args(["--target", &rust::host(channel)?]);
    }
    let mut rustflags = sans.rust_flags();
    if opts.coverage {
        rustflags.extend(coverage_flags::RUST_FLAGS.map(String::from));
    }
    if opts.fuzz {
        rustflags.extend(fuzz_flags::RUST_FLAGS.map(String::from));
        let cc = clang::matching_clang().map_or_else(|| "cc".into(), |p| p.display().to_string());
        let shim = fuzz_flags::shim_object(&cc, target_dir)?;
        rustflags.push(format!("-Clink-arg={}", shim.display()));
    }
    cmd.env("RUSTFLAGS", rustflags.join(" "))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("PYO3_PYTHON", &python.executable)
        .env("PYO3_BUILD_EXTENSION_MODULE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    // In a process group of its own (so an interrupt or the limit stops rustc and build
    // scripts too), with the generous limit of a build.
    let mut child = crate::process::GroupChild::spawn(&mut cmd)
        .context("cannot run cargo: is Rust installed (https://rustup.rs)?")?;
    let stdout = child.child.stdout.take().expect("piped");
    let lib_name = lib.clone();
    let reader = std::thread::spawn(move || {
        let mut artifact = None;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if msg["reason"] == "compiler-artifact"
                && msg["target"]["name"] == lib_name.as_str()
                && msg["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "cdylib"))
            {
                artifact = msg["filenames"].as_array().and_then(|f| {
                    f.iter()
                        .filter_map(|f| f.as_str())
                        .find(|f| f.ends_with(".so") || f.ends_with(".dylib"))
                        .map(PathBuf::from)
                });
            }
        }
        artifact
    });
    let status = child
        .wait_for(crate::process::BUILD_LIMIT)
        .context("waiting for cargo")?
        .with_context(|| {
            format!(
                "building crate `{package}` did not finish within {}; it was stopped",
                crate::process::seconds(crate::process::BUILD_LIMIT)
            )
        })?;
    let artifact = reader.join().unwrap_or(None);
    if !status.success() {
        bail!("crate `{package}` does not compile (compiler errors above)");
    }
    let so = artifact.with_context(|| format!("cargo built no cdylib for crate `{package}`"))?;
    let name = module_name
        .clone()
        .or_else(|| pyinit_name(&so, lib))
        .unwrap_or_else(|| lib.clone());
    if let (Some(src), Some(top)) = (python_source, name.split('.').next()) {
        if name.contains('.') && src.join(top).is_dir() {
            copy_tree(&src.join(top), &lib_dir.join(top))?;
        }
    }
    let rel: PathBuf = name.split('.').collect();
    let dest = lib_dir.join(format!("{}{}", rel.display(), python.ext_suffix));
    if let Some(parent) = dest.parent() {
        crate::fs::create_dir_all(parent)?;
    }
    std::fs::copy(&so, &dest)
        .with_context(|| format!("cannot copy {} to {}", so.display(), dest.display()))?;
    Ok(BuiltModule {
        name,
        path: dest,
        language: Language::Rust,
        runtimes: Vec::new(),
        coverage: opts.coverage.then_some(Instrumented::Llvm),
    })
}

/// The module name from the library's exported `PyInit_<name>` symbol (what `#[pymodule]`
/// generates): the one matching the library name, else the only one.
fn pyinit_name(so: &Path, lib: &str) -> Option<String> {
    let bytes = std::fs::read(so).ok()?;
    let needle = b"PyInit_";
    let mut names = Vec::new();
    let mut i = 0;
    while let Some(pos) = bytes[i..].windows(needle.len()).position(|w| w == needle) {
        let start = i + pos + needle.len();
        let len = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if len > 0 && bytes.get(start + len) == Some(&0) {
            let name = String::from_utf8_lossy(&bytes[start..start + len]).into_owned();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        i = start;
    }
    if names.iter().any(|n| n == lib) {
        return Some(lib.to_string());
    }
    (names.len() == 1).then(|| names.remove(0))
}

/// The modules a build helper script listed in its result file `result` (JSON: `{"modules":
/// [{"name", "path"}, ...]}`, written by `pep517_wheel.py` and `zig_build.py`); `who` names the
/// build in errors.
pub(super) fn listed_modules(
    result: &Path,
    who: &str,
    language: Language,
    coverage: Option<Instrumented>,
) -> anyhow::Result<(serde_json::Value, Vec<BuiltModule>)> {
    let text = std::fs::read_to_string(result)
        .with_context(|| format!("{who} wrote no {}", result.display()))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} does not parse", result.display()))?;
    let modules = doc["modules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some(BuiltModule {
                name: m["name"].as_str()?.to_string(),
                path: PathBuf::from(m["path"].as_str()?),
                language,
                runtimes: Vec::new(),
                coverage: coverage.clone(),
            })
        })
        .collect();
    Ok((doc, modules))
}

/// Copies the directory `from` to `to` recursively, leaving out `__pycache__`.
pub fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    crate::fs::create_dir_all(to)?;
    for entry in crate::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(&name))?;
        } else {
            std::fs::copy(&path, to.join(&name))
                .with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

/// The C compiler setuptools will use: `$CC`, else the interpreter's configured one.
fn c_compiler(python: &Interpreter) -> String {
    if let Ok(cc) = std::env::var("CC") {
        return cc;
    }
    crate::process::output_within(
        Command::new(&python.executable).args([
            "-c",
            "import sysconfig; print(sysconfig.get_config_var('CC') or 'cc')",
        ]),
        crate::process::TOOL_LIMIT,
    )
    .ok()
    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    .filter(|s| !s.is_empty())
    .unwrap_or_else(|| "cc".into())
}

/// Whether the compiler command `cc` is clang (its `--version` says so).
pub(super) fn is_clang(cc: &str) -> bool {
    let program = cc.split_whitespace().next().unwrap_or(cc);
    crate::process::output_within(
        Command::new(program).arg("--version"),
        crate::process::TOOL_LIMIT,
    )
    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("clang"))
}

fn build_setuptools(
    m: &ExtModule,
    python: &Interpreter,
    opts: &BuildOptions,
    out: &Path,
    lib_dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<BuiltModule>> {
    let ExtKind::Setuptools { dir, setup_py } = &m.kind else {
        unreachable!("build_setuptools is called for setuptools modules")
    };
    let setup_py = *setup_py;
    let sans = opts.sanitizers;
    // Coverage prefers clang matching rustc's LLVM (one profile format, one set of tools).
    let coverage_cc = if (opts.coverage || opts.fuzz) && std::env::var_os("CC").is_none() {
        clang::matching_clang().map(|p| p.display().to_string())
    } else {
        None
    };
    let cc = coverage_cc.clone().unwrap_or_else(|| c_compiler(python));
    let clang = is_clang(&cc);
    if opts.fuzz && !clang {
        bail!(
            "a --fuzz build of C extensions needs clang (-fsanitize=fuzzer-no-link), not {cc}: \
             install clang (Debian: clang-22) or set CC"
        );
    }
    progress.note(&format!(
        "building C extensions with setuptools ({}{}{}, {})",
        if sans.is_empty() {
            "plain".to_string()
        } else {
            sans.to_string()
        },
        match (opts.coverage, clang) {
            (false, _) => "",
            (true, true) => ", LLVM coverage",
            (true, false) => ", gcov coverage",
        },
        if opts.fuzz { ", fuzzing" } else { "" },
        cc.split_whitespace().next().unwrap_or(&cc)
    ));
    if !python.has_module("setuptools") {
        bail!(
            "setuptools is not installed in {}: run `{} -m pip install setuptools`",
            python.executable.display(),
            python.executable.display()
        );
    }
    let temp = out.join("temp");
    let mut cmd = Command::new(&python.executable);
    if setup_py {
        cmd.arg("setup.py");
    } else {
        cmd.args(["-c", "from setuptools import setup; setup()"]);
    }
    cmd.arg("build_py")
        .arg("--build-lib")
        .arg(lib_dir)
        .arg("build_ext")
        .arg("--build-lib")
        .arg(lib_dir)
        .arg("--build-temp")
        .arg(&temp)
        .arg("--force")
        .current_dir(dir);
    let join = |var: &str, extra: Vec<String>| {
        let mut v: Vec<String> = std::env::var(var).ok().into_iter().collect();
        v.extend(extra);
        v.join(" ")
    };
    let mut cflags = sans.c_flags(clang);
    let mut ldflags = sans.ld_flags(clang);
    if opts.coverage {
        let (c, l) = coverage_flags::c_flags(clang);
        cflags.extend(c);
        ldflags.extend(l);
        if temp.exists() {
            // Old `.gcda` counts would add up across runs.
            std::fs::remove_dir_all(&temp)
                .with_context(|| format!("cannot clear {}", temp.display()))?;
        }
    }
    if opts.fuzz {
        cflags.extend(fuzz_flags::C_FLAGS.map(String::from));
        let shim = fuzz_flags::shim_object(&cc, out)?;
        ldflags.push(shim.display().to_string());
    }
    if let Some(cc) = &coverage_cc {
        cmd.env("CC", cc);
    }
    cmd.env("CFLAGS", join("CFLAGS", cflags))
        .env("LDFLAGS", join("LDFLAGS", ldflags));
    let output = crate::process::output_within(&mut cmd, crate::process::BUILD_LIMIT)
        .with_context(|| format!("cannot build with {}", python.executable.display()))?;
    if !output.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        progress.warn(&format!("setuptools output:\n{text}"));
        bail!(
            "the setuptools build of {} failed: {}",
            dir.display(),
            super::pep517::first_error(&text).unwrap_or_else(|| "see its output above".into())
        );
    }
    let mut modules = Vec::new();
    collect_modules(lib_dir, lib_dir, &mut modules)?;
    if modules.is_empty() {
        bail!("setuptools built no extension module in {}", dir.display());
    }
    if opts.coverage {
        let how = if clang {
            Instrumented::Llvm
        } else {
            Instrumented::Gcov { objects: temp }
        };
        for m in &mut modules {
            m.coverage = Some(how.clone());
        }
    }
    Ok(modules)
}

fn collect_modules(base: &Path, dir: &Path, out: &mut Vec<BuiltModule>) -> anyhow::Result<()> {
    for entry in crate::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_modules(base, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "so") {
            let rel = path.strip_prefix(base).unwrap_or(&path);
            let mut parts: Vec<String> = rel
                .parent()
                .into_iter()
                .flat_map(|p| p.iter())
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            let file = rel.file_name().unwrap_or_default().to_string_lossy();
            parts.push(file.split('.').next().unwrap_or_default().to_string());
            out.push(BuiltModule {
                name: parts.join("."),
                path,
                language: Language::C,
                runtimes: Vec::new(),
                coverage: None,
            });
        }
    }
    Ok(())
}

/// Sanitizer runtimes a shared library links, as resolved by `ldd`.
fn linked_runtimes(so: &Path) -> Vec<PathBuf> {
    let Ok(out) =
        crate::process::output_within(Command::new("ldd").arg(so), crate::process::TOOL_LIMIT)
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(" => ")?;
            let is_runtime = ["libasan", "libtsan", "libubsan", "liblsan", "libclang_rt."]
                .iter()
                .any(|p| name.starts_with(p));
            let path = rest.split(" (").next()?.trim();
            (is_runtime && path.starts_with('/')).then(|| PathBuf::from(path))
        })
        .collect()
}
