//! [`ValueStrategy`]: the strategy type of the value model, with a direct fast path.
//!
//! For every strategy constructor in this module tree. A proptest strategy normally builds a
//! tree of shrinkable nodes for every part of every value; for nested containers that bookkeeping
//! cost several times the value itself. Strategies for the common types (scalars, strings,
//! containers and `collections` of them, unions of them) are *direct* instead: they draw the value
//! straight from the RNG, and shrink from the value itself through a list of simpler candidates
//! (drop elements, simplify elements, switch to an earlier alternative), simplest first.
//! Everything else wraps an ordinary proptest strategy. Both kinds compose freely, and a
//! `ValueStrategy` is an ordinary proptest [`Strategy`] usable in `proptest!` blocks.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use super::leaf::{LeafTree, Shrinker};
use super::rng::FastRng;
use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::value::Value;

type DrawFn = dyn Fn(&mut FastRng) -> Value + Send + Sync;
type ShrinkFn = dyn Fn(&Value) -> Vec<Value> + Send + Sync;
type AcceptsFn = dyn Fn(&Value) -> bool + Send + Sync;
/// Builds the value tree that shrinks a value (`None`: the candidate list does).
type TreeFn = dyn Fn(&Value) -> Option<Box<dyn ValueTree<Value = Value>>> + Send + Sync;

/// A strategy generating [`Value`]s.
#[derive(Clone)]
pub struct ValueStrategy {
    repr: Repr,
    /// Set by [`ValueStrategy::part_of`]: the joint strategy this one is an item of.
    part: Option<(Rc<ValueStrategy>, usize)>,
    /// Set by [`ValueStrategy::with_hostile`]: the strategy a share of cases (per mille) draw
    /// from instead, with hostile values mixed in.
    hostile: Option<(Rc<ValueStrategy>, u32)>,
}

#[derive(Clone)]
enum Repr {
    Direct(Arc<Direct>),
    Tree(BoxedStrategy<Value>),
}

/// The parts of a direct strategy.
pub(crate) struct Direct {
    pub(crate) draw: Box<DrawFn>,
    pub(crate) shrink: Arc<ShrinkFn>,
    /// Whether a value could have come from this strategy (decides which shrinker applies in a union).
    pub(crate) accepts: Box<AcceptsFn>,
    /// The simplest value this strategy generates.
    pub(crate) simplest: Value,
    /// A value tree of its own for a value drawn here (a binary search, say), used instead of
    /// a [`LeafTree`] over `shrink`'s candidates, also by a union for the values of this
    /// alternative; containers over this strategy still use the candidates.
    pub(crate) tree: Option<Arc<TreeFn>>,
}

impl Direct {
    /// The value tree that shrinks `v`.
    fn tree_of(&self, v: Value) -> Box<dyn ValueTree<Value = Value>> {
        if let Some(t) = self.tree.as_ref().and_then(|t| t(&v)) {
            return t;
        }
        Box::new(LeafTree::new(v, Shrinker::Shared(self.shrink.clone())))
    }
}

impl fmt::Debug for ValueStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Direct(d) => write!(f, "ValueStrategy(direct, simplest {:?})", d.simplest),
            Repr::Tree(_) => f.write_str("ValueStrategy(tree)"),
        }
    }
}

impl ValueStrategy {
    /// A direct strategy from its parts (see the module docs).
    pub fn direct(
        draw: impl Fn(&mut FastRng) -> Value + Send + Sync + 'static,
        shrink: impl Fn(&Value) -> Vec<Value> + Send + Sync + 'static,
        accepts: impl Fn(&Value) -> bool + Send + Sync + 'static,
        simplest: Value,
    ) -> Self {
        ValueStrategy {
            repr: Repr::Direct(Arc::new(Direct {
                draw: Box::new(draw),
                shrink: Arc::new(shrink),
                accepts: Box::new(accepts),
                simplest,
                tree: None,
            })),
            part: None,
            hostile: None,
        }
    }

    /// A direct strategy (see [`ValueStrategy::direct`]) whose values shrink through the value
    /// tree `tree` builds for them, when it builds one, rather than through `shrink`'s list of
    /// candidates (so also in a union of direct strategies). `shrink` still serves where the
    /// value is an element of a container.
    pub fn direct_with_tree(
        draw: impl Fn(&mut FastRng) -> Value + Send + Sync + 'static,
        shrink: impl Fn(&Value) -> Vec<Value> + Send + Sync + 'static,
        accepts: impl Fn(&Value) -> bool + Send + Sync + 'static,
        simplest: Value,
        tree: impl Fn(&Value) -> Option<Box<dyn ValueTree<Value = Value>>> + Send + Sync + 'static,
    ) -> Self {
        ValueStrategy {
            repr: Repr::Direct(Arc::new(Direct {
                draw: Box::new(draw),
                shrink: Arc::new(shrink),
                accepts: Box::new(accepts),
                simplest,
                tree: Some(Arc::new(tree)),
            })),
            part: None,
            hostile: None,
        }
    }

