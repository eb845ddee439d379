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

/// The number of shape counters.
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
        visit(a, mix(0x9e37_79b9_7f4a_7c15, i as u64), 0, &mut budget);
    }
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

/// A length's class: 0, 1, 2, 3, 4–7, 8–15, ... up to 64 and more.
fn class(n: usize) -> u64 {
    u64::from(usize::BITS - n.leading_zeros()).min(8)
}

fn visit(v: &Value, path: u64, depth: u32, budget: &mut u32) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    // The variant's index, and what distinguishes values of it cheaply.
    let (kind, detail, children): (u64, u64, &[Value]) = match v {
        Value::None => (1, 0, &[]),
        Value::Bool(b) => (2, u64::from(*b), &[]),
        Value::Int(i) => (
            3,
            (u64::from(i.sign() == num_bigint::Sign::Minus) << 8) | i.bits().min(70),
            &[],
        ),
        Value::Float(f) => (
            4,
            f.classify() as u64 * 2 + u64::from(f.is_sign_negative()),
            &[],
        ),
        Value::Str(s) => (5, class(s.len()), &[]),
        Value::Bytes(b) | Value::ByteArray(b) => (6, class(b.len()), &[]),
        Value::List(xs) | Value::Set(xs) | Value::FrozenSet(xs) => (7, class(xs.len()), xs),
        Value::Tuple(xs) => (8, class(xs.len()), xs),
        Value::Deque { items, .. } => (9, class(items.len()), items),
        Value::Dict(kv) | Value::Counter(kv) | Value::OrderedDict(kv) => (10, class(kv.len()), &[]),
        other => (11, discriminant_hash(other), &[]),
    };
    let here = mix(mix(path, kind), detail);
    let slot = &SHAPES[(here % SLOTS as u64) as usize];
    slot.store(
        slot.load(Ordering::Relaxed).saturating_add(1),
        Ordering::Relaxed,
    );
    if depth >= MAX_DEPTH {
        return;
    }
    let child_path = mix(path, kind);
    for x in children {
        visit(x, child_path, depth + 1, budget);
    }
    if let Value::Dict(kv) | Value::Counter(kv) | Value::OrderedDict(kv) = v {
        for (k, x) in kv {
            visit(k, mix(child_path, 1), depth + 1, budget);
            visit(x, mix(child_path, 2), depth + 1, budget);
        }
    }
}

fn discriminant_hash(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    std::mem::discriminant(v).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(args: &[Value]) -> Vec<u8> {
        for s in &SHAPES {
            s.store(0, Ordering::Relaxed);
        }
        enable();
        record(args);
        SHAPES.iter().map(|s| s.load(Ordering::Relaxed)).collect()
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
