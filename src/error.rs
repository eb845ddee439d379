//! The library's own errors (not findings): each names the input it is about.

/// A failure of pyz3 itself: bad input, a missing module, a Python error while converting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A type expression that does not parse.
    #[error("bad type expression: {0}")]
    TypeExpr(crate::typeexpr::ParseError),
    /// A Python exception raised while doing something pyz3 needed.
    #[error("{context}: {message}")]
    Python {
        /// What pyz3 was doing.
        context: String,
        /// The exception as `Type: message`.
        message: String,
    },
    /// An invalid option or argument.
    #[error("{0}")]
    Usage(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::typeexpr::ParseError> for Error {
    fn from(e: crate::typeexpr::ParseError) -> Self {
        Error::TypeExpr(e)
    }
}
