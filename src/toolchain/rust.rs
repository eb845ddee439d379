//! Which `cargo` and `rustc` pyz3 runs, and what rustc says of itself.
//!
//! One environment rule for every build, probe and `cargo metadata` call: `$PYZ3_CARGO` and
//! `$PYZ3_RUSTC` name the programs when set and non-empty, else `cargo` and `rustc` on PATH. The
//! nightly toolchain is the same program with `+nightly` as its first argument (rustup's
//! proxies): sanitizer builds and libFuzzer builds use it, everything else the default toolchain
//! ([`Channel`]).
//!
//! rustc's `-vV` output is parsed in one place ([`RustcVersion::parse`]), and the LLVM major every
//! LLVM tool and runtime must match comes from [`llvm_major`], so `pyz3 doctor` approves the
//! LLVM that the builds use.

use std::ffi::OsString;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::process::{output_within, TOOL_LIMIT};

/// A Rust toolchain pyz3 runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The default toolchain (`cargo`, `rustc`).
    Default,
    /// The nightly toolchain (`cargo +nightly`, `rustc +nightly`), for `-Z` flags.
    Nightly,
}

impl Channel {
    /// The toolchain a build with `nightly` flags uses (see
    /// [`SanitizerSet::needs_nightly`](super::SanitizerSet::needs_nightly)).
    pub fn for_build(nightly: bool) -> Channel {
        if nightly {
            Channel::Nightly
        } else {
            Channel::Default
        }
    }

    /// The arguments that select this toolchain, put before any other.
    pub fn args(self) -> &'static [&'static str] {
        match self {
            Channel::Default => &[],
            Channel::Nightly => &["+nightly"],
        }
    }
}

/// `$NAME` when set and non-empty, else `default`.
fn program(var: &str, default: &str) -> OsString {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.into())
}

/// The cargo program: `$PYZ3_CARGO`, else `cargo` on PATH.
pub fn cargo_program() -> OsString {
    program("PYZ3_CARGO", "cargo")
}

/// The rustc program: `$PYZ3_RUSTC`, else `rustc` on PATH.
pub fn rustc_program() -> OsString {
    program("PYZ3_RUSTC", "rustc")
}

/// A command running cargo of `channel` (`cargo +nightly` for nightly).
pub fn cargo(channel: Channel) -> Command {
    let mut cmd = Command::new(cargo_program());
    cmd.args(channel.args());
    cmd
}

/// A command running rustc of `channel` (`rustc +nightly` for nightly).
pub fn rustc(channel: Channel) -> Command {
    let mut cmd = Command::new(rustc_program());
    cmd.args(channel.args());
    cmd
}

/// What `rustc -vV` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RustcVersion {
    /// `release:` (`1.95.0`, `1.97.0-nightly`), or empty.
    pub release: String,
    /// `host:`, the host target triple, or empty.
    pub host: String,
    /// `LLVM version:` (`22.1.2`), when rustc says.
    pub llvm_version: Option<String>,
}

impl RustcVersion {
    /// Parses `rustc -vV` output (`key: value` lines after a first line naming rustc).
    pub fn parse(text: &str) -> RustcVersion {
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        RustcVersion {
            release: field("release").unwrap_or_default(),
            host: field("host").unwrap_or_default(),
            llvm_version: field("LLVM version"),
        }
    }

    /// The major of rustc's LLVM (`22` for `22.1.2`).
    pub fn llvm_major(&self) -> Option<u32> {
        version_numbers(self.llvm_version.as_deref()?)
            .first()
            .copied()
    }
}

