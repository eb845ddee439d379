//! The shape of a type expression: what values of that type look like, independent of how they
//! are produced.
//!
//! For [`super::annotation`] (which resolves names into a [`Shape`]) and for both of its consumers:
//! [`Shape::strategy`] builds the proptest strategy, and the fuzzer's decoder (`fuzz::decode`,
//! which depends on this module, never the reverse) turns fuzzer bytes into values of the same
//! type.

use num_bigint::BigInt;
use proptest::prelude::*;

use super::{
    any, collections, container, datetime, numbers, numpy, scalar, text, Size, ValueStrategy,
};
use crate::value::{DKind, EnumKind, HostileBase, TimeUnit, Value};

/// The element type of an array shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrayKind {
    /// Any dtype.
    Any,
    /// Exactly this dtype kind (native byte order or either, as the generator chooses).
    Kind(DKind),
    /// `datetime64` of any unit.
    AnyDateTime,
}

/// Where a strategy mixes hostile values in (see [`Shape::hostile_strategy_with`]).
#[derive(Clone, Copy, Debug, Default)]
struct Hostility {
    /// In `Any`, hashable and `Callable` positions.
    untyped: bool,
    /// As subclasses in positions typed `int`, `list[...]`, ...
    subclasses: bool,
}

/// What values of a type look like.
#[derive(Clone)]
pub enum Shape {
    /// `None`.
    None,
    /// `bool`.
    Bool,
    /// `int` of any size.
    Int,
    /// `int` in `lo..=hi` (NumPy scalar types used as annotations).
    IntRange(BigInt, BigInt),
    /// `float`.
    Float,
    /// `complex`.
    Complex,
    /// `str`.
    Str,
    /// `bytes`.
    Bytes,
    /// `bytearray`.
    ByteArray,
    /// Any value.
    Any,
    /// Any hashable value.
    Hashable,
    /// `list[T]`.
    List(Box<Shape>),
    /// `tuple[T, ...]`.
    TupleOf(Box<Shape>),
    /// `tuple[A, B, ...]` (fixed length; `tuple[()]` is empty).
    Tuple(Vec<Shape>),
    /// `set[T]`.
    Set(Box<Shape>),
    /// `frozenset[T]`.
    FrozenSet(Box<Shape>),
    /// `dict[K, V]`.
    Dict(Box<Shape>, Box<Shape>),
    /// `Counter[K]`.
    Counter(Box<Shape>),
    /// `deque[T]`.
    Deque(Box<Shape>),
    /// `defaultdict[K, V]`.
    DefaultDict(Box<Shape>, Box<Shape>),
    /// `OrderedDict[K, V]`.
    OrderedDict(Box<Shape>, Box<Shape>),
    /// `fractions.Fraction`.
    Fraction,
    /// `decimal.Decimal`.
    Decimal,
    /// `datetime.date`.
    Date,
    /// `datetime.time`.
    Time,
    /// `datetime.datetime`.
    DateTime,
    /// `datetime.timedelta`.
    TimeDelta,
    /// A member of a generated Enum/IntEnum/Flag class.
    GeneratedEnum(EnumKind),
    /// A NumPy array.
    Array(ArrayKind),
    /// A 1-d C-contiguous native `uint8` NumPy array (a buffer much like `bytes`); with
    /// `read_only`, read-only ones too (see [`super::buffer::uint8_arrays`]).
    Uint8Array {
        /// Read-only arrays too, not only writeable ones.
        read_only: bool,
    },
    /// `Optional[T]`: `None` one time in four.
    Optional(Box<Shape>),
    /// One of the alternatives, equally likely.
    OneOf(Vec<Shape>),
    /// One of these values (`Literal[...]`).
    Literal(Vec<Value>),
    /// A registered strategy (user classes), named.
    Custom(String, ValueStrategy),
    /// `Callable[...]`: a callback that returns `None` (with hostile values, one that may act
    /// on the call's other arguments).
    Callable,
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Shape::*;
        match self {
            IntRange(lo, hi) => write!(f, "IntRange({lo}, {hi})"),
            List(s) => f.debug_tuple("List").field(s).finish(),
            TupleOf(s) => f.debug_tuple("TupleOf").field(s).finish(),
            Tuple(s) => f.debug_tuple("Tuple").field(s).finish(),
            Set(s) => f.debug_tuple("Set").field(s).finish(),
            FrozenSet(s) => f.debug_tuple("FrozenSet").field(s).finish(),
            Dict(k, v) => f.debug_tuple("Dict").field(k).field(v).finish(),
            Counter(s) => f.debug_tuple("Counter").field(s).finish(),
            Deque(s) => f.debug_tuple("Deque").field(s).finish(),
            DefaultDict(k, v) => f.debug_tuple("DefaultDict").field(k).field(v).finish(),
            OrderedDict(k, v) => f.debug_tuple("OrderedDict").field(k).field(v).finish(),
            GeneratedEnum(k) => f.debug_tuple("GeneratedEnum").field(k).finish(),
            Array(k) => f.debug_tuple("Array").field(k).finish(),
            Uint8Array { read_only } => f
                .debug_struct("Uint8Array")
                .field("read_only", read_only)
                .finish(),
            Optional(s) => f.debug_tuple("Optional").field(s).finish(),
            OneOf(s) => f.debug_tuple("OneOf").field(s).finish(),
            Literal(v) => f.debug_tuple("Literal").field(v).finish(),
            Custom(name, _) => f.debug_tuple("Custom").field(name).finish(),
            None => f.write_str("None"),
            Bool => f.write_str("Bool"),
            Int => f.write_str("Int"),
            Float => f.write_str("Float"),
            Complex => f.write_str("Complex"),
            Str => f.write_str("Str"),
            Bytes => f.write_str("Bytes"),
            ByteArray => f.write_str("ByteArray"),
            Any => f.write_str("Any"),
            Hashable => f.write_str("Hashable"),
            Callable => f.write_str("Callable"),
            Fraction => f.write_str("Fraction"),
            Decimal => f.write_str("Decimal"),
            Date => f.write_str("Date"),
            Time => f.write_str("Time"),
            DateTime => f.write_str("DateTime"),
            TimeDelta => f.write_str("TimeDelta"),
        }
    }
}

