//! Coverage from the arguments' shapes, for a target whose code has no instrumentation.
//!
//! For the fuzz runtime. The generic target of `pyz3 fuzz` carries no coverage instrumentation
//! of its own (neither pyz3, pyo3 nor std): libFuzzer's features come from the code under test.
//! When no library loaded into the process is instrumented (a prebuilt module compiled without
//! `-fsanitize=fuzzer-no-link`), the fuzzer would be blind: every input looks the same. Then the
//! decoded arguments' shapes stand in: each value sets one of [`SLOTS`] libFuzzer extra counters,
//! picked by a hash of its path from the argument (position, type, length class of each
//! container on the way), its own type and length class. An input with a new shape, such as a
//! list longer than any seen so far or a first negative int, is new behaviour and stays in the
//! corpus. A few hundred bytes to scan per input, against tens of thousands of edge counters
//! when pyz3's decoder was instrumented for the same purpose.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::value::Value;

/// The number of shape counters (256 and 1,024 measured against it: docs/fuzzing.md, Figures).
pub const SLOTS: usize = 512;

/// Values looked at per input, at most (a long input cannot make this slow).
const MAX_NODES: u32 = 256;
/// Containers are looked into this deep, at most.
const MAX_DEPTH: u32 = 4;

#[used]
#[link_section = "__libfuzzer_extra_counters"]
static SHAPES: [AtomicU8; SLOTS] = [const { AtomicU8::new(0) }; SLOTS];

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns shape counters on (for the rest of the process).
pub(crate) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether shape counters are on.
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Sets the shape counters of one input's arguments (when enabled).
pub(crate) fn record(args: &[Value]) {
    if !enabled() {
        return;
    }
    let mut budget = MAX_NODES;
    for (i, a) in args.iter().enumerate() {
        visit(a, argument(i), &mut budget);
    }
}

/// Where a value sits for the shape counters: the hash of its path and its depth, or `None`
/// when it is not looked at (too deep, or past the budget of an input).
pub(crate) type At = Option<(u64, u32)>;

/// The place of argument `i`.
pub(crate) fn argument(i: usize) -> At {
    Some((mix(0x9e37_79b9_7f4a_7c15, i as u64), 0))
}

/// The values looked at per input: [`enter`] takes from it.
pub(crate) fn budget() -> u32 {
    MAX_NODES
}

/// A value reached at `at`, in pre-order: it is looked at when the input's budget allows.
pub(crate) fn enter(at: At, budget: &mut u32) -> At {
    let at = at?;
    if *budget == 0 {
        return None;
    }
    *budget -= 1;
    Some(at)
}

/// Sets the counter of a value looked at ([`enter`]) with its kind and detail.
pub(crate) fn bump(at: At, kind: u64, detail: u64) {
    if let Some((path, _)) = at {
        let here = mix(mix(path, kind), detail);
        let slot = &SHAPES[(here % SLOTS as u64) as usize];
        slot.store(
            slot.load(Ordering::Relaxed).saturating_add(1),
            Ordering::Relaxed,
        );
    }
}

/// The place of the items of a container of `kind` looked at at `at` (`None` below the
/// depth limit); `branch` tells a dict's keys (1) from its values (2), 0 elsewhere.
pub(crate) fn children(at: At, kind: u64, branch: u64) -> At {
    let (path, depth) = at?;
    if depth >= MAX_DEPTH {
        return None;
    }
    let path = mix(path, kind);
    Some((
        if branch == 0 { path } else { mix(path, branch) },
        depth + 1,
    ))
}

/// The kinds of the counters' values.
pub(crate) mod kind {
    /// `None`.
    pub const NONE: u64 = 1;
    /// `bool`.
    pub const BOOL: u64 = 2;
    /// `int`.
    pub const INT: u64 = 3;
    /// `float`.
    pub const FLOAT: u64 = 4;
    /// `str`.
    pub const STR: u64 = 5;
    /// `bytes` and `bytearray`.
    pub const BYTES: u64 = 6;
    /// `list`, `set` and `frozenset`.
    pub const LIST: u64 = 7;
    /// `tuple`.
    pub const TUPLE: u64 = 8;
    /// `deque`.
    pub const DEQUE: u64 = 9;
    /// `dict` and its kin.
    pub const DICT: u64 = 10;
    /// Anything else (its detail is a hash of its variant).
    pub const OTHER: u64 = 11;
}

