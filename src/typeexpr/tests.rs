//! Unit tests for the type-expression parser and its rendering.
//!
//! For maintainers of [`crate::typeexpr`]: what [`parse`] accepts and rejects (with the
//! message and column of each error), how the tree renders, and that rendering and parsing
//! round-trip, over hand-written cases, random token soup and random trees.

use num_bigint::BigInt;

use super::parse::MAX_DEPTH;
use super::{parse, Literal, ParseError, TypeExpr};

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
        "int", "str", "None", "list", "dict", "a.b", "[", "]", "(", ")", ",", "|", "...", "-", "1",
        "0x1f", "1.5", "'s'", "b'x'", " ", "Literal", "\"q\\n\"", "1e999", "True", "Callable",
        "[]", "()", "$", "'", ".", "é", "\\", "0_", "r'\\'", "\n",
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
