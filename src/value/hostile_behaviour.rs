//! What a hostile object's methods are and what they do: [`Method`] (a dunder method, a
//! serialisation hook or the call of a callable), [`Action`] (clear the container, raise, return
//! a bad value, call the function again, ...) and [`Behaviour`] (one method doing one action),
//! with the Python each becomes in a class definition (see [`super::Hostile::class_source`]).

/// A method a hostile class may misbehave in: a dunder method, an attribute hook, a
/// serialisation hook libraries call, or the call of a callable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Method {
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
    /// `__next__` (the object is its own iterator).
    Next,
    GetItem,
    /// `__getattr__`: asked for any attribute the object lacks.
    GetAttr,
    /// `__json__`.
    Json,
    /// `toDict` (ujson).
    ToDict,
    /// `for_json` (simplejson).
    ForJson,
    /// `_asdict` (namedtuple-like objects).
    AsDict,
    GetState,
    Reduce,
    /// `__array__` (NumPy).
    Array,
    /// `__array_interface__` (NumPy), a property.
    ArrayInterface,
    /// `__call__`.
    Call,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 27] = [
        Method::Str,
        Method::Repr,
        Method::Format,
        Method::Bytes,
        Method::Fspath,
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
        Method::Next,
        Method::GetItem,
        Method::GetAttr,
        Method::Json,
        Method::ToDict,
        Method::ForJson,
        Method::AsDict,
        Method::GetState,
        Method::Reduce,
        Method::Array,
        Method::ArrayInterface,
        Method::Call,
    ];

    /// The method's name (`__str__`, `toDict`).
    pub fn dunder(self) -> &'static str {
        match self {
            Method::Str => "__str__",
            Method::Repr => "__repr__",
            Method::Format => "__format__",
            Method::Bytes => "__bytes__",
            Method::Fspath => "__fspath__",
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
            Method::Next => "__next__",
            Method::GetItem => "__getitem__",
            Method::GetAttr => "__getattr__",
            Method::Json => "__json__",
            Method::ToDict => "toDict",
            Method::ForJson => "for_json",
            Method::AsDict => "_asdict",
            Method::GetState => "__getstate__",
            Method::Reduce => "__reduce__",
            Method::Array => "__array__",
            Method::ArrayInterface => "__array_interface__",
            Method::Call => "__call__",
        }
    }

    /// The word for it in a class name (`OnStr`, `OnToDict`).
    pub(super) fn title(self) -> &'static str {
        match self {
            Method::Str => "Str",
            Method::Repr => "Repr",
            Method::Format => "Format",
            Method::Bytes => "Bytes",
            Method::Fspath => "Fspath",
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
            Method::Next => "Next",
            Method::GetItem => "GetItem",
            Method::GetAttr => "GetAttr",
            Method::Json => "Json",
            Method::ToDict => "ToDict",
            Method::ForJson => "ForJson",
            Method::AsDict => "AsDict",
            Method::GetState => "GetState",
            Method::Reduce => "Reduce",
            Method::Array => "Array",
            Method::ArrayInterface => "ArrayInterface",
            Method::Call => "Call",
        }
    }

    /// The parameters after `self`.
    pub(super) fn params(self) -> &'static str {
        match self {
            Method::Format => ", spec",
            Method::Eq | Method::Lt | Method::Add | Method::Radd => ", other",
            Method::GetItem => ", key",
            Method::GetAttr => ", name",
            Method::Call | Method::Array => ", *args, **kwargs",
            _ => "",
        }
    }

    /// Whether it is a property rather than a method (`__array_interface__`).
    pub(super) fn is_property(self) -> bool {
        self == Method::ArrayInterface
    }
}

/// An exception a hostile method raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Raised {
    ValueError,
    MemoryError,
    RecursionError,
    KeyboardInterrupt,
}

impl Raised {
    /// The exception's name.
    pub fn name(self) -> &'static str {
        match self {
            Raised::ValueError => "ValueError",
            Raised::MemoryError => "MemoryError",
            Raised::RecursionError => "RecursionError",
            Raised::KeyboardInterrupt => "KeyboardInterrupt",
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
    /// Replaces every item of the container (every value of a dict) with a new object: the
    /// length stays, and every reference the container held is dropped, the object's own too.
    Replace,
    /// Raises.
    Raise(Raised),
    /// Returns a value of the wrong type: `None`, or a `str` from `__index__`.
    WrongType,
    /// Returns a value of the right type out of range or inconsistent: `__index__` and
    /// `__int__` a huge int, `__len__` -1, `__float__` NaN, `__hash__` a different hash on
    /// every call, `__eq__` and `__lt__` an object whose `__bool__` raises (elsewhere the same
    /// as [`Action::WrongType`]).
    BadValue,
    /// Calls the function under test again with the same arguments (once).
    CallAgain,
    /// Runs `gc.collect()`.
    Collect,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 14] = [
        Action::Clear,
        Action::Pop,
        Action::DeleteHalf,
        Action::Append,
        Action::RemoveSelf,
        Action::Replace,
        Action::Raise(Raised::ValueError),
        Action::Raise(Raised::MemoryError),
        Action::Raise(Raised::RecursionError),
        Action::Raise(Raised::KeyboardInterrupt),
        Action::WrongType,
        Action::BadValue,
        Action::CallAgain,
        Action::Collect,
    ];

