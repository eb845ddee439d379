//! Building the generic fuzz target of `pyz3 fuzz MODULE:FUNC`.
//!
//! For the `pyz3 fuzz` command line (and anyone driving it from Rust). The target is a
//! cargo-fuzz crate generated under `.pyz3/fuzz/project`: one binary reading its
//! [`Target`](crate::target::Target) from the environment, linking the extension when it is a
//! Rust crate of the current cargo workspace. Only that crate and the crates it depends on keep
//! libFuzzer's coverage instrumentation ([`super::scope`]).

use crate::process::{Within, BUILD_LIMIT, TOOL_LIMIT};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use super::run::ToolFailed;
use super::{scope, SPEC_ENV};
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

/// Generates (or refreshes) the generic cargo-fuzz crate under `.pyz3/fuzz/project`.
fn generic_project(link: Option<&LinkedCrate>) -> anyhow::Result<PathBuf> {
    let source =
        PathBuf::from(option_env!("PYZ3_SOURCE_DIR").unwrap_or(env!("CARGO_MANIFEST_DIR")));
    if !source.join("Cargo.toml").exists() {
        bail!(
            "the pyz3 sources this binary was built from are gone ({}): reinstall pyz3 from its sources",
            source.display()
        );
    }
    let dir = std::env::current_dir()?.join(".pyz3/fuzz/project");
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
    Ok(dir)
}

fn target_dir() -> PathBuf {
    std::env::var_os("PYZ3_FUZZ_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".pyz3/fuzz/target"))
}

/// Builds the generic target and returns the binary. A failed build is a [`ToolFailed`]
/// holding the end of cargo's output.
pub fn build_generic(
    link: Option<&LinkedCrate>,
    sanitize: &str,
    python: Option<&Path>,
    progress: &mut dyn Progress,
) -> anyhow::Result<PathBuf> {
    check_toolchain()?;
    let project = generic_project(link)?;
    // With an extension linked in, only it and its dependencies are coverage-instrumented. The
    // crates are part of the target directory's name: cargo does not see what the wrapper
    // removes, so a build instrumented differently must not be reused.
    let scoped = match link {
        Some(l) => Some(scope::instrumented_crates(
            &project.join("Cargo.toml"),
            &l.package,
        )?),
        None => None,
    };
    let mut tdir = std::env::current_dir()?.join(target_dir()).join(sanitize);
    if let Some(crates) = &scoped {
        tdir.set_file_name(format!(
            "{sanitize}-{:016x}",
            fnv1a(crates.join(" ").as_bytes())
        ));
    }
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
        "building the fuzz target ({} sanitizer{}); the first build takes a few minutes",
        sanitize,
        link.map(|l| format!(", linking crate `{}`", l.package))
            .unwrap_or_default()
    ));
    let mut cmd = cargo(Channel::Nightly);
    cmd.args(["fuzz", "build", "-O", "--sanitizer", sanitize, "--fuzz-dir"])
        .arg(&project)
        .arg("--target-dir")
        .arg(&tdir)
        .arg(GENERIC);
    if let Some(crates) = &scoped {
        let wrapper = project.join("rustc-wrapper.sh");
        write_if_changed(&wrapper, scope::WRAPPER)?;
        std::fs::set_permissions(
            &wrapper,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .with_context(|| format!("cannot make {} executable", wrapper.display()))?;
        cmd.env("RUSTC_WRAPPER", &wrapper)
            .env(scope::CRATES_ENV, crates.join(" "));
    }
    if let Some(python) = python {
        // pyo3 configures itself (and the generated build script its rpath) from this.
        cmd.env("PYO3_PYTHON", python);
    }
    let rt = Path::new("/usr/lib/llvm-22/lib/clang/22/lib/linux/libclang_rt.fuzzer-x86_64.a");
    if rt.exists() && std::env::var_os("CUSTOM_LIBFUZZER_PATH").is_none() {
        // LLVM's prebuilt libFuzzer: optimized and not itself sanitized, so faster per input.
        cmd.env("CUSTOM_LIBFUZZER_PATH", rt);
    }
    let out = cmd
        .output_within(BUILD_LIMIT)
        .context("running cargo fuzz build")?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..]
            .iter()
            .map(|l| l.to_string())
            .collect();
        return Err(ToolFailed {
            message: "building the fuzz target failed (cargo fuzz build, output above)".into(),
            output: tail,
        }
        .into());
    }
    Ok(tdir.join(TRIPLE).join("release").join(GENERIC))
}

/// FNV-1a: a hash that stays the same across runs and Rust versions (for directory names).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}
