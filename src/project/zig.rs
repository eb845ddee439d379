//! Projects built with the pyZ3 framework (PyPI `pyz3`): Zig extension modules declared as
//! `[[tool.pyz3.ext_module]]` entries in pyproject.toml, built by `zig build` from a script the
//! framework generates.
//!
//! pyz3 asks the framework itself (run by the project's interpreter, `zig_build.py`) to generate
//! that script into `.pyz3/build/<label>/zig/`, with the sources' paths relative to it, and to
//! build there; the project gets neither the generated `build.zig` nor Zig's cache nor a module.
//! Zig ships no sanitizer runtimes for shared libraries: for Zig code the instrumentation is Zig's
//! own safety checks. The ordinary build is `ReleaseSafe` (the framework's own choice: bounds,
//! overflow and null checks on); `--sanitize address` and `undefined` build `Debug` (the same
//! checks, C sources under `-fsanitize-c`, and full debug information, so a safety panic names
//! the Zig line). Under `address` the modules' C sources (`c_sources`) are also compiled by Zig's
//! clang with `-fsanitize=address`; their runtime calls resolve at load time to clang's runtime,
//! which the test run preloads as for any other module. `--sanitize thread` also builds `Debug`,
//! with Zig's own `sanitize_thread` set on each module (the framework's build script has no option
//! for it: `zig_build.py` sets it in the script as the framework writes it) and the C sources
//! compiled with `-fsanitize=thread`. Zig links a ThreadSanitizer runtime into the module, but
//! the module reaches it through its dynamic symbols: the runtime the test run preloads (which
//! sees the interpreter's locks, the GIL among them) is the one that runs.
//! `--sanitize leak` is the `address` build: LeakSanitizer needs no instrumentation, only the
//! preloaded runtime's view of `malloc`, which Zig's `c_allocator` and the C sources call.
//! Coverage and `--fuzz` builds are refused with one line saying why.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

use super::build::{BuildOptions, BuiltModule, Language};
use super::discover::{ExtKind, ExtModule};
use super::python::Interpreter;
use crate::report::Progress;
use crate::toolchain::Sanitizer;

/// The build runner (`zig_build.py`).
const BUILD_PY: &str = include_str!("zig_build.py");

/// What to install into the project's environment for a pyZ3 build.
pub const INSTALL: &str = "pyz3 ziglang";

/// The Zig optimize mode of a build, or an error naming what Zig cannot do.
pub fn optimize_mode(opts: &BuildOptions) -> anyhow::Result<&'static str> {
    let sans = opts.sanitizers;
    if opts.coverage {
        bail!(
            "--coverage is not available for pyZ3 (Zig) projects: Zig has no coverage \
             instrumentation with counts (neither LLVM's source-based coverage nor gcov), and \
             the 8-bit counters of its fuzzing instrumentation wrap: code run 256 times would \
             be reported as never run"
        );
    }
    if opts.fuzz {
        bail!(
            "--fuzz builds of pyZ3 (Zig) projects are not supported: the pyZ3 framework's build \
             script has no option for Zig's fuzzing instrumentation"
        );
    }
    Ok(if !sans.is_empty() {
        "Debug"
    } else if opts.release {
        "ReleaseFast"
    } else {
        "ReleaseSafe"
    })
}

/// Extra flags for the modules' C sources: AddressSanitizer under `address`, ThreadSanitizer
/// under `thread` (Zig's clang compiles them; the runtime is preloaded when they run).
fn c_flags(opts: &BuildOptions) -> Vec<&'static str> {
    if opts.sanitizers.contains(Sanitizer::Address) {
        vec!["-fsanitize=address", "-fno-omit-frame-pointer", "-g"]
    } else if opts.sanitizers.contains(Sanitizer::Thread) {
        vec!["-fsanitize=thread", "-g"]
    } else {
        Vec::new()
    }
}

