//! A strategy and shrinker for ints of any size.
//!
//! proptest's own integer trees stop at 64 bits; Python ints do not. [`BigIntTree`] binary-searches
//! toward zero from any start value, so edge values (`2**63`, `-2**64 - 1`, ...) and huge ints
//! shrink to the smallest failing magnitude, keeping their sign.

use super::rng::FastRng;
use num_bigint::BigInt;
use num_traits::{One, Signed, Zero};
use proptest::strategy::{NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use std::fmt;
use std::sync::Arc;

/// A value tree over ints that shrinks toward 0 by binary search on the magnitude.
#[derive(Clone, Debug)]
pub struct BigIntTree {
    negative: bool,
    lo: BigInt,
    curr: BigInt,
    /// Upper bound of the search; `None` until the first simplification (it equals the start
    /// value then), which saves a copy per generated int.
    hi: Option<BigInt>,
}

impl BigIntTree {
    /// A tree starting at `start`.
    pub fn new(start: BigInt) -> Self {
        let negative = start.is_negative();
        BigIntTree {
            negative,
            lo: BigInt::zero(),
            curr: if negative { -start } else { start },
            hi: None,
        }
    }

    fn hi(&self) -> &BigInt {
        self.hi.as_ref().unwrap_or(&self.curr)
    }

    fn reposition(&mut self) -> bool {
        let mid = &self.lo + (self.hi() - &self.lo) / 2;
        if mid == self.curr {
            false
        } else {
            self.curr = mid;
            true
        }
    }
}

impl ValueTree for BigIntTree {
    type Value = BigInt;

    fn current(&self) -> BigInt {
        if self.negative {
            -self.curr.clone()
        } else {
            self.curr.clone()
        }
    }

    fn simplify(&mut self) -> bool {
        if *self.hi() <= self.lo {
            return false;
        }
        self.hi = Some(self.curr.clone());
        self.reposition()
    }

    fn complicate(&mut self) -> bool {
        if *self.hi() <= self.lo {
            return false;
        }
        self.lo = &self.curr + BigInt::one();
        self.reposition()
    }
}

/// A strategy that draws a start value with `gen` and shrinks it with a [`BigIntTree`].
#[derive(Clone)]
pub struct BigIntStrategy {
    gen: Arc<dyn Fn(&mut FastRng) -> BigInt + Send + Sync>,
}

impl fmt::Debug for BigIntStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BigIntStrategy")
    }
}

impl BigIntStrategy {
    /// A strategy from a start-value generator.
    pub fn new(gen: impl Fn(&mut FastRng) -> BigInt + Send + Sync + 'static) -> Self {
        BigIntStrategy { gen: Arc::new(gen) }
    }

    /// Draws one start value.
    pub fn draw(&self, rng: &mut FastRng) -> BigInt {
        (self.gen)(rng)
    }
}

impl Strategy for BigIntStrategy {
    type Tree = BigIntTree;
    type Value = BigInt;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(BigIntTree::new((self.gen)(&mut FastRng::from_runner(
            runner,
        ))))
    }
}

/// Shrink candidates for an int, simplest first: 0, then values approaching `x` from 0 by
/// halving the distance (`x/2`, `3x/4`, ..., `x∓1`), so adopting the first that still fails is a
/// binary search.
pub fn int_candidates(x: &BigInt) -> Vec<BigInt> {
    if x.is_zero() {
        return Vec::new();
    }
    let mut out = vec![BigInt::zero()];
    let mag = x.abs();
    let mut d: BigInt = &mag >> 1usize;
    let mut last = BigInt::zero();
    while !d.is_zero() {
        let c = &mag - &d;
        if c != last {
            out.push(if x.is_negative() { -&c } else { c.clone() });
            last = c;
        }
        d >>= 1usize;
    }
    if x.is_negative() {
        // A positive value of the same magnitude is simpler, if it still fails.
        out.insert(1, mag.clone());
    }
    if last != &mag - 1u32 && mag > BigInt::one() {
        let c = &mag - 1u32;
        out.push(if x.is_negative() { -c } else { c });
    }
    out
}
