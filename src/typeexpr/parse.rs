//! The type-expression grammar: tokens, parser, tree and its rendering.
//!
//! For [`crate::typeexpr`] users who need the details of what is accepted. The grammar is the
//! subset of Python expressions that appears in annotations:
//!
//! ```text
//! type      := union
//! union     := primary ('|' primary)*
//! primary   := name ['[' arg (',' arg)* [','] ']']
//!            | ['-'] number | string+ | bytes+
//!            | '(' ')' | '(' arg ')' | '(' arg ',' [arg (',' arg)* [',']] ')'
//!            | '[' [arg (',' arg)* [',']] ']' | '...'
//! arg       := union
//! name      := identifier ('.' identifier)*
//! ```
//!
//! A context check then rejects the forms that are not types where they stand: `...`, a
//! bracketed list and a parenthesised tuple are not allowed at the top level nor as members of
//! a union of two or more members; a parenthesised tuple is allowed only as the whole of a
//! subscript (`dict[(str, int)]` is `dict[str, int]`, `tuple[()]` has no arguments), as in
//! Python. Nesting of brackets and parentheses is limited to 200 levels.

use std::fmt;

use num_bigint::BigInt;

/// Deepest allowed nesting of `[` and `(`.
const MAX_DEPTH: usize = 200;

/// Longest token text quoted verbatim in an error message.
const MAX_SNIPPET: usize = 40;

/// Python's hard keywords other than `None`, `True` and `False`, which cannot be names.
const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// A parsed Python type expression.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    /// A (possibly dotted) name: `int`, `collections.Counter`, `np.int64`, `typing.Any`, `None`.
    ///
    /// `None`, `True` and `False` are names too, wherever they appear (also inside
    /// `Literal[...]`); the consumer gives them their meaning.
    Name(String),
    /// A subscripted form: `list[int]`, `dict[str, int]`, `Optional[int]`,
    /// `NDArray[np.float64]`.
    Subscript {
        /// The dotted name being subscripted: `dict`, `typing.Optional`, `npt.NDArray`.
        base: String,
        /// The arguments in order; empty only for the empty-tuple form `tuple[()]`.
        args: Vec<TypeExpr>,
    },
    /// `X | Y | Z` (PEP 604), flattened (also through parentheses); at least two members.
    Union(Vec<TypeExpr>),
    /// `...` (as in `tuple[int, ...]`, `Callable[..., int]`); only ever a subscript argument
    /// or a list element.
    Ellipsis,
    /// A bracketed list of types: the first argument of `Callable[[int, str], bool]`; only ever
    /// a subscript argument or a list element.
    List(Vec<TypeExpr>),
    /// A literal value: a number, string or bytes anywhere, such as the arguments of
    /// `Literal['a', 1]` or a quoted forward reference `"Foo"` (a [`Literal::Str`]; the
    /// consumer decides which it is and re-parses forward references).
    Literal(Literal),
}

/// A literal value in a type expression.
///
/// [`parse`] produces only the `Int`, `Float`, `Str` and `Bytes` variants (`True`, `False` and
/// `None` parse as [`TypeExpr::Name`]); the others exist for consumers that resolve names.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// An integer, possibly negative: `1`, `-2`, `0xff`, `1_000`.
    Int(BigInt),
    /// A string (escapes resolved): `'a'`, `"b\n"`, `r'\d'`.
    Str(String),
    /// A bytes literal (escapes resolved): `b'x'`, `b'\x00'`.
    Bytes(Vec<u8>),
    /// `True` or `False`.
    Bool(bool),
    /// `None`.
    None,
    /// A float, possibly negative: `1.5`, `1e3`, `-.5`.
    Float(f64),
}

/// Why a type expression did not parse: a message naming the offending part and its position.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message} at column {column} in `{input}`")]
pub struct ParseError {
    /// What is wrong, quoting the offending token in backticks (or saying `end of input`).
    pub message: String,
    /// 1-based character (not byte) column of the offending token. When the input ends too
    /// early it is the column of the unclosed `[` or `(` (or of the opening quote of an
    /// unterminated string), else one past the last character.
    pub column: usize,
    /// The whole input that was being parsed.
    pub input: String,
}

