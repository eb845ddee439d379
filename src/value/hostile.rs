//! Hostile values: instances of small generated classes whose dunder methods, when an extension
//! calls them, change what the extension is walking (clear, pop, delete half of, append to the
//! container the value sits in, or remove the value itself from it), raise, return a wrong type
//! or a bad value, call the function under test again or run the garbage collector.
//!
//! For `pyz3 check`'s re-entrancy cases. A [`Hostile`] renders as a plain class definition named
//! for what it does (`class IntClearsContainerOnStr(int)`, see [`Hostile::class_source`]) and an
//! expression that builds the instance (`IntClearsContainerOnStr(3)`); the pickle sent to a
//! worker carries the same class source, so the worker runs exactly what a reproducer shows.
//! Nothing happens until [`HOSTILE_PRELUDE`]'s `bind(args)` arms the objects of one call's
//! arguments and points each at the container it acts on: building, comparing or printing the
//! arguments beforehand is harmless.

use super::hostile_behaviour::{Action, Behaviour, Method};
use super::model::Value;

/// The Python helpers hostile classes call (`clear`, `pop_from`, `delete_half`, `append_to`,
/// `remove_from`, `call_again`, `RaisesOnBool`) and `bind(args, f)`, which arms the hostile objects of a call's arguments and
/// returns how many it armed. Part of the pickle helpers module and of every reproducer that
/// holds hostile values.
pub const HOSTILE_PRELUDE: &str = include_str!("hostile_prelude.py");

/// What a hostile object is an instance of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostileBase {
    /// A plain class (`object`).
    Object,
    /// A subclass of `int`; the payload is an `int`.
    Int,
    /// A subclass of `float`; the payload is a `float`.
    Float,
    /// A subclass of `str`; the payload is a `str`.
    Str,
    /// A subclass of `bytes`; the payload is a `bytes`.
    Bytes,
    /// A subclass of `list`; the payload is a `list`.
    List,
    /// A subclass of `dict`; the payload is a `dict`.
    Dict,
    /// A subclass of `tuple`; the payload is a `tuple`.
    Tuple,
    /// A callable object (for `Callable[...]` parameters), returning `None`.
    Callable,
}

impl HostileBase {
    /// The Python base class (`object`, `int`, ...).
    pub fn python_name(self) -> &'static str {
        match self {
            HostileBase::Object | HostileBase::Callable => "object",
            HostileBase::Int => "int",
            HostileBase::Float => "float",
            HostileBase::Str => "str",
            HostileBase::Bytes => "bytes",
            HostileBase::List => "list",
            HostileBase::Dict => "dict",
            HostileBase::Tuple => "tuple",
        }
    }

    /// The class name's prefix.
    fn prefix(self) -> &'static str {
        match self {
            HostileBase::Object => "",
            HostileBase::Callable => "Callback",
            HostileBase::Int => "Int",
            HostileBase::Float => "Float",
            HostileBase::Str => "Str",
            HostileBase::Bytes => "Bytes",
            HostileBase::List => "List",
            HostileBase::Dict => "Dict",
            HostileBase::Tuple => "Tuple",
        }
    }

    /// The methods an instance of this base may be hostile in.
    pub fn methods(self) -> &'static [Method] {
        use Method::*;
        match self {
            HostileBase::Object => &[
                Str,
                Repr,
                Format,
                Bytes,
                Fspath,
                Eq,
                Lt,
                Hash,
                Index,
                Int,
                Float,
                Add,
                Radd,
                Len,
                Iter,
                Next,
                GetItem,
                GetAttr,
                Json,
                ToDict,
                ForJson,
                AsDict,
                GetState,
                Reduce,
                Array,
                ArrayInterface,
            ],
            HostileBase::Int => &[
                Str, Repr, Format, Eq, Lt, Hash, Index, Int, Float, Add, Radd,
            ],
            HostileBase::Float => &[Str, Repr, Format, Eq, Lt, Hash, Int, Float, Add, Radd],
            HostileBase::Str => &[Str, Repr, Format, Eq, Lt, Hash, Add, Len, Iter, GetItem],
            HostileBase::Bytes => &[Repr, Bytes, Eq, Lt, Hash, Add, Len, Iter, GetItem],
            HostileBase::List => &[Repr, Eq, Len, Iter, GetItem, Add],
            HostileBase::Dict => &[Repr, Eq, Len, Iter, GetItem],
            HostileBase::Tuple => &[Repr, Eq, Lt, Hash, Len, Iter, GetItem, Add],
            HostileBase::Callable => &[Call],
        }
    }

    /// Whether instances can be dict keys and set members.
    pub fn hashable(self) -> bool {
        !matches!(self, HostileBase::List | HostileBase::Dict)
    }

    /// Whether an instance equals (and hashes like) its payload.
    pub fn equals_payload(self) -> bool {
        !matches!(self, HostileBase::Object | HostileBase::Callable)
    }

    /// An expression for the plain value an instance stands for, by the base's own methods (no
    /// overridden method runs): `int.__int__(self)`.
    fn payload_expr(self) -> Option<&'static str> {
        Some(match self {
            HostileBase::Int => "int.__int__(self)",
            HostileBase::Float => "float.__float__(self)",
            HostileBase::Str => "str.__str__(self)",
            HostileBase::Bytes => "bytes.__getitem__(self, slice(None))",
            HostileBase::List => "list.copy(self)",
            HostileBase::Dict => "dict.copy(self)",
            HostileBase::Tuple => "tuple.__getitem__(self, slice(None))",
            HostileBase::Object | HostileBase::Callable => return None,
        })
    }
}

