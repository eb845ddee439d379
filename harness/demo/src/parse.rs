//! `parse_string`: a recursive-descent parser for a small JSON-like text format, with one deep
//! planted defect that random inputs almost never reach.
//!
//! Grammar (whitespace = space, tab, `\n`, `\r`, allowed between all tokens):
//!
//! ```text
//! value  = int | string | "true" | "false" | "null" | list | object
//! int    = ["+" | "-"] digit+                      (any size)
//! string = '"' (char | '\"' | '\\' | '\n')* '"'   (any other char, even NUL, stands for itself)
//! list   = "[" [value ("," value)*] "]"
//! object = "{" [string ":" value ("," string ":" value)*] "}"
//! ```
//!
//! Output: `int`, `str`, `True`/`False`/`None`, `list`, `dict` (a repeated key keeps its last
//! value). Malformed input, or containers nested more than [`MAX_DEPTH`] deep, raise
//! `ValueError("... at position N")`, N counting code points. The parser works on the code points
//! of the Python string, so lone surrogates are ordinary characters, and it never panics.

use num_bigint::BigInt;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyList, PyString};

use crate::defects::write_through_null;

/// Containers may nest this deep; one more is a `ValueError`.
pub const MAX_DEPTH: usize = 200;

/// The object key that triggers the planted defect: NUL followed by `pyz3`.
const TRIGGER_KEY: [u32; 5] = [0, b'p' as u32, b'y' as u32, b'z' as u32, b'3' as u32];

/// At least this many containers (the key's own object included) must enclose the trigger key.
const TRIGGER_DEPTH: usize = 3;

/// `parse_string(s: str) -> object`: parse `s` (see the module docs for the format).
///
/// Planted defect: **crash** (SIGSEGV, a null pointer write, not a Python exception) when an
/// object key equals `"\x00pyz3"` and that object is nested at least three containers deep,
/// itself included, e.g. `[[{"\x00pyz3": 1}]]` or `{"a": [{"b": {"\x00pyz3": 1}}]}`.
#[pyfunction]
pub fn parse_string<'py>(s: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
    let py = s.py();
    let text = code_points(s)?;
    let mut parser = Parser {
        py,
        text: &text,
        pos: 0,
    };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.pos < text.len() {
        return Err(parser.error("unexpected trailing characters"));
    }
    Ok(value)
}

/// The code points of `s`, lone surrogates included (via UTF-32 with `surrogatepass`).
fn code_points(s: &Bound<'_, PyString>) -> PyResult<Vec<u32>> {
    let py = s.py();
    // `str.encode(s, ...)` rather than `s.encode(...)`: a `str` subclass may override `encode`.
    let encoded = py
        .get_type::<PyString>()
        .call_method1("encode", (s, "utf-32-le", "surrogatepass"))?;
    let bytes = encoded.cast::<PyBytes>()?.as_bytes();
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// A Python `str` with exactly these code points.
fn make_str<'py>(py: Python<'py>, cps: &[u32]) -> PyResult<Bound<'py, PyAny>> {
    if let Some(s) = cps
        .iter()
        .map(|&c| char::from_u32(c))
        .collect::<Option<String>>()
    {
        return Ok(PyString::new(py, &s).into_any());
    }
    // Lone surrogates cannot be in a Rust `String`: let Python decode them.
    let bytes: Vec<u8> = cps.iter().flat_map(|c| c.to_le_bytes()).collect();
    PyBytes::new(py, &bytes).call_method1("decode", ("utf-32-le", "surrogatepass"))
}

struct Parser<'a, 'py> {
    py: Python<'py>,
    text: &'a [u32],
    pos: usize,
}