/// Most elements a generated value may hold, whatever its nesting: containers nested `d` deep
/// get at most `BUDGET^(1/d)` elements a level (never more than the size allows), so a
/// `list[list[...]]` twenty deep stays small instead of growing exponentially.
pub const ELEMENT_BUDGET: f64 = 32768.0;

/// Most items all the leaves of one generated value hold together (characters, bytes, array
/// elements): a value with `k` leaves gets leaves of at most `LEAVES_BUDGET / k` items, so a
/// `list[bytes]` at a huge size holds many short byte strings, not many long ones.
pub const LEAVES_BUDGET: usize = 8 << 20;

impl Shape {
    /// An object that exports a buffer: `bytes`, `bytearray` or a `uint8` array (some read-only),
    /// equally likely; `writeable`: only objects with a writeable buffer (`bytearray`, writeable
    /// arrays).
    pub fn buffer(writeable: bool) -> Shape {
        if writeable {
            Shape::OneOf(vec![
                Shape::ByteArray,
                Shape::Uint8Array { read_only: false },
            ])
        } else {
            Shape::OneOf(vec![
                Shape::Bytes,
                Shape::ByteArray,
                Shape::Uint8Array { read_only: true },
            ])
        }
    }

    /// Whether values of this shape cannot be drawn without NumPy: it names an array where no
    /// alternative avoids it (`NDArray`, `list[NDArray]`; not `NDArray | None`, whose arrays
    /// are dropped when [`Size::numpy`] is false, nor buffer types, which then are `bytes` and
    /// `bytearray`). A function with such a parameter cannot be checked in an interpreter
    /// without NumPy.
    pub fn requires_numpy(&self) -> bool {
        match self {
            Shape::Array(_) | Shape::Uint8Array { .. } => true,
            Shape::OneOf(alts) => alts.iter().all(Shape::requires_numpy),
            Shape::List(e)
            | Shape::TupleOf(e)
            | Shape::Set(e)
            | Shape::FrozenSet(e)
            | Shape::Counter(e)
            | Shape::Deque(e) => e.requires_numpy(),
            Shape::Dict(k, v) | Shape::DefaultDict(k, v) | Shape::OrderedDict(k, v) => {
                k.requires_numpy() || v.requires_numpy()
            }
            Shape::Tuple(items) => items.iter().any(Shape::requires_numpy),
            _ => false,
        }
    }