/// Builds the Zig modules of a pyZ3 project into `out` and copies them, with their packages'
/// Python files, into `lib_dir`.
pub fn build_zig(
    m: &ExtModule,
    python: &Interpreter,
    opts: &BuildOptions,
    out: &Path,
    lib_dir: &Path,
    progress: &mut dyn Progress,
) -> anyhow::Result<Vec<BuiltModule>> {
    let ExtKind::Zig { dir } = &m.kind else {
        unreachable!("build_zig is called for pyZ3 projects")
    };
    let optimize = optimize_mode(opts)?;
    progress.note(&format!(
        "building Zig modules with the pyZ3 framework ({}{optimize}, Zig's safety checks{})",
        if opts.sanitizers.is_empty() {
            String::new()
        } else {
            format!("{}: ", opts.sanitizers)
        },
        if opts.sanitizers.contains(Sanitizer::Address) {
            "; AddressSanitizer on the modules' C sources"
        } else {
            ""
        }
    ));
    let zig_dir = out.join("zig");
    crate::fs::create_dir_all(&zig_dir)?;
    let script = out.join("pyz3_zig_build.py");
    std::fs::write(&script, BUILD_PY)
        .with_context(|| format!("cannot write {}", script.display()))?;
    let result = out.join("zig.json");
    let _ = std::fs::remove_file(&result);
    let mut cmd = Command::new(&python.executable);
    cmd.arg(&script)
        .arg(dir)
        .arg(&zig_dir)
        .arg(lib_dir)
        .arg(optimize)
        .arg(&result)
        .arg(serde_json::json!(c_flags(opts)).to_string())
        .arg(if opts.sanitizers.contains(Sanitizer::Thread) {
            "thread"
        } else {
            "-"
        })
        .current_dir(dir)
        .stdin(std::process::Stdio::null());
    let output = crate::process::output_within(&mut cmd, crate::process::BUILD_LIMIT)
        .with_context(|| format!("cannot build with {}", python.executable.display()))?;
    let exe = python.executable.display();
    match output.status.code() {
        Some(0) => {}
        Some(3) => bail!(
            "the pyZ3 framework is not installed in {exe}: run `{exe} -m pip install {INSTALL}`"
        ),
        Some(4) => bail!("Zig is not installed in {exe}: run `{exe} -m pip install ziglang`"),
        Some(6) => bail!(
            "--sanitize thread: the build script of the pyZ3 framework in {exe} does not have the \
             shape pyz3 knows (`_ = pyz3.addPythonModule(.{{ ... }});`), so its modules cannot \
             be given Zig's sanitize_thread"
        ),
        Some(5) => bail!(
            "{}: self-managed pyZ3 builds (`[tool.pyz3] self_managed = true`) are not supported \
             yet; pyz3 builds `[[tool.pyz3.ext_module]]` entries",
            dir.display()
        ),
        _ => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            progress.warn(&format!("zig build output:\n{text}"));
            bail!(
                "the pyZ3 build of {} failed: {}",
                dir.display(),
                super::pep517::first_error(&text).unwrap_or_else(|| "see its output above".into())
            );
        }
    }
    let (_, modules) =
        super::build::listed_modules(&result, "the pyZ3 build", Language::Zig, None)?;
    if modules.is_empty() {
        bail!(
            "the pyZ3 project {} declares no `[[tool.pyz3.ext_module]]`",
            dir.display()
        );
    }
    Ok(modules)
}

/// Whether pyproject.toml declares pyZ3 modules (`[[tool.pyz3.ext_module]]`) or a self-managed
/// pyZ3 build. pyz3's own settings share the `[tool.pyz3]` table and are not these keys.
pub fn declares_zig_modules(pyproject: Option<&toml::Table>) -> bool {
    let Some(table) = pyproject
        .and_then(|t| t.get("tool")?.get("pyz3"))
        .and_then(|t| t.as_table())
    else {
        return false;
    };
    table
        .get("ext_module")
        .and_then(|e| e.as_array())
        .is_some_and(|a| !a.is_empty())
        || table.get("self_managed").and_then(|s| s.as_bool()) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::SanitizerSet;

    fn opts(sans: &str) -> BuildOptions {
        BuildOptions {
            sanitizers: if sans.is_empty() {
                SanitizerSet::NONE
            } else {
                SanitizerSet::parse(sans).unwrap()
            },
            release: false,
            coverage: false,
            fuzz: false,
        }
    }

    #[test]
    fn sanitizers_map_to_zig_modes_or_say_why_not() {
        assert_eq!(optimize_mode(&opts("")).unwrap(), "ReleaseSafe");
        assert_eq!(optimize_mode(&opts("address")).unwrap(), "Debug");
        assert_eq!(optimize_mode(&opts("undefined")).unwrap(), "Debug");
        assert_eq!(optimize_mode(&opts("thread")).unwrap(), "Debug");
        assert_eq!(optimize_mode(&opts("address,leak")).unwrap(), "Debug");
    }

    #[test]
    fn pyz3_settings_alone_are_not_a_zig_project() {
        let t: toml::Table = "[tool.pyz3]\ncases = 10\n".parse().unwrap();
        assert!(!declares_zig_modules(Some(&t)));
        let t: toml::Table =
            "[tool.pyz3]\ncases = 10\n[[tool.pyz3.ext_module]]\nname = \"p.m\"\nroot = \"m.zig\"\n"
                .parse()
                .unwrap();
        assert!(declares_zig_modules(Some(&t)));
    }
}
