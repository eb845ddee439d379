//! Strategies from Python type expressions: `"list[dict[str, int]]"`, `int | None`, `NDArray[np.int64]`.
//!
//! For `pyz3 check` (reading `.pyi` stubs and annotations), `pyz3 sample`, and users who would
//! rather write the Python type than compose strategies. Understands builtins, `typing` forms
//! (Optional, Union, `X | Y`, Literal, `tuple[int, ...]`, Sequence, Mapping, Any, ...),
//! `collections`, `fractions`, `decimal`, `datetime` and NumPy types; a [`Registry`] adds user
//! classes. An unknown name becomes the any-value strategy plus a warning, never an error; only
//! text that does not parse is an error.

use std::collections::HashMap;

use proptest::prelude::*;

use super::{
    any, collections, container, datetime, numbers, numpy, scalar, text, Size, ValueStrategy,
};
use crate::typeexpr::{parse, Literal, TypeExpr};
use crate::value::{DKind, PyStr, TimeUnit, Value};

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
        let mut warnings = Vec::new();
        let strategy = self.build(expr, &mut warnings, 0);
        TypeStrategy { strategy, warnings }
    }

    /// Exact name first; a bare name (`Point`) also finds `mymod.Point`, and a dotted name finds a
    /// class registered bare. A dotted name never matches another module's class of the same
    /// name (`datetime.date` is not `mymod.date`). Ties go to the first name in sorted order.
    fn lookup(&self, name: &str) -> Option<ValueStrategy> {
        if let Some(s) = self.entries.get(name) {
            return Some(s.clone());
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
        matches.first().map(|k| self.entries[*k].clone())
    }

    fn fallback(&self, what: String, warnings: &mut Vec<String>) -> ValueStrategy {
        warnings.push(format!("{what}: using the any-value strategy"));
        any::any_value(self.size)
    }

    fn build(&self, e: &TypeExpr, warnings: &mut Vec<String>, depth: u32) -> ValueStrategy {
        if depth > 64 {
            return self.fallback("type expression nested too deeply".into(), warnings);
        }
        let size = self.size;
        let n = size.max_len;
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
                let arg = |i: usize, w: &mut Vec<String>| -> ValueStrategy {
                    match args.get(i) {
                        Some(a) => self.build(a, w, depth + 1),
                        None => any::any_value(size),
                    }
                };
                let key = |i: usize, w: &mut Vec<String>| -> ValueStrategy {
                    if let Some(a) = args.get(i) {
                        if unhashable(a) {
                            w.push(format!("`{a}` is not hashable: `{e}` will always be empty"));
                        }
                    }
                    match args.get(i) {
                        Some(TypeExpr::Name(a)) if matches!(short(a), "Any" | "object") => {
                            any::hashable(size)
                        }
                        Some(a) => self.build(a, w, depth + 1),
                        None => any::hashable(size),
                    }
                };
                match short(base) {
                    "Optional" => {
                        crate::choose![1 => scalar::none(), 3 => arg(0, warnings)]
                    }
                    "Union" => self.union(args, warnings, depth),
                    "Literal" => self.literal(args, warnings),
                    "Annotated" | "Final" | "ClassVar" | "Required" | "NotRequired"
                    | "ReadOnly" => arg(0, warnings),
                    "list" | "List" | "Sequence" | "MutableSequence" | "Iterable"
                    | "Collection" | "Iterator" | "Reversible" | "Container" => {
                        container::list(arg(0, warnings), n)
                    }
                    "tuple" | "Tuple" => match args.as_slice() {
                        [] => Just(Value::Tuple(vec![])).boxed().into(),
                        [elem, TypeExpr::Ellipsis] => {
                            container::tuple_of(self.build(elem, warnings, depth + 1), n)
                        }
                        items => container::tuple(
                            items
                                .iter()
                                .map(|a| self.build(a, warnings, depth + 1))
                                .collect(),
                        ),
                    },
                    "set" | "Set" | "MutableSet" | "AbstractSet" => {
                        container::set(key(0, warnings), n)
                    }
                    "frozenset" | "FrozenSet" => container::frozenset(key(0, warnings), n),
                    "dict" | "Dict" | "Mapping" | "MutableMapping" => {
                        container::dict(key(0, warnings), arg(1, warnings), n)
                    }
                    "Counter" => collections::counter(key(0, warnings), size),
                    "deque" | "Deque" => collections::deque(arg(0, warnings), size),
                    "defaultdict" | "DefaultDict" => {
                        collections::defaultdict(key(0, warnings), arg(1, warnings), size)
                    }
                    "OrderedDict" => {
                        collections::ordered_dict(key(0, warnings), arg(1, warnings), size)
                    }
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
                    "type" | "Type" => self.fallback(format!("`{e}` (class objects)"), warnings),
                    _ => self.fallback(format!("unknown generic type `{base}`"), warnings),
                }
            }
        }
    }

    fn union(&self, members: &[TypeExpr], warnings: &mut Vec<String>, depth: u32) -> ValueStrategy {
        let strategies: Vec<ValueStrategy> = members
            .iter()
            .map(|m| self.build(m, warnings, depth + 1))
            .collect();
        if strategies.is_empty() {
            return self.fallback("empty Union".into(), warnings);
        }
        super::value_strategy::choose(strategies.into_iter().map(|s| (1, s)).collect())
    }

    fn literal(&self, args: &[TypeExpr], warnings: &mut Vec<String>) -> ValueStrategy {
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
        proptest::sample::select(values).boxed().into()
    }

    fn ndarray(&self, dtype: Option<&TypeExpr>, warnings: &mut Vec<String>) -> ValueStrategy {
        let size = self.size;
        match dtype {
            None => numpy::arrays(size),
            Some(TypeExpr::Name(n)) if matches!(short(n), "Any" | "generic") => numpy::arrays(size),
            Some(TypeExpr::Name(n)) => match dtype_kind(n) {
                Some(DKind::DateTime64(_)) => {
                    let units: Vec<ValueStrategy> = TimeUnit::ALL
                        .iter()
                        .map(|&u| numpy::arrays_of_kind(DKind::DateTime64(u), size))
                        .collect();
                    super::value_strategy::choose(units.into_iter().map(|s| (1, s)).collect())
                }
                Some(kind) => numpy::arrays_of_kind(kind, size),
                None => {
                    warnings.push(format!("unknown dtype `{n}`: using any dtype"));
                    numpy::arrays(size)
                }
            },
            Some(TypeExpr::Subscript { base, args }) if short(base) == "dtype" => {
                self.ndarray(args.first(), warnings)
            }
            Some(other) => {
                warnings.push(format!("unsupported dtype `{other}`: using any dtype"));
                numpy::arrays(size)
            }
        }
    }

    fn named(&self, name: &str, warnings: &mut Vec<String>) -> ValueStrategy {
        if let Some(s) = self.lookup(name) {
            return s;
        }
        let size = self.size;
        let n = size.max_len;
        match short(name) {
            "int" => scalar::int(size),
            "float" => scalar::float(size),
            "complex" => scalar::complex(size),
            "bool" => scalar::boolean(),
            "str" => text::string(size),
            "bytes" => text::bytes(size),
            "bytearray" => text::bytearray(size),
            "None" | "NoneType" => scalar::none(),
            "Any" | "object" => any::any_value(size),
            "Hashable" => any::hashable(size),
            "list" | "List" | "Sequence" | "MutableSequence" | "Iterable" | "Collection"
            | "Iterator" | "Reversible" | "Container" => container::list(any::any_value(size), n),
            "tuple" | "Tuple" => container::tuple_of(any::any_value(size), n),
            "dict" | "Dict" | "Mapping" | "MutableMapping" => {
                container::dict(any::hashable(size), any::any_value(size), n)
            }
            "set" | "Set" | "MutableSet" | "AbstractSet" => container::set(any::hashable(size), n),
            "frozenset" | "FrozenSet" => container::frozenset(any::hashable(size), n),
            "Counter" => collections::counter(any::hashable(size), size),
            "deque" | "Deque" => collections::deque(any::any_value(size), size),
            "defaultdict" | "DefaultDict" => {
                collections::defaultdict(any::hashable(size), any::any_value(size), size)
            }
            "OrderedDict" => {
                collections::ordered_dict(any::hashable(size), any::any_value(size), size)
            }
            "Fraction" => numbers::fraction(size),
            "Decimal" => numbers::decimal(size),
            "date" => datetime::date(size),
            "time" => datetime::time(size),
            "datetime" => datetime::datetime(size),
            "timedelta" => datetime::timedelta(size),
            "Enum" => super::enums::generated_member_of(crate::value::EnumKind::Enum),
            "IntEnum" => super::enums::generated_member_of(crate::value::EnumKind::IntEnum),
            "Flag" => super::enums::generated_member_of(crate::value::EnumKind::Flag),
            "ndarray" | "NDArray" | "ArrayLike" => numpy::arrays(size),
            other => match dtype_kind(other) {
                // A NumPy scalar type used on its own: the Python value it converts from.
                Some(DKind::Bool) => scalar::boolean(),
                Some(DKind::Int(b)) => {
                    let half = num_bigint::BigInt::from(1) << (8 * b as usize - 1);
                    scalar::int_between(-half.clone(), half - 1, size)
                }
                Some(DKind::UInt(b)) => {
                    let max = (num_bigint::BigInt::from(1) << (8 * b as usize)) - 1;
                    scalar::int_between(0.into(), max, size)
                }
                Some(DKind::Float(_)) => scalar::float(size),
                Some(DKind::Complex(_)) => scalar::complex(size),
                Some(DKind::Unicode(_)) => text::string(size),
                Some(DKind::Bytes(_)) => text::bytes(size),
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
    )
}

/// Builds a strategy from a type expression with the default size, printing any fallback
/// warnings to stderr. Errors only when the text does not parse.
pub fn from_type(expr: &str) -> crate::Result<ValueStrategy> {
    let ts = Registry::new(Size::default()).resolve(expr)?;
    for w in &ts.warnings {
        eprintln!("pyz3: warning: {w}");
    }
    Ok(ts.strategy)
}

/// Like [`from_type`] for an already parsed expression, returning warnings as data.
pub fn from_type_expr(expr: &TypeExpr, size: Size) -> TypeStrategy {
    Registry::new(size).resolve_expr(expr)
}
