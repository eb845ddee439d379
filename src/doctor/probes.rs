//! How `pyz3 doctor` runs a program it probes: no stdin, a time limit, in a process group of its
//! own, and what it printed turned into text safe for a table row.

use std::ffi::OsStr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A probe that runs longer than this is treated as a tool that does not work.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a probe printed, and whether it exited 0.
pub(super) struct Ran {
    pub(super) success: bool,
    /// The exit status, when it exited.
    pub(super) code: Option<i32>,
    pub(super) stdout: String,
    pub(super) stderr: String,
}

impl Ran {
    /// The first non-empty line of stdout, else of stderr, as table text: control characters
    /// escaped, at most 200 characters.
    pub(super) fn first_line(&self) -> String {
        table_text(
            first_line(&self.stdout)
                .or_else(|| first_line(&self.stderr))
                .unwrap_or(""),
        )
    }
}

/// Text from a probed program as it may appear in a row: control characters escaped (`\xNN`),
/// cut at 200 characters.
pub(super) fn table_text(s: &str) -> String {
    let text = crate::report::printable(s);
    let mut cut: String = text.chars().take(200).collect();
    if cut.len() < text.len() {
        cut.push_str("...");
    }
    cut
}

fn first_line(s: &str) -> Option<&str> {
    s.lines().map(str::trim).find(|l| !l.is_empty())
}

/// Runs `program args` with no stdin and a time limit, in a process group of its own (killed
/// with whatever it started when the time is up); `None` when it cannot be started.
pub(super) fn run(program: impl AsRef<OsStr>, args: &[&str]) -> Option<Ran> {
    let mut cmd = Command::new(program);
    cmd.args(args).stdin(Stdio::null());
    let (status, stdout, stderr) =
        crate::process::output_or_partial(&mut cmd, PROBE_TIMEOUT).ok()?;
    let mut stderr = String::from_utf8_lossy(&stderr).into_owned();
    if status.is_none() {
        stderr = format!("timed out after {} s", PROBE_TIMEOUT.as_secs());
    }
    Some(Ran {
        success: status.is_some_and(|s| s.success()),
        code: status.and_then(|s| s.code()),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_text_is_escaped_and_cut() {
        assert_eq!(table_text("ok"), "ok");
        let long = "x".repeat(300);
        let cut = table_text(&long);
        assert_eq!(cut, format!("{}...", "x".repeat(200)));
        assert!(!table_text("a\x1b[31mb").contains('\x1b'));
        let ran = Ran {
            success: false,
            code: Some(1),
            stdout: "\n  \n".into(),
            stderr: "\n error: no\nmore\n".into(),
        };
        assert_eq!(ran.first_line(), "error: no");
    }
}
