//! Fast leaf strategies and a cheap weighted union, both shrinking like proptest's.
//!
//! For the hot paths of generation. proptest's `prop_oneof!` keeps a clone of the whole test
//! runner for every alternative not taken, which dominated the cost of generating nested values.
//! [`Leaf`] draws a scalar straight from the RNG and shrinks through a list of simpler candidates;
//! [`one_of`] builds only the chosen alternative and creates earlier (simpler) ones from a stored
//! seed, only when shrinking asks for them.

use std::fmt;
use std::sync::Arc;

use super::rng::FastRng;
use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use rand::RngExt;

/// Simpler candidates for a value, simplest first; each must be strictly simpler than the value
/// (so shrinking terminates).
pub type ShrinkFn<T> = fn(&T) -> Vec<T>;

/// A strategy for a scalar: a generator function plus a candidate shrinker.
pub struct Leaf<T> {
    gen: Arc<dyn Fn(&mut FastRng) -> T + Send + Sync>,
    shrink: ShrinkFn<T>,
}

impl<T> Clone for Leaf<T> {
    fn clone(&self) -> Self {
        Leaf {
            gen: self.gen.clone(),
            shrink: self.shrink,
        }
    }
}

impl<T> fmt::Debug for Leaf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Leaf")
    }
}

impl<T: Clone + fmt::Debug> Leaf<T> {
    /// A leaf drawing values with `gen` and shrinking them with `shrink`.
    pub fn new(
        gen: impl Fn(&mut FastRng) -> T + Send + Sync + 'static,
        shrink: ShrinkFn<T>,
    ) -> Self {
        Leaf {
            gen: Arc::new(gen),
            shrink,
        }
    }
}

impl<T> Leaf<T> {
    /// Draws one value without building a tree (for composing generators).
    pub fn draw(&self, rng: &mut FastRng) -> T {
        (self.gen)(rng)
    }
}

impl<T: Clone + fmt::Debug> Strategy for Leaf<T> {
    type Tree = LeafTree<T>;
    type Value = T;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let v = (self.gen)(&mut FastRng::from_runner(runner));
        Ok(LeafTree::new(v, Shrinker::Plain(self.shrink)))
    }
}

/// A shrinker closure shared between trees.
pub type SharedShrinkFn<T> = Arc<dyn Fn(&T) -> Vec<T> + Send + Sync>;

/// How a [`LeafTree`] finds simpler candidates.
#[derive(Clone)]
pub enum Shrinker<T> {
    /// A plain function (scalars).
    Plain(ShrinkFn<T>),
    /// A closure shared by all trees of one strategy (composite direct strategies).
    Shared(SharedShrinkFn<T>),
}

impl<T> Shrinker<T> {
    fn candidates(&self, v: &T) -> Vec<T> {
        match self {
            Shrinker::Plain(f) => f(v),
            Shrinker::Shared(f) => f(v),
        }
    }
}

/// A value tree that shrinks from the value itself: tries candidates simplest-first, adopting the
/// first that still fails and starting again from it. Used by [`Leaf`] and by the direct value
/// strategies.
#[derive(Clone)]
pub struct LeafTree<T> {
    /// Last value known to fail (`None`: still the generated value, in `current`), so that
    /// generating costs no copy.
    base: Option<T>,
    current: T,
    /// Untried candidates for the base, simplest last (a stack).
    candidates: Option<Vec<T>>,
    /// `current` is a candidate under test (not yet known to fail).
    trying: bool,
    shrink: Shrinker<T>,
}

impl<T: fmt::Debug> fmt::Debug for LeafTree<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LeafTree({:?})", self.current)
    }
}

impl<T: Clone + fmt::Debug> LeafTree<T> {
    /// A tree whose first value is `v`.
    pub fn new(v: T, shrink: Shrinker<T>) -> Self {
        LeafTree {
            base: None,
            current: v,
            candidates: None,
            trying: false,
            shrink,
        }
    }

