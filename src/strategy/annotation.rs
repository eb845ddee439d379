//! Strategies from Python type expressions: `"list[dict[str, int]]"`, `int | None`, `NDArray[np.int64]`.
//!
//! For `pyz3 check` (reading `.pyi` stubs and annotations), `pyz3 sample`, and users who would
//! rather write the Python type than compose strategies. Understands builtins, `typing` forms
//! (Optional, Union, `X | Y`, Literal, `tuple[int, ...]`, Sequence, Mapping, Any, ...),
//! `collections`, `fractions`, `decimal`, `datetime` and NumPy types, buffer types
//! (`collections.abc.Buffer`, `_typeshed.ReadableBuffer`, `memoryview`, ...) and `AnyStr`; a
//! [`Registry`] adds user classes. An unknown name becomes the any-value strategy plus a warning, never an error; only
//! text that does not parse is an error.

use std::collections::HashMap;

use num_bigint::BigInt;

use super::shape::{ArrayKind, Shape};
use super::{Size, ValueStrategy};
use crate::typeexpr::{parse, Literal, TypeExpr};
use crate::value::{DKind, EnumKind, PyStr, TimeUnit, Value};

/// A strategy built from a type expression, with the warnings met on the way.
pub struct TypeStrategy {
    /// The strategy.
    pub strategy: ValueStrategy,
    /// One line per part of the expression that fell back to the any-value strategy.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for TypeStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeStrategy")
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

/// Maps type names to strategies: the built-in ones plus user classes.
#[derive(Clone, Default)]
pub struct Registry {
    entries: HashMap<String, ValueStrategy>,
    size: Size,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<_> = self.entries.keys().collect();
        names.sort();
        f.debug_struct("Registry")
            .field("names", &names)
            .field("size", &self.size)
            .finish()
    }
}

/// Module prefixes that add nothing to a name's meaning.
const TRANSPARENT: &[&str] = &[
    "typing.",
    "typing_extensions.",
    "collections.abc.",
    "builtins.",
    "t.",
    "numpy.typing.",
    "npt.",
    "numpy.",
    "np.",
    "collections.",
    "fractions.",
    "decimal.",
    "datetime.",
    "enum.",
    "_typeshed.",
];

fn short(name: &str) -> &str {
    let mut n = name;
    loop {
        match TRANSPARENT.iter().find_map(|p| n.strip_prefix(p)) {
            Some(rest) if !rest.is_empty() => n = rest,
            _ => return n,
        }
    }
}

/// A NumPy dtype named by a scalar type (`np.int64`, `numpy.float32`, `np.bool_`, ...).
pub fn dtype_kind(name: &str) -> Option<DKind> {
    Some(match short(name) {
        "bool_" | "bool" => DKind::Bool,
        // Builtin scalar types as dtypes (`NDArray[float]`): NumPy's defaults for them.
        "int" => DKind::Int(8),
        "float" => DKind::Float(8),
        "complex" => DKind::Complex(16),
        "str" => DKind::Unicode(8),
        "bytes" => DKind::Bytes(8),
        "int8" | "byte" => DKind::Int(1),
        "int16" | "short" => DKind::Int(2),
        "int32" | "intc" => DKind::Int(4),
        "int64" | "intp" | "int_" | "longlong" | "long" => DKind::Int(8),
        "uint8" | "ubyte" => DKind::UInt(1),
        "uint16" | "ushort" => DKind::UInt(2),
        "uint32" | "uintc" => DKind::UInt(4),
        "uint64" | "uintp" | "uint" | "ulonglong" => DKind::UInt(8),
        "float16" | "half" => DKind::Float(2),
        "float32" | "single" => DKind::Float(4),
        "float64" | "double" | "float_" => DKind::Float(8),
        "complex64" | "csingle" => DKind::Complex(8),
        "complex128" | "cdouble" | "complex_" => DKind::Complex(16),
        "str_" | "unicode_" => DKind::Unicode(8),
        "bytes_" | "string_" => DKind::Bytes(8),
        "datetime64" => DKind::DateTime64(TimeUnit::S),
        _ => return None,
    })
}

impl Registry {
    /// A registry with only the built-in types, generating at `size`.
    pub fn new(size: Size) -> Self {
        Registry {
            entries: HashMap::new(),
            size,
        }
    }