    /// Whether values of this shape may be NumPy arrays when NumPy is there (any value, buffer
    /// types, arrays, and containers of them).
    pub fn may_use_numpy(&self) -> bool {
        self.any_inside(&|s| matches!(s, Shape::Array(_) | Shape::Uint8Array { .. } | Shape::Any))
    }

    /// Whether `leaf` holds for this shape or for a shape inside it (items, elements, keys and
    /// values, alternatives).
    pub(crate) fn any_inside(&self, leaf: &dyn Fn(&Shape) -> bool) -> bool {
        leaf(self)
            || match self {
                Shape::OneOf(items) | Shape::Tuple(items) => {
                    items.iter().any(|s| s.any_inside(leaf))
                }
                Shape::List(e)
                | Shape::TupleOf(e)
                | Shape::Set(e)
                | Shape::FrozenSet(e)
                | Shape::Counter(e)
                | Shape::Deque(e)
                | Shape::Optional(e) => e.any_inside(leaf),
                Shape::Dict(k, v) | Shape::DefaultDict(k, v) | Shape::OrderedDict(k, v) => {
                    k.any_inside(leaf) || v.any_inside(leaf)
                }
                _ => false,
            }
    }

    /// The proptest strategy for this shape at `size`, within [`ELEMENT_BUDGET`] and
    /// [`LEAVES_BUDGET`].
    pub fn strategy(&self, size: Size) -> ValueStrategy {
        self.strategy_sized(self.budgeted(size), Hostility::default())
    }

    /// `size` within [`ELEMENT_BUDGET`] and [`LEAVES_BUDGET`] for values of this shape.
    fn budgeted(&self, size: Size) -> Size {
        let depth = self.container_depth(size);
        let mut size = if depth > 1 {
            let per_level = ELEMENT_BUDGET.powf(1.0 / f64::from(depth)).floor() as usize;
            Size {
                max_len: size.max_len.min(per_level.max(1)),
                ..size
            }
        } else {
            size
        };
        // At most `max_len^depth` leaves (twice that for mappings, keys and values).
        let leaves = (0..depth).fold(1usize, |n, _| n.saturating_mul(size.max_len.max(1)));
        let per_leaf = LEAVES_BUDGET / leaves.saturating_mul(2).max(1);
        size.max_leaf_len = size.max_leaf_len.min(per_leaf.max(1));
        size
    }

    /// Like [`Shape::strategy`], with hostile values ([`crate::value::Hostile`]) mixed into
    /// every `Any` position (also as items of lists and dicts drawn there), every hashable
    /// position and every `Callable`; `None` when the shape has no such position.
    pub fn hostile_strategy(&self, size: Size) -> Option<ValueStrategy> {
        self.hostile_strategy_with(size, false)
    }

    /// Like [`Shape::hostile_strategy`]; with `subclasses`, also hostile subclasses in the
    /// positions typed `int`, `float`, `str`, `bytes`, `list[...]`, `dict[...]` and
    /// `tuple[...]` (a quarter of the values there), whose payloads are values of the type.
    pub fn hostile_strategy_with(&self, size: Size, subclasses: bool) -> Option<ValueStrategy> {
        if !self.has_hostile_positions(subclasses) {
            return None;
        }
        let hostile = Hostility {
            untyped: true,
            subclasses,
        };
        Some(self.strategy_sized(self.budgeted(size), hostile))
    }

    /// Whether hostile values can go somewhere in values of this shape (with `subclasses`,
    /// also hostile subclasses of the types that have them).
    pub fn has_hostile_positions(&self, subclasses: bool) -> bool {
        self.any_inside(&|s| {
            matches!(s, Shape::Any | Shape::Hashable | Shape::Callable)
                || (subclasses && s.subclass_base().is_some())
        })
    }

    /// The hostile base whose subclasses values of this shape may be (`int`: `Int`).
    fn subclass_base(&self) -> Option<HostileBase> {
        Some(match self {
            Shape::Int => HostileBase::Int,
            Shape::Float => HostileBase::Float,
            Shape::Str => HostileBase::Str,
            Shape::Bytes => HostileBase::Bytes,
            Shape::List(_) => HostileBase::List,
            Shape::Dict(..) => HostileBase::Dict,
            Shape::TupleOf(_) | Shape::Tuple(_) => HostileBase::Tuple,
            _ => return None,
        })
    }

