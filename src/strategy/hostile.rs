//! Strategies for hostile values ([`crate::value::Hostile`]) and callables.
//!
//! For `pyz3 check`'s re-entrancy cases: [`value`] draws instances of generated classes (plain,
//! or subclasses of int, float, str, bytes, list, dict, tuple) with one or two dunder methods
//! (or every method of its base) that misbehave,
//! [`hashable`] only those that can be dict keys, [`callable`] callbacks for `Callable[...]`
//! parameters (well-behaved ones, or with [`callable_hostile`] ones that act on the other
//! arguments). Each shrinks toward a plain value (a hostile value toward its payload, a hostile
//! callback toward one that only returns `None`) and toward fewer hostile methods.

use num_bigint::BigInt;
use rand::RngExt;

use super::rng::FastRng;
use super::ValueStrategy;
use crate::value::{Action, Behaviour, Hostile, HostileBase, Method, PyStr, Value};

fn small_int(rng: &mut FastRng) -> Value {
    Value::Int(BigInt::from(rng.random_range(-3i64..100)))
}

fn payload(base: HostileBase, rng: &mut FastRng) -> Value {
    match base {
        HostileBase::Object | HostileBase::Callable => Value::None,
        HostileBase::Int => small_int(rng),
        HostileBase::Float => Value::Float(rng.random_range(-4i32..400) as f64 / 4.0),
        HostileBase::Str => {
            let n = rng.random_range(0..6usize);
            Value::Str(PyStr(
                (0..n).map(|_| rng.random_range(0x61u32..0x7b)).collect(),
            ))
        }
        HostileBase::Bytes => {
            let n = rng.random_range(0..6usize);
            Value::Bytes((0..n).map(|_| rng.random_range(0x61u8..0x7b)).collect())
        }
        HostileBase::Tuple => {
            let n = rng.random_range(0..4usize);
            Value::Tuple((0..n).map(|_| small_int(rng)).collect())
        }
        HostileBase::List => {
            let n = rng.random_range(0..4usize);
            Value::List((0..n).map(|_| small_int(rng)).collect())
        }
        HostileBase::Dict => {
            let n = rng.random_range(0..3i64);
            Value::Dict((0..n).map(|i| (Value::int(i), small_int(rng))).collect())
        }
    }
}

fn behaviours(base: HostileBase, rng: &mut FastRng) -> Vec<Behaviour> {
    let methods = base.methods();
    // One action. Container actions are drawn more often than the others: they are the usual
    // crash.
    let action = if rng.random_range(0..2u32) == 0 {
        [Action::Clear, Action::RemoveSelf, Action::DeleteHalf][rng.random_range(0..3usize)]
    } else {
        Action::ALL[rng.random_range(0..Action::ALL.len())]
    };
    // Half the time in every method the base has (whichever the extension calls does it;
    // shrinking then drops the others), otherwise in one or two.
    let chosen: Vec<Method> = if rng.random_range(0..2u32) == 0 {
        methods.to_vec()
    } else {
        let first = methods[rng.random_range(0..methods.len())];
        let second = methods[rng.random_range(0..methods.len())];
        if first == second || rng.random_range(0..2u32) == 0 {
            vec![first]
        } else {
            let mut two = vec![first, second];
            two.sort();
            two
        }
    };
    chosen
        .into_iter()
        .map(|method| Behaviour { method, action })
        .collect()
}

/// The plain values a hostile value shrinks to, simplest first: its payload, then the same
/// object with one hostile method fewer.
fn shrink(v: &Value) -> Vec<Value> {
    let Value::Hostile(h) = v else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if h.base == HostileBase::Callable {
        if h.is_hostile() {
            out.push(Value::Hostile(Hostile {
                behaviours: Vec::new(),
                ..h.clone()
            }));
        }
    } else {
        out.push((*h.payload).clone());
    }
    if h.behaviours.len() > 1 {
        for i in 0..h.behaviours.len() {
            let mut fewer = h.clone();
            fewer.behaviours.remove(i);
            out.push(Value::Hostile(fewer));
        }
    }
    out
}

fn draw_from(bases: &'static [(u32, HostileBase)], rng: &mut FastRng) -> Value {
    let total: u32 = bases.iter().map(|b| b.0).sum();
    let mut roll = rng.random_range(0..total);
    let mut base = bases[0].1;
    for &(w, b) in bases {
        if roll < w {
            base = b;
            break;
        }
        roll -= w;
    }
    Value::Hostile(Hostile {
        base,
        payload: Box::new(payload(base, rng)),
        behaviours: behaviours(base, rng),
    })
}

