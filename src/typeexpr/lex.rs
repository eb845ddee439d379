//! The tokenizer for type expressions: tokens, number and string literals, escapes.
//!
//! For the parser in [`parse`](mod@super::parse), which pulls tokens one at a time from a
//! [`Lexer`]. The lexer follows Python's rules for the literals it accepts: integers in any
//! base with `_` separators, floats, string and bytes literals with their prefixes (`r`, `b`,
//! `u`; formatted strings are rejected) and escapes resolved; whitespace, including newlines,
//! separates tokens. It also words the error messages, since it holds the source text.

use num_bigint::BigInt;

use super::parse::ParseError;

/// Longest token text quoted verbatim in an error message.
const MAX_SNIPPET: usize = 40;

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Kind {
    /// An identifier (not yet checked against the keywords).
    Ident(String),
    /// `.`
    Dot,
    /// `...`
    Ellipsis,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `|`
    Pipe,
    /// `-`
    Minus,
    /// An integer literal.
    Int(BigInt),
    /// A float literal.
    Float(f64),
    /// A string literal.
    Str(String),
    /// A bytes literal.
    Bytes(Vec<u8>),
    /// The end of the input.
    End,
}

/// A token and its span, in character indices.
#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) start: usize,
    pub(super) end: usize,
}

/// The string being built by a string or bytes literal.
pub(super) enum StrBuf {
    Str(String),
    Bytes(Vec<u8>),
}

