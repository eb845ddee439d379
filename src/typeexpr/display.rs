//! Rendering of type expressions back into Python source text.
//!
//! For code that shows a [`TypeExpr`] or a [`Literal`] to people or feeds it back to Python:
//! the `Display` impls write the canonical form (`dict[str, int | None]`, `Literal['a', 1]`),
//! which [`parse`](super::parse()) reads back as the same tree.

use std::fmt;

use super::parse::{Literal, TypeExpr};

/// Round trip: for every `e` that [`parse`](super::parse()) returns,
/// `parse(&e.to_string()) == Ok(e)`.
///
/// Values built by hand render as well as they can: a union nested directly in a union is
/// parenthesised (and parses back flattened), `...` or a list at the top level or in a union
/// renders but does not parse, [`Literal::Bool`] and [`Literal::None`] render as `True`,
/// `False` and `None` (which parse back as names), and a NaN float renders as `nan`.
impl fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeExpr::Name(name) => f.write_str(name),
            TypeExpr::Subscript { base, args } => {
                f.write_str(base)?;
                if args.is_empty() {
                    f.write_str("[()]")
                } else {
                    f.write_str("[")?;
                    write_list(f, args)?;
                    f.write_str("]")
                }
            }
            TypeExpr::Union(members) => {
                for (i, member) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    if matches!(member, TypeExpr::Union(_)) {
                        write!(f, "({member})")?;
                    } else {
                        write!(f, "{member}")?;
                    }
                }
                Ok(())
            }
            TypeExpr::Ellipsis => f.write_str("..."),
            TypeExpr::List(elems) => {
                f.write_str("[")?;
                write_list(f, elems)?;
                f.write_str("]")
            }
            TypeExpr::Literal(lit) => write!(f, "{lit}"),
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[TypeExpr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// Python source syntax, as `repr` writes it: `1`, `-2`, `'a'`, `b'\x00'`, `True`, `None`,
/// `1.5`; infinities as `1e999` and `-1e999`, NaN as `nan`.
impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Str(s) => {
                let quote = pick_quote(s.contains('\''), s.contains('"'));
                write!(f, "{quote}")?;
                for c in s.chars() {
                    match c {
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c if c == quote => write!(f, "\\{c}")?,
                        c if c.is_control() => write!(f, "\\x{:02x}", u32::from(c))?,
                        c => write!(f, "{c}")?,
                    }
                }
                write!(f, "{quote}")
            }
            Literal::Bytes(b) => {
                let quote = pick_quote(b.contains(&b'\''), b.contains(&b'"'));
                write!(f, "b{quote}")?;
                for &byte in b {
                    match byte {
                        b'\\' => f.write_str("\\\\")?,
                        b'\n' => f.write_str("\\n")?,
                        b'\r' => f.write_str("\\r")?,
                        b'\t' => f.write_str("\\t")?,
                        _ if char::from(byte) == quote => write!(f, "\\{quote}")?,
                        0x20..=0x7e => write!(f, "{}", char::from(byte))?,
                        _ => write!(f, "\\x{byte:02x}")?,
                    }
                }
                write!(f, "{quote}")
            }
            Literal::Bool(true) => f.write_str("True"),
            Literal::Bool(false) => f.write_str("False"),
            Literal::None => f.write_str("None"),
            Literal::Float(v) => {
                if v.is_nan() {
                    f.write_str("nan")
                } else if v.is_infinite() {
                    f.write_str(if *v > 0.0 { "1e999" } else { "-1e999" })
                } else {
                    // Debug is the shortest text that reads back exactly, and always has a
                    // `.` or an exponent: `1.0`, `1e20`, `1.5e-7`.
                    write!(f, "{v:?}")
                }
            }
        }
    }
}

/// Python's choice of quote for `repr`: single unless the text has single quotes only.
fn pick_quote(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}
