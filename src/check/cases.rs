//! Case generation for the runner, and the bounds of shrinking.
//!
//! Case `i` of a run is drawn from a proptest runner seeded by `(seed, i)`, so the runner can
//! send it to a worker and later rebuild exactly that case's value tree to shrink it. The tree
//! then shrinks within a [`Budgeted`] number of steps and time, under a [`shrink_runner`] with
//! proptest's own limits off.
//!
//! Parameters are drawn one after another, except the parts of one joint strategy (see
//! [`ValueStrategy::part_of`]): that strategy is drawn once, where its first part stands, and
//! shrinks as one value. This is how a function's `AnyStr` parameters get `str` together or
//! `bytes` together.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use proptest::strategy::{Just, Strategy, ValueTree};

use proptest::test_runner::{Config, TestRunner};

use crate::strategy::annotation::mentions;
use crate::strategy::scalar::{self, is_size_name};
use crate::strategy::{container, leaf, text, Registry, Shape, Size, ValueStrategy};
use crate::typeexpr::{parse, TypeExpr};
use crate::value::{Renderer, Value};

/// The argument strategies of one function, with the warnings met building them.
pub struct ArgStrategies {
    /// One strategy per parameter.
    pub strategies: Vec<ValueStrategy>,
    /// Fallback warnings, prefixed with the parameter name.
    pub warnings: Vec<String>,
}

/// The size for a `--size`-like scale (0 or 8: the default).
pub fn size_for(scale: usize) -> Size {
    if scale == 0 || scale == 8 {
        Size::default()
    } else {
        Size::scaled(scale)
    }
}

/// Builds the strategies for parameters with these type expressions.
///
/// The parameters whose types mention `AnyStr` are parts of one joint strategy (see
/// [`ValueStrategy::part_of`]): tuples of their values with `AnyStr` read as `str`, or all with
/// it read as `bytes`, so one call never mixes the two.
pub fn arg_strategies(
    names: &[String],
    types: &[String],
    scale: usize,
) -> crate::Result<ArgStrategies> {
    arg_strategies_sized(names, types, 0, size_for(scale))
}

/// Like [`arg_strategies`], at `size`, with the last `optional` parameters optional (they have
/// defaults): half the cases pass none of them, the others the first 1, 2, ... of them, equally
/// likely. They are the parts of one joint strategy, whose tuple is as long as the arguments
/// passed; it shrinks toward passing fewer.
pub fn arg_strategies_sized(
    names: &[String],
    types: &[String],
    optional: usize,
    size: Size,
) -> crate::Result<ArgStrategies> {
    arg_strategies_hostile(names, types, optional, size, 0)
}

/// Like [`arg_strategies_sized`], with hostile values ([`crate::value::Hostile`]) mixed into
/// the `Any` and `Callable` positions of `hostile_per_mille` of the cases (0: none): each
/// parameter whose type has such a position gets a hostile alternative
/// ([`ValueStrategy::with_hostile`]), which [`generate_case`] and [`case_tree`] use for the
/// cases [`hostile_case`] picks. Parameters that share an `AnyStr` get none.
pub fn arg_strategies_hostile(
    names: &[String],
    types: &[String],
    optional: usize,
    size: Size,
    hostile_per_mille: u32,
) -> crate::Result<ArgStrategies> {
    arg_strategies_hostile_with(names, types, optional, size, hostile_per_mille, false)
}