/// Splits the input into tokens on demand, and words errors about spans of it.
pub(super) struct Lexer<'a> {
    input: &'a str,
    chars: Vec<char>,
    /// Where the next token starts (or the whitespace before it).
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(input: &'a str) -> Self {
        Lexer {
            input,
            chars: input.chars().collect(),
            pos: 0,
        }
    }

    /// An error at the 0-based character index `index` (reported as a 1-based column).
    pub(super) fn error(&self, index: usize, message: String) -> ParseError {
        ParseError {
            message,
            column: index + 1,
            input: self.input.to_owned(),
        }
    }

    /// The source text of a span, shortened if long, in backticks.
    pub(super) fn snippet(&self, start: usize, end: usize) -> String {
        let end = end.min(self.chars.len());
        let text: String = if end - start > MAX_SNIPPET {
            let mut s: String = self.chars[start..start + MAX_SNIPPET - 3].iter().collect();
            s.push_str("...");
            s
        } else {
            self.chars[start..end].iter().collect()
        };
        format!("`{text}`")
    }

    /// A token as named in error messages.
    pub(super) fn describe(&self, tok: &Token) -> String {
        if tok.kind == Kind::End {
            "end of input".to_owned()
        } else {
            self.snippet(tok.start, tok.end)
        }
    }

    fn char_at(&self, index: usize) -> Option<char> {
        self.chars.get(index).copied()
    }

    /// The next token, skipping whitespace before it.
    pub(super) fn lex(&mut self) -> Result<Token, ParseError> {
        while matches!(
            self.char_at(self.pos),
            Some(' ' | '\t' | '\n' | '\r' | '\x0c')
        ) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(c) = self.char_at(start) else {
            return Ok(Token {
                kind: Kind::End,
                start,
                end: start,
            });
        };
        let kind = match c {
            '[' | ']' | '(' | ')' | ',' | '|' | '-' => {
                self.pos += 1;
                match c {
                    '[' => Kind::LBracket,
                    ']' => Kind::RBracket,
                    '(' => Kind::LParen,
                    ')' => Kind::RParen,
                    ',' => Kind::Comma,
                    '|' => Kind::Pipe,
                    _ => Kind::Minus,
                }
            }
            '.' => {
                if self.char_at(start + 1) == Some('.') && self.char_at(start + 2) == Some('.') {
                    self.pos += 3;
                    Kind::Ellipsis
                } else if self.char_at(start + 1).is_some_and(|d| d.is_ascii_digit()) {
                    self.lex_number(start)?
                } else {
                    self.pos += 1;
                    Kind::Dot
                }
            }
            '0'..='9' => self.lex_number(start)?,
            '\'' | '"' => self.lex_string(start, "")?,
            c if is_ident_start(c) => {
                while self.char_at(self.pos).is_some_and(is_ident_continue) {
                    self.pos += 1;
                }
                let ident: String = self.chars[start..self.pos].iter().collect();
                if matches!(self.char_at(self.pos), Some('\'' | '"')) && is_string_prefix(&ident) {
                    self.lex_string(start, &ident.to_ascii_lowercase())?
                } else {
                    Kind::Ident(ident)
                }
            }
            _ => {
                return Err(self.error(
                    start,
                    format!("unexpected character `{}`", c.escape_debug()),
                ));
            }
        };
        Ok(Token {
            kind,
            start,
            end: self.pos,
        })
    }

    /// Digits of `radix` with single `_` separators between them (and, if `leading`, before
    /// the first one, as after `0x`).
    fn scan_digits(&mut self, radix: u32, leading: bool) -> String {
        let mut out = String::new();
        loop {
            match self.char_at(self.pos) {
                Some(c) if c.is_digit(radix) => {
                    out.push(c);
                    self.pos += 1;
                }
                Some('_')
                    if (leading || !out.is_empty())
                        && self
                            .char_at(self.pos + 1)
                            .is_some_and(|d| d.is_digit(radix)) =>
                {
                    self.pos += 1;
                }
                _ => return out,
            }
        }
    }

    /// Rejects a number immediately followed by identifier characters (`1abc`, `1_`, `1j`).
    fn reject_number_tail(&mut self, start: usize) -> Result<(), ParseError> {
        let tail_start = self.pos;
        if !self.char_at(self.pos).is_some_and(is_ident_continue) {
            return Ok(());
        }
        while self.char_at(self.pos).is_some_and(is_ident_continue) {
            self.pos += 1;
        }
        let text = self.snippet(start, self.pos);
        let complex = self.pos == tail_start + 1
            && matches!(self.char_at(tail_start), Some('j' | 'J'))
            && tail_start > start;
        Err(self.error(
            start,
            if complex {
                format!("complex number literal {text} is not supported")
            } else {
                format!("invalid number literal {text}")
            },
        ))
    }

    fn lex_number(&mut self, start: usize) -> Result<Kind, ParseError> {
        self.pos = start;
        let radix = match (self.char_at(start), self.char_at(start + 1)) {
            (Some('0'), Some('x' | 'X')) => 16,
            (Some('0'), Some('o' | 'O')) => 8,
            (Some('0'), Some('b' | 'B')) => 2,
            _ => 10,
        };
        if radix != 10 {
            self.pos = start + 2;
            let digits = self.scan_digits(radix, true);
            self.reject_number_tail(start)?;
            if digits.is_empty() {
                let text = self.snippet(start, self.pos);
                return Err(self.error(start, format!("invalid number literal {text}")));
            }
            let value = BigInt::parse_bytes(digits.as_bytes(), radix).expect("checked digits");
            return Ok(Kind::Int(value));
        }
        let mut text = self.scan_digits(10, false);
        let mut is_float = false;
        if self.char_at(self.pos) == Some('.') {
            self.pos += 1;
            text.push('.');
            text.push_str(&self.scan_digits(10, false));
            is_float = true;
        }
        if matches!(self.char_at(self.pos), Some('e' | 'E')) {
            let mut p = self.pos + 1;
            let sign = self.char_at(p).filter(|s| matches!(s, '+' | '-'));
            if sign.is_some() {
                p += 1;
            }
            if self.char_at(p).is_some_and(|d| d.is_ascii_digit()) {
                text.push('e');
                text.extend(sign);
                self.pos = p;
                text.push_str(&self.scan_digits(10, false));
                is_float = true;
            }
        }
        self.reject_number_tail(start)?;
        if is_float {
            let value: f64 = text.parse().expect("checked float syntax");
            return Ok(Kind::Float(value));
        }
        if text.len() > 1 && text.starts_with('0') && text.bytes().any(|b| b != b'0') {
            let shown = self.snippet(start, self.pos);
            return Err(self.error(
                start,
                format!("leading zeros are not permitted in decimal integer literal {shown}"),
            ));
        }
        let value = BigInt::parse_bytes(text.as_bytes(), 10).expect("checked digits");
        Ok(Kind::Int(value))
    }

    /// Lexes a string or bytes literal whose (lowercased) prefix starts at `start`.
    fn lex_string(&mut self, start: usize, prefix: &str) -> Result<Kind, ParseError> {
        if prefix.contains(['f', 't']) {
            let text = self.snippet(start, self.pos + 1);
            return Err(self.error(
                start,
                format!("formatted string literal starting {text} is not allowed in a type"),
            ));
        }
        let raw = prefix.contains('r');
        let mut buf = if prefix.contains('b') {
            StrBuf::Bytes(Vec::new())
        } else {
            StrBuf::Str(String::new())
        };
        let quote = self.chars[self.pos];
        let triple =
            self.char_at(self.pos + 1) == Some(quote) && self.char_at(self.pos + 2) == Some(quote);
        self.pos += if triple { 3 } else { 1 };
        let unterminated = |p: &Self| {
            let line_end = (start..p.chars.len())
                .find(|&i| matches!(p.chars[i], '\n' | '\r'))
                .unwrap_or(p.chars.len());
            let text = p.snippet(start, if triple { p.chars.len() } else { line_end });
            p.error(start, format!("unterminated string literal {text}"))
        };
        loop {
            let Some(c) = self.char_at(self.pos) else {
                return Err(unterminated(self));
            };
            if c == quote
                && (!triple
                    || (self.char_at(self.pos + 1) == Some(quote)
                        && self.char_at(self.pos + 2) == Some(quote)))
            {
                self.pos += if triple { 3 } else { 1 };
                break;
            }
            if !triple && matches!(c, '\n' | '\r') {
                return Err(unterminated(self));
            }
            if c != '\\' {
                self.push_source_char(&mut buf, c, self.pos)?;
                self.pos += 1;
                continue;
            }
            let Some(e) = self.char_at(self.pos + 1) else {
                return Err(unterminated(self));
            };
            if raw {
                // In a raw literal a backslash escapes nothing but still keeps the next
                // character (a quote or a newline) from ending the literal.
                self.push_source_char(&mut buf, '\\', self.pos)?;
                self.push_source_char(&mut buf, e, self.pos + 1)?;
                self.pos += 2;
                continue;
            }
            self.lex_escape(&mut buf)?;
        }
        Ok(match buf {
            StrBuf::Str(s) => Kind::Str(s),
            StrBuf::Bytes(b) => Kind::Bytes(b),
        })
    }

    /// Appends a character written literally in the source.
    fn push_source_char(&self, buf: &mut StrBuf, c: char, at: usize) -> Result<(), ParseError> {
        match buf {
            StrBuf::Str(s) => s.push(c),
            StrBuf::Bytes(b) => {
                if !c.is_ascii() {
                    return Err(self.error(
                        at,
                        format!(
                            "bytes can only contain ASCII literal characters, found `{}`",
                            c.escape_debug()
                        ),
                    ));
                }
                b.push(c as u8);
            }
        }
        Ok(())
    }

    /// Resolves the escape sequence whose backslash is at `self.pos`.
    fn lex_escape(&mut self, buf: &mut StrBuf) -> Result<(), ParseError> {
        let at = self.pos;
        let e = self.chars[at + 1];
        self.pos += 2;
        let simple = match e {
            '\n' => return Ok(()),
            '\r' => {
                if self.char_at(self.pos) == Some('\n') {
                    self.pos += 1;
                }
                return Ok(());
            }
            '\\' | '\'' | '"' => Some(e as u32),
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(10),
            'r' => Some(13),
            't' => Some(9),
            'v' => Some(11),
            _ => None,
        };
        let value = if let Some(v) = simple {
            v
        } else if e.is_digit(8) {
            let mut v = e.to_digit(8).expect("octal digit");
            for _ in 0..2 {
                match self.char_at(self.pos).and_then(|d| d.to_digit(8)) {
                    Some(d) => {
                        v = v * 8 + d;
                        self.pos += 1;
                    }
                    None => break,
                }
            }
            v
        } else {
            let width = match (e, &buf) {
                ('x', _) => 2,
                ('u', StrBuf::Str(_)) => 4,
                ('U', StrBuf::Str(_)) => 8,
                ('N', StrBuf::Str(_)) => {
                    let text = self.snippet(at, at + 3);
                    return Err(
                        self.error(at, format!("named escape starting {text} is not supported"))
                    );
                }
                _ => {
                    // Not an escape: Python keeps the backslash and the character.
                    self.push_source_char(buf, '\\', at)?;
                    self.pos -= 1;
                    return Ok(());
                }
            };
            let digits: Option<String> = (0..width)
                .map(|i| self.char_at(self.pos + i).filter(char::is_ascii_hexdigit))
                .collect();
            let Some(digits) = digits else {
                let end = (self.pos..self.pos + width)
                    .find(|&i| !self.char_at(i).is_some_and(|d| d.is_ascii_hexdigit()))
                    .unwrap_or(self.pos + width);
                let text = self.snippet(at, end);
                return Err(self.error(
                    at,
                    format!("truncated escape {text}: expected {width} hex digits"),
                ));
            };
            self.pos += width;
            u32::from_str_radix(&digits, 16).expect("hex digits")
        };
        match buf {
            StrBuf::Str(s) => match char::from_u32(value) {
                Some(c) => s.push(c),
                None => {
                    let text = self.snippet(at, self.pos);
                    return Err(
                        self.error(at, format!("escape {text} is not a Unicode scalar value"))
                    );
                }
            },
            StrBuf::Bytes(b) => match u8::try_from(value) {
                Ok(v) => b.push(v),
                Err(_) => {
                    let text = self.snippet(at, self.pos);
                    return Err(
                        self.error(at, format!("octal escape {text} is out of range for bytes"))
                    );
                }
            },
        }
        Ok(())
    }
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Whether `ident` directly before a quote makes a string prefix (`f` and `t` are accepted
/// here only to be rejected with a clear message).
fn is_string_prefix(ident: &str) -> bool {
    matches!(
        ident.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf" | "t" | "tr" | "rt"
    )
}