    /// The size strategies are built at.
    pub fn size(&self) -> Size {
        self.size
    }

    /// Adds (or replaces) a strategy for a type name, e.g. `"mymod.Point"`; it is also found by its
    /// last component (`"Point"`).
    pub fn register(&mut self, name: &str, strategy: ValueStrategy) -> &mut Self {
        self.entries.insert(name.to_string(), strategy);
        self
    }

    /// Parses and resolves `expr`.
    pub fn resolve(&self, expr: &str) -> crate::Result<TypeStrategy> {
        let parsed = parse(expr)?;
        Ok(self.resolve_expr(&parsed))
    }

    /// Resolves an already parsed expression.
    pub fn resolve_expr(&self, expr: &TypeExpr) -> TypeStrategy {
        let (shape, warnings) = self.shape_expr(expr);
        TypeStrategy {
            strategy: shape.strategy(self.size),
            warnings,
        }
    }

    /// The [`Shape`] of an already parsed expression, with the warnings met on the way (the
    /// parts that fell back to any value).
    pub fn shape_expr(&self, expr: &TypeExpr) -> (Shape, Vec<String>) {
        let mut warnings = Vec::new();
        let shape = self.build(expr, &mut warnings, 0);
        (shape, warnings)
    }

    /// Parses `expr` and returns its [`Shape`] and warnings.
    pub fn shape(&self, expr: &str) -> crate::Result<(Shape, Vec<String>)> {
        Ok(self.shape_expr(&parse(expr)?))
    }

    /// Exact name first; a bare name (`Point`) also finds `mymod.Point`, and a dotted name finds a
    /// class registered bare. A dotted name never matches another module's class of the same
    /// name (`datetime.date` is not `mymod.date`). Ties go to the first name in sorted order.
    fn lookup(&self, name: &str) -> Option<Shape> {
        if let Some(s) = self.entries.get(name) {
            return Some(Shape::Custom(name.to_string(), s.clone()));
        }
        let last = |n: &str| n.rsplit('.').next().unwrap_or(n).to_string();
        let mut matches: Vec<&String> = self
            .entries
            .keys()
            .filter(|k| {
                if name.contains('.') {
                    !k.contains('.') && **k == last(name)
                } else {
                    last(k) == name
                }
            })
            .collect();
        matches.sort();
        matches
            .first()
            .map(|k| Shape::Custom(k.to_string(), self.entries[*k].clone()))
    }

    fn fallback(&self, what: String, warnings: &mut Vec<String>) -> Shape {
        warnings.push(format!("{what}: using the any-value strategy"));
        Shape::Any
    }

