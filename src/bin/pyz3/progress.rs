//! How the subcommands show the library's progress: plain `pyz3: ` lines on stderr.

use pyz3::report::Progress;

/// A [`Progress`] writing notes and warnings to stderr, one line each.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stderr;

impl Progress for Stderr {
    fn note(&mut self, text: &str) {
        eprintln!("pyz3: {text}");
    }

    fn warn(&mut self, text: &str) {
        eprintln!("pyz3: warning: {text}");
    }
}