    /// Wraps any proptest strategy of values.
    pub fn from_strategy<S>(s: S) -> Self
    where
        S: Strategy<Value = Value> + 'static,
        S::Tree: 'static,
    {
        ValueStrategy {
            repr: Repr::Tree(s.boxed()),
            part: None,
            hostile: None,
        }
    }

    /// One value, without the shrinking machinery: direct strategies draw it straight from the
    /// runner's RNG (no tree, no copy); others build a tree and take its current value.
    pub fn generate(&self, runner: &mut TestRunner) -> Option<Value> {
        match &self.repr {
            Repr::Direct(d) => Some((d.draw)(&mut FastRng::from_runner(runner))),
            Repr::Tree(s) => s.new_tree(runner).ok().map(|t| t.current()),
        }
    }

    /// A value tree that starts at `value` and shrinks it, for direct strategies (`None` for
    /// wrapped proptest strategies, whose trees only come from generation).
    pub fn tree_from(&self, value: Value) -> Option<Box<dyn ValueTree<Value = Value>>> {
        self.as_direct().map(|d| d.tree_of(value))
    }

    /// This strategy, marked as item `index` of the tuples `whole` draws. On its own it draws
    /// as before; the check harness (`check::cases`) draws `whole` once per call and hands every parameter
    /// marked with the same `whole` its item, so parameters that share a type variable
    /// (`AnyStr`) agree. The mark belongs to a parameter's own strategy: strategies built from
    /// this one do not keep it.
    pub fn part_of(mut self, whole: &Rc<ValueStrategy>, index: usize) -> Self {
        self.part = Some((whole.clone(), index));
        self
    }

    /// This strategy, with `alt` to draw from instead in `per_mille` of a check's cases (the
    /// check harness picks the cases, see `check::cases`): `alt` mixes hostile values in.
    pub fn with_hostile(mut self, alt: ValueStrategy, per_mille: u32) -> Self {
        self.hostile = Some((Rc::new(alt), per_mille));
        self
    }

    /// The hostile alternative and its share per mille (see [`ValueStrategy::with_hostile`]).
    pub fn hostile(&self) -> Option<(&ValueStrategy, u32)> {
        self.hostile.as_ref().map(|(s, p)| (&**s, *p))
    }

    /// The joint strategy this one is an item of (see [`ValueStrategy::part_of`]), and which item.
    pub fn part(&self) -> Option<(&Rc<ValueStrategy>, usize)> {
        self.part.as_ref().map(|(w, i)| (w, *i))
    }

    pub(crate) fn as_direct(&self) -> Option<&Arc<Direct>> {
        match &self.repr {
            Repr::Direct(d) => Some(d),
            Repr::Tree(_) => None,
        }
    }
}

/// The direct parts of every strategy in `items`, if all are direct.
pub(crate) fn all_direct(items: &[&ValueStrategy]) -> Option<Vec<Arc<Direct>>> {
    items.iter().map(|s| s.as_direct().cloned()).collect()
}

impl From<BoxedStrategy<Value>> for ValueStrategy {
    fn from(s: BoxedStrategy<Value>) -> Self {
        ValueStrategy {
            repr: Repr::Tree(s),
            part: None,
            hostile: None,
        }
    }
}

impl Strategy for ValueStrategy {
    type Tree = Box<dyn ValueTree<Value = Value>>;
    type Value = Value;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        match &self.repr {
            Repr::Direct(d) => Ok(d.tree_of((d.draw)(&mut FastRng::from_runner(runner)))),
            Repr::Tree(s) => s.new_tree(runner),
        }
    }
}

/// `Vec` candidates: empty, first half, each element dropped, each element simplified.
pub(crate) fn shrink_items<T: Clone>(v: &[T], elem: &dyn Fn(&T) -> Vec<T>) -> Vec<Vec<T>> {
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(2 + n * 4);
    out.push(Vec::new());
    if n > 2 {
        out.push(v[..n / 2].to_vec());
    }
    if n > 1 {
        for i in 0..n {
            let mut w = Vec::with_capacity(n - 1);
            w.extend_from_slice(&v[..i]);
            w.extend_from_slice(&v[i + 1..]);
            out.push(w);
        }
    }
    for i in 0..n {
        for c in elem(&v[i]) {
            let mut w = v.to_vec();
            w[i] = c;
            out.push(w);
        }
    }
    out
}

/// The simplest values of the alternatives before the first that accepts `v` (those that could
/// not have produced it), earliest first, and that alternative's index.
fn earlier_simplest(alts: &[(u32, Arc<Direct>)], v: &Value) -> (Vec<Value>, Option<usize>) {
    let first = alts.iter().position(|(_, d)| (d.accepts)(v));
    let mut out: Vec<Value> = Vec::new();
    for (_, d) in alts.iter().take(first.unwrap_or(0)) {
        if d.simplest != *v && !out.contains(&d.simplest) {
            out.push(d.simplest.clone());
        }
    }
    (out, first)
}