/// An int's detail: its sign and its size in bits (up to 70).
pub(crate) fn int_detail(negative: bool, bits: u64) -> u64 {
    (u64::from(negative) << 8) | bits.min(70)
}

/// A float's detail: its class (NaN, infinite, zero, subnormal, normal) and its sign.
pub(crate) fn float_detail(f: f64) -> u64 {
    f.classify() as u64 * 2 + u64::from(f.is_sign_negative())
}

/// A length's class: 0, 1, 2, 3, 4–7, 8–15, ... up to 64 and more.
pub(crate) fn class(n: usize) -> u64 {
    u64::from(usize::BITS - n.leading_zeros()).min(8)
}

/// Combines a path hash with one more step (the finalizer of MurmurHash3: every input bit
/// reaches every output bit).
fn mix(h: u64, x: u64) -> u64 {
    let mut k = h ^ x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// Sets the counters of `v` and what it holds, reached at `at`.
pub(crate) fn visit(v: &Value, at: At, budget: &mut u32) {
    let at = enter(at, budget);
    if at.is_none() {
        return;
    }
    // The variant's index, and what distinguishes values of it cheaply.
    let (kind, detail, children_of): (u64, u64, &[Value]) = match v {
        Value::None => (kind::NONE, 0, &[]),
        Value::Bool(b) => (kind::BOOL, u64::from(*b), &[]),
        Value::Int(i) => (
            kind::INT,
            int_detail(i.sign() == num_bigint::Sign::Minus, i.bits()),
            &[],
        ),
        Value::Float(f) => (kind::FLOAT, float_detail(*f), &[]),
        Value::Str(s) => (kind::STR, class(s.len()), &[]),
        Value::Bytes(b) | Value::ByteArray(b) => (kind::BYTES, class(b.len()), &[]),
        Value::List(xs) | Value::Set(xs) | Value::FrozenSet(xs) => {
            (kind::LIST, class(xs.len()), xs)
        }
        Value::Tuple(xs) => (kind::TUPLE, class(xs.len()), xs),
        Value::Deque { items, .. } => (kind::DEQUE, class(items.len()), items),
        Value::Dict(kv) | Value::Counter(kv) | Value::OrderedDict(kv) => {
            (kind::DICT, class(kv.len()), &[])
        }
        other => (kind::OTHER, discriminant_hash(other), &[]),
    };
    bump(at, kind, detail);
    let inner = children(at, kind, 0);
    if inner.is_none() {
        return;
    }
    for x in children_of {
        visit(x, inner, budget);
    }
    if let Value::Dict(kv) | Value::Counter(kv) | Value::OrderedDict(kv) = v {
        for (k, x) in kv {
            visit(k, children(at, kind, 1), budget);
            visit(x, children(at, kind, 2), budget);
        }
    }
}

/// The detail of a value of kind [`kind::OTHER`]: a hash of its variant.
pub(crate) fn discriminant_hash(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    std::mem::discriminant(v).hash(&mut h);
    h.finish()
}

/// The counters `f` sets, from zero (for tests: the counters are global, so such tests take
/// turns).
#[cfg(test)]
pub(crate) fn counters_after(f: impl FnOnce()) -> Vec<u8> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    for s in &SHAPES {
        s.store(0, Ordering::Relaxed);
    }
    enable();
    f();
    SHAPES.iter().map(|s| s.load(Ordering::Relaxed)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(args: &[Value]) -> Vec<u8> {
        counters_after(|| record(args))
    }

    #[test]
    fn a_new_shape_sets_other_counters_and_the_same_shape_the_same() {
        let ints = |xs: &[i64]| Value::List(xs.iter().map(|&x| Value::Int(x.into())).collect());
        let a = counts(&[ints(&[1, 2])]);
        assert_eq!(a, counts(&[ints(&[3, 1])]), "same shape");
        assert_ne!(a, counts(&[ints(&[1, 2, 3, 4])]), "longer");
        assert_ne!(a, counts(&[ints(&[1, -2])]), "a negative element");
        assert_eq!(a.iter().map(|&c| c as u32).sum::<u32>(), 3);
    }
}
