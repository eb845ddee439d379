//! Shrinking a finding: from the value tree of the case that showed it, replaying smaller
//! candidates one by one until none still shows it.
//!
//! For the runner. A candidate counts only when it shows a finding of the same kind; one that
//! crashes or hangs costs a fresh worker. A first case that does not show its finding again
//! when replayed alone is reported as first seen, with a note (see [`NOT_REPRODUCED`]).

use std::cell::RefCell;

use proptest::test_runner::{TestCaseError, TestError};

use super::cases::{args_source, case_tree, shrink_runner, Budgeted, SHRINK_STEPS};
use super::protocol::Setup;
use super::runner::{check_case, costly_checks, CheckOptions};
use crate::report::{Finding, FindingKind, Observation};
use crate::strategy::ValueStrategy;
use crate::target::Target;
use crate::value::Value;
use crate::Error;

/// Ends the message of a finding whose case did not show it again when replayed alone.
pub const NOT_REPRODUCED: &str = "(did not reproduce when replayed alone)";

/// The cases of one function, to shrink its findings.
pub(super) struct Cases<'a> {
    pub target: &'a Target,
    pub setup: &'a Setup,
    pub options: &'a CheckOptions,
    pub strategies: &'a [ValueStrategy],
}

/// A shrunk finding and its minimal arguments.
type Shrunk = crate::Result<(Finding, Vec<Value>)>;

impl Cases<'_> {
    /// Shrinks the first case of `kind`. A first case whose finding does not come back when
    /// replayed alone (it depended on what ran before it in the worker) gives way to the first
    /// of the `later` cases of the kind that does. The case shrunk, its observation and the
    /// result.
    pub fn shrink_replayable(
        &self,
        kind: FindingKind,
        first: (u64, Observation),
        later: Vec<(u64, Observation)>,
        notes: &mut Vec<String>,
    ) -> (u64, Observation, Shrunk) {
        let run = |index: u64, o: &Observation, notes: &mut Vec<String>| {
            let (t, s, opts) = (self.target, self.setup, self.options);
            shrink(t, s, opts, self.strategies, kind, index, o.clone(), notes)
        };
        let unreplayed =
            |s: &Shrunk| matches!(s, Ok((f, _)) if f.message.ends_with(NOT_REPRODUCED));
        let (mut index, mut observation) = first;
        let mut shrunk = run(index, &observation, notes);
        for (i, o) in later {
            if !unreplayed(&shrunk) {
                break;
            }
            let again = run(i, &o, notes);
            if again.is_ok() && !unreplayed(&again) {
                (shrunk, index, observation) = (again, i, o);
            }
        }
        (index, observation, shrunk)
    }
}

/// The longest time spent shrinking a hang (less when `--shrink-time` is less).
const TIMEOUT_SHRINK_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Shrinks the first failing case of one kind; the finding and its minimal arguments.
#[allow(clippy::too_many_arguments)]
fn shrink(
    target: &Target,
    setup: &Setup,
    options: &CheckOptions,
    strategies: &[crate::strategy::ValueStrategy],
    kind: FindingKind,
    index: u64,
    observation: Observation,
    notes: &mut Vec<String>,
) -> crate::Result<(Finding, Vec<Value>)> {
    let slot = RefCell::new(None);
    let last = RefCell::new(observation.clone());
    let failure: RefCell<Option<Error>> = RefCell::new(None);
    let memory = costly_checks(kind, options);
    let mut minimal = None;
    if options.max_shrink_time.is_zero() {
        // No shrinking: the finding as first seen.
        minimal = case_tree(strategies, options.seed, index)
            .map(|t| proptest::strategy::ValueTree::current(&t));
    } else if let Some(tree) = case_tree(strategies, options.seed, index) {
        let original = proptest::strategy::ValueTree::current(&tree);
        // Every candidate that still hangs costs the whole time limit: a hang gets a shorter
        // budget, so that slow inputs (most of what hangs at first) do not cost half a minute
        // each before they are retried and found to finish.
        let budget = if kind == FindingKind::Timeout {
            options.max_shrink_time.min(TIMEOUT_SHRINK_TIME)
        } else {
            options.max_shrink_time
        };
        let (tree, stop) = Budgeted::new(tree, SHRINK_STEPS, budget);
        let mut runner = shrink_runner();
        let result = runner.run_one(tree, |args: Vec<Value>| {
            if failure.borrow().is_some() {
                return Ok(());
            }
            // Findings that need luck to show (flaky results, races) get a few tries.
            let tries = if kind == FindingKind::Nondeterministic {
                4
            } else {
                1
            };
            for _ in 0..tries {
                match check_case(&slot, setup, options, target, &args, memory) {
                    Ok(Some(o)) if o.kind == kind => {
                        *last.borrow_mut() = o;
                        return Err(TestCaseError::fail(kind.name()));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        *failure.borrow_mut() = Some(e);
                        return Ok(());
                    }
                }
            }
            Ok(())
        });
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        notes.extend(stop.message().map(|m| format!("{}: {m}", kind.name())));
        minimal = Some(match result {
            Err(TestError::Fail(_, v)) => v,
            // The finding did not come back on replay (flaky): report the original case.
            _ => {
                let mut o = last.borrow_mut();
                o.message = format!("{}\n{NOT_REPRODUCED}", o.message);
                original
            }
        });
    }
    let args = minimal.unwrap_or_default();
    let finding = unshrunk_finding(kind, &args, last.into_inner());
    Ok((finding, args))
}

/// The finding of `kind` for a call on `args`, as observed.
pub(super) fn unshrunk_finding(
    kind: FindingKind,
    args: &[Value],
    observation: Observation,
) -> Finding {
    let (input, imports) = args_source(args);
    let mut finding = Finding::observed(kind, input, imports, observation);
    let mut hostile = Vec::new();
    for a in args {
        a.visit_hostile(&mut |h| hostile.extend(h.describe()));
    }
    // The classes of hostile values and callbacks belong to the finding: the reproducer
    // defines them (and, for a hostile one, the message says which method did what).
    let mut r = crate::value::Renderer::new();
    for a in args {
        r.render(a);
    }
    finding.definitions = r.definitions();
    if !hostile.is_empty() {
        hostile.dedup();
        finding.message = format!(
            "{}\nwith hostile values in the arguments:\n{}",
            finding.message,
            hostile
                .iter()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    finding
}