/// Like [`arg_strategies_hostile`]; with `subclasses`, the hostile cases also get hostile
/// subclasses in positions typed `int`, `float`, `str`, `bytes`, `list[...]`, `dict[...]` and
/// `tuple[...]` (`--hostile-subclasses`; not in an int named like a size).
pub fn arg_strategies_hostile_with(
    names: &[String],
    types: &[String],
    optional: usize,
    size: Size,
    hostile_per_mille: u32,
    subclasses: bool,
) -> crate::Result<ArgStrategies> {
    let registry = Registry::new(size);
    let mut parsed = Vec::with_capacity(types.len());
    let mut strategies = Vec::with_capacity(types.len());
    let mut alts: Vec<Option<ValueStrategy>> = Vec::with_capacity(types.len());
    let mut warnings = Vec::new();
    for (name, ty) in names.iter().zip(types) {
        let expr = parse(ty).map_err(|e| {
            crate::Error::Usage(format!("parameter `{name}`: {}", crate::Error::from(e)))
        })?;
        let (shape, shape_warnings) = registry.shape_expr(&expr);
        if !size.numpy && shape.requires_numpy() {
            return Err(crate::Error::Usage(format!(
                "parameter `{name}` is a NumPy array ({ty}) and NumPy is not importable"
            )));
        }
        warnings.extend(
            shape_warnings
                .into_iter()
                .map(|w| format!("parameter `{name}`: {w}")),
        );
        // An int named like a size or a count gets mostly small values (a huge size makes
        // a slow call, not a finding); edge values and huge ints stay reachable.
        alts.push(match hostile_per_mille {
            0 => None,
            _ if matches!(shape, Shape::Int) && is_size_name(name) => None,
            _ => shape.hostile_strategy_with(size, subclasses),
        });
        strategies.push(match shape {
            Shape::Int if is_size_name(name) => scalar::size_int(size),
            _ => shape.strategy(size),
        });
        parsed.push(expr);
    }
    let with_alt = |s: &ValueStrategy, a: &Option<ValueStrategy>| a.clone().unwrap_or(s.clone());
    let alts_of = alts;
    let first_optional = parsed.len().saturating_sub(optional);
    let linked: Vec<usize> = (0..first_optional)
        .filter(|&i| mentions(&parsed[i], "AnyStr"))
        .collect();
    if !linked.is_empty() {
        let whole = Rc::new(any_str_tuples(&registry, &parsed, &linked));
        for (item, &i) in linked.iter().enumerate() {
            strategies[i] = strategies[i].clone().part_of(&whole, item);
        }
    }
    if first_optional < strategies.len() {
        let tail = strategies[first_optional..].to_vec();
        let n = tail.len();
        let mut alts = vec![(n as u32, Just(Value::Tuple(vec![])).boxed())];
        for k in 1..=n {
            alts.push((1, container::tuple(tail[..k].to_vec()).boxed()));
        }
        let whole = Rc::new(ValueStrategy::from(leaf::one_of(alts)));
        // The same joint over the hostile alternatives, for the hostile cases.
        let hostile_tail: Vec<ValueStrategy> = tail
            .iter()
            .zip(&alts_of[first_optional..])
            .map(|(s, a)| with_alt(s, a))
            .collect();
        let mut joint = vec![(n as u32, Just(Value::Tuple(vec![])).boxed())];
        for k in 1..=n {
            joint.push((1, container::tuple(hostile_tail[..k].to_vec()).boxed()));
        }
        let hostile_whole = Rc::new(ValueStrategy::from(leaf::one_of(joint)));
        let any_alt = alts_of[first_optional..].iter().any(Option::is_some);
        for (item, s) in strategies[first_optional..].iter_mut().enumerate() {
            *s = s.clone().part_of(&whole, item);
            if any_alt {
                let alt = s.clone().part_of(&hostile_whole, item);
                *s = s.clone().with_hostile(alt, hostile_per_mille);
            }
        }
    }
    for (i, alt) in alts_of.into_iter().enumerate().take(first_optional) {
        if let (Some(alt), false) = (alt, linked.contains(&i)) {
            strategies[i] = strategies[i].clone().with_hostile(alt, hostile_per_mille);
        }
    }
    Ok(ArgStrategies {
        strategies,
        warnings,
    })
}

/// How a function's parameters use NumPy, to decide before checking it in an interpreter
/// without NumPy: `Err(name)` when parameter `name` needs it (an array), `Ok(true)` when some
/// parameter would draw arrays among other values (any value, buffers), `Ok(false)` otherwise.
/// Types that do not parse count as not using it (the check reports them).
pub fn numpy_use(names: &[String], types: &[String]) -> Result<bool, String> {
    let registry = Registry::new(Size::default());
    let mut uses = false;
    for (name, ty) in names.iter().zip(types) {
        let Ok(expr) = parse(ty) else { continue };
        let (shape, _) = registry.shape_expr(&expr);
        if shape.requires_numpy() {
            return Err(name.clone());
        }
        uses |= shape.may_use_numpy();
    }
    Ok(uses)
}

/// Tuples of the values of the parameters at `linked`, with `AnyStr` meaning `str` in all of
/// them or `bytes` in all of them. A proptest-style union (not a direct one, which tells its
/// alternatives apart by the value): it remembers which alternative it drew, so shrinking never
/// mixes them, and tries the `str` alternative once a `bytes` tuple is as simple as it gets.
fn any_str_tuples(registry: &Registry, types: &[TypeExpr], linked: &[usize]) -> ValueStrategy {
    let size = registry.size();
    let with = |any_str: ValueStrategy| {
        let mut r = registry.clone();
        r.register("AnyStr", any_str);
        container::tuple(
            linked
                .iter()
                .map(|&i| r.resolve_expr(&types[i]).strategy)
                .collect(),
        )
        .boxed()
    };
    leaf::one_of(vec![
        (1, with(text::string(size))),
        (1, with(text::bytes(size))),
    ])
    .into()
}

