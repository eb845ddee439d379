//! The `pyz3` binary as a builder: `Pyz3::new(dir).args([...]).run()`, and assertions on what a
//! run printed.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// A `pyz3` command to run: in a directory, with the project virtualenv unless told otherwise.
pub struct Pyz3 {
    cmd: Command,
}

impl Pyz3 {
    /// `pyz3` run in `dir`, with the project virtualenv as `VIRTUAL_ENV` when none is active.
    pub fn new(dir: impl AsRef<Path>) -> Pyz3 {
        let mut p = Pyz3::bare();
        p.cmd.current_dir(dir);
        if std::env::var_os("VIRTUAL_ENV").is_none() {
            p.cmd.env("VIRTUAL_ENV", super::VENV);
        }
        p
    }

    /// `pyz3` in the test's own directory and environment, nothing added.
    pub fn bare() -> Pyz3 {
        Pyz3 {
            cmd: Command::new(env!("CARGO_BIN_EXE_pyz3")),
        }
    }

    /// The project virtualenv as `VIRTUAL_ENV`, even when another one is active.
    pub fn project_venv(self) -> Pyz3 {
        self.env("VIRTUAL_ENV", super::VENV)
    }

    /// No `VIRTUAL_ENV` at all: the interpreter comes from `--python` or the `PATH`.
    pub fn no_venv(mut self) -> Pyz3 {
        self.cmd.env_remove("VIRTUAL_ENV");
        self
    }

    /// `NO_COLOR=1`: plain text whatever the terminal.
    pub fn no_color(self) -> Pyz3 {
        self.env("NO_COLOR", "1")
    }

    /// `CARGO_TARGET_DIR` at `target/<name>` of this repository: example crates of one test
    /// module share their builds.
    pub fn target_dir(self, name: &str) -> Pyz3 {
        self.env(
            "CARGO_TARGET_DIR",
            super::repo_root().join("target").join(name),
        )
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Pyz3
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Pyz3 {
        self.cmd.env(key, value);
        self
    }

    /// Sets environment variables.
    pub fn envs(mut self, vars: &[(&str, &str)]) -> Pyz3 {
        self.cmd.envs(vars.iter().copied());
        self
    }

    /// The command, for tests that spawn it themselves (signals, time limits, pipes).
    pub fn command(self) -> Command {
        self.cmd
    }

    /// Runs it to its end and returns what it printed.
    pub fn run(mut self) -> Output {
        self.cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", self.cmd))
    }
}

/// Assertions on a finished run.
pub trait Assert {
    /// Fails the test, showing the exit status, stdout and stderr, unless the run exited with
    /// `code`.
    fn assert_exit(&self, code: i32) -> &Self;
    /// stdout as text.
    fn stdout_text(&self) -> String;
    /// stderr as text.
    fn stderr_text(&self) -> String;
    /// The exit status, stdout and stderr, for assertion messages.
    fn shown(&self) -> String;
}

impl Assert for Output {
    fn assert_exit(&self, code: i32) -> &Self {
        assert_eq!(
            self.status.code(),
            Some(code),
            "expected exit {code}\n{}",
            self.shown()
        );
        self
    }

    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    fn shown(&self) -> String {
        format!(
            "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status.code(),
            self.stdout_text(),
            self.stderr_text()
        )
    }
}
