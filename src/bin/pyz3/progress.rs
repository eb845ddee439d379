//! How the subcommands show the library's progress: `pyz3: ` lines on stderr, and on a
//! terminal a status line that redraws itself (`pyz3 bench: process 3/20`).

use std::io::IsTerminal;

use pyz3::report::Progress;

/// A [`Progress`] writing to stderr: notes and warnings one line each after `prefix: `, steps
/// as a redrawn status line when stderr is a terminal (nothing otherwise).
#[derive(Debug)]
pub struct Stderr {
    prefix: &'static str,
    tty: bool,
    step: Option<(String, Option<u64>)>,
}

impl Stderr {
    /// Lines start with `prefix` (`pyz3`, `pyz3 bench`).
    pub fn new(prefix: &'static str) -> Stderr {
        Stderr {
            prefix,
            tty: std::io::stderr().is_terminal(),
            step: None,
        }
    }

    fn status(&self, text: &str) {
        if self.tty {
            eprint!("\r\x1b[2K{}: {text}", self.prefix);
        }
    }

    /// Clears a status line before a line of its own.
    fn clear(&self) {
        if self.tty && self.step.is_some() {
            eprint!("\r\x1b[2K");
        }
    }
}

impl Progress for Stderr {
    fn start(&mut self, what: &str, total: Option<u64>) {
        self.step = Some((what.to_string(), total));
        self.status(what);
    }

    fn advance(&mut self, done: u64) {
        if let Some((what, total)) = &self.step {
            match total {
                Some(total) => self.status(&format!("{what} {done}/{total}")),
                None => self.status(&format!("{what} {done}")),
            }
        }
    }

    fn finish(&mut self) {
        self.clear();
        self.step = None;
    }

    fn note(&mut self, text: &str) {
        self.clear();
        eprintln!("{}: {text}", self.prefix);
    }

    fn warn(&mut self, text: &str) {
        self.clear();
        eprintln!("{}: warning: {text}", self.prefix);
    }

    fn error(&mut self, text: &str) {
        self.clear();
        eprintln!("{}: error: {text}", self.prefix);
    }
}
