//! Progress of long work, reported by the library and shown by the CLI.
//!
//! Library code never writes to the terminal: it takes a `&mut dyn Progress` and tells it what
//! it is doing. The CLI implements it (bars on a terminal, plain lines otherwise); [`Silent`]
//! drops everything, for callers that want none of it.

/// What long-running library work tells its caller. Every method has a no-op default.
pub trait Progress {
    /// A step begins: `what` in a few words, `total` units of work if known.
    fn start(&mut self, _what: &str, _total: Option<u64>) {}
    /// `done` units of the current step are finished (out of the `total` given to `start`).
    fn advance(&mut self, _done: u64) {}
    /// The current step ended.
    fn finish(&mut self) {}
    /// A line of information for the user (what is being built, where a file was written).
    fn note(&mut self, _text: &str) {}
    /// A warning: something the user should know, which does not stop the work.
    fn warn(&mut self, _text: &str) {}
    /// A part of the work failed (one function of several): the rest goes on, and the caller
    /// also gets the error as data.
    fn error(&mut self, _text: &str) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
