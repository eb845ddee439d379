//! Case generation for the runner.
//!
//! Case `i` of a run is drawn from a proptest runner seeded by `(seed, i)`, so the runner can
//! send it to a worker and later rebuild exactly that case's value tree to shrink it.

use proptest::strategy::{Strategy, ValueTree};

use proptest::test_runner::TestRunner;

use crate::strategy::{Registry, Size, ValueStrategy};
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
pub fn arg_strategies(
    names: &[String],
    types: &[String],
    scale: usize,
) -> crate::Result<ArgStrategies> {
    let registry = Registry::new(size_for(scale));
    let mut strategies = Vec::with_capacity(types.len());
    let mut warnings = Vec::new();
    for (name, ty) in names.iter().zip(types) {
        let ts = registry
            .resolve(ty)
            .map_err(|e| crate::Error::Usage(format!("parameter `{name}`: {e}")))?;
        warnings.extend(
            ts.warnings
                .into_iter()
                .map(|w| format!("parameter `{name}`: {w}")),
        );
        strategies.push(ts.strategy);
    }
    Ok(ArgStrategies {
        strategies,
        warnings,
    })
}

/// The runner that draws case `index` of the run with `seed`.
pub fn case_runner(seed: u64, index: u64) -> TestRunner {
    crate::sample::seeded_runner(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
    )
}

/// The arguments of case `index` (what a worker calls the function with).
pub fn generate_case(strategies: &[ValueStrategy], seed: u64, index: u64) -> Vec<Value> {
    let mut runner = case_runner(seed, index);
    strategies
        .iter()
        .map(|s| s.generate(&mut runner).unwrap_or(Value::None))
        .collect()
}

/// The value tree of case `index`, for shrinking (its current value equals [`generate_case`]).
pub fn case_tree(strategies: &[ValueStrategy], seed: u64, index: u64) -> Option<ArgsTree> {
    let mut runner = case_runner(seed, index);
    let elems = strategies
        .iter()
        .map(|s| s.new_tree(&mut runner).ok())
        .collect::<Option<Vec<_>>>()?;
    Some(ArgsTree {
        strategies: strategies.to_vec(),
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
pub struct ArgsTree {
    strategies: Vec<ValueStrategy>,
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
        self.elems.iter().map(|e| e.current()).collect()
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
