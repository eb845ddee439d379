//! Building the generic fuzz target of `pyz3 fuzz MODULE:FUNC`.
//!
//! For the `pyz3 fuzz` command line (and anyone driving it from Rust). The target is a
//! cargo-fuzz crate: one binary reading its [`Target`](crate::target::Target) from the
//! environment. Linking no extension (a prebuilt module), it is the same for every module and
//! is built once into the user cache ([`super::cache`]), with libFuzzer's coverage
//! instrumentation kept for nothing of its own ([`GENERIC_INSTRUMENTED`]). When the extension is a Rust
//! crate of the current cargo workspace, it is linked in, the crate is generated under
//! `.pyz3/fuzz/project`, and only that crate and the crates it depends on keep the
//! instrumentation ([`super::scope`]).

use crate::process::{Within, BUILD_LIMIT, TOOL_LIMIT};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::run::ToolFailed;
use super::{cache, scope, SPEC_ENV};
use crate::report::Progress;
use crate::toolchain::rust::{cargo, Channel};

/// The target triple fuzz binaries are built for.
pub const TRIPLE: &str = "x86_64-unknown-linux-gnu";
/// The generic target's binary name.
pub const GENERIC: &str = "pyz3_generic";

/// The sanitizer named `name` on the command line, if the generic target can be built with it:
/// `address` or `none`.
pub fn sanitizer(name: &str) -> anyhow::Result<&'static str> {
    match name {
        "address" => Ok("address"),
        "none" => Ok("none"),
        other => bail!("--sanitize must be `address` or `none`, not `{other}`"),
    }
}

/// A cdylib+rlib crate of the current cargo workspace that builds the module.
pub struct LinkedCrate {
    /// The package name.
    pub package: String,
    /// Its library (the module) name.
    pub lib: String,
    /// The package directory.
    pub dir: PathBuf,
}

/// The PyO3 crate of the current cargo workspace whose library is `module`, when it can be
/// linked into a fuzz binary (`crate-type` has `rlib`). Says so to `progress` when it cannot.
pub fn workspace_crate(module: &str, progress: &mut dyn Progress) -> Option<LinkedCrate> {
    if !Path::new("Cargo.toml").exists() {
        return None;
    }
    let out = cargo(Channel::Default)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .stderr(Stdio::null())
        .output_within(TOOL_LIMIT)
        .ok()?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    for pkg in meta["packages"].as_array()? {
        let uses_pyo3 = pkg["dependencies"]
            .as_array()
            .is_some_and(|d| d.iter().any(|d| d["name"] == "pyo3"));
        for t in pkg["targets"].as_array()? {
            let kinds: Vec<&str> = t["crate_types"]
                .as_array()
                .map(|k| k.iter().filter_map(|x| x.as_str()).collect())
                .unwrap_or_default();
            if t["name"].as_str() != Some(module) || !kinds.contains(&"cdylib") || !uses_pyo3 {
                continue;
            }
            let manifest = PathBuf::from(pkg["manifest_path"].as_str()?);
            if kinds.contains(&"rlib") || kinds.contains(&"lib") {
                return Some(LinkedCrate {
                    package: pkg["name"].as_str()?.to_string(),
                    lib: module.to_string(),
                    dir: manifest.parent()?.to_path_buf(),
                });
            }
            progress.note(&format!(
                "note: crate `{}` builds `{module}` as a cdylib only; add \"rlib\" to its \
                 crate-type to have its code linked into the fuzzer and coverage-guided",
                pkg["name"].as_str().unwrap_or("?")
            ));
        }
    }
    None
}

/// Checks for cargo-fuzz and the nightly toolchain.
pub fn check_toolchain() -> anyhow::Result<()> {
    let ok = |cmd: &mut Command| {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status_within(TOOL_LIMIT)
            .is_ok_and(|s| s.success())
    };
    if !ok(cargo(Channel::Default).args(["fuzz", "--version"])) {
        bail!("cargo-fuzz is not installed: run `cargo install cargo-fuzz`");
    }
    if !ok(cargo(Channel::Nightly).arg("--version")) {
        bail!("the nightly Rust toolchain is needed for libFuzzer builds: run `rustup toolchain install nightly`");
    }
    Ok(())
}

/// Writes `text` to `path` unless it already holds exactly that (keeps cargo's caches warm).
fn write_if_changed(path: &Path, text: &str) -> anyhow::Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        crate::fs::create_dir_all(dir)?;
    }
    Ok(crate::fs::write_atomic(path, text.as_bytes())?)
}

fn toml_str(p: &Path) -> String {
    serde_json::to_string(&p.to_string_lossy()).unwrap_or_default()
}