/// The statement that ends method `m` when it does not misbehave, on `base`: the base's own
/// method where it has one, otherwise a harmless default (an iteration that ends, an attribute
/// that is missing).
fn normal_end(m: Method, base: HostileBase) -> String {
    let native = base.equals_payload() && base.methods().contains(&m);
    if native {
        let call = match m {
            Method::Format => "super().__format__(spec)",
            Method::Eq => "super().__eq__(other)",
            Method::Lt => "super().__lt__(other)",
            Method::Add => "super().__add__(other)",
            Method::Radd => "super().__radd__(other)",
            Method::GetItem => "super().__getitem__(key)",
            Method::Str => "super().__str__()",
            Method::Repr => "super().__repr__()",
            Method::Hash => "super().__hash__()",
            Method::Index => "super().__index__()",
            Method::Int => "super().__int__()",
            Method::Float => "super().__float__()",
            Method::Len => "super().__len__()",
            Method::Iter => "super().__iter__()",
            // (bytes has no __bytes__ before Python 3.11.)
            Method::Bytes => "bytes.__getitem__(self, slice(None))",
            _ => "None",
        };
        return format!("return {call}");
    }
    let value = match m {
        Method::Str | Method::Repr => "'<%s>' % type(self).__name__",
        Method::Format => "format(str(self), spec)",
        Method::Bytes => "b''",
        Method::Fspath => "'pyz3-path'",
        Method::Eq => "self is other",
        Method::Lt => "False",
        Method::Hash => "id(self) >> 4",
        Method::Index | Method::Int | Method::Len => "0",
        Method::Float => "0.0",
        Method::Add | Method::Radd => "NotImplemented",
        // The object is its own iterator, and its iteration ends.
        Method::Iter => "self",
        Method::Next => return "raise StopIteration".into(),
        // An iteration by index ends at once.
        Method::GetItem => return "raise IndexError(key)".into(),
        Method::GetAttr => return "raise AttributeError(name)".into(),
        Method::ArrayInterface => return "raise AttributeError('__array_interface__')".into(),
        Method::Json | Method::ToDict | Method::ForJson | Method::AsDict => "{}",
        Method::GetState | Method::Call => "None",
        Method::Array => "__import__('numpy').zeros(0)",
        Method::Reduce => {
            return match base.payload_expr() {
                Some(p) => format!("return (type(self), ({p},))"),
                None => "return (type(self), ())".into(),
            }
        }
    };
    format!("return {value}")
}

/// An instance of a generated class (a subclass of `base`) whose `behaviours` misbehave once
/// armed. With no behaviours it is well-behaved (a callable with none is an ordinary callback).
#[derive(Clone, Debug, PartialEq)]
pub struct Hostile {
    /// The base class.
    pub base: HostileBase,
    /// The plain value it stands for: an `int`, `str`, `list` or `dict` for those bases (the
    /// instance equals it), `None` for the others.
    pub payload: Box<Value>,
    /// Its hostile methods, at most one behaviour per method.
    pub behaviours: Vec<Behaviour>,
}

impl Hostile {
    /// The class name, named for what it does: `IntClearsContainerOnStr`, `RaisesValueErrorOnEq`,
    /// `CallbackClearsContainer`.
    pub fn class_name(&self) -> String {
        let mut name = self.base.prefix().to_string();
        let every = self.base.methods();
        if self.behaviours.len() == every.len()
            && every.len() > 2
            && self
                .behaviours
                .iter()
                .all(|b| b.action == self.behaviours[0].action)
        {
            name.push_str(&self.behaviours[0].action.title());
            name.push_str("OnEveryMethod");
            return name;
        }
        // Behaviours with the same action as the one before share its words:
        // `IntClearsContainerOnStrOrAdd`.
        let mut last: Option<Action> = None;
        for b in &self.behaviours {
            if last == Some(b.action) {
                if b.method != Method::Call {
                    name.push_str("Or");
                    name.push_str(b.method.title());
                }
                continue;
            }
            if last.is_some() {
                name.push_str("And");
            }
            last = Some(b.action);
            name.push_str(&b.action.title());
            if b.method != Method::Call {
                name.push_str("On");
                name.push_str(b.method.title());
            }
        }
        if self.behaviours.is_empty() {
            name.push_str(if self.base == HostileBase::Callable {
                "ReturnsNone"
            } else {
                "Plain"
            });
        }
        name
    }