    fn build(&self, e: &TypeExpr, warnings: &mut Vec<String>, depth: u32) -> Shape {
        if depth > 64 {
            return self.fallback("type expression nested too deeply".into(), warnings);
        }
        match e {
            TypeExpr::Name(name) => self.named(name, warnings),
            TypeExpr::Union(members) => self.union(members, warnings, depth),
            TypeExpr::Literal(Literal::Str(s)) => match parse(s) {
                // A quoted annotation is a forward reference.
                Ok(inner) => self.build(&inner, warnings, depth + 1),
                Err(err) => self.fallback(format!("forward reference {err}"), warnings),
            },
            TypeExpr::Literal(_) | TypeExpr::Ellipsis | TypeExpr::List(_) => {
                self.fallback(format!("`{e}` is not a type"), warnings)
            }
            TypeExpr::Subscript { base, args } => {
                if let Some(s) = self.lookup(base) {
                    return s;
                }
                let arg = |i: usize, w: &mut Vec<String>| -> Box<Shape> {
                    Box::new(match args.get(i) {
                        Some(a) => self.build(a, w, depth + 1),
                        None => Shape::Any,
                    })
                };
                let key = |i: usize, w: &mut Vec<String>| -> Box<Shape> {
                    if let Some(a) = args.get(i) {
                        if unhashable(a) {
                            w.push(format!("`{a}` is not hashable: `{e}` will always be empty"));
                        }
                    }
                    Box::new(match args.get(i) {
                        Some(TypeExpr::Name(a)) if matches!(short(a), "Any" | "object") => {
                            Shape::Hashable
                        }
                        Some(a) => self.build(a, w, depth + 1),
                        None => Shape::Hashable,
                    })
                };
                // Generics given the wrong number of type arguments say so, then use what
                // they were given (missing ones are any value).
                let expected = match short(base) {
                    "Optional" | "list" | "List" | "Sequence" | "MutableSequence" | "Iterable"
                    | "Collection" | "Iterator" | "Reversible" | "Container" | "set" | "Set"
                    | "MutableSet" | "AbstractSet" | "frozenset" | "FrozenSet" | "Counter"
                    | "deque" | "Deque" | "NDArray" => Some(1),
                    "dict" | "Dict" | "Mapping" | "MutableMapping" | "defaultdict"
                    | "DefaultDict" | "OrderedDict" => Some(2),
                    _ => None,
                };
                if let Some(n) = expected.filter(|&n| n != args.len()) {
                    warnings.push(format!(
                        "`{}` takes {n} type argument{}, not {}: {}",
                        short(base),
                        if n == 1 { "" } else { "s" },
                        args.len(),
                        if args.len() > n {
                            "the extra ones are ignored"
                        } else {
                            "the missing ones are any value"
                        }
                    ));
                }
                match short(base) {
                    "Optional" => Shape::Optional(arg(0, warnings)),
                    "Union" => self.union(args, warnings, depth),
                    "Literal" => self.literal(args, warnings),
                    "Annotated" | "Final" | "ClassVar" | "Required" | "NotRequired"
                    | "ReadOnly" => *arg(0, warnings),
                    "list" | "List" | "Sequence" | "MutableSequence" | "Iterable"
                    | "Collection" | "Iterator" | "Reversible" | "Container" => {
                        Shape::List(arg(0, warnings))
                    }
                    "tuple" | "Tuple" => match args.as_slice() {
                        [] => Shape::Tuple(vec![]),
                        [elem, TypeExpr::Ellipsis] => {
                            Shape::TupleOf(Box::new(self.build(elem, warnings, depth + 1)))
                        }
                        items => Shape::Tuple(
                            items
                                .iter()
                                .map(|a| self.build(a, warnings, depth + 1))
                                .collect(),
                        ),
                    },
                    "set" | "Set" | "MutableSet" | "AbstractSet" => Shape::Set(key(0, warnings)),
                    "frozenset" | "FrozenSet" => Shape::FrozenSet(key(0, warnings)),
                    "dict" | "Dict" | "Mapping" | "MutableMapping" => {
                        Shape::Dict(key(0, warnings), arg(1, warnings))
                    }
                    "Counter" => Shape::Counter(key(0, warnings)),
                    "deque" | "Deque" => Shape::Deque(arg(0, warnings)),
                    "defaultdict" | "DefaultDict" => {
                        Shape::DefaultDict(key(0, warnings), arg(1, warnings))
                    }
                    "OrderedDict" => Shape::OrderedDict(key(0, warnings), arg(1, warnings)),
                    "NDArray" => self.ndarray(args.first(), warnings),
                    "ndarray" => {
                        // ndarray[shape, dtype[T]]
                        let dt = match args.get(1) {
                            Some(TypeExpr::Subscript { base, args }) if short(base) == "dtype" => {
                                args.first()
                            }
                            _ => None,
                        };
                        self.ndarray(dt, warnings)
                    }
                    // `memoryview[int]` (typeshed's generic memoryview): the item type is the
                    // format, and the objects generated are bytes-like anyway.
                    "memoryview" => Shape::buffer(false),
                    "Callable" => Shape::Callable,
                    "type" | "Type" => self.fallback(format!("`{e}` (class objects)"), warnings),
                    _ => self.fallback(format!("unknown generic type `{base}`"), warnings),
                }
            }
        }
    }

    fn union(&self, members: &[TypeExpr], warnings: &mut Vec<String>, depth: u32) -> Shape {
        let alts: Vec<Shape> = members
            .iter()
            .map(|m| self.build(m, warnings, depth + 1))
            .collect();
        if alts.is_empty() {
            return self.fallback("empty Union".into(), warnings);
        }
        Shape::OneOf(alts)
    }