fn strategy(bases: &'static [(u32, HostileBase)]) -> ValueStrategy {
    ValueStrategy::direct(
        move |rng| draw_from(bases, rng),
        shrink,
        |v| matches!(v, Value::Hostile(h) if h.base != HostileBase::Callable),
        Value::None,
    )
}

/// Hostile values of every base: ints most, then plain objects and strs, then floats, bytes,
/// lists, dicts and tuples.
pub fn value() -> ValueStrategy {
    strategy(&[
        (8, HostileBase::Int),
        (4, HostileBase::Object),
        (4, HostileBase::Str),
        (2, HostileBase::Float),
        (2, HostileBase::List),
        (2, HostileBase::Dict),
        (1, HostileBase::Bytes),
        (1, HostileBase::Tuple),
    ])
}

/// Hostile values that can be dict keys and set members (ints, strs, plain objects, floats,
/// bytes, tuples).
pub fn hashable() -> ValueStrategy {
    strategy(&[
        (4, HostileBase::Int),
        (2, HostileBase::Object),
        (2, HostileBase::Str),
        (1, HostileBase::Float),
        (1, HostileBase::Bytes),
        (1, HostileBase::Tuple),
    ])
}

/// Hostile subclasses of `base` (`int`, `list`, ...) whose payloads `payload` draws (values of
/// the position's type): for positions typed `int`, `list[int]`, ... with
/// `--hostile-subclasses`. They shrink as their payload and toward fewer hostile methods.
pub fn subclass_of(base: HostileBase, payload: ValueStrategy) -> ValueStrategy {
    use proptest::strategy::Strategy;
    let simplest = Value::Hostile(Hostile {
        base,
        payload: Box::new(Value::None),
        behaviours: vec![Behaviour {
            method: base.methods()[0],
            action: Action::Clear,
        }],
    });
    let behaviours = ValueStrategy::direct(
        move |rng| {
            Value::Hostile(Hostile {
                base,
                payload: Box::new(Value::None),
                behaviours: behaviours(base, rng),
            })
        },
        |v| {
            // Only fewer methods: the payload is the other half of the pair.
            shrink(v)
                .into_iter()
                .filter(|s| matches!(s, Value::Hostile(_)))
                .collect()
        },
        |v| matches!(v, Value::Hostile(_)),
        simplest,
    );
    (payload, behaviours)
        .prop_map(|(payload, h)| match h {
            Value::Hostile(h) => Value::Hostile(Hostile {
                payload: Box::new(payload),
                ..h
            }),
            other => other,
        })
        .boxed()
        .into()
}

fn plain_callable() -> Value {
    Value::Hostile(Hostile {
        base: HostileBase::Callable,
        payload: Box::new(Value::None),
        behaviours: Vec::new(),
    })
}

fn is_callable(v: &Value) -> bool {
    matches!(v, Value::Hostile(h) if h.base == HostileBase::Callable)
}

/// A well-behaved callable: called with any arguments, it returns `None`.
pub fn callable() -> ValueStrategy {
    ValueStrategy::direct(
        |_| plain_callable(),
        |_| Vec::new(),
        is_callable,
        plain_callable(),
    )
}

/// Callables that, three times in four, do something hostile to the call's other arguments
/// when called (clear, pop, delete half of or append to the first container argument, raise,
/// return a wrong type, collect garbage); the rest are well-behaved.
pub fn callable_hostile() -> ValueStrategy {
    ValueStrategy::direct(
        |rng| {
            if rng.random_range(0..4u32) == 0 {
                return plain_callable();
            }
            let action = if rng.random_range(0..2u32) == 0 {
                Action::Clear
            } else {
                Action::ALL[rng.random_range(0..Action::ALL.len())]
            };
            Value::Hostile(Hostile {
                base: HostileBase::Callable,
                payload: Box::new(Value::None),
                behaviours: vec![Behaviour {
                    method: Method::Call,
                    action,
                }],
            })
        },
        shrink,
        is_callable,
        plain_callable(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_shrink_to_their_payload_and_pickle() {
        let mut rng = FastRng::new(7);
        for _ in 0..200 {
            let v = draw_from(&[(1, HostileBase::Int), (1, HostileBase::List)], &mut rng);
            let Value::Hostile(h) = &v else { panic!() };
            assert!(h.is_hostile());
            assert_eq!(shrink(&v)[0], *h.payload);
            v.to_pickle().unwrap();
            for b in &h.behaviours {
                assert!(h.base.methods().contains(&b.method));
            }
        }
    }
}