impl<'py> Parser<'_, 'py> {
    fn error(&self, what: &str) -> PyErr {
        PyValueError::new_err(format!("{what} at position {}", self.pos))
    }

    fn peek(&self) -> Option<u32> {
        self.text.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(char::from_u32(c), Some(' ' | '\t' | '\n' | '\r')) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    /// Consumes `c` (after whitespace) or fails with "expected `what`".
    fn expect(&mut self, c: char, what: &str) -> PyResult<()> {
        self.skip_whitespace();
        if self.peek() == Some(u32::from(c)) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    /// One value; `depth` is the number of containers around it.
    fn value(&mut self, depth: usize) -> PyResult<Bound<'py, PyAny>> {
        self.skip_whitespace();
        let Some(c) = self.peek() else {
            return Err(self.error("unexpected end of input, expected a value"));
        };
        match char::from_u32(c) {
            Some('[') => self.list(depth + 1),
            Some('{') => self.object(depth + 1),
            Some('"') => {
                let cps = self.string()?;
                make_str(self.py, &cps)
            }
            Some('+' | '-' | '0'..='9') => self.int(),
            Some('t') => self.keyword("true", PyBool::new(self.py, true).to_owned().into_any()),
            Some('f') => self.keyword("false", PyBool::new(self.py, false).to_owned().into_any()),
            Some('n') => self.keyword("null", self.py.None().into_bound(self.py)),
            _ => Err(self.error("expected a value")),
        }
    }

    fn keyword(&mut self, word: &str, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let end = self.pos + word.len();
        let matches = self
            .text
            .get(self.pos..end)
            .is_some_and(|found| found.iter().copied().eq(word.chars().map(u32::from)));
        if !matches {
            return Err(self.error(&format!("expected {word}")));
        }
        self.pos = end;
        Ok(value)
    }

    fn int(&mut self) -> PyResult<Bound<'py, PyAny>> {
        let start = self.pos;
        let negative = match self.peek().and_then(char::from_u32) {
            Some('-') => {
                self.pos += 1;
                true
            }
            Some('+') => {
                self.pos += 1;
                false
            }
            _ => false,
        };
        let mut digits = Vec::new();
        while let Some(d) = self
            .peek()
            .and_then(char::from_u32)
            .and_then(|c| c.to_digit(10))
        {
            // `to_digit(10)` accepts only ASCII `0`..=`9`, so `d < 10`.
            digits.push(d as u8);
            self.pos += 1;
        }
        if digits.is_empty() {
            return Err(self.error("expected a digit"));
        }
        let Some(magnitude) = BigInt::from_radix_be(num_bigint::Sign::Plus, &digits, 10) else {
            self.pos = start;
            return Err(self.error("invalid integer"));
        };
        let value = if negative { -magnitude } else { magnitude };
        Ok(value.into_pyobject(self.py)?.into_any())
    }

    /// A string literal (the current character is `"`), as code points.
    fn string(&mut self) -> PyResult<Vec<u32>> {
        self.expect('"', "'\"'")?;
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            match char::from_u32(c) {
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    let escaped = match self.peek().and_then(char::from_u32) {
                        Some('"') => '"',
                        Some('\\') => '\\',
                        Some('n') => '\n',
                        Some(_) => return Err(self.error("invalid escape")),
                        None => return Err(self.error("unterminated string")),
                    };
                    out.push(u32::from(escaped));
                    self.pos += 1;
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn check_depth(&self, depth: usize) -> PyResult<()> {
        if depth > MAX_DEPTH {
            Err(self.error(&format!("containers nested more than {MAX_DEPTH} deep")))
        } else {
            Ok(())
        }
    }

    /// A list (the current character is `[`); `depth` counts this list.
    fn list(&mut self, depth: usize) -> PyResult<Bound<'py, PyAny>> {
        self.check_depth(depth)?;
        self.expect('[', "'['")?;
        let list = PyList::empty(self.py);
        self.skip_whitespace();
        if self.peek() == Some(u32::from(']')) {
            self.pos += 1;
            return Ok(list.into_any());
        }
        loop {
            list.append(self.value(depth)?)?;
            self.skip_whitespace();
            match self.peek().and_then(char::from_u32) {
                Some(',') => self.pos += 1,
                Some(']') => {
                    self.pos += 1;
                    return Ok(list.into_any());
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    /// An object (the current character is `{`); `depth` counts this object.
    fn object(&mut self, depth: usize) -> PyResult<Bound<'py, PyAny>> {
        self.check_depth(depth)?;
        self.expect('{', "'{'")?;
        let dict = PyDict::new(self.py);
        self.skip_whitespace();
        if self.peek() == Some(u32::from('}')) {
            self.pos += 1;
            return Ok(dict.into_any());
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(u32::from('"')) {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            if depth >= TRIGGER_DEPTH && key == TRIGGER_KEY {
                // The planted defect: a wild write for one special, deeply nested key.
                write_through_null();
            }
            self.expect(':', "':'")?;
            let value = self.value(depth)?;
            dict.set_item(make_str(self.py, &key)?, value)?;
            self.skip_whitespace();
            match self.peek().and_then(char::from_u32) {
                Some(',') => self.pos += 1,
                Some('}') => {
                    self.pos += 1;
                    return Ok(dict.into_any());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
}
