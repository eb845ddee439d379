//! Hostile values: instances of small generated classes whose dunder methods, when an extension
//! calls them, change what the extension is walking (clear, pop, delete half of, append to the
//! container the value sits in, or remove the value itself from it), raise, return a wrong type
//! or run the garbage collector.
//!
//! For `pyz3 check`'s re-entrancy cases. A [`Hostile`] renders as a plain class definition named
//! for what it does (`class IntClearsContainerOnStr(int)`, see [`Hostile::class_source`]) and an
//! expression that builds the instance (`IntClearsContainerOnStr(3)`); the pickle sent to a
//! worker carries the same class source, so the worker runs exactly what a reproducer shows.
//! Nothing happens until [`HOSTILE_PRELUDE`]'s `bind(args)` arms the objects of one call's
//! arguments and points each at the container it acts on: building, comparing or printing the
//! arguments beforehand is harmless.

use super::model::Value;

/// The Python helpers hostile classes call (`clear`, `pop_from`, `delete_half`, `append_to`,
/// `remove_from`) and `bind(args)`, which arms the hostile objects of a call's arguments and
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
    /// A subclass of `str`; the payload is a `str`.
    Str,
    /// A subclass of `list`; the payload is a `list`.
    List,
    /// A subclass of `dict`; the payload is a `dict`.
    Dict,
    /// A callable object (for `Callable[...]` parameters), returning `None`.
    Callable,
}

impl HostileBase {
    /// The Python base class (`object`, `int`, ...).
    pub fn python_name(self) -> &'static str {
        match self {
            HostileBase::Object | HostileBase::Callable => "object",
            HostileBase::Int => "int",
            HostileBase::Str => "str",
            HostileBase::List => "list",
            HostileBase::Dict => "dict",
        }
    }

    /// The class name's prefix.
    fn prefix(self) -> &'static str {
        match self {
            HostileBase::Object => "",
            HostileBase::Callable => "Callback",
            HostileBase::Int => "Int",
            HostileBase::Str => "Str",
            HostileBase::List => "List",
            HostileBase::Dict => "Dict",
        }
    }

    /// The methods an instance of this base may be hostile in.
    pub fn methods(self) -> &'static [Method] {
        use Method::*;
        match self {
            HostileBase::Object => &[
                Str, Repr, Format, Eq, Lt, Hash, Index, Int, Float, Add, Radd, Len, Iter, GetItem,
            ],
            HostileBase::Int => &[
                Str, Repr, Format, Eq, Lt, Hash, Index, Int, Float, Add, Radd,
            ],
            HostileBase::Str => &[Str, Repr, Format, Eq, Lt, Hash, Add, Len, Iter, GetItem],
            HostileBase::List => &[Repr, Eq, Len, Iter, GetItem, Add],
            HostileBase::Dict => &[Repr, Eq, Len, Iter, GetItem],
            HostileBase::Callable => &[Call],
        }
    }

    /// Whether instances can be dict keys and set members.
    pub fn hashable(self) -> bool {
        !matches!(self, HostileBase::List | HostileBase::Dict)
    }
}

/// A dunder method (or the call of a callable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Method {
    Str,
    Repr,
    Format,
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
    GetItem,
    /// `__call__`.
    Call,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 15] = [
        Method::Str,
        Method::Repr,
        Method::Format,
        Method::Eq,
        Method::Lt,
        Method::Hash,
        Method::Index,
        Method::Int,
        Method::Float,
        Method::Add,
        Method::Radd,
        Method::Len,
        Method::Iter,
        Method::GetItem,
        Method::Call,
    ];

    /// The dunder name (`__str__`).
    pub fn dunder(self) -> &'static str {
        match self {
            Method::Str => "__str__",
            Method::Repr => "__repr__",
            Method::Format => "__format__",
            Method::Eq => "__eq__",
            Method::Lt => "__lt__",
            Method::Hash => "__hash__",
            Method::Index => "__index__",
            Method::Int => "__int__",
            Method::Float => "__float__",
            Method::Add => "__add__",
            Method::Radd => "__radd__",
            Method::Len => "__len__",
            Method::Iter => "__iter__",
            Method::GetItem => "__getitem__",
            Method::Call => "__call__",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Method::Str => "Str",
            Method::Repr => "Repr",
            Method::Format => "Format",
            Method::Eq => "Eq",
            Method::Lt => "Lt",
            Method::Hash => "Hash",
            Method::Index => "Index",
            Method::Int => "Int",
            Method::Float => "Float",
            Method::Add => "Add",
            Method::Radd => "Radd",
            Method::Len => "Len",
            Method::Iter => "Iter",
            Method::GetItem => "GetItem",
            Method::Call => "Call",
        }
    }

    /// The parameters after `self`.
    fn params(self) -> &'static str {
        match self {
            Method::Format => ", spec",
            Method::Eq | Method::Lt | Method::Add | Method::Radd => ", other",
            Method::GetItem => ", key",
            Method::Call => ", *args, **kwargs",
            _ => "",
        }
    }

    /// What the method returns when it does not misbehave, on `base`.
    fn normal_return(self, base: HostileBase) -> &'static str {
        let native = base != HostileBase::Object
            && base != HostileBase::Callable
            && base.methods().contains(&self);
        if native {
            return match self {
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
                Method::Call => "None",
            };
        }
        match self {
            Method::Str | Method::Repr => "'<%s>' % type(self).__name__",
            Method::Format => "format(str(self), spec)",
            Method::Eq => "self is other",
            Method::Lt => "False",
            Method::Hash => "id(self) >> 4",
            Method::Index | Method::Int | Method::Len => "0",
            Method::Float => "0.0",
            Method::Add | Method::Radd => "NotImplemented",
            Method::Iter => "iter(())",
            // An object with `__getitem__` is a sequence to `iter()` and `list()`: it ends
            // with IndexError, or iterating it would never end (the hang would be the
            // generated class's, not the extension's).
            Method::GetItem => "no_item(key)",
            Method::Call => "None",
        }
    }
}

