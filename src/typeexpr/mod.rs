//! Python type expressions, as written in annotations and `.pyi` stubs.
//!
//! For the code that reads signatures and turns annotations into value strategies: [`parse()`]
//! turns the text of one annotation (`dict[str, list[int]]`, `int | None`,
//! `Callable[[int], str]`, `Literal['a', 1]`, ...) into a [`TypeExpr`] tree, and the tree's
//! `Display` renders it back in canonical Python syntax. The parser is purely syntactic: it
//! does not know what `Optional` or `Literal` mean, nor whether a name exists.

mod display;
mod lex;
mod parse;
#[cfg(test)]
mod tests;

pub use parse::{parse, Literal, ParseError, TypeExpr};