/// A union of direct strategies: candidates are the simplest values of earlier alternatives
/// (those that could not have produced the value), then the shrinks of every alternative that
/// could have. When the first alternative that could have has a value tree of its own (ints),
/// the value shrinks through a [`UnionTree`] instead.
pub(crate) fn direct_union(alts: Vec<(u32, Arc<Direct>)>) -> ValueStrategy {
    let total: u32 = alts.iter().map(|a| a.0.max(1)).sum();
    let alts = Arc::new(alts);
    let simplest = alts[0].1.simplest.clone();
    let (a1, a2, a3, a4) = (alts.clone(), alts.clone(), alts.clone(), alts);
    ValueStrategy::direct_with_tree(
        move |rng| {
            use rand::RngExt;
            let mut roll = rng.random_range(0..total);
            for (w, d) in a1.iter() {
                let w = (*w).max(1);
                if roll < w {
                    return (d.draw)(rng);
                }
                roll -= w;
            }
            (a1[0].1.draw)(rng)
        },
        move |v| {
            let (mut out, _) = earlier_simplest(&a2, v);
            for (_, d) in a2.iter() {
                if (d.accepts)(v) {
                    out.extend((d.shrink)(v));
                }
            }
            out
        },
        move |v| a3.iter().any(|(_, d)| (d.accepts)(v)),
        simplest,
        move |v| {
            let (earlier, first) = earlier_simplest(&a4, v);
            let inner = a4[first?].1.tree.as_ref()?(v)?;
            Some(Box::new(UnionTree {
                earlier: earlier.into_iter(),
                trying: None,
                adopted: None,
                inner,
            }))
        },
    )
}

/// The value tree of a union value whose alternative has a tree of its own: the simplest values
/// of earlier alternatives first (the first that fails is the result), then that tree.
struct UnionTree {
    /// Earlier alternatives' simplest values not tried yet, earliest first.
    earlier: std::vec::IntoIter<Value>,
    /// One of them, under test.
    trying: Option<Value>,
    /// One of them that failed: nothing simpler is left.
    adopted: Option<Value>,
    inner: Box<dyn ValueTree<Value = Value>>,
}

impl fmt::Debug for UnionTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UnionTree({:?})", self.current())
    }
}

impl ValueTree for UnionTree {
    type Value = Value;

    fn current(&self) -> Value {
        match (&self.adopted, &self.trying) {
            (Some(v), _) | (None, Some(v)) => v.clone(),
            (None, None) => self.inner.current(),
        }
    }

    fn simplify(&mut self) -> bool {
        if self.adopted.is_some() {
            return false;
        }
        if let Some(v) = self.trying.take() {
            self.adopted = Some(v);
            return false;
        }
        match self.earlier.next() {
            Some(v) => {
                self.trying = Some(v);
                true
            }
            None => self.inner.simplify(),
        }
    }

    fn complicate(&mut self) -> bool {
        if self.adopted.is_some() {
            return false;
        }
        if self.trying.take().is_none() {
            return self.inner.complicate();
        }
        match self.earlier.next() {
            Some(v) => {
                self.trying = Some(v);
                true
            }
            // Back at the value itself (re-tested, then `simplify` goes on in its own tree), or
            // already at the first candidate of that tree.
            None => {
                self.inner.simplify();
                true
            }
        }
    }
}

/// A weighted choice between value strategies that shrinks toward earlier alternatives: direct
/// when every alternative is.
pub fn choose(alts: Vec<(u32, ValueStrategy)>) -> ValueStrategy {
    assert!(!alts.is_empty(), "choose needs at least one alternative");
    let direct: Option<Vec<(u32, Arc<Direct>)>> = alts
        .iter()
        .map(|(w, s)| s.as_direct().map(|d| (*w, d.clone())))
        .collect();
    match direct {
        Some(d) => direct_union(d),
        None => super::leaf::one_of(alts.into_iter().map(|(w, s)| (w, s.boxed())).collect()).into(),
    }
}

/// `choose![w1 => s1, w2 => s2, ...]` over value strategies.
#[macro_export]
macro_rules! choose {
    ($($w:expr => $s:expr),+ $(,)?) => {
        $crate::strategy::value_strategy::choose(vec![$(($w, $crate::strategy::ValueStrategy::from($s))),+])
    };
}

impl From<ValueStrategy> for BoxedStrategy<Value> {
    fn from(s: ValueStrategy) -> Self {
        match s.repr {
            Repr::Tree(t) => t,
            direct => ValueStrategy {
                repr: direct,
                part: None,
                hostile: None,
            }
            .boxed(),
        }
    }
}
