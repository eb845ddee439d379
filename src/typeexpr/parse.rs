//! The type-expression grammar: the tree, its errors and the parser.
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
//!
//! The tokens come from [`super::lex`]; the tree renders back as text in [`super::display`].

use num_bigint::BigInt;

use super::lex::{Kind, Lexer, StrBuf, Token};

/// Deepest allowed nesting of `[` and `(`.
pub(super) const MAX_DEPTH: usize = 200;

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

/// The parser, with one token of lookahead over a [`Lexer`].
struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token>,
    /// End of the last token handed out by `next`.
    last_end: usize,
}

impl<'a> Parser<'a> {
    fn new(input: &'a str) -> Self {
        Parser {
            lexer: Lexer::new(input),
            peeked: None,
            last_end: 0,
        }
    }

    fn error(&self, index: usize, message: String) -> ParseError {
        self.lexer.error(index, message)
    }

    /// The source text of a span, shortened if long, in backticks.
    fn snippet(&self, start: usize, end: usize) -> String {
        self.lexer.snippet(start, end)
    }

    /// A token as named in error messages.
    fn describe(&self, tok: &Token) -> String {
        self.lexer.describe(tok)
    }

    // ----- tokens -----

    fn peek(&mut self) -> Result<&Token, ParseError> {
        if self.peeked.is_none() {
            let tok = self.lexer.lex()?;
            self.peeked = Some(tok);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        let tok = match self.peeked.take() {
            Some(tok) => tok,
            None => self.lexer.lex()?,
        };
        self.last_end = tok.end;
        Ok(tok)
    }

    fn peek_is(&mut self, kind: &Kind) -> Result<bool, ParseError> {
        Ok(&self.peek()?.kind == kind)
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