    /// The class definition, as plain Python that needs [`HOSTILE_PRELUDE`] defined first.
    pub fn class_source(&self) -> String {
        let base = self.base.python_name();
        let mut s = match base {
            "object" => format!("class {}:\n", self.class_name()),
            _ => format!("class {}({base}):\n", self.class_name()),
        };
        if self.is_hostile() {
            s.push_str(
                "    armed = False  # bind() arms it and sets the container it acts on\n    target = None\n",
            );
        }
        let mut defines_eq = false;
        let mut defines_hash = false;
        let mut methods: Vec<Method> = self.behaviours.iter().map(|b| b.method).collect();
        if self.base == HostileBase::Callable && !methods.contains(&Method::Call) {
            methods.push(Method::Call);
        }
        if self.base == HostileBase::Object {
            // An object that iterates is its own iterator: both halves of the protocol.
            for (one, other) in [(Method::Iter, Method::Next), (Method::Next, Method::Iter)] {
                if methods.contains(&one) && !methods.contains(&other) {
                    methods.push(other);
                }
            }
        }
        for m in methods {
            defines_eq |= m == Method::Eq;
            defines_hash |= m == Method::Hash;
            if m.is_property() {
                s.push_str(
                    "    @property
",
                );
            }
            s.push_str(&format!("    def {}(self{}):\n", m.dunder(), m.params()));
            if let Some(b) = self.behaviours.iter().find(|b| b.method == m) {
                s.push_str("        if self.armed:\n");
                if m == Method::Next && !b.action.once() {
                    // Once: an iterator that kept acting (or returning) would never end.
                    s.push_str("            self.armed = False  # once\n");
                }
                s.push_str(&format!("            {}\n", b.action.statement(m)));
            }
            s.push_str(&format!("        {}\n", normal_end(m, self.base)));
        }
        if defines_eq && !defines_hash {
            // Defining __eq__ alone would make the class unhashable.
            s.push_str(&format!("    __hash__ = {base}.__hash__\n"));
        }
        s
    }

    /// One line per hostile method: `IntClearsContainerOnStr: __str__ clears the container it
    /// sits in`.
    pub fn describe(&self) -> Vec<String> {
        self.behaviours
            .iter()
            .map(|b| {
                if b.method == Method::Call {
                    let what = b
                        .action
                        .describe_in(b.method)
                        .replace("the container it sits in", "the first container argument");
                    return format!("{}: calling it {what}", self.class_name());
                }
                format!(
                    "{}: {} {}",
                    self.class_name(),
                    b.method.dunder(),
                    b.action.describe_in(b.method)
                )
            })
            .collect()
    }

    /// Whether this value misbehaves at all.
    pub fn is_hostile(&self) -> bool {
        !self.behaviours.is_empty()
    }
}

impl Value {
    /// Whether this value holds a hostile object with at least one hostile method, at any depth.
    pub fn has_hostile(&self) -> bool {
        let mut found = false;
        self.visit_hostile(&mut |h| found |= h.is_hostile());
        found
    }

    /// Calls `f` on every hostile object in this value, outermost first.
    pub fn visit_hostile(&self, f: &mut dyn FnMut(&Hostile)) {
        match self {
            Value::Hostile(h) => {
                f(h);
                h.payload.visit_hostile(f);
            }
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items)
            | Value::Deque { items, .. } => items.iter().for_each(|v| v.visit_hostile(f)),
            Value::Dict(pairs)
            | Value::Counter(pairs)
            | Value::OrderedDict(pairs)
            | Value::DefaultDict { items: pairs, .. } => pairs.iter().for_each(|(k, v)| {
                k.visit_hostile(f);
                v.visit_hostile(f);
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_and_sources_say_what_they_do() {
        let h = Hostile {
            base: HostileBase::Int,
            payload: Box::new(Value::int(3)),
            behaviours: vec![Behaviour {
                method: Method::Str,
                action: Action::Clear,
            }],
        };
        assert_eq!(h.class_name(), "IntClearsContainerOnStr");
        let src = h.class_source();
        assert!(
            src.starts_with("class IntClearsContainerOnStr(int):\n"),
            "{src}"
        );
        assert!(src.contains("    def __str__(self):\n        if self.armed:\n            clear(self.target)\n        return super().__str__()\n"), "{src}");
        let eq = Hostile {
            base: HostileBase::Object,
            payload: Box::new(Value::None),
            behaviours: vec![Behaviour {
                method: Method::Eq,
                action: Action::Raise(crate::value::Raised::MemoryError),
            }],
        };
        assert_eq!(eq.class_name(), "RaisesMemoryErrorOnEq");
        assert!(eq.class_source().contains("__hash__ = object.__hash__"));
        assert_eq!(
            eq.describe(),
            vec!["RaisesMemoryErrorOnEq: __eq__ raises MemoryError".to_string()]
        );
    }
}