/// The pyz3 sources the generic target is built from (those of this binary).
pub(crate) fn pyz3_source() -> PathBuf {
    PathBuf::from(option_env!("PYZ3_SOURCE_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR")))
}

/// Generates (or refreshes) the generic cargo-fuzz crate in `dir`.
fn generic_project(dir: &Path, link: Option<&LinkedCrate>) -> anyhow::Result<()> {
    let source = pyz3_source();
    if !source.join("Cargo.toml").exists() {
        bail!(
            "the pyz3 sources this binary was built from are gone ({}): reinstall pyz3 from its sources",
            source.display()
        );
    }
    let mut deps = format!(
        "libfuzzer-sys = \"0.4\"\npyz3 = {{ path = {}, features = [\"embed\"] }}\n",
        toml_str(&source)
    );
    let mut links = String::new();
    if let Some(l) = link {
        deps.push_str(&format!(
            "{} = {{ path = {}, default-features = false }}\n",
            l.package,
            toml_str(&l.dir)
        ));
        links = format!(", link: {:?} => {}", l.lib, l.lib);
    }
    write_if_changed(
        &dir.join("Cargo.toml"),
        &format!(
            "# Generated by `pyz3 fuzz`; rewritten on each run.\n[package]\nname = \"pyz3-generic-fuzz\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[package.metadata]\ncargo-fuzz = true\n\n[dependencies]\n{deps}\n[workspace]\nmembers = [\".\"]\n\n[profile.release]\ndebug = 1\n\n[[bin]]\nname = \"{GENERIC}\"\npath = \"fuzz_targets/{GENERIC}.rs\"\ntest = false\ndoc = false\nbench = false\n"
        ),
    )?;
    write_if_changed(
        &dir.join("build.rs"),
        "// Generated by `pyz3 fuzz`: an rpath to the interpreter's libpython, and exported symbols\n\
         // so a separately built extension finds the sanitizer and coverage runtime.\n\
         fn main() {\n\
         \x20   println!(\"cargo:rerun-if-env-changed=PYO3_PYTHON\");\n\
         \x20   let python = std::env::var(\"PYO3_PYTHON\").unwrap_or_else(|_| \"python3\".into());\n\
         \x20   if let Ok(out) = std::process::Command::new(python)\n\
         \x20       .args([\"-c\", \"import sysconfig; print(sysconfig.get_config_var('LIBDIR') or '')\"])\n\
         \x20       .output()\n\
         \x20   {\n\
         \x20       let libdir = String::from_utf8_lossy(&out.stdout).trim().to_string();\n\
         \x20       if !libdir.is_empty() {\n\
         \x20           println!(\"cargo:rustc-link-arg=-Wl,-rpath,{libdir}\");\n\
         \x20       }\n\
         \x20   }\n\
         \x20   println!(\"cargo:rustc-link-arg=-Wl,--export-dynamic\");\n\
         }\n",
    )?;
    write_if_changed(
        &dir.join(format!("fuzz_targets/{GENERIC}.rs")),
        &format!(
            "// Generated by `pyz3 fuzz`: the target is read from ${SPEC_ENV} at start-up.\n#![no_main]\npyz3::fuzz_target!(generic{links});\n"
        ),
    )?;
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("PYZ3_FUZZ_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".pyz3/fuzz/target"))
}

/// Builds the generic target and returns the binary. A failed build is a [`ToolFailed`]
/// holding the end of cargo's output.
///
/// Linking no workspace crate, the target is built once per (pyz3 version, interpreter,
/// sanitizer) into the user cache ([`cache`]) and reused from every directory; linking one, it
/// is built under `.pyz3/fuzz` of the current directory.
pub fn build_generic(
    link: Option<&LinkedCrate>,
    sanitize: &str,
    python: Option<&Path>,
    progress: &mut dyn Progress,
) -> anyhow::Result<PathBuf> {
    check_toolchain()?;
    let Some(link) = link else {
        return build_cached(sanitize, python, progress);
    };
    let project = std::env::current_dir()?.join(".pyz3/fuzz/project");
    generic_project(&project, Some(link))?;
    // With an extension linked in, only it and its dependencies are instrumented. The crates
    // and the wrapper are part of the target directory's name: cargo does not see what the
    // wrapper removes, so a build instrumented differently must not be reused.
    let crates = scope::instrumented_crates(&project.join("Cargo.toml"), &link.package)?;
    let mut tdir = std::env::current_dir()?.join(target_dir());
    tdir.push(format!(
        "{sanitize}-{:016x}",
        fnv1a(format!("{} {}", crates.join(" "), scope::WRAPPER).as_bytes())
    ));
    // A target embeds one interpreter: each has its own build.
    if let Some(python) = python {
        let name = tdir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        tdir.set_file_name(format!(
            "{name}-py{:08x}",
            fnv1a(python.as_os_str().as_encoded_bytes()) as u32
        ));
    }
    progress.note(&format!(
        "building the fuzz target ({}, linking crate `{}`); the first build takes a few minutes",
        sanitizer_words(sanitize),
        link.package
    ));
    let mut cmd = fuzz_build(&project, &tdir, sanitize, python);
    scope_instrumentation(&mut cmd, &project, &crates)?;
    run_build(cmd, None, progress)?;
    Ok(tdir.join(TRIPLE).join("release").join(GENERIC))
}

/// About how long a first build of the generic target takes, in CPU-seconds (measured: 124 s
/// without a sanitizer and 128 s with ASan on 2 idle cores, 98 crates); divided by the cores
/// to say how long it will take.
const COLD_BUILD_CPU_S: u64 = 250;

/// The generic target of the user cache: reused when its entry is trusted, else built (or
/// checked by cargo and installed again) under the entry's lock.
fn build_cached(
    sanitize: &str,
    python: Option<&Path>,
    progress: &mut dyn Progress,
) -> anyhow::Result<PathBuf> {
    let entry = cache::Entry::new(sanitize, python)?;
    let _lock = entry.lock(progress)?;
    let why = match entry.distrust() {
        None => {
            progress.note(&format!(
                "reusing the fuzz target built in {}",
                entry.dir.display()
            ));
            return Ok(entry.binary());
        }
        Some(why) => why,
    };
    // What is there is not trusted: cargo links the binary again whatever its fingerprints say.
    entry.discard();
    let project = entry.project();
    generic_project(&project, None)?;
    forget_other_wrapper(&entry.target_dir)?;
    let cold = !entry.target_dir.join(TRIPLE).join("release").is_dir();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    progress.note(&format!(
        "building the fuzz target ({}) into {} ({why}){}",
        sanitizer_words(sanitize),
        entry.dir.display(),
        if cold {
            format!(
                "; this first build takes about {} minutes, later runs from any directory reuse it",
                ((COLD_BUILD_CPU_S / cores + 30) / 60).max(1)
            )
        } else {
            String::new()
        }
    ));
    let mut cmd = fuzz_build(&project, &entry.target_dir, sanitize, python);
    scope_instrumentation(&mut cmd, &project, &GENERIC_INSTRUMENTED.map(String::from))?;
    let total = if cold { crate_count(&project) } else { None };
    run_build(cmd, total, progress)?;
    crate::fs::write_atomic(
        &entry.target_dir.join(WRAPPER_MARK),
        wrapper_mark().as_bytes(),
    )?;
    entry.install()
}

/// The file in a cached target directory naming the rustc wrapper its crates were built with.
const WRAPPER_MARK: &str = "pyz3-wrapper";

fn wrapper_mark() -> String {
    format!("{:016x}\n", fnv1a(scope::WRAPPER.as_bytes()))
}

/// Removes what cargo built into `tdir` with another rustc wrapper (or before the wrapper was
/// recorded): cargo does not see what the wrapper removes from each crate's flags, so it would
/// reuse crates instrumented the old way.
fn forget_other_wrapper(tdir: &Path) -> anyhow::Result<()> {
    let built = tdir.join(TRIPLE);
    if !built.exists()
        || std::fs::read_to_string(tdir.join(WRAPPER_MARK)).ok() == Some(wrapper_mark())
    {
        return Ok(());
    }
    std::fs::remove_dir_all(&built)
        .with_context(|| format!("cannot remove {} (built by another pyz3)", built.display()))
}

/// The crates of the cached generic target that keep libFuzzer's coverage instrumentation:
/// none. Its coverage comes from the code under test, a module compiled with
/// `-fsanitize=fuzzer-no-link` whose counters register when it is loaded; for a module without
/// them, the arguments' shapes stand in (libFuzzer extra counters set by the runtime). pyz3,
/// pyo3 and the rest run the same way for every input of every target: instrumented, they were
/// 72,441 counters (153,128 with pyo3 and the other dependencies) that libFuzzer scanned and
/// cleared after every input (docs/fuzzing.md).
pub const GENERIC_INSTRUMENTED: [&str; 0] = [];

fn sanitizer_words(sanitize: &str) -> String {
    match sanitize {
        "none" => "no sanitizer".into(),
        s => format!("{s} sanitizer"),
    }
}

/// Has `cmd` build through [`scope::WRAPPER`] (written into `project`), keeping the coverage
/// instrumentation of `crates` only.
fn scope_instrumentation(
    cmd: &mut Command,
    project: &Path,
    crates: &[String],
) -> anyhow::Result<()> {
    let wrapper = project.join("rustc-wrapper.sh");
    write_if_changed(&wrapper, scope::WRAPPER)?;
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .with_context(|| format!("cannot make {} executable", wrapper.display()))?;
    cmd.env("RUSTC_WRAPPER", &wrapper)
        .env(scope::CRATES_ENV, crates.join(" "));
    Ok(())
}

/// The number of crates a build of `project` compiles (`cargo tree`), if cargo can say.
fn crate_count(project: &Path) -> Option<u64> {
    let out = cargo(Channel::Nightly)
        .args([
            "tree",
            "--prefix",
            "none",
            "-e",
            "normal,build",
            "--target",
            TRIPLE,
        ])
        .arg("--manifest-path")
        .arg(project.join("Cargo.toml"))
        .stderr(Stdio::null())
        .output_within(TOOL_LIMIT)
        .ok()?;
    let mut names: Vec<&str> = std::str::from_utf8(&out.stdout)
        .ok()?
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some(w.next()?).zip(w.next()).map(|(n, _)| n)
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    (!names.is_empty()).then_some(names.len() as u64)
}

/// Environment variable telling the rustc wrapper which libFuzzer interceptors archive the fuzz
/// target's binary links in full (set only without a sanitizer).
const INTERCEPTORS_ENV: &str = "PYZ3_FUZZ_INTERCEPTORS";

/// `cargo fuzz build` of the generic target of `project` into `tdir`.
fn fuzz_build(project: &Path, tdir: &Path, sanitize: &str, python: Option<&Path>) -> Command {
    let mut cmd = cargo(Channel::Nightly);
    cmd.args(["fuzz", "build", "-O", "--sanitizer", sanitize, "--fuzz-dir"])
        .arg(project)
        .arg("--target-dir")
        .arg(tdir)
        .arg(GENERIC);
    if let Some(python) = python {
        // pyo3 configures itself (and the generated build script its rpath) from this.
        cmd.env("PYO3_PYTHON", python);
    }
    let rt = Path::new("/usr/lib/llvm-22/lib/clang/22/lib/linux/libclang_rt.fuzzer-x86_64.a");
    if rt.exists() && std::env::var_os("CUSTOM_LIBFUZZER_PATH").is_none() {
        // LLVM's prebuilt libFuzzer: optimized and not itself sanitized, so faster per input.
        cmd.env("CUSTOM_LIBFUZZER_PATH", rt);
        // It leaves out the interceptors of memcmp, strcmp and kin that report comparisons to
        // it (a sanitizer's runtime has its own): without a sanitizer the binary links them
        // (see the wrapper), as clang's -fsanitize=fuzzer does. An empty
        // PYZ3_FUZZ_INTERCEPTORS in the environment leaves them out.
        let interceptors = rt.with_file_name("libclang_rt.fuzzer_interceptors-x86_64.a");
        if sanitize == "none"
            && interceptors.exists()
            && std::env::var_os(INTERCEPTORS_ENV).is_none()
        {
            cmd.env(INTERCEPTORS_ENV, interceptors);
        }
    }
    cmd
}

/// Runs a build, telling `progress` which crate it compiles (of `total`, when known) and for
/// how long; a failure is a [`ToolFailed`] with the end of cargo's output.
fn run_build(
    mut cmd: Command,
    total: Option<u64>,
    progress: &mut dyn Progress,
) -> anyhow::Result<()> {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    // In a group of its own, killed with what it started when pyz3 is interrupted.
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .context("running cargo fuzz build")?;
    let _cleanup = crate::process::register_group(child.id());
    let stderr = child.stderr.take().context("cargo's stderr")?;
    let start = std::time::Instant::now();
    progress.start("building the fuzz target", total);
    let mut tail: std::collections::VecDeque<String> = Default::default();
    let mut done = 0u64;
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if let Some(what) = line.trim_start().strip_prefix("Compiling ") {
            done += 1;
            progress.advance(done);
            let name = what.split_whitespace().next().unwrap_or("");
            let of = total
                .map(|t| format!("/{}", t.max(done)))
                .unwrap_or_default();
            progress.note(&format!(
                "building the fuzz target: {done}{of} crates, {} s ({name})",
                start.elapsed().as_secs()
            ));
        }
        tail.push_back(line);
        if tail.len() > 40 {
            tail.pop_front();
        }
        if start.elapsed() > BUILD_LIMIT {
            // SAFETY: signalling the build's own process group.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        }
    }
    progress.finish();
    let status = child.wait().context("running cargo fuzz build")?;
    if !status.success() {
        return Err(ToolFailed {
            message: "building the fuzz target failed (cargo fuzz build, output above)".into(),
            output: tail.into(),
        }
        .into());
    }
    progress.note(&format!(
        "built the fuzz target in {} s",
        start.elapsed().as_secs()
    ));
    Ok(())
}

/// FNV-1a: a hash that stays the same across runs and Rust versions (for directory names).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