    /// A container of this shape (not a subclass) whose items may be hostile subclasses.
    fn strategy_sized_plain_outer(&self, size: Size, hostile: Hostility) -> ValueStrategy {
        let s = |x: &Shape| x.strategy_sized(size, hostile);
        let n = size.max_len;
        match self {
            Shape::List(e) => container::list(s(e), n),
            Shape::Dict(k, v) => container::dict(s(k), s(v), n),
            Shape::TupleOf(e) => container::tuple_of(s(e), n),
            Shape::Tuple(items) if items.is_empty() => Just(Value::Tuple(vec![])).boxed().into(),
            Shape::Tuple(items) => container::tuple(items.iter().map(s).collect()),
            _ => self.strategy_sized(
                size,
                Hostility {
                    subclasses: false,
                    ..hostile
                },
            ),
        }
    }

    /// How many containers deep this shape nests (the any-value strategy counts as deep as the
    /// size lets it recurse).
    pub fn container_depth(&self, size: Size) -> u32 {
        let d = |x: &Shape| x.container_depth(size);
        match self {
            Shape::List(e)
            | Shape::TupleOf(e)
            | Shape::Set(e)
            | Shape::FrozenSet(e)
            | Shape::Counter(e)
            | Shape::Deque(e) => 1 + d(e),
            Shape::Dict(k, v) | Shape::DefaultDict(k, v) | Shape::OrderedDict(k, v) => {
                1 + d(k).max(d(v))
            }
            // A tuple of fixed arity does not multiply what it holds.
            Shape::Tuple(items) | Shape::OneOf(items) => items.iter().map(d).max().unwrap_or(0),
            Shape::Optional(inner) => d(inner),
            Shape::Any | Shape::Hashable => size.max_depth,
            _ => 0,
        }
    }