    /// Moves to the next untried candidate; when none is left, back to the base (the last value
    /// known to fail). Returns whether `current` changed.
    fn next(&mut self) -> bool {
        let base = self.base.get_or_insert_with(|| self.current.clone());
        let stack = match &mut self.candidates {
            Some(s) => s,
            None => {
                let mut c = self.shrink.candidates(base);
                c.reverse();
                self.candidates.insert(c)
            }
        };
        match stack.pop() {
            Some(c) => {
                self.current = c;
                self.trying = true;
                true
            }
            None => {
                let moved = self.trying;
                self.current = base.clone();
                self.trying = false;
                moved
            }
        }
    }
}

impl<T: Clone + fmt::Debug> ValueTree for LeafTree<T> {
    type Value = T;

    fn current(&self) -> T {
        self.current.clone()
    }

    fn simplify(&mut self) -> bool {
        if self.trying {
            // The candidate still fails: it becomes the new base.
            self.base = Some(self.current.clone());
            self.candidates = None;
        }
        self.next()
    }

    fn complicate(&mut self) -> bool {
        // The candidate passed. Like proptest's own trees, answer true when moving back to the
        // last failing value, so the runner re-tests it and then asks `simplify`, which moves
        // on (answering false here would end the whole shrink, siblings included).
        if !self.trying {
            return false;
        }
        self.next()
    }
}

/// `one_of![w1 => s1, w2 => s2, ...]`: a weighted [`one_of`] over strategies of one value type.
#[macro_export]
macro_rules! one_of {
    ($($w:expr => $s:expr),+ $(,)?) => {
        $crate::strategy::leaf::one_of(vec![$(($w, proptest::strategy::Strategy::boxed($s))),+])
    };
}

/// A weighted choice between strategies that shrinks toward earlier alternatives.
pub fn one_of<T: Clone + fmt::Debug + 'static>(
    options: Vec<(u32, BoxedStrategy<T>)>,
) -> BoxedStrategy<T> {
    assert!(!options.is_empty(), "one_of needs at least one alternative");
    let total = options.iter().map(|o| o.0.max(1)).sum();
    OneOf {
        options: Arc::new(options),
        total,
    }
    .boxed()
}

struct OneOf<T> {
    options: Arc<Vec<(u32, BoxedStrategy<T>)>>,
    total: u32,
}

impl<T> fmt::Debug for OneOf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OneOf({} alternatives)", self.options.len())
    }
}

impl<T: Clone + fmt::Debug + 'static> Strategy for OneOf<T> {
    type Tree = OneOfTree<T>;
    type Value = T;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let mut roll = runner.rng().random_range(0..self.total);
        let mut pick = 0;
        for (i, (w, _)) in self.options.iter().enumerate() {
            let w = (*w).max(1);
            if roll < w {
                pick = i;
                break;
            }
            roll -= w;
        }
        let seed = if pick > 0 { runner.rng().random() } else { 0 };
        let tree = self.options[pick].1.new_tree(runner)?;
        Ok(OneOfTree {
            options: self.options.clone(),
            seed,
            pick,
            tree,
            trying: None,
            alternatives_done: false,
        })
    }
}

/// The value tree of [`one_of`].
pub struct OneOfTree<T> {
    options: Arc<Vec<(u32, BoxedStrategy<T>)>>,
    seed: u64,
    pick: usize,
    tree: Box<dyn ValueTree<Value = T>>,
    /// While trying an earlier alternative `j`: `(j, the tree it replaced)`.
    trying: Option<(usize, Box<dyn ValueTree<Value = T>>)>,
    /// Every earlier alternative has been tried.
    alternatives_done: bool,
}

impl<T> fmt::Debug for OneOfTree<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OneOfTree(pick {})", self.pick)
    }
}

impl<T: Clone + fmt::Debug + 'static> OneOfTree<T> {
    fn fresh(&self, j: usize) -> Option<Box<dyn ValueTree<Value = T>>> {
        let mut runner = super::seeded::seeded_runner(self.seed.wrapping_add(j as u64));
        self.options[j].1.new_tree(&mut runner).ok()
    }
}