/// Where each parameter's value comes from: a unit (what is drawn: a parameter's own strategy,
/// or a joint strategy shared by its parts) and, for a part, its item in the unit's tuple.
struct Layout {
    units: Vec<ValueStrategy>,
    places: Vec<(usize, Option<usize>)>,
}

/// The layout of `strategies`, or `None` when no parameter is part of a joint strategy (each
/// parameter is its own unit).
fn layout(strategies: &[ValueStrategy]) -> Option<Layout> {
    if strategies.iter().all(|s| s.part().is_none()) {
        return None;
    }
    let mut units: Vec<ValueStrategy> = Vec::new();
    let mut joints: Vec<(&Rc<ValueStrategy>, usize)> = Vec::new();
    let mut places = Vec::with_capacity(strategies.len());
    for s in strategies {
        match s.part() {
            Some((whole, item)) => {
                let unit = match joints.iter().find(|(w, _)| Rc::ptr_eq(w, whole)) {
                    Some(&(_, unit)) => unit,
                    None => {
                        units.push((**whole).clone());
                        joints.push((whole, units.len() - 1));
                        units.len() - 1
                    }
                };
                places.push((unit, Some(item)));
            }
            None => {
                units.push(s.clone());
                places.push((units.len() - 1, None));
            }
        }
    }
    Some(Layout { units, places })
}

/// The parameters' values from the units' values. A part beyond the end of its unit's tuple is
/// an optional parameter left out (only trailing parameters are optional).
fn place(places: &[(usize, Option<usize>)], mut values: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(places.len());
    for &(unit, item) in places {
        match item {
            None => out.push(std::mem::replace(&mut values[unit], Value::None)),
            Some(k) => match &values[unit] {
                Value::Tuple(items) => out.extend(items.get(k).cloned()),
                _ => out.push(Value::None),
            },
        }
    }
    out
}