    fn strategy_sized(&self, size: Size, hostile: Hostility) -> ValueStrategy {
        let n = size.max_len;
        let s = |x: &Shape| x.strategy_sized(size, hostile);
        if hostile.subclasses {
            if let Some(base) = self.subclass_base() {
                // The plain value first: shrinking goes toward it.
                let plain = self.strategy_sized(
                    size,
                    Hostility {
                        subclasses: false,
                        ..hostile
                    },
                );
                return match self {
                    // What a container holds may be hostile subclasses too, in a plain
                    // container or a hostile one.
                    Shape::List(_) | Shape::Dict(..) | Shape::TupleOf(_) | Shape::Tuple(_) => {
                        let items = self.strategy_sized_plain_outer(size, hostile);
                        crate::choose![
                            3 => plain,
                            1 => items.clone(),
                            1 => super::hostile::subclass_of(base, items),
                        ]
                    }
                    _ => {
                        crate::choose![3 => plain.clone(), 1 => super::hostile::subclass_of(base, plain)]
                    }
                };
            }
        }
        let hostile_any = hostile.untyped;
        match self {
            Shape::Any if hostile_any => {
                // Mostly hostile values and small ints (which numeric code walks past), and
                // lists and dicts of them, so a hostile value often sits in a container with
                // items after it; any value too. Earlier alternatives are simpler: shrinking
                // goes toward them.
                let small = || scalar::int_between((-5).into(), 300.into(), size);
                let item = || crate::choose![2 => small(), 2 => super::hostile::value(), 1 => any::any_scalar(size)];
                let key = crate::choose![2 => any::hashable(size), 1 => super::hostile::hashable()];
                crate::choose![
                    2 => small(),
                    3 => super::hostile::value(),
                    1 => any::any_scalar(size),
                    2 => container::list(item(), n.max(2)),
                    1 => container::dict(key, item(), n.max(2)),
                    1 => any::any_value(size),
                ]
            }
            Shape::Hashable if hostile_any => {
                crate::choose![3 => any::hashable(size), 1 => super::hostile::hashable()]
            }
            Shape::Callable if hostile_any => super::hostile::callable_hostile(),
            Shape::Callable => super::hostile::callable(),
            Shape::None => scalar::none(),
            Shape::Bool => scalar::boolean(),
            Shape::Int => scalar::int(size),
            Shape::IntRange(lo, hi) => scalar::int_between(lo.clone(), hi.clone(), size),
            Shape::Float => scalar::float(size),
            Shape::Complex => scalar::complex(size),
            Shape::Str => text::string(size),
            Shape::Bytes => text::bytes(size),
            Shape::ByteArray => text::bytearray(size),
            Shape::Any => any::any_value(size),
            Shape::Hashable => any::hashable(size),
            Shape::List(e) => container::list(s(e), n),
            Shape::TupleOf(e) => container::tuple_of(s(e), n),
            Shape::Tuple(items) if items.is_empty() => Just(Value::Tuple(vec![])).boxed().into(),
            Shape::Tuple(items) => container::tuple(items.iter().map(s).collect()),
            Shape::Set(e) => container::set(s(e), n),
            Shape::FrozenSet(e) => container::frozenset(s(e), n),
            Shape::Dict(k, v) => container::dict(s(k), s(v), n),
            Shape::Counter(k) => collections::counter(s(k), size),
            Shape::Deque(e) => collections::deque(s(e), size),
            Shape::DefaultDict(k, v) => collections::defaultdict(s(k), s(v), size),
            Shape::OrderedDict(k, v) => collections::ordered_dict(s(k), s(v), size),
            Shape::Fraction => numbers::fraction(size),
            Shape::Decimal => numbers::decimal(size),
            Shape::Date => datetime::date(size),
            Shape::Time => datetime::time(size),
            Shape::DateTime => datetime::datetime(size),
            Shape::TimeDelta => datetime::timedelta(size),
            Shape::GeneratedEnum(kind) => super::enums::generated_member_of(*kind),
            Shape::Array(ArrayKind::Any) => numpy::arrays(size),
            Shape::Array(ArrayKind::Kind(kind)) => numpy::arrays_of_kind(*kind, size),
            Shape::Array(ArrayKind::AnyDateTime) => {
                let units: Vec<ValueStrategy> = TimeUnit::ALL
                    .iter()
                    .map(|&u| numpy::arrays_of_kind(DKind::DateTime64(u), size))
                    .collect();
                super::value_strategy::choose(units.into_iter().map(|s| (1, s)).collect())
            }
            Shape::Uint8Array { read_only } => super::buffer::uint8_arrays(size, *read_only),
            // Without NumPy, the alternatives that need it are left out.
            Shape::Optional(inner) if !size.numpy && inner.requires_numpy() => scalar::none(),
            Shape::Optional(inner) => crate::choose![1 => scalar::none(), 3 => s(inner)],
            Shape::OneOf(alts) => {
                let usable = |a: &&Shape| size.numpy || !a.requires_numpy();
                let alts: Vec<&Shape> = match alts.iter().filter(usable).count() {
                    0 => alts.iter().collect(),
                    _ => alts.iter().filter(usable).collect(),
                };
                super::value_strategy::choose(alts.into_iter().map(|a| (1, s(a))).collect())
            }
            Shape::Literal(values) => proptest::sample::select(values.clone()).boxed().into(),
            Shape::Custom(_, strategy) => strategy.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    /// Items in a value's leaves: characters, bytes.
    fn leaf_items(v: &Value) -> usize {
        match v {
            Value::Str(s) => s.0.len(),
            Value::Bytes(b) | Value::ByteArray(b) => b.len(),
            Value::List(items) => items.iter().map(leaf_items).sum(),
            Value::Dict(pairs) => pairs
                .iter()
                .map(|(k, v)| leaf_items(k) + leaf_items(v))
                .sum(),
            _ => 0,
        }
    }

    #[test]
    fn many_leaves_at_a_huge_size_stay_within_the_leaves_budget() {
        for (shape, size) in [
            (Shape::List(Box::new(Shape::Bytes)), 100_000),
            (Shape::List(Box::new(Shape::Str)), 100_000),
            (
                Shape::Dict(
                    Box::new(Shape::Str),
                    Box::new(Shape::List(Box::new(Shape::Bytes))),
                ),
                1_000_000,
            ),
        ] {
            let strategy = shape.strategy(Size::scaled(size));
            let total: usize = crate::strategy::seeded::sample(&strategy, 3, 1)
                .map(|v| leaf_items(&v))
                .max()
                .unwrap();
            assert!(total <= LEAVES_BUDGET, "{shape:?}: {total}");
            assert!(total > 0, "{shape:?}");
        }
        // One leaf at a huge size: up to the leaf budget, no more.
        let longest = crate::strategy::seeded::sample(
            &Shape::Bytes.strategy(Size::scaled(100_000_000)),
            40,
            1,
        )
        .map(|v| leaf_items(&v))
        .max()
        .unwrap();
        assert!(
            longest <= crate::strategy::LEAF_BUDGET && longest > 100_000,
            "{longest}"
        );
    }
}
