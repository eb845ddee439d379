//! A strategy and shrinker for ints of any size.
//!
//! proptest's own integer trees stop at 64 bits; Python ints do not. [`BigIntTree`] binary-searches
//! toward zero from any start value, so edge values (`2**63`, `-2**64 - 1`, ...) and huge ints
//! shrink to the smallest failing magnitude, keeping their sign.

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
    hi: BigInt,
}

impl BigIntTree {
    /// A tree starting at `start`.
    pub fn new(start: BigInt) -> Self {
        let negative = start.is_negative();
        let mag = start.abs();
        BigIntTree {
            negative,
            lo: BigInt::zero(),
            curr: mag.clone(),
            hi: mag,
        }
    }

    fn reposition(&mut self) -> bool {
        let mid = &self.lo + (&self.hi - &self.lo) / 2;
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
        if self.hi <= self.lo {
            return false;
        }
        self.hi = self.curr.clone();
        self.reposition()
    }

    fn complicate(&mut self) -> bool {
        if self.hi <= self.lo {
            return false;
        }
        self.lo = &self.curr + BigInt::one();
        self.reposition()
    }
}

/// A strategy that draws a start value with `gen` and shrinks it with a [`BigIntTree`].
#[derive(Clone)]
pub struct BigIntStrategy {
    gen: Arc<dyn Fn(&mut TestRunner) -> BigInt + Send + Sync>,
}

impl fmt::Debug for BigIntStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BigIntStrategy")
    }
}

impl BigIntStrategy {
    /// A strategy from a start-value generator.
    pub fn new(gen: impl Fn(&mut TestRunner) -> BigInt + Send + Sync + 'static) -> Self {
        BigIntStrategy { gen: Arc::new(gen) }
    }
}

impl Strategy for BigIntStrategy {
    type Tree = BigIntTree;
    type Value = BigInt;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        Ok(BigIntTree::new((self.gen)(runner)))
    }
}