/// The runner that draws case `index` of the run with `seed`.
pub fn case_runner(seed: u64, index: u64) -> TestRunner {
    crate::strategy::seeded::seeded_runner(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

/// Whether case `index` of the run with `seed` draws from the hostile alternatives, which
/// `per_mille` of the cases do (decided by a hash of the two, apart from the case's own draws).
pub fn hostile_case(seed: u64, index: u64, per_mille: u32) -> bool {
    let mut z = seed ^ 0x6A09_E667_F3BC_C908 ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z % 1000 < u64::from(per_mille)
}

/// Whether a case before `index` of the run with `seed` drew from the hostile alternatives.
pub fn hostile_before(strategies: &[ValueStrategy], seed: u64, index: u64) -> bool {
    let per_mille = strategies.iter().find_map(|s| s.hostile().map(|h| h.1));
    per_mille.is_some_and(|p| p > 0 && (0..index).any(|i| hostile_case(seed, i, p)))
}

/// The strategies case `index` draws from: the hostile alternatives for a hostile case.
fn select(strategies: &[ValueStrategy], seed: u64, index: u64) -> Vec<ValueStrategy> {
    let per_mille = strategies.iter().find_map(|s| s.hostile().map(|h| h.1));
    match per_mille {
        Some(p) if hostile_case(seed, index, p) => strategies
            .iter()
            .map(|s| s.hostile().map_or_else(|| s.clone(), |h| h.0.clone()))
            .collect(),
        _ => strategies.to_vec(),
    }
}

/// The arguments of case `index` (what a worker calls the function with).
pub fn generate_case(strategies: &[ValueStrategy], seed: u64, index: u64) -> Vec<Value> {
    let strategies = &select(strategies, seed, index)[..];
    let mut runner = case_runner(seed, index);
    let draw = |units: &[ValueStrategy], runner: &mut TestRunner| -> Vec<Value> {
        units
            .iter()
            .map(|s| s.generate(runner).unwrap_or(Value::None))
            .collect()
    };
    match layout(strategies) {
        None => draw(strategies, &mut runner),
        Some(l) => place(&l.places, draw(&l.units, &mut runner)),
    }
}

/// The value tree of case `index`, for shrinking (its current value equals [`generate_case`]).
pub fn case_tree(strategies: &[ValueStrategy], seed: u64, index: u64) -> Option<ArgsTree> {
    let strategies = &select(strategies, seed, index)[..];
    let mut runner = case_runner(seed, index);
    let (units, places) = match layout(strategies) {
        Some(l) => (l.units, Some(l.places)),
        None => (strategies.to_vec(), None),
    };
    let elems = units
        .iter()
        .map(|s| s.new_tree(&mut runner).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(ArgsTree {
        strategies: units,
        places,
        elems,
        ix: 0,
        progress: false,
        passes_left: 4,
        moved: false,
        stuck: false,
    })
}

/// Shrinks a call's arguments one at a time, in several passes: after one argument shrinks,
/// an earlier one may shrink further (`f(x=10**11, lo=5, hi=9)` → `f(101, 0, 0)` needs `x`
/// revisited once `hi` is 0). proptest's own vector tree makes a single pass and ends the
/// whole shrink when one element cannot go back.
///
/// The parts of a joint strategy shrink together, as one value.
pub struct ArgsTree {
    /// One per unit (see [`generate_case`]).
    strategies: Vec<ValueStrategy>,
    /// Where each parameter comes from, when parameters and units differ.
    places: Option<Vec<(usize, Option<usize>)>>,
    elems: Vec<Box<dyn ValueTree<Value = Value>>>,
    ix: usize,
    progress: bool,
    passes_left: u32,
    /// The last step changed the value (so a `simplify` now means it still failed).
    moved: bool,
    /// The current argument could not go back on the last `complicate`.
    stuck: bool,
}

impl std::fmt::Debug for ArgsTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ArgsTree({:?})", self.current())
    }
}

impl ValueTree for ArgsTree {
    type Value = Vec<Value>;

    fn current(&self) -> Vec<Value> {
        let values = self.elems.iter().map(|e| e.current()).collect();
        match &self.places {
            None => values,
            Some(places) => place(places, values),
        }
    }

    fn simplify(&mut self) -> bool {
        if self.moved {
            self.progress = true;
        }
        self.stuck = false;
        loop {
            if self.ix >= self.elems.len() {
                if !self.progress || self.passes_left == 0 {
                    return false;
                }
                // Another pass, with fresh candidates for every argument that can have them.
                self.passes_left -= 1;
                self.progress = false;
                self.ix = 0;
                for (e, s) in self.elems.iter_mut().zip(&self.strategies) {
                    if let Some(t) = s.tree_from(e.current()) {
                        *e = t;
                    }
                }
            }
            if self.elems[self.ix].simplify() {
                self.moved = true;
                return true;
            }
            self.ix += 1;
        }
    }

    fn complicate(&mut self) -> bool {
        let Some(e) = self.elems.get_mut(self.ix) else {
            return false;
        };
        // Back to (or toward) the last failing value. If the argument cannot move, answer true
        // once anyway, so the runner re-tests the failing value and goes on to the next argument
        // instead of ending the whole shrink.
        if e.complicate() {
            self.stuck = false;
            self.moved = true;
            true
        } else if self.stuck {
            false
        } else {
            self.stuck = true;
            self.moved = false;
            true
        }
    }
}

/// The arguments as a Python tuple expression and its import lines.
pub fn args_source(args: &[Value]) -> (String, Vec<String>) {
    let mut r = Renderer::new();
    let parts: Vec<String> = args.iter().map(|a| r.render(a)).collect();
    let tuple = match parts.len() {
        1 => format!("({},)", parts[0]),
        _ => format!("({})", parts.join(", ")),
    };
    (tuple, r.into_imports().into_iter().collect())
}

/// Whether case `index` gets the (costly) memory check: with `every == u64::MAX` (the default)
/// cases 0, 1, 2, 4, 8, 16, ... — leaks usually show on most inputs, so a logarithmic sample
/// finds them at a fraction of the cost; with another `every`, each `every`-th case; 0: none.
pub fn memory_case(every: u64, index: u64) -> bool {
    match every {
        0 => false,
        u64::MAX => index < 3 || index.is_power_of_two(),
        n => index % n == 0,
    }
}

/// Candidates tried at most while shrinking one finding.
pub const SHRINK_STEPS: u32 = 2000;

/// A runner for shrinking a case's tree with proptest's own limits off: when proptest hits them
/// it prints a message naming its environment variables, which mean nothing to a pyz3 user. A
/// [`Budgeted`] tree keeps pyz3's limits and says when it stopped.
pub fn shrink_runner() -> TestRunner {
    TestRunner::new(Config {
        failure_persistence: None,
        // `u32::MAX` would mean "4 × cases".
        max_shrink_iters: u32::MAX - 1,
        max_shrink_time: 0,
        verbose: 0,
        ..Config::default()
    })
}

/// Why a [`Budgeted`] shrink stopped early, readable after the tree has gone to proptest.
#[derive(Clone, Debug, Default)]
pub struct ShrinkStop(Rc<RefCell<Option<String>>>);

impl ShrinkStop {
    /// One line saying that shrinking stopped at its limit and that the finding is reported as
    /// far as it got; `None` when shrinking finished.
    pub fn message(&self) -> Option<String> {
        self.0.borrow().clone()
    }
}

/// A value tree that shrinks within a number of steps and a time limit: past either it answers
/// `false` and stays at the last value known to fail, so proptest reports that value.
pub struct Budgeted<T: ValueTree> {
    inner: T,
    steps: u32,
    max_steps: u32,
    /// When shrinking began: the first step (the start value's own replay does not count).
    start: Option<Instant>,
    /// `None`: no time limit.
    max_time: Option<Duration>,
    /// The last value known to fail (each `simplify` follows a failure).
    last_failing: Option<T::Value>,
    /// Set once a limit is hit: the value reported from then on.
    stopped_at: Option<T::Value>,
    stop: ShrinkStop,
}

impl<T: ValueTree> std::fmt::Debug for Budgeted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Budgeted({:?}, step {})",
            self.inner.current(),
            self.steps
        )
    }
}