impl<T: Clone + fmt::Debug + 'static> ValueTree for OneOfTree<T> {
    type Value = T;

    fn current(&self) -> T {
        self.tree.current()
    }

    fn simplify(&mut self) -> bool {
        if let Some((j, _saved)) = self.trying.take() {
            // The simpler alternative still fails: adopt it (its own alternatives are earlier
            // still, and untried).
            self.pick = j;
            self.alternatives_done = false;
        }
        if self.tree.simplify() {
            return true;
        }
        if self.pick > 0 && !self.alternatives_done {
            if let Some(t) = self.fresh(0) {
                let saved = std::mem::replace(&mut self.tree, t);
                self.trying = Some((0, saved));
                return true;
            }
        }
        false
    }

    fn complicate(&mut self) -> bool {
        match self.trying.take() {
            None => self.tree.complicate(),
            Some((j, saved)) => {
                if j + 1 < self.pick {
                    if let Some(t) = self.fresh(j + 1) {
                        self.tree = t;
                        self.trying = Some((j + 1, saved));
                        return true;
                    }
                }
                // Back to the last failing value; re-tested, then `simplify` moves on.
                self.tree = saved;
                self.alternatives_done = true;
                true
            }
        }
    }
}

/// Candidates for a sequence, simplest first: empty, the first half, each element dropped, then
/// each element replaced by its own candidates.
pub fn shrink_seq<T: Clone>(v: &[T], elem: fn(&T) -> Vec<T>) -> Vec<Vec<T>> {
    crate::strategy::value_strategy::shrink_items(v, &elem)
}

/// Candidates for an integer, toward 0: 0, then approaching `x` by halving the distance.
pub fn shrink_i64(x: &i64) -> Vec<i64> {
    let x = *x as i128;
    halving(x.unsigned_abs())
        .into_iter()
        .map(|m| (if x < 0 { -(m as i128) } else { m as i128 }) as i64)
        .collect()
}

/// Candidates for an unsigned integer, toward 0.
pub fn shrink_u64(x: &u64) -> Vec<u64> {
    halving(*x as u128).into_iter().map(|m| m as u64).collect()
}

/// 0, m - m/2, m - m/4, ..., m - 1 (distinct, increasing), for m > 0.
fn halving(m: u128) -> Vec<u128> {
    let mut out = Vec::new();
    if m == 0 {
        return out;
    }
    out.push(0);
    let mut d = m / 2;
    while d > 0 {
        let c = m - d;
        if out.last() != Some(&c) {
            out.push(c);
        }
        d /= 2;
    }
    if out.last() != Some(&(m - 1)) {
        out.push(m - 1);
    }
    out
}

/// Candidates for a bool: `false` is simpler.
pub fn shrink_bool(x: &bool) -> Vec<bool> {
    if *x {
        vec![false]
    } else {
        vec![]
    }
}

/// Candidates for a float: 0.0, then finite and integral values of smaller magnitude.
pub fn shrink_f64(x: &f64) -> Vec<f64> {
    let x = *x;
    let mut c: Vec<f64> = Vec::with_capacity(5);
    let push = |y: f64, c: &mut Vec<f64>| {
        if !c.iter().any(|z| z.to_bits() == y.to_bits()) && y.to_bits() != x.to_bits() {
            c.push(y);
        }
    };
    if x.is_nan() {
        push(0.0, &mut c);
        push(1.0, &mut c);
        push(f64::INFINITY, &mut c);
        return c;
    }
    if x == 0.0 {
        if x.is_sign_negative() {
            push(0.0, &mut c);
        }
        return c;
    }
    push(0.0, &mut c);
    if x.is_infinite() {
        push(1.0f64.copysign(x), &mut c);
        push(f64::MAX.copysign(x), &mut c);
        return c;
    }
    if x < 0.0 {
        // A positive value of the same magnitude is simpler, if it still fails.
        push(-x, &mut c);
    }
    let t = x.trunc();
    if t != x {
        push(t, &mut c);
    } else if x.abs() < 9007199254740992.0 {
        for m in halving(x.abs() as u128) {
            push((m as f64).copysign(x), &mut c);
        }
    } else {
        push((x / 2.0).trunc(), &mut c);
    }
    c
}
