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

/// A strategy generating [`Value`]s.
#[derive(Clone)]
pub struct ValueStrategy {
    repr: Repr,
    /// Set by [`ValueStrategy::part_of`]: the joint strategy this one is an item of.
    part: Option<(Rc<ValueStrategy>, usize)>,
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
            })),
            part: None,
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
        self.as_direct()
            .map(|d| Box::new(LeafTree::new(value, Shrinker::Shared(d.shrink.clone()))) as _)
    }

    /// This strategy, marked as item `index` of the tuples `whole` draws. On its own it draws
    /// as before; [`crate::check::cases`] draws `whole` once per call and hands every parameter
    /// marked with the same `whole` its item, so parameters that share a type variable
    /// (`AnyStr`) agree. The mark belongs to a parameter's own strategy: strategies built from
    /// this one do not keep it.
    pub fn part_of(mut self, whole: &Rc<ValueStrategy>, index: usize) -> Self {
        self.part = Some((whole.clone(), index));
        self
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
        }
    }
}

impl Strategy for ValueStrategy {
    type Tree = Box<dyn ValueTree<Value = Value>>;
    type Value = Value;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        match &self.repr {
            Repr::Direct(d) => {
                let v = (d.draw)(&mut FastRng::from_runner(runner));
                Ok(Box::new(LeafTree::new(
                    v,
                    Shrinker::Shared(d.shrink.clone()),
                )))
            }
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

/// A union of direct strategies: candidates are the simplest values of earlier alternatives
/// (those that could not have produced the value), then the shrinks of every alternative that
/// could have.
pub(crate) fn direct_union(alts: Vec<(u32, Arc<Direct>)>) -> ValueStrategy {
    let total: u32 = alts.iter().map(|a| a.0.max(1)).sum();
    let alts = Arc::new(alts);
    let simplest = alts[0].1.simplest.clone();
    let (a1, a2, a3) = (alts.clone(), alts.clone(), alts);
    ValueStrategy::direct(
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
            let first = a2.iter().position(|(_, d)| (d.accepts)(v));
            let mut out: Vec<Value> = Vec::new();
            for (_, d) in a2.iter().take(first.unwrap_or(0)) {
                if d.simplest != *v && !out.contains(&d.simplest) {
                    out.push(d.simplest.clone());
                }
            }
            for (_, d) in a2.iter() {
                if (d.accepts)(v) {
                    out.extend((d.shrink)(v));
                }
            }
            out
        },
        move |v| a3.iter().any(|(_, d)| (d.accepts)(v)),
        simplest,
    )
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
            }
            .boxed(),
        }
    }
}