    fn literal(&self, args: &[TypeExpr], warnings: &mut Vec<String>) -> Shape {
        let mut values = Vec::new();
        for a in args {
            match a {
                TypeExpr::Literal(l) => values.push(match l {
                    Literal::Int(i) => Value::Int(i.clone()),
                    Literal::Str(s) => Value::Str(PyStr::from(s.as_str())),
                    Literal::Bytes(b) => Value::Bytes(b.clone()),
                    Literal::Bool(b) => Value::Bool(*b),
                    Literal::None => Value::None,
                    Literal::Float(f) => Value::Float(*f),
                }),
                TypeExpr::Name(n) if n == "None" => values.push(Value::None),
                TypeExpr::Name(n) if n == "True" || n == "False" => {
                    values.push(Value::Bool(n == "True"))
                }
                other => {
                    warnings.push(format!("Literal value `{other}` is not supported: skipped"))
                }
            }
        }
        if values.is_empty() {
            return self.fallback("Literal with no usable values".into(), warnings);
        }
        Shape::Literal(values)
    }

    fn ndarray(&self, dtype: Option<&TypeExpr>, warnings: &mut Vec<String>) -> Shape {
        Shape::Array(match dtype {
            None => ArrayKind::Any,
            Some(TypeExpr::Name(n)) if matches!(short(n), "Any" | "generic") => ArrayKind::Any,
            Some(TypeExpr::Name(n)) => match dtype_kind(n) {
                Some(DKind::DateTime64(_)) => ArrayKind::AnyDateTime,
                Some(kind) => ArrayKind::Kind(kind),
                None => {
                    warnings.push(format!("unknown dtype `{n}`: using any dtype"));
                    ArrayKind::Any
                }
            },
            Some(TypeExpr::Subscript { base, args }) if short(base) == "dtype" => {
                return self.ndarray(args.first(), warnings)
            }
            Some(other) => {
                warnings.push(format!("unsupported dtype `{other}`: using any dtype"));
                ArrayKind::Any
            }
        })
    }

    fn named(&self, name: &str, warnings: &mut Vec<String>) -> Shape {
        if let Some(s) = self.lookup(name) {
            return s;
        }
        let any = || Box::new(Shape::Any);
        let hashable = || Box::new(Shape::Hashable);
        match short(name) {
            "int" => Shape::Int,
            "float" => Shape::Float,
            "complex" => Shape::Complex,
            "bool" => Shape::Bool,
            "str" => Shape::Str,
            "bytes" => Shape::Bytes,
            "bytearray" => Shape::ByteArray,
            "None" | "NoneType" => Shape::None,
            "Any" | "object" => Shape::Any,
            "Hashable" => Shape::Hashable,
            "Callable" => Shape::Callable,
            "list" | "List" | "Sequence" | "MutableSequence" | "Iterable" | "Collection"
            | "Iterator" | "Reversible" | "Container" => Shape::List(any()),
            "tuple" | "Tuple" => Shape::TupleOf(any()),
            "dict" | "Dict" | "Mapping" | "MutableMapping" => Shape::Dict(hashable(), any()),
            "set" | "Set" | "MutableSet" | "AbstractSet" => Shape::Set(hashable()),
            "frozenset" | "FrozenSet" => Shape::FrozenSet(hashable()),
            "Counter" => Shape::Counter(hashable()),
            "deque" | "Deque" => Shape::Deque(any()),
            "defaultdict" | "DefaultDict" => Shape::DefaultDict(hashable(), any()),
            "OrderedDict" => Shape::OrderedDict(hashable(), any()),
            "Fraction" => Shape::Fraction,
            "Decimal" => Shape::Decimal,
            "date" => Shape::Date,
            "time" => Shape::Time,
            "datetime" => Shape::DateTime,
            "timedelta" => Shape::TimeDelta,
            "Enum" => Shape::GeneratedEnum(EnumKind::Enum),
            "IntEnum" => Shape::GeneratedEnum(EnumKind::IntEnum),
            "Flag" => Shape::GeneratedEnum(EnumKind::Flag),
            "ndarray" | "NDArray" | "ArrayLike" => Shape::Array(ArrayKind::Any),
            // Objects with a buffer. The value model has no `memoryview`: a `memoryview`
            // parameter gets the other buffer objects.
            "Buffer" | "ReadableBuffer" | "ReadOnlyBuffer" | "ByteString" | "memoryview" => {
                Shape::buffer(false)
            }
            "WriteableBuffer" => Shape::buffer(true),
            // typeshed's protocols for numbers and paths: the builtin types that meet them.
            "SupportsIndex" | "Integral" => Shape::Int,
            "SupportsInt" => Shape::OneOf(vec![Shape::Int, Shape::Float]),
            "SupportsFloat" | "Real" => Shape::OneOf(vec![Shape::Float, Shape::Int]),
            "SupportsComplex" | "Complex" | "Number" => {
                Shape::OneOf(vec![Shape::Complex, Shape::Float, Shape::Int])
            }
            "StrPath" => Shape::Str,
            "BytesPath" => Shape::Bytes,
            "StrOrBytesPath" => Shape::OneOf(vec![Shape::Str, Shape::Bytes]),
            // One type variable per parameter here; `check` draws a call's `AnyStr` parameters
            // together (see check/cases.rs).
            "AnyStr" => Shape::OneOf(vec![Shape::Str, Shape::Bytes]),
            other => match dtype_kind(other) {
                // A NumPy scalar type used on its own: the Python value it converts from.
                Some(DKind::Bool) => Shape::Bool,
                Some(DKind::Int(b)) => {
                    let half = BigInt::from(1) << (8 * b as usize - 1);
                    Shape::IntRange(-half.clone(), half - 1)
                }
                Some(DKind::UInt(b)) => {
                    let max = (BigInt::from(1) << (8 * b as usize)) - 1;
                    Shape::IntRange(0.into(), max)
                }
                Some(DKind::Float(_)) => Shape::Float,
                Some(DKind::Complex(_)) => Shape::Complex,
                Some(DKind::Unicode(_)) => Shape::Str,
                Some(DKind::Bytes(_)) => Shape::Bytes,
                _ => self.fallback(format!("unknown type `{name}`"), warnings),
            },
        }
    }
}