/// Parses one type expression, such as the text of an annotation.
///
/// Whitespace (including newlines) is allowed between tokens. The whole input must be one
/// expression; a quoted forward reference (`"list[int]"`) comes back as a
/// [`Literal::Str`] holding the inner text, for the consumer to parse again.
///
/// # Errors
///
/// A [`ParseError`] for empty input, unbalanced brackets, trailing tokens, a missing argument
/// (`dict[,int]`, `list[]`), a bad character, a malformed literal, a misplaced `|`, `...`,
/// list or tuple, a keyword used as a name, or nesting deeper than 200 levels.
pub fn parse(input: &str) -> Result<TypeExpr, ParseError> {
    Parser::new(input).parse_top()
}

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
enum Kind {
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
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

/// The result of parsing an argument-level expression, before the context check.
#[derive(Debug)]
enum Parsed {
    /// Any expression, including `...` and a bracketed list.
    Expr(TypeExpr),
    /// A parenthesised tuple `(a, b)` or `()`.
    Tuple(Vec<TypeExpr>),
}

/// A parsed expression and its span, in character indices.
#[derive(Debug)]
struct Item {
    parsed: Parsed,
    start: usize,
    end: usize,
}

/// What an open bracket is.
#[derive(Debug)]
enum Open {
    /// Not a bracket: the whole input.
    Top,
    /// `name[`
    Subscript(String),
    /// `[` standing as an argument.
    List,
    /// `(`
    Paren,
}

/// An open bracket (or the top level) and what has been parsed inside it so far.
#[derive(Debug)]
struct Frame {
    open: Open,
    /// Where the item the bracket belongs to starts (the name, for a subscript).
    start: usize,
    /// Where the bracket itself is.
    open_at: usize,
    /// The complete comma-separated arguments.
    items: Vec<Item>,
    /// The members so far of the union being parsed as the next argument.
    members: Vec<Item>,
    /// Whether the arguments ended with a comma.
    trailing_comma: bool,
}

impl Frame {
    fn new(open: Open, start: usize, open_at: usize) -> Self {
        Frame {
            open,
            start,
            open_at,
            items: Vec::new(),
            members: Vec::new(),
            trailing_comma: false,
        }
    }
}

/// The string being built by a string or bytes literal.
enum StrBuf {
    Str(String),
    Bytes(Vec<u8>),
}

/// Lexer and parser in one, with one token of lookahead.
struct Parser<'a> {
    input: &'a str,
    chars: Vec<char>,
    pos: usize,
    peeked: Option<Token>,
    /// End of the last token handed out by `next`.
    last_end: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Parser {
            input,
            chars: input.chars().collect(),
            pos: 0,
            peeked: None,
            last_end: 0,
        }
    }

    fn error(&self, index: usize, message: String) -> ParseError {
        ParseError {
            message,
            column: index + 1,
            input: self.input.to_owned(),
        }
    }

    /// The source text of a span, shortened if long, in backticks.
    fn snippet(&self, start: usize, end: usize) -> String {
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
    fn describe(&self, tok: &Token) -> String {
        if tok.kind == Kind::End {
            "end of input".to_owned()
        } else {
            self.snippet(tok.start, tok.end)
        }
    }

    fn char_at(&self, index: usize) -> Option<char> {
        self.chars.get(index).copied()
    }

    // ----- tokens -----

    fn peek(&mut self) -> Result<&Token, ParseError> {
        if self.peeked.is_none() {
            let tok = self.lex()?;
            self.peeked = Some(tok);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        let tok = match self.peeked.take() {
            Some(tok) => tok,
            None => self.lex()?,
        };
        self.last_end = tok.end;
        Ok(tok)
    }

    fn peek_is(&mut self, kind: &Kind) -> Result<bool, ParseError> {
        Ok(&self.peek()?.kind == kind)
    }

    fn lex(&mut self) -> Result<Token, ParseError> {
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

    // ----- grammar -----
    //
    // The parser keeps its own stack of open brackets instead of recursing, so that its use
    // of the native stack does not grow with the nesting.

    /// Parses the whole input as one type.
    fn parse_top(&mut self) -> Result<TypeExpr, ParseError> {
        if self.peek()?.kind == Kind::End {
            return Err(self.error(0, "empty type expression".to_owned()));
        }
        let mut stack = vec![Frame::new(Open::Top, 0, 0)];
        let mut expected = "expected a type";
        'primary: loop {
            let tok = self.next()?;
            let mut start = tok.start;
            let mut item = match tok.kind {
                Kind::Ident(ref ident) => {
                    let name = self.parse_dotted(ident.clone(), &tok)?;
                    if self.peek_is(&Kind::LBracket)? {
                        let open = self.next()?.start;
                        self.check_depth(&stack, open)?;
                        if self.peek_is(&Kind::RBracket)? {
                            let close = self.peek()?.clone();
                            return Err(self.error(
                                close.start,
                                format!(
                                    "empty subscript `{name}[]`: expected a type, found {}",
                                    self.describe(&close)
                                ),
                            ));
                        }
                        stack.push(Frame::new(Open::Subscript(name), start, open));
                        expected = "expected a type";
                        continue 'primary;
                    }
                    Parsed::Expr(TypeExpr::Name(name))
                }
                Kind::LBracket | Kind::LParen => {
                    self.check_depth(&stack, start)?;
                    let (open, close) = if tok.kind == Kind::LBracket {
                        (Open::List, Kind::RBracket)
                    } else {
                        (Open::Paren, Kind::RParen)
                    };
                    let frame = Frame::new(open, start, start);
                    if self.peek_is(&close)? {
                        self.next()?;
                        self.close_frame(frame)?.parsed
                    } else {
                        stack.push(frame);
                        expected = "expected a type";
                        continue 'primary;
                    }
                }
                Kind::Ellipsis => Parsed::Expr(TypeExpr::Ellipsis),
                Kind::Int(v) => Parsed::Expr(TypeExpr::Literal(Literal::Int(v))),
                Kind::Float(v) => Parsed::Expr(TypeExpr::Literal(Literal::Float(v))),
                Kind::Minus => Parsed::Expr(TypeExpr::Literal(self.parse_negative()?)),
                Kind::Str(s) => Parsed::Expr(TypeExpr::Literal(self.concat(StrBuf::Str(s))?)),
                Kind::Bytes(b) => Parsed::Expr(TypeExpr::Literal(self.concat(StrBuf::Bytes(b))?)),
                _ => {
                    return Err(self.error(
                        tok.start,
                        format!("{expected}, found {}", self.describe(&tok)),
                    ));
                }
            };
            let mut end = self.last_end;
            // Reduce: the item completes a union member, maybe an argument, maybe brackets.
            loop {
                let frame = stack.last_mut().expect("the top frame is never popped");
                frame.members.push(Item {
                    parsed: item,
                    start,
                    end,
                });
                if self.peek_is(&Kind::Pipe)? {
                    self.next()?;
                    expected = "expected a type after `|`";
                    continue 'primary;
                }
                let arg = self.finish_union(std::mem::take(&mut frame.members))?;
                let close = match frame.open {
                    Open::Top => return self.finish_top(arg),
                    Open::Paren => Kind::RParen,
                    Open::Subscript(_) | Open::List => Kind::RBracket,
                };
                frame.items.push(arg);
                let tok = self.next()?;
                if tok.kind == Kind::Comma {
                    if !self.peek_is(&close)? {
                        expected = "expected a type";
                        continue 'primary;
                    }
                    self.next()?;
                    frame.trailing_comma = true;
                } else if tok.kind != close {
                    return Err(self.unclosed(frame.open_at, &tok, close));
                }
                let frame = stack.pop().expect("an open bracket");
                let closed = self.close_frame(frame)?;
                (item, start, end) = (closed.parsed, closed.start, closed.end);
            }
        }
    }

    /// Rejects opening one more bracket at `at` when `stack` is already as deep as allowed.
    fn check_depth(&self, stack: &[Frame], at: usize) -> Result<(), ParseError> {
        // The bottom frame is the top level, not a bracket.
        if stack.len() > MAX_DEPTH {
            let text = self.snippet(at, at + 1);
            return Err(self.error(at, format!("{text} nests deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// Checks that the input ends after the top-level type `item`.
    fn finish_top(&mut self, item: Item) -> Result<TypeExpr, ParseError> {
        let tok = self.next()?;
        match tok.kind {
            Kind::End => self.expect_type(item, "at the top level"),
            Kind::RBracket | Kind::RParen => {
                Err(self.error(tok.start, format!("unmatched {}", self.describe(&tok))))
            }
            _ => Err(self.error(
                tok.start,
                format!("unexpected {} after a complete type", self.describe(&tok)),
            )),
        }
    }

    /// Turns the members of `a | b | ...` into one item (the member itself if it is alone).
    fn finish_union(&self, mut members: Vec<Item>) -> Result<Item, ParseError> {
        if members.len() == 1 {
            return Ok(members.pop().expect("one member"));
        }
        let start = members[0].start;
        let end = members[members.len() - 1].end;
        let mut flat = Vec::with_capacity(members.len());
        for member in members {
            match self.expect_type(member, "in a union")? {
                TypeExpr::Union(inner) => flat.extend(inner),
                e => flat.push(e),
            }
        }
        Ok(Item {
            parsed: Parsed::Expr(TypeExpr::Union(flat)),
            start,
            end,
        })
    }

    /// Builds the item for a bracket pair whose closing token was just consumed.
    fn close_frame(&self, frame: Frame) -> Result<Item, ParseError> {
        let Frame {
            open,
            start,
            items,
            trailing_comma,
            ..
        } = frame;
        let parsed = match open {
            Open::Top => unreachable!("the top level is not a bracket"),
            Open::Subscript(base) => {
                let args = if items.len() == 1 && !trailing_comma {
                    match items.into_iter().next().expect("one item").parsed {
                        Parsed::Tuple(elems) => elems,
                        Parsed::Expr(e) => vec![e],
                    }
                } else {
                    self.expect_args(items, "among subscript arguments")?
                };
                Parsed::Expr(TypeExpr::Subscript { base, args })
            }
            Open::List => Parsed::Expr(TypeExpr::List(self.expect_args(items, "inside a list")?)),
            Open::Paren => {
                if items.len() == 1 && !trailing_comma {
                    items.into_iter().next().expect("one item").parsed
                } else {
                    Parsed::Tuple(self.expect_args(items, "inside a tuple")?)
                }
            }
        };
        Ok(Item {
            parsed,
            start,
            end: self.last_end,
        })
    }

    /// Checks that an item is a type proper: not `...`, a list or a tuple.
    fn expect_type(&self, item: Item, context: &str) -> Result<TypeExpr, ParseError> {
        match item.parsed {
            Parsed::Expr(TypeExpr::Ellipsis | TypeExpr::List(_)) | Parsed::Tuple(_) => {
                let what = if matches!(item.parsed, Parsed::Tuple(_)) {
                    "tuple "
                } else {
                    ""
                };
                let text = self.snippet(item.start, item.end);
                Err(self.error(item.start, format!("{what}{text} is not allowed {context}")))
            }
            Parsed::Expr(e) => Ok(e),
        }
    }

    /// Checks that items are arguments: anything but a tuple.
    fn expect_args(&self, items: Vec<Item>, context: &str) -> Result<Vec<TypeExpr>, ParseError> {
        items
            .into_iter()
            .map(|item| match item.parsed {
                Parsed::Tuple(_) => {
                    let text = self.snippet(item.start, item.end);
                    Err(self.error(item.start, format!("tuple {text} is not allowed {context}")))
                }
                Parsed::Expr(e) => Ok(e),
            })
            .collect()
    }

    /// The number after a `-` that was just consumed.
    fn parse_negative(&mut self) -> Result<Literal, ParseError> {
        let num = self.next()?;
        match num.kind {
            Kind::Int(v) => Ok(Literal::Int(-v)),
            Kind::Float(v) => Ok(Literal::Float(-v)),
            _ => Err(self.error(
                num.start,
                format!("expected a number after `-`, found {}", self.describe(&num)),
            )),
        }
    }

    /// Joins adjacent string (or bytes) literals, as Python does.
    fn concat(&mut self, mut buf: StrBuf) -> Result<Literal, ParseError> {
        loop {
            let tok = self.peek()?.clone();
            match (&mut buf, &tok.kind) {
                (StrBuf::Str(s), Kind::Str(more)) => s.push_str(more),
                (StrBuf::Bytes(b), Kind::Bytes(more)) => b.extend_from_slice(more),
                (_, Kind::Str(_) | Kind::Bytes(_)) => {
                    return Err(self.error(
                        tok.start,
                        format!(
                            "cannot join bytes and str literals at {}",
                            self.describe(&tok)
                        ),
                    ));
                }
                _ => break,
            }
            self.next()?;
        }
        Ok(match buf {
            StrBuf::Str(s) => Literal::Str(s),
            StrBuf::Bytes(b) => Literal::Bytes(b),
        })
    }

    fn check_name_part(&self, ident: &str, tok: &Token) -> Result<(), ParseError> {
        if KEYWORDS.contains(&ident) {
            return Err(self.error(
                tok.start,
                format!("keyword {} cannot be used as a name", self.describe(tok)),
            ));
        }
        Ok(())
    }

    /// The dotted name whose first part, `first`, was just consumed.
    fn parse_dotted(&mut self, first: String, first_tok: &Token) -> Result<String, ParseError> {
        self.check_name_part(&first, first_tok)?;
        let mut name = first;
        while self.peek_is(&Kind::Dot)? {
            self.next()?;
            let tok = self.next()?;
            let Kind::Ident(part) = &tok.kind else {
                return Err(self.error(
                    tok.start,
                    format!("expected a name after `.`, found {}", self.describe(&tok)),
                ));
            };
            self.check_name_part(part, &tok)?;
            name.push('.');
            name.push_str(part);
        }
        Ok(name)
    }

    /// The error for `tok` standing where `,` or `close` was expected.
    fn unclosed(&self, open: usize, tok: &Token, close: Kind) -> ParseError {
        let (open_text, close_text) = if close == Kind::RParen {
            ("(", ")")
        } else {
            ("[", "]")
        };
        if tok.kind == Kind::End {
            self.error(
                open,
                format!(
                    "unclosed `{open_text}`: expected `,` or `{close_text}` before end of input"
                ),
            )
        } else {
            self.error(
                tok.start,
                format!(
                    "expected `,` or `{close_text}` to close `{open_text}` at column {}, found {}",
                    open + 1,
                    self.describe(tok)
                ),
            )
        }
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

// ----- rendering -----

/// Round trip: for every `e` that [`parse`] returns, `parse(&e.to_string()) == Ok(e)`.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> TypeExpr {
        TypeExpr::Name(s.to_owned())
    }

    fn sub(base: &str, args: Vec<TypeExpr>) -> TypeExpr {
        TypeExpr::Subscript {
            base: base.to_owned(),
            args,
        }
    }

    fn int(v: i64) -> TypeExpr {
        TypeExpr::Literal(Literal::Int(BigInt::from(v)))
    }

    fn string(s: &str) -> TypeExpr {
        TypeExpr::Literal(Literal::Str(s.to_owned()))
    }

    fn bytes(b: &[u8]) -> TypeExpr {
        TypeExpr::Literal(Literal::Bytes(b.to_vec()))
    }

    fn float(v: f64) -> TypeExpr {
        TypeExpr::Literal(Literal::Float(v))
    }

    fn ok(input: &str) -> TypeExpr {
        match parse(input) {
            Ok(e) => e,
            Err(err) => panic!("{input:?} failed: {err}"),
        }
    }

    /// Parses, checks the message names `token` and the column is `column`.
    fn fails(input: &str, token: &str, column: usize) -> ParseError {
        let err = match parse(input) {
            Ok(e) => panic!("{input:?} parsed as {e:?}"),
            Err(err) => err,
        };
        assert!(
            err.message.contains(token),
            "{input:?}: message {:?} does not name {token:?}",
            err.message
        );
        assert_eq!(err.column, column, "{input:?}: {err}");
        assert_eq!(err.input, input);
        err
    }

    fn round_trip(input: &str) {
        let e = ok(input);
        let text = e.to_string();
        assert_eq!(parse(&text), Ok(e), "{input:?} rendered as {text:?}");
    }

    #[test]
    fn names() {
        assert_eq!(ok("int"), name("int"));
        assert_eq!(ok("None"), name("None"));
        assert_eq!(ok("fractions.Fraction"), name("fractions.Fraction"));
        assert_eq!(ok("decimal.Decimal"), name("decimal.Decimal"));
        assert_eq!(ok("datetime.datetime"), name("datetime.datetime"));
        assert_eq!(ok("np.ndarray"), name("np.ndarray"));
        assert_eq!(ok("typing.Any"), name("typing.Any"));
        assert_eq!(ok("  a . b .c  "), name("a.b.c"));
        assert_eq!(ok("_private"), name("_private"));
        assert_eq!(ok("Größe"), name("Größe"));
        assert_eq!(ok("模块.类型"), name("模块.类型"));
        // Soft keywords are ordinary names.
        assert_eq!(ok("type[int]"), sub("type", vec![name("int")]));
        assert_eq!(ok("match"), name("match"));
        // A name that merely starts like a string prefix.
        assert_eq!(ok("bytes"), name("bytes"));
        assert_eq!(ok("rb"), name("rb"));
    }

    #[test]
    fn subscripts() {
        assert_eq!(
            ok("list[dict[str, int]]"),
            sub("list", vec![sub("dict", vec![name("str"), name("int")])])
        );
        assert_eq!(ok("Optional[int]"), sub("Optional", vec![name("int")]));
        assert_eq!(
            ok("Union[int, str]"),
            sub("Union", vec![name("int"), name("str")])
        );
        assert_eq!(
            ok("typing.Sequence[int]"),
            sub("typing.Sequence", vec![name("int")])
        );
        assert_eq!(
            ok("Mapping[str, Any]"),
            sub("Mapping", vec![name("str"), name("Any")])
        );
        assert_eq!(
            ok("collections.Counter[str]"),
            sub("collections.Counter", vec![name("str")])
        );
        assert_eq!(
            ok("collections.deque[int]"),
            sub("collections.deque", vec![name("int")])
        );
        assert_eq!(
            ok("collections.defaultdict[str, list[int]]"),
            sub(
                "collections.defaultdict",
                vec![name("str"), sub("list", vec![name("int")])]
            )
        );
        assert_eq!(
            ok("numpy.typing.NDArray[np.int64]"),
            sub("numpy.typing.NDArray", vec![name("np.int64")])
        );
        assert_eq!(
            ok("npt.NDArray[numpy.float64]"),
            sub("npt.NDArray", vec![name("numpy.float64")])
        );
        assert_eq!(
            ok(" dict [ str ,\n\tint ] "),
            sub("dict", vec![name("str"), name("int")])
        );
        // One trailing comma is allowed, as in Python.
        assert_eq!(
            ok("dict[str, int,]"),
            sub("dict", vec![name("str"), name("int")])
        );
        assert_eq!(ok("list[int,]"), sub("list", vec![name("int")]));
    }

    #[test]
    fn unions() {
        assert_eq!(
            ok("int | None"),
            TypeExpr::Union(vec![name("int"), name("None")])
        );
        assert_eq!(
            ok("int|str|bytes"),
            TypeExpr::Union(vec![name("int"), name("str"), name("bytes")])
        );
        assert_eq!(
            ok("dict[str, int | None]"),
            sub(
                "dict",
                vec![
                    name("str"),
                    TypeExpr::Union(vec![name("int"), name("None")])
                ]
            )
        );
        assert_eq!(
            ok("list[int] | dict[str, int]"),
            TypeExpr::Union(vec![
                sub("list", vec![name("int")]),
                sub("dict", vec![name("str"), name("int")])
            ])
        );
        assert_eq!(
            ok("\"Foo\" | None"),
            TypeExpr::Union(vec![string("Foo"), name("None")])
        );
    }

    #[test]
    fn parentheses_group_and_flatten() {
        assert_eq!(ok("(int)"), name("int"));
        assert_eq!(ok("((int))"), name("int"));
        assert_eq!(
            ok("((int | str)) | None"),
            TypeExpr::Union(vec![name("int"), name("str"), name("None")])
        );
        assert_eq!(
            ok("int | (str | (bytes | None))"),
            TypeExpr::Union(vec![name("int"), name("str"), name("bytes"), name("None")])
        );
        assert_eq!(
            ok("list[(int | str)]"),
            sub(
                "list",
                vec![TypeExpr::Union(vec![name("int"), name("str")])]
            )
        );
        // A parenthesised tuple as the whole subscript is the argument list, as in Python.
        assert_eq!(
            ok("dict[(str, int)]"),
            sub("dict", vec![name("str"), name("int")])
        );
        assert_eq!(
            ok("dict[((str, int,))]"),
            sub("dict", vec![name("str"), name("int")])
        );
        assert_eq!(
            ok("tuple[(int, ...)]"),
            sub("tuple", vec![name("int"), TypeExpr::Ellipsis])
        );
    }

    #[test]
    fn tuples_and_ellipsis() {
        assert_eq!(
            ok("tuple[int, ...]"),
            sub("tuple", vec![name("int"), TypeExpr::Ellipsis])
        );
        assert_eq!(ok("tuple[()]"), sub("tuple", vec![]));
        assert_eq!(ok("tuple[ ( ) ]"), sub("tuple", vec![]));
        assert_eq!(ok("typing.Tuple[()]"), sub("typing.Tuple", vec![]));
    }

    #[test]
    fn callables() {
        assert_eq!(
            ok("Callable[[int, str], bool]"),
            sub(
                "Callable",
                vec![TypeExpr::List(vec![name("int"), name("str")]), name("bool")]
            )
        );
        assert_eq!(
            ok("Callable[[], None]"),
            sub("Callable", vec![TypeExpr::List(vec![]), name("None")])
        );
        assert_eq!(
            ok("Callable[..., int]"),
            sub("Callable", vec![TypeExpr::Ellipsis, name("int")])
        );
        assert_eq!(
            ok("Callable[[int,], list[int] | None]"),
            sub(
                "Callable",
                vec![
                    TypeExpr::List(vec![name("int")]),
                    TypeExpr::Union(vec![sub("list", vec![name("int")]), name("None")])
                ]
            )
        );
    }

    #[test]
    fn literals() {
        assert_eq!(
            ok("Literal['a', 1, -2, b'x', True, None]"),
            sub(
                "Literal",
                vec![
                    string("a"),
                    int(1),
                    int(-2),
                    bytes(b"x"),
                    name("True"),
                    name("None")
                ]
            )
        );
        assert_eq!(
            ok("typing.Literal[\"x\", False]"),
            sub("typing.Literal", vec![string("x"), name("False")])
        );
        assert_eq!(ok("\"Foo\""), string("Foo"));
        assert_eq!(ok("'list[int]'"), string("list[int]"));
        assert_eq!(ok("42"), int(42));
        assert_eq!(ok("- 7"), int(-7));
    }

    #[test]
    fn integers() {
        assert_eq!(ok("0"), int(0));
        assert_eq!(ok("000"), int(0));
        assert_eq!(ok("0_0"), int(0));
        assert_eq!(ok("1_000_000"), int(1_000_000));
        assert_eq!(ok("0xff"), int(255));
        assert_eq!(ok("0X_F_F"), int(255));
        assert_eq!(ok("0o17"), int(15));
        assert_eq!(ok("0b1010"), int(10));
        assert_eq!(ok("-0x10"), int(-16));
        let big = "123456789012345678901234567890";
        assert_eq!(
            ok(big),
            TypeExpr::Literal(Literal::Int(big.parse().unwrap()))
        );
        assert_eq!(
            ok("-0x1_0000_0000_0000_0000"),
            TypeExpr::Literal(Literal::Int(-(BigInt::from(1u8) << 64usize)))
        );
    }

    #[test]
    fn floats() {
        assert_eq!(ok("1.5"), float(1.5));
        assert_eq!(ok("1e3"), float(1000.0));
        assert_eq!(ok("1E+3"), float(1000.0));
        assert_eq!(ok("-2.5e-3"), float(-0.0025));
        assert_eq!(ok(".5"), float(0.5));
        assert_eq!(ok("1."), float(1.0));
        assert_eq!(ok("1.e2"), float(100.0));
        assert_eq!(ok("1_0.2_5"), float(10.25));
        assert_eq!(ok("1e999"), float(f64::INFINITY));
        assert_eq!(
            ok("Literal[0.1, -0.0]"),
            sub("Literal", vec![float(0.1), float(-0.0)])
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            ok(r#"'a\nb\t\\\'\"\x41\u00e9\U0001F600\0\101\a\b\f\v\r'"#),
            string("a\nb\t\\'\"A\u{e9}\u{1F600}\0A\x07\x08\x0c\x0b\r")
        );
        assert_eq!(ok(r#""it's""#), string("it's"));
        assert_eq!(ok(r"'\d'"), string("\\d"));
    }

    #[test]
    fn string_forms() {
        assert_eq!(ok(r"r'\n\''"), string("\\n\\'"));
        assert_eq!(ok(r"R'\d'"), string("\\d"));
        assert_eq!(ok("u'x'"), string("x"));
        assert_eq!(ok("'''a'b\"c\nd'''"), string("a'b\"c\nd"));
        assert_eq!(ok("\"\"\"x\"\"\""), string("x"));
        assert_eq!(ok("'a' \"b\"\n'c'"), string("abc"));
        assert_eq!(ok("'a\\\nb'"), string("ab"));
        assert_eq!(ok("''"), string(""));
        assert_eq!(ok(r"b'\x00\xff\n'"), bytes(b"\x00\xff\n"));
        assert_eq!(ok(r"B'\u0041'"), bytes(b"\\u0041"));
        assert_eq!(ok(r"rb'\x00'"), bytes(b"\\x00"));
        assert_eq!(ok(r"Br'\x00'"), bytes(b"\\x00"));
        assert_eq!(ok("b'a' b'b'"), bytes(b"ab"));
        assert_eq!(ok(r"b'\101'"), bytes(b"A"));
    }

    #[test]
    fn display_is_canonical() {
        let cases = [
            ("dict[str,list[int]]", "dict[str, list[int]]"),
            ("int|None", "int | None"),
            ("Literal[\"a\", 1]", "Literal['a', 1]"),
            ("tuple[int,...]", "tuple[int, ...]"),
            ("tuple[()]", "tuple[()]"),
            ("dict[(str, int)]", "dict[str, int]"),
            ("((int | str)) | None", "int | str | None"),
            ("Callable[[ ], int]", "Callable[[], int]"),
            ("Callable[[int,str],bool]", "Callable[[int, str], bool]"),
            (
                "Literal[-0x10, b\"\\x00'\", 'it\\'s', 1.0, 1e20]",
                "Literal[-16, b\"\\x00'\", \"it's\", 1.0, 1e20]",
            ),
            (
                "Literal['a\\x00\\x7f\\n\\\\']",
                "Literal['a\\x00\\x7f\\n\\\\']",
            ),
            ("Literal['\\'\"']", "Literal['\\'\"']"),
            ("a . b", "a.b"),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input).to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn display_of_built_values() {
        assert_eq!(TypeExpr::Literal(Literal::Bool(true)).to_string(), "True");
        assert_eq!(TypeExpr::Literal(Literal::Bool(false)).to_string(), "False");
        assert_eq!(TypeExpr::Literal(Literal::None).to_string(), "None");
        assert_eq!(float(f64::INFINITY).to_string(), "1e999");
        assert_eq!(float(f64::NEG_INFINITY).to_string(), "-1e999");
        assert_eq!(float(f64::NAN).to_string(), "nan");
        assert_eq!(float(-0.0).to_string(), "-0.0");
        assert_eq!(float(1.5e-7).to_string(), "1.5e-7");
        let nested = TypeExpr::Union(vec![TypeExpr::Union(vec![name("a"), name("b")]), name("c")]);
        assert_eq!(nested.to_string(), "(a | b) | c");
        assert_eq!(
            ok(&nested.to_string()),
            TypeExpr::Union(vec![name("a"), name("b"), name("c")])
        );
        assert_eq!(
            bytes(&[0, b'"', b'\\', 0x7f, 0x80]).to_string(),
            "b'\\x00\"\\\\\\x7f\\x80'"
        );
        assert_eq!(string("\u{1F600}é\u{85}").to_string(), "'\u{1F600}é\\x85'");
    }

    #[test]
    fn round_trips() {
        let inputs = [
            "int",
            "None",
            "list[dict[str, int]]",
            "Optional[int]",
            "Union[int, str]",
            "int | None",
            "Literal['a', 1, -2, b'x', True, None]",
            "tuple[int, ...]",
            "tuple[()]",
            "typing.Sequence[int]",
            "Mapping[str, Any]",
            "collections.Counter[str]",
            "collections.deque[int]",
            "collections.defaultdict[str, list[int]]",
            "fractions.Fraction",
            "decimal.Decimal",
            "datetime.datetime",
            "numpy.typing.NDArray[np.int64]",
            "npt.NDArray[numpy.float64]",
            "np.ndarray",
            "Callable[[int, str], bool]",
            "Callable[[], None]",
            "Callable[..., int]",
            "\"Foo\"",
            "'list[int]' | None",
            "((int | str)) | (bytes)",
            "dict[(str, int)]",
            "Literal[0.1, -0.0, 1e300, 5e-324, 1e999, -1e999, 12345678901234567890123]",
            "Literal['\\x00\\n\\t\\r\\\\\\'\"é😀\\u2028\\x85', b'\\x00\\xff\\'\"']",
            "Literal[\"'\"]",
            "Größe[模块.类型]",
        ];
        for input in inputs {
            round_trip(input);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let nested = |n: usize| format!("{}int{}", "list[".repeat(n), "]".repeat(n));
        round_trip(&nested(MAX_DEPTH));
        fails(&nested(MAX_DEPTH + 1), "levels", 5 * MAX_DEPTH + 5);
        let parens = format!("{}int{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(ok(&parens), name("int"));
        let parens = format!("{}int", "(".repeat(100_000));
        fails(&parens, "levels", MAX_DEPTH + 1);
        let lists = format!("Callable[{}", "[".repeat(100_000));
        fails(&lists, "levels", MAX_DEPTH + 9);
    }

    #[test]
    fn empty_input() {
        fails("", "empty type expression", 1);
        fails("   \n ", "empty type expression", 1);
    }

    #[test]
    fn unbalanced_brackets() {
        let err = fails("list[int", "unclosed `[`", 5);
        assert!(err.message.contains("end of input"));
        fails("dict[str, list[int]", "unclosed `[`", 5);
        fails("list[int]]", "unmatched `]`", 10);
        fails("int)", "unmatched `)`", 4);
        fails("(int", "unclosed `(`", 1);
        fails("(int, str", "unclosed `(`", 1);
        fails("list[int)", "found `)`", 9);
        fails("(int]", "found `]`", 5);
        fails("Callable[[int, str", "unclosed `[`", 10);
        fails("]", "expected a type, found `]`", 1);
    }

    #[test]
    fn trailing_garbage() {
        fails("int str", "unexpected `str`", 5);
        fails("list[int] x", "unexpected `x`", 11);
        fails("int.", "expected a name after `.`, found end of input", 5);
        fails("int.[str]", "found `[`", 5);
        fails("a..b", "found `.`", 3);
        fails("int ...", "unexpected `...`", 5);
        fails("dict[str, int][int]", "unexpected `[`", 15);
        fails("list[int str]", "found `str`", 10);
        fails("'a' int", "unexpected `int`", 5);
        fails("(int)[str]", "unexpected `[`", 6);
    }

    #[test]
    fn missing_arguments() {
        fails("dict[,int]", "expected a type, found `,`", 6);
        fails("list[]", "empty subscript `list[]`", 6);
        fails("dict[str,,]", "found `,`", 10);
        fails("dict[str,,int]", "found `,`", 10);
        fails("list[int,,]", "found `,`", 10);
        fails("Callable[[,], int]", "found `,`", 11);
        fails("(,)", "found `,`", 2);
        fails("list[-]", "expected a number after `-`, found `]`", 7);
        fails("Literal[-x]", "expected a number after `-`, found `x`", 10);
        fails("Literal[--1]", "found `-`", 10);
    }

    #[test]
    fn bad_characters() {
        fails("list[int$]", "unexpected character `$`", 9);
        fails("int # comment", "`#`", 5);
        fails("a\u{a0}b", "`\\u{a0}`", 2);
        fails("list[int]\\", "`\\\\`", 10);
        fails("dict[str, int] = 3", "`=`", 16);
        fails("Größe $", "`$`", 7);
    }

    #[test]
    fn bad_pipes() {
        fails("int || str", "expected a type after `|`, found `|`", 6);
        fails("| int", "expected a type, found `|`", 1);
        fails("int |", "expected a type after `|`, found end of input", 6);
        fails("list[| int]", "found `|`", 6);
        fails("list[int |]", "found `]`", 11);
    }

    #[test]
    fn misplaced_forms() {
        fails("()", "tuple `()` is not allowed at the top level", 1);
        fails("(int, str)", "tuple `(int, str)`", 1);
        fails("...", "`...` is not allowed at the top level", 1);
        fails("[int]", "`[int]` is not allowed at the top level", 1);
        fails("int | ...", "`...` is not allowed in a union", 7);
        fails("[int] | None", "`[int]` is not allowed in a union", 1);
        fails("int | ()", "tuple `()` is not allowed in a union", 7);
        fails("tuple[int, ()]", "tuple `()`", 12);
        fails("tuple[(),]", "tuple `()`", 7);
        fails("tuple[(int, (str, bytes))]", "tuple `(str, bytes)`", 13);
        fails("Callable[[(int, str)], int]", "tuple `(int, str)`", 11);
    }

    #[test]
    fn keywords_are_not_names() {
        fails("lambda", "keyword `lambda`", 1);
        fails("list[if]", "keyword `if`", 6);
        fails("typing.def", "keyword `def`", 8);
        fails("not int", "keyword `not`", 1);
    }

    #[test]
    fn bad_numbers() {
        fails("1abc", "invalid number literal `1abc`", 1);
        fails("Literal[1_]", "`1_`", 9);
        fails("1__0", "`1__0`", 1);
        fails("0x", "`0x`", 1);
        fails("0xg", "`0xg`", 1);
        fails("0b102", "`0b102`", 1);
        fails("0o8", "`0o8`", 1);
        fails("007", "leading zeros", 1);
        fails("Literal[1j]", "complex number literal `1j`", 9);
        fails("1e", "`1e`", 1);
        fails("1e+", "`1e`", 1);
    }

    #[test]
    fn bad_strings() {
        fails("'abc", "unterminated string literal `'abc`", 1);
        fails("Literal[\"abc]", "unterminated string literal `\"abc]`", 9);
        fails("'ab\ncd'", "unterminated string literal `'ab`", 1);
        fails("'''abc''", "unterminated string literal `'''abc''`", 1);
        fails("'abc\\", "unterminated", 1);
        fails("b'abc", "unterminated string literal `b'abc`", 1);
        fails("r'abc\\'", "unterminated", 1);
        fails(r"'\x4'", r"truncated escape `\x4`", 2);
        fails(r"'\u12'", r"`\u12`", 2);
        fails(r"'\U0011FFFF'", r"`\U0011FFFF`", 2);
        fails(r"'\uD800'", r"`\uD800` is not a Unicode scalar value", 2);
        fails(r"'\N{DASH}'", r"`\N{`", 2);
        fails(r"b'\777'", r"`\777`", 3);
        fails("b'é'", "`é`", 3);
        fails("f'x'", "formatted string literal starting `f'`", 1);
        fails("Rf'x'", "`Rf'`", 1);
        fails("'a' b'b'", "cannot join bytes and str", 5);
        fails("b'a' 'b'", "`'b'`", 6);
        fails("br'\\é'", "`é`", 5);
        fails("'ab\rcd'", "unterminated string literal `'ab`", 1);
    }

    #[test]
    fn error_display_is_one_line() {
        let err = parse("list[int$]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unexpected character `$` at column 9 in `list[int$]`"
        );
        let long = format!("Literal['{}", "x".repeat(100));
        let err = parse(&long).unwrap_err();
        assert!(err.message.len() < 100, "{}", err.message);
    }

    /// A small deterministic generator, so the tests need no extra crates.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    #[test]
    fn token_soup_never_panics_and_round_trips() {
        const PIECES: &[&str] = &[
            "int", "str", "None", "list", "dict", "a.b", "[", "]", "(", ")", ",", "|", "...", "-",
            "1", "0x1f", "1.5", "'s'", "b'x'", " ", "Literal", "\"q\\n\"", "1e999", "True",
            "Callable", "[]", "()", "$", "'", ".", "é", "\\", "0_", "r'\\'", "\n",
        ];
        let mut rng = Rng(7);
        let mut parsed = 0;
        for _ in 0..50_000 {
            let len = 1 + rng.below(12);
            let input: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
            match parse(&input) {
                Ok(e) => {
                    parsed += 1;
                    let text = e.to_string();
                    assert_eq!(parse(&text), Ok(e), "{input:?} rendered as {text:?}");
                }
                Err(err) => {
                    assert!(err.column >= 1, "{input:?}: {err}");
                    assert!(err.column <= input.chars().count() + 1, "{input:?}: {err}");
                    assert!(!err.to_string().contains('\n') || input.contains('\n'));
                }
            }
        }
        assert!(parsed > 100, "only {parsed} inputs parsed");
    }

    /// A random tree of the shape [`parse`] produces; `arg` allows `...` and lists.
    fn gen_expr(rng: &mut Rng, depth: usize, arg: bool) -> TypeExpr {
        const NAMES: &[&str] = &["int", "None", "typing.Any", "np.int64", "T", "Größe"];
        let leaf = depth == 0;
        match rng.below(if leaf { 4 } else { 8 }) {
            0 => name(NAMES[rng.below(NAMES.len())]),
            1 => match rng.below(5) {
                0 => int(rng.below(1000) as i64 - 500),
                1 => float((rng.below(2000) as f64 - 1000.0) / 7.0),
                2 => string(["", "a'b", "\"", "\\\n\t\0\u{7f}é😀"][rng.below(4)]),
                3 => bytes(&[0, b'\'', b'"', b'\\', 0x7f, 0xff][..rng.below(7)]),
                _ => TypeExpr::Literal(Literal::Int(BigInt::from(u64::MAX) * 3)),
            },
            2 if arg => TypeExpr::Ellipsis,
            3 if arg => {
                let n = rng.below(3);
                TypeExpr::List((0..n).map(|_| gen_expr(rng, depth / 2, true)).collect())
            }
            4 | 5 => {
                let n = rng.below(4);
                let args = (0..n).map(|_| gen_expr(rng, depth - 1, true)).collect();
                sub(["list", "dict", "collections.deque"][rng.below(3)], args)
            }
            6 | 7 => {
                let n = 2 + rng.below(3);
                let members = (0..n)
                    .map(|_| loop {
                        match gen_expr(rng, depth - 1, false) {
                            TypeExpr::Union(_) => continue,
                            e => break e,
                        }
                    })
                    .collect();
                TypeExpr::Union(members)
            }
            _ => name("object"),
        }
    }

    #[test]
    fn generated_trees_survive_display_and_parse() {
        let mut rng = Rng(11);
        for _ in 0..5_000 {
            let e = gen_expr(&mut rng, 4, false);
            let text = e.to_string();
            assert_eq!(parse(&text), Ok(e), "{text:?}");
        }
    }
}