impl<T: ValueTree> Budgeted<T>
where
    T::Value: Clone,
{
    /// `inner`, limited to `max_steps` candidates and `max_time` (`Duration::ZERO`: no time
    /// limit); the handle says afterwards whether a limit was hit.
    pub fn new(inner: T, max_steps: u32, max_time: Duration) -> (Self, ShrinkStop) {
        let stop = ShrinkStop::default();
        let tree = Budgeted {
            inner,
            steps: 0,
            max_steps,
            start: None,
            max_time: (!max_time.is_zero()).then_some(max_time),
            last_failing: None,
            stopped_at: None,
            stop: stop.clone(),
        };
        (tree, stop)
    }

    /// Whether a limit is hit; if so, stops at the last failing value and says why.
    fn over(&mut self) -> bool {
        if self.stopped_at.is_some() {
            return true;
        }
        let elapsed = self.start.get_or_insert_with(Instant::now).elapsed();
        let why = if self.steps >= self.max_steps {
            format!("after {} steps", self.steps)
        } else if self.max_time.is_some_and(|t| elapsed > t) {
            format!("at its time limit, after {}", seconds(elapsed))
        } else {
            self.steps += 1;
            return false;
        };
        self.stopped_at = Some(
            self.last_failing
                .clone()
                .unwrap_or_else(|| self.inner.current()),
        );
        *self.stop.0.borrow_mut() = Some(format!(
            "shrinking stopped {why}; the finding is reported as far as it got"
        ));
        true
    }
}

/// A duration for a message: `850 ms`, `30.0 s`.
fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl<T: ValueTree> ValueTree for Budgeted<T>
where
    T::Value: Clone,
{
    type Value = T::Value;

    fn current(&self) -> T::Value {
        match &self.stopped_at {
            Some(v) => v.clone(),
            None => self.inner.current(),
        }
    }

    fn simplify(&mut self) -> bool {
        if self.stopped_at.is_none() {
            self.last_failing = Some(self.inner.current());
        }
        !self.over() && self.inner.simplify()
    }

    fn complicate(&mut self) -> bool {
        !self.over() && self.inner.complicate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::test_runner::{TestCaseError, TestError};

    /// Shrinks `2**40` under "fails from 1000 up" within the limits: the value reported, and
    /// why shrinking stopped early.
    fn shrink(max_steps: u32, max_time: Duration) -> (i64, Option<String>) {
        let start = proptest::num::i64::BinarySearch::new(1 << 40);
        let (tree, stop) = Budgeted::new(start, max_steps, max_time);
        let result = shrink_runner().run_one(tree, |x| {
            if x >= 1000 {
                Err(TestCaseError::fail("big"))
            } else {
                Ok(())
            }
        });
        match result {
            Err(TestError::Fail(_, v)) => (v, stop.message()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shrinking_stops_at_the_last_failure_and_says_why() {
        assert_eq!(shrink(10_000, Duration::ZERO), (1000, None));
        let (v, why) = shrink(5, Duration::ZERO);
        assert!((1000..1 << 40).contains(&v), "{v}");
        assert_eq!(
            why.as_deref(),
            Some("shrinking stopped after 5 steps; the finding is reported as far as it got")
        );
        let (v, why) = shrink(10_000, Duration::from_nanos(1));
        assert!(v >= 1000, "{v}");
        let why = why.unwrap();
        assert!(
            why.starts_with("shrinking stopped at its time limit, after ")
                && why.ends_with(" ms; the finding is reported as far as it got"),
            "{why}"
        );
    }
}