/// The numbers at the start of a version (`[1, 95, 0]` for `1.95.0-nightly`): they stop at the
/// first part that is not a number.
pub fn version_numbers(v: &str) -> Vec<u32> {
    v.split(|c: char| !c.is_ascii_digit())
        .take_while(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Why rustc (or cargo) gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeError {
    /// It could not be started (not installed).
    NotRun,
    /// It ran and failed, or did not finish in time: the first line it printed, or what
    /// happened.
    Failed(String),
}

/// Runs `cmd` with no stdin and the tool time limit; its stdout when it exited 0.
pub fn probe(cmd: &mut Command) -> Result<String, ProbeError> {
    cmd.stdin(Stdio::null());
    let out = match output_within(cmd, TOOL_LIMIT) {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            return Err(ProbeError::Failed(format!(
                "timed out after {}",
                crate::process::seconds(TOOL_LIMIT)
            )))
        }
        Err(_) => return Err(ProbeError::NotRun),
    };
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = |s: &str| {
        s.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
    };
    Err(ProbeError::Failed(
        first(&stdout)
            .or_else(|| first(&stderr))
            .unwrap_or_else(|| format!("it failed ({})", out.status)),
    ))
}

/// `rustc -vV` of `channel`, parsed.
pub fn version(channel: Channel) -> Result<RustcVersion, ProbeError> {
    probe(rustc(channel).arg("-vV")).map(|text| RustcVersion::parse(&text))
}

/// The LLVM major of `channel`'s rustc, when it runs and says. Every LLVM tool, clang and
/// runtime pyz3 pairs with a Rust build must have this major.
pub fn llvm_major(channel: Channel) -> Option<u32> {
    version(channel).ok()?.llvm_major()
}

/// The LLVM major sanitizer runtimes must match: nightly's (sanitizer builds of Rust use it),
/// else the default toolchain's (a C-only project on a machine without nightly).
pub fn sanitizer_llvm_major() -> Option<u32> {
    llvm_major(Channel::Nightly).or_else(|| llvm_major(Channel::Default))
}

/// The host target triple of `channel`'s rustc, or an error saying what to install.
pub fn host(channel: Channel) -> anyhow::Result<String> {
    let v = match (version(channel), channel) {
        (Ok(v), _) => v,
        (Err(_), Channel::Nightly) => bail!(
            "sanitizer builds of Rust crates need the nightly toolchain (-Zsanitizer): run \
             `rustup toolchain install nightly`"
        ),
        (Err(ProbeError::NotRun), Channel::Default) => {
            bail!("cannot run rustc: is Rust installed (https://rustup.rs)?")
        }
        (Err(ProbeError::Failed(why)), Channel::Default) => bail!("`rustc -vV` failed: {why}"),
    };
    Some(v.host).filter(|h| !h.is_empty()).with_context(|| {
        format!(
            "`rustc {}-vV` printed no host triple",
            channel
                .args()
                .iter()
                .map(|a| format!("{a} "))
                .collect::<String>()
        )
    })
}

/// rustc's sysroot (`rustc --print sysroot`) of the default toolchain.
pub fn sysroot() -> Option<std::path::PathBuf> {
    let out = probe(rustc(Channel::Default).args(["--print", "sysroot"])).ok()?;
    let dir = out.trim();
    (!dir.is_empty()).then(|| dir.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STABLE: &str = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\n\
        commit-hash: 59807616e1d7c1ca3e2bd6bbd93e5ce2bb4e6b1f\ncommit-date: 2026-04-14\n\
        host: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";

    #[test]
    fn rustc_vv_is_parsed() {
        let v = RustcVersion::parse(STABLE);
        assert_eq!(v.release, "1.95.0");
        assert_eq!(v.host, "x86_64-unknown-linux-gnu");
        assert_eq!(v.llvm_version.as_deref(), Some("22.1.2"));
        assert_eq!(v.llvm_major(), Some(22));
    }

    #[test]
    fn nightly_and_older_layouts() {
        let nightly = "rustc 1.97.0-nightly (3f1c2d0a5 2026-05-30)\nbinary: rustc\n\
            host: aarch64-unknown-linux-gnu\nrelease: 1.97.0-nightly\nLLVM version: 21.1\n";
        let v = RustcVersion::parse(nightly);
        assert_eq!(v.release, "1.97.0-nightly");
        assert_eq!(v.host, "aarch64-unknown-linux-gnu");
        assert_eq!(v.llvm_major(), Some(21));
        assert_eq!(version_numbers(&v.release), [1, 97, 0]);
        // A rustc built without LLVM (or one that leaves the line out) has no major.
        let bare = "rustc 1.80.0\nhost: x86_64-unknown-linux-gnu\nrelease: 1.80.0\n";
        assert_eq!(RustcVersion::parse(bare).llvm_major(), None);
        // Windows line endings and extra spaces.
        let crlf = "release:  1.95.0 \r\nLLVM version:   19.1.7\r\n";
        let v = RustcVersion::parse(crlf);
        assert_eq!((v.release.as_str(), v.llvm_major()), ("1.95.0", Some(19)));
        // Not rustc at all.
        assert_eq!(RustcVersion::parse("garbage\n"), RustcVersion::default());
        assert_eq!(RustcVersion::parse("LLVM version: x.1").llvm_major(), None);
    }

    #[test]
    fn version_numbers_stop_at_the_first_non_number() {
        assert_eq!(version_numbers("22.1.2"), [22, 1, 2]);
        assert_eq!(version_numbers("1.95.0-nightly"), [1, 95, 0]);
        assert_eq!(version_numbers("12"), [12]);
        assert!(version_numbers("").is_empty());
        assert!(version_numbers("v1").is_empty());
        assert!(version_numbers("1.95.0") < version_numbers("1.96"));
    }

    #[test]
    fn the_channel_selects_the_toolchain() {
        assert_eq!(Channel::for_build(true), Channel::Nightly);
        assert!(Channel::for_build(false).args().is_empty());
        let cmd = cargo(Channel::Nightly);
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["+nightly"]);
    }
}