/// Whether values of this type can never be dict keys or set elements.
fn unhashable(e: &TypeExpr) -> bool {
    let base = match e {
        TypeExpr::Name(n) => n.as_str(),
        TypeExpr::Subscript { base, .. } => base.as_str(),
        _ => return false,
    };
    matches!(
        short(base),
        "list"
            | "List"
            | "dict"
            | "Dict"
            | "set"
            | "Set"
            | "bytearray"
            | "Counter"
            | "deque"
            | "defaultdict"
            | "OrderedDict"
            | "ndarray"
            | "NDArray"
            | "MutableSequence"
            | "MutableMapping"
            | "MutableSet"
            | "WriteableBuffer"
    )
}

/// Whether `expr` names `name` anywhere (module prefixes such as `typing.` stripped, forward
/// references included): `mentions(&parse("list[typing.AnyStr]")?, "AnyStr")` is true.
pub fn mentions(expr: &TypeExpr, name: &str) -> bool {
    fn walk(e: &TypeExpr, name: &str, depth: u32) -> bool {
        if depth > 64 {
            return false;
        }
        match e {
            TypeExpr::Name(n) => short(n) == name,
            // The strings of `Literal['a']` are values, not forward references.
            TypeExpr::Subscript { base, .. } if short(base) == "Literal" => name == "Literal",
            TypeExpr::Subscript { base, args } => {
                short(base) == name || args.iter().any(|a| walk(a, name, depth + 1))
            }
            TypeExpr::Union(items) | TypeExpr::List(items) => {
                items.iter().any(|a| walk(a, name, depth + 1))
            }
            TypeExpr::Literal(Literal::Str(s)) => {
                parse(s).is_ok_and(|inner| walk(&inner, name, depth + 1))
            }
            TypeExpr::Literal(_) | TypeExpr::Ellipsis => false,
        }
    }
    walk(expr, name, 0)
}

/// Builds a strategy from a type expression with the default size. Errors only when the text
/// does not parse; the warnings of names it could not resolve (drawn as any value instead) are
/// dropped: [`Registry::resolve`] returns them with the strategy.
pub fn from_type(expr: &str) -> crate::Result<ValueStrategy> {
    Ok(Registry::new(Size::default()).resolve(expr)?.strategy)
}

/// Like [`from_type`] for an already parsed expression, returning warnings as data.
pub fn from_type_expr(expr: &TypeExpr, size: Size) -> TypeStrategy {
    Registry::new(size).resolve_expr(expr)
}