/// An exception a hostile method raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Raised {
    ValueError,
    MemoryError,
    RecursionError,
}

impl Raised {
    /// The exception's name.
    pub fn name(self) -> &'static str {
        match self {
            Raised::ValueError => "ValueError",
            Raised::MemoryError => "MemoryError",
            Raised::RecursionError => "RecursionError",
        }
    }
}

/// What a hostile method does when it is called on an armed object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Empties the container it acts on.
    Clear,
    /// Removes the container's last item.
    Pop,
    /// Deletes the second half of the container.
    DeleteHalf,
    /// Appends 64 items to the container (it reallocates).
    Append,
    /// Removes the object itself from the container, dropping the container's reference.
    RemoveSelf,
    /// Raises.
    Raise(Raised),
    /// Returns `None` instead of a value of the expected type.
    WrongType,
    /// Runs `gc.collect()`.
    Collect,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 10] = [
        Action::Clear,
        Action::Pop,
        Action::DeleteHalf,
        Action::Append,
        Action::RemoveSelf,
        Action::Raise(Raised::ValueError),
        Action::Raise(Raised::MemoryError),
        Action::Raise(Raised::RecursionError),
        Action::WrongType,
        Action::Collect,
    ];

    fn title(self) -> String {
        match self {
            Action::Clear => "ClearsContainer".into(),
            Action::Pop => "PopsContainer".into(),
            Action::DeleteHalf => "HalvesContainer".into(),
            Action::Append => "GrowsContainer".into(),
            Action::RemoveSelf => "RemovesItself".into(),
            Action::Raise(e) => format!("Raises{}", e.name()),
            Action::WrongType => "ReturnsWrongType".into(),
            Action::Collect => "CollectsGarbage".into(),
        }
    }

    /// What it does, in words.
    pub fn describe(self) -> String {
        match self {
            Action::Clear => "clears the container it sits in".into(),
            Action::Pop => "pops the last item of the container it sits in".into(),
            Action::DeleteHalf => "deletes half of the container it sits in".into(),
            Action::Append => "appends 64 items to the container it sits in (once)".into(),
            Action::RemoveSelf => {
                "removes itself from the container it sits in (dropping that reference)".into()
            }
            Action::Raise(e) => format!("raises {}", e.name()),
            Action::WrongType => "returns None (a wrong type)".into(),
            Action::Collect => "runs gc.collect()".into(),
        }
    }

    /// The statement in the method's body (inside `if self.armed:`).
    fn statement(self, m: Method) -> String {
        match self {
            Action::Clear => "clear(self.target)".into(),
            Action::Pop => "pop_from(self.target)".into(),
            Action::DeleteHalf => "delete_half(self.target)".into(),
            // Once: growing the container on every call could make it grow without end.
            Action::Append => {
                "self.armed = False  # once\n            append_to(self.target)".into()
            }
            Action::RemoveSelf => "remove_from(self.target, self)".into(),
            Action::Raise(e) => format!("raise {}('raised by {}')", e.name(), m.dunder()),
            Action::WrongType => "return None".into(),
            Action::Collect => "gc.collect()".into(),
        }
    }
}

/// One hostile method: `method` does `action`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Behaviour {
    /// The method.
    pub method: Method,
    /// What it does.
    pub action: Action,
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
        for m in methods {
            defines_eq |= m == Method::Eq;
            defines_hash |= m == Method::Hash;
            s.push_str(&format!("    def {}(self{}):\n", m.dunder(), m.params()));
            if let Some(b) = self.behaviours.iter().find(|b| b.method == m) {
                s.push_str(&format!(
                    "        if self.armed:\n            {}\n",
                    b.action.statement(m)
                ));
            }
            s.push_str(&format!("        return {}\n", m.normal_return(self.base)));
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
                        .describe()
                        .replace("the container it sits in", "the first container argument");
                    return format!("{}: calling it {what}", self.class_name());
                }
                format!(
                    "{}: {} {}",
                    self.class_name(),
                    b.method.dunder(),
                    b.action.describe()
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
                action: Action::Raise(Raised::MemoryError),
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
