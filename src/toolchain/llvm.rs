//! LLVM's tools (`llvm-profdata`, `llvm-cov`, `llvm-symbolizer`) of the LLVM major rustc uses.
//!
//! For coverage (merging and reading profiles), sanitizers (symbolizing reports) and
//! `pyz3 doctor`: [`find_tool`] is the one lookup, so the doctor approves the tool the commands
//! then run. A tool's version is read from its `--version` by [`parse_tool_version`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::path::{find_on_path, is_executable};
use crate::process::{output_within, TOOL_LIMIT};

/// The version an LLVM tool or clang reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolVersion {
    /// The major (`22`).
    pub major: u32,
    /// The whole version as printed (`22.1.2`).
    pub version: String,
}

/// The version in `--version` output of an LLVM tool (`Debian LLVM version 22.1.2`) or of clang
/// (`Ubuntu clang version 18.1.3 (1ubuntu1)`): the first `LLVM version X` or `clang version X`.
pub fn parse_tool_version(text: &str) -> Option<ToolVersion> {
    let at = ["LLVM version ", "clang version "]
        .iter()
        .filter_map(|m| text.find(m).map(|i| i + m.len()))
        .min()?;
    let version = text[at..].split_whitespace().next()?.to_string();
    let major = super::rust::version_numbers(&version).first().copied()?;
    Some(ToolVersion { major, version })
}

/// The version `program --version` reports (stdout, else stderr), when it runs and says.
pub fn tool_version(program: &Path) -> Option<ToolVersion> {
    let out = output_within(
        Command::new(program).arg("--version").stdin(Stdio::null()),
        TOOL_LIMIT,
    )
    .ok()?;
    parse_tool_version(&String::from_utf8_lossy(&out.stdout))
        .or_else(|| parse_tool_version(&String::from_utf8_lossy(&out.stderr)))
}

/// `/usr/lib/llvm-N/bin`, where Debian and Ubuntu install LLVM `N`.
pub fn llvm_bin(major: u32) -> PathBuf {
    PathBuf::from(format!("/usr/lib/llvm-{major}/bin"))
}

/// `<sysroot>/lib/rustlib/<host>/bin`, where rustup's `llvm-tools` component puts its tools.
pub fn rustlib_bin() -> Option<PathBuf> {
    let host = super::rust::version(super::Channel::Default).ok()?.host;
    let dir = super::rust::sysroot()?
        .join("lib/rustlib")
        .join(host)
        .join("bin");
    dir.is_dir().then_some(dir)
}

/// A tool found with a version, or why none was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The program.
    pub path: PathBuf,
    /// Its version.
    pub version: ToolVersion,
}

/// No tool of the wanted major: the first one of another version seen, if any
/// (`/usr/bin/llvm-cov is LLVM 14`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotFound {
    /// `PATH is LLVM M` (or `clang M`) for the first candidate of another major, else empty.
    pub mismatched: String,
}

/// The first of `candidates` (executables, in order) whose version has `major`.
pub fn first_of_major(
    candidates: impl IntoIterator<Item = PathBuf>,
    major: u32,
    what: &str,
) -> Result<Found, NotFound> {
    let mut mismatched = String::new();
    for path in candidates.into_iter().filter(|p| is_executable(p)) {
        match tool_version(&path) {
            Some(v) if v.major == major => return Ok(Found { path, version: v }),
            Some(v) if mismatched.is_empty() => {
                mismatched = format!("{} is {what} {}, not {major}", path.display(), v.major);
            }
            _ => {}
        }
    }
    Err(NotFound { mismatched })
}

/// LLVM tool `tool` of LLVM `major`: `TOOL-N` on PATH, `/usr/lib/llvm-N/bin/TOOL`, rustc's own
/// (`llvm-tools`), or `TOOL` on PATH, the first whose version matches.
pub fn find_tool(tool: &str, major: u32) -> Result<Found, NotFound> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    candidates.extend(find_on_path(&format!("{tool}-{major}")));
    candidates.push(llvm_bin(major).join(tool));
    if let Some(dir) = rustlib_bin() {
        candidates.push(dir.join(tool));
    }
    candidates.extend(find_on_path(tool));
    first_of_major(candidates, major, "LLVM")
}

/// `llvm-symbolizer` (it demangles Rust and prints file:line): the one of LLVM `major` when
/// there is one, else any on PATH (symbolizing works across versions).
pub fn symbolizer(major: Option<u32>) -> Option<PathBuf> {
    major
        .and_then(|m| find_tool("llvm-symbolizer", m).ok())
        .map(|f| f.path)
        .or_else(|| find_on_path("llvm-symbolizer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_versions_are_parsed() {
        let cov = "Debian LLVM version 22.1.2\n  Optimized build.\n";
        assert_eq!(
            parse_tool_version(cov),
            Some(ToolVersion {
                major: 22,
                version: "22.1.2".into()
            })
        );
        let plain = "LLVM (http://llvm.org/):\n  LLVM version 14.0.6\n  Optimized build.\n";
        assert_eq!(parse_tool_version(plain).unwrap().major, 14);
        let clang = "Ubuntu clang version 18.1.3 (1ubuntu1)\nTarget: x86_64-pc-linux-gnu\n\
            Thread model: posix\nInstalledDir: /usr/bin\n";
        let v = parse_tool_version(clang).unwrap();
        assert_eq!((v.major, v.version.as_str()), (18, "18.1.3"));
        // Apple's clang says "Apple clang version": its number is Apple's, but it is still the
        // clang line; the earliest marker wins over a later mention.
        let both = "clang version 22.0.0git\nLLVM version 99\n";
        assert_eq!(parse_tool_version(both).unwrap().major, 22);
        assert_eq!(parse_tool_version("gcc (Debian 12.2.0-14) 12.2.0"), None);
        assert_eq!(parse_tool_version("LLVM version "), None);
        assert_eq!(parse_tool_version("LLVM version x"), None);
    }

    #[test]
    fn candidates_of_another_major_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let tool = |name: &str, says: &str| {
            crate::toolchain::path::test_script(dir.path(), name, &format!("echo '{says}'"))
        };
        let old = tool("llvm-cov-old", "LLVM version 14.0.6");
        let new = tool("llvm-cov-new", "Debian LLVM version 22.1.2");
        let missing = dir.path().join("absent");
        let found = first_of_major([missing.clone(), old.clone(), new.clone()], 22, "LLVM");
        assert_eq!(found.unwrap().path, new);
        let none = first_of_major([missing, old.clone()], 22, "LLVM").unwrap_err();
        assert_eq!(
            none.mismatched,
            format!("{} is LLVM 14, not 22", old.display())
        );
    }
}