    /// The words for it in a class name (`ClearsContainer`).
    pub(super) fn title(self) -> String {
        match self {
            Action::Clear => "ClearsContainer".into(),
            Action::Pop => "PopsContainer".into(),
            Action::DeleteHalf => "HalvesContainer".into(),
            Action::Append => "GrowsContainer".into(),
            Action::RemoveSelf => "RemovesItself".into(),
            Action::Replace => "ReplacesItems".into(),
            Action::Raise(e) => format!("Raises{}", e.name()),
            Action::WrongType => "ReturnsWrongType".into(),
            Action::BadValue => "ReturnsBadValue".into(),
            Action::CallAgain => "CallsFunctionAgain".into(),
            Action::Collect => "CollectsGarbage".into(),
        }
    }

    /// What it does, in words (for any method).
    pub fn describe(self) -> String {
        match self {
            Action::Clear => "clears the container it sits in".into(),
            Action::Pop => "pops the last item of the container it sits in".into(),
            Action::DeleteHalf => "deletes half of the container it sits in".into(),
            Action::Append => "appends 64 items to the container it sits in (once)".into(),
            Action::RemoveSelf => {
                "removes itself from the container it sits in (dropping that reference)".into()
            }
            Action::Replace => {
                "replaces every item of the container it sits in with a new object (dropping \
                 the references it held, its own too)"
                    .into()
            }
            Action::Raise(e) => format!("raises {}", e.name()),
            Action::WrongType | Action::BadValue => "returns None (a wrong type)".into(),
            Action::CallAgain => {
                "calls the function under test again with the same arguments (once)".into()
            }
            Action::Collect => "runs gc.collect()".into(),
        }
    }

    /// What it does in method `m`, in words.
    pub fn describe_in(self, m: Method) -> String {
        match (self, m) {
            (Action::WrongType, Method::Index) => "returns a str (a wrong type)".into(),
            (Action::BadValue, Method::Index | Method::Int) => {
                "returns 2**100 (out of range)".into()
            }
            (Action::BadValue, Method::Len) => "returns -1".into(),
            (Action::BadValue, Method::Float) => "returns nan".into(),
            (Action::BadValue, Method::Hash) => "returns a different hash on every call".into(),
            (Action::BadValue, Method::Eq | Method::Lt) => {
                "returns an object whose __bool__ raises ValueError".into()
            }
            _ => self.describe(),
        }
    }

    /// The statement in method `m`'s body (inside `if self.armed:`).
    pub(super) fn statement(self, m: Method) -> String {
        match (self, m) {
            (Action::Clear, _) => "clear(self.target)".into(),
            (Action::Pop, _) => "pop_from(self.target)".into(),
            (Action::DeleteHalf, _) => "delete_half(self.target)".into(),
            // Once: growing the container on every call could make it grow without end.
            (Action::Append, _) => {
                "self.armed = False  # once\n            append_to(self.target)".into()
            }
            (Action::RemoveSelf, _) => "remove_from(self.target, self)".into(),
            (Action::Replace, _) => "replace_items(self.target)".into(),
            (Action::Raise(e), _) => format!("raise {}('raised by {}')", e.name(), m.dunder()),
            (Action::WrongType, Method::Index) => "return '0'".into(),
            (Action::BadValue, Method::Index | Method::Int) => "return 1 << 100".into(),
            (Action::BadValue, Method::Len) => "return -1".into(),
            (Action::BadValue, Method::Float) => "return float('nan')".into(),
            (Action::BadValue, Method::Hash) => {
                "self.hashed = self.__dict__.get('hashed', 0) + 1\n            return self.hashed"
                    .into()
            }
            (Action::BadValue, Method::Eq | Method::Lt) => "return RaisesOnBool()".into(),
            (Action::WrongType | Action::BadValue, _) => "return None".into(),
            // Once: calling again on every call would recurse without end.
            (Action::CallAgain, _) => {
                "self.armed = False  # once\n            call_again(self)".into()
            }
            (Action::Collect, _) => "gc.collect()".into(),
        }
    }

    /// Whether the statement already disarms the object (does it once).
    pub(super) fn once(self) -> bool {
        matches!(self, Action::Append | Action::CallAgain)
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
