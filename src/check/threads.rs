//! Thread safety: the function called from several threads at once (`pyz3 check --threads N`).
//!
//! For [`super::runner`], after a function's ordinary cases. Up to [`POOL`] cases that ran
//! clean alone go to a fresh worker with one scenario at a time (see `threads.py`, the code
//! that runs the rounds, and [`Scenario`]). What goes wrong there and not alone is a
//! [`FindingKind::ThreadSafety`] finding: it is replayed in fresh workers until it shows again,
//! with fewer threads when that still shows it, then its arguments are shrunk while it keeps
//! showing within a fixed number of rounds.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestError};

use super::cases::{args_source, case_tree, generate_case, shrink_runner, ArgsTree, Budgeted};
use super::pool::{bytes_list_pickle, push_frame, Event, Phase};
use super::protocol::{Reply, Request, Setup};
use super::runner::{start, CheckOptions};
use crate::report::{Finding, FindingKind, Observation, ThreadContext};
use crate::strategy::ValueStrategy;
use crate::value::Value;

/// How the threads of a round get their arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Every thread its own argument objects; each result must be the result alone.
    Own,
    /// Every thread the same argument objects; each result must be the result alone.
    Shared,
    /// Shared arguments whose containers one thread keeps changing; crashes, hangs,
    /// `SystemError`s and exceptions never raised alone count.
    Changing,
}

impl Scenario {
    /// In the order they run.
    pub const ALL: [Scenario; 3] = [Scenario::Own, Scenario::Shared, Scenario::Changing];

    /// The name in JSON and in the worker protocol.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Own => "own-arguments",
            Scenario::Shared => "shared-arguments",
            Scenario::Changing => "shared-changing",
        }
    }

    /// Words for messages.
    pub fn words(self) -> &'static str {
        match self {
            Scenario::Own => "own arguments",
            Scenario::Shared => "shared arguments",
            Scenario::Changing => "shared arguments changed by another thread",
        }
    }

    /// Time for one scenario when looking for a failure.
    fn budget(self) -> Duration {
        match self {
            Scenario::Own => Duration::from_millis(600),
            Scenario::Shared => Duration::from_millis(500),
            Scenario::Changing => Duration::from_millis(600),
        }
    }
}

/// Rounds a scenario runs even past its time (up to three times it) when looking for a failure.
const MIN_ROUNDS: u64 = 200;
/// Cases (each clean alone) a scenario draws its arguments from.
pub const POOL: usize = 16;
/// Rounds and time a replay may take to show a failure again.
const REPLAY_ROUNDS: u64 = 4000;
const REPLAY_TIME: Duration = Duration::from_millis(600);
/// The same for each candidate while shrinking (a candidate that does not show the failure
/// costs all of it).
const SHRINK_REPLAY_TIME: Duration = Duration::from_millis(300);
/// Replays of the first failure before it counts as not reproducible.
const CONFIRM_TRIES: u32 = 3;
/// The longest a thread-safety finding is shrunk.
const SHRINK_TIME: Duration = Duration::from_secs(10);

/// The number of threads `--threads` means by default on a free-threaded interpreter: the
/// CPUs, at least 4.
pub fn default_threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(4)
        .max(4)
}

/// What one run of a scenario gave.
enum Run {
    /// No failure in the rounds run.
    Clean,
    /// The scenario does not apply (no mutable argument, no case clean alone).
    Skipped,
    /// A failure: the round, the cases (positions in the list sent) its threads had, and what.
    Found {
        round: u64,
        cases: Vec<usize>,
        observation: Observation,
    },
    /// Something went wrong outside the rounds (a call alone crashed or hung, the worker
    /// broke): not a thread-safety finding; the note says what.
    Aside(String),
}

/// One function's thread-safety check: where it is and how to run it.
pub(super) struct ThreadCheck<'a> {
    pub setup: &'a Setup,
    pub options: &'a CheckOptions,
    pub strategies: &'a [ValueStrategy],
    pub threads: u32,
}

impl ThreadCheck<'_> {
    /// Runs the scenarios on `clean` (case indices that ran clean alone); the first failure,
    /// confirmed and shrunk, as a finding. Notes (why the check stopped early) go to
    /// `warnings`.
    pub fn run(&self, clean: &[u64], warnings: &mut Vec<String>) -> crate::Result<Option<Finding>> {
        let o = self.options;
        let started = Instant::now();
        let indices = pool(clean, |i| {
            crate::value::args_pickle(&generate_case(self.strategies, o.seed, i))
                .map_or(0, |p| p.len())
        });
        if indices.is_empty() {
            return Ok(None);
        }
        let cases: Vec<Vec<Value>> = indices
            .iter()
            .map(|&i| generate_case(self.strategies, o.seed, i))
            .collect();
        for scenario in Scenario::ALL {
            let budget = scenario.budget();
            match self.once(scenario, self.threads, &cases, false, u64::MAX, budget)? {
                Run::Clean | Run::Skipped => continue,
                Run::Aside(note) => {
                    warnings.push(format!("threads: {note}; the thread-safety check stopped"));
                    return Ok(None);
                }
                Run::Found {
                    round,
                    cases: positions,
                    observation,
                } => {
                    let at: Vec<u64> = positions.iter().map(|&p| indices[p]).collect();
                    let seconds = started.elapsed().as_secs_f64();
                    let mut finding = self.settle(scenario, round, &at, observation, warnings)?;
                    if let Some(ctx) = &mut finding.threads {
                        ctx.seconds = (seconds * 1000.0).round() / 1000.0;
                    }
                    return Ok(Some(finding));
                }
            }
        }
        Ok(None)
    }

    /// Runs `scenario` once in a fresh worker.
    fn once(
        &self,
        scenario: Scenario,
        threads: u32,
        cases: &[Vec<Value>],
        fixed: bool,
        rounds: u64,
        budget: Duration,
    ) -> crate::Result<Run> {
        let o = self.options;
        let (mut w, _) = start(self.setup, o)?;
        w.send(&Request::Threads {
            scenario: scenario.name().to_string(),
            threads,
            rounds,
            budget_ms: budget.as_millis() as u64,
            min_rounds: if fixed { 0 } else { MIN_ROUNDS },
            fixed,
        });
        let pickles: Vec<Vec<u8>> = cases
            .iter()
            .map(|c| crate::value::args_pickle(c).unwrap_or_default())
            .collect();
        let mut frames = Vec::new();
        push_frame(&mut frames, b'B', &bytes_list_pickle(&pickles));
        w.send_frames(frames);
        // Calls alone (two per case, more for the changing scenario), then the rounds.
        let per_call = Duration::from_millis(o.timeout_ms);
        let deadline = budget * 3 + per_call * (cases.len() as u32 * 4) + Duration::from_secs(30);
        let mut usable: Vec<usize> = Vec::new();
        let words = scenario.words();
        loop {
            let assign = |round: u64| assignment(scenario, threads, &usable, round, fixed);
            return Ok(match w.recv(deadline) {
                Event::Reply(Reply::Baseline { usable: u }) => {
                    usable = u.into_iter().map(|p| p as usize).collect();
                    continue;
                }
                Event::Reply(Reply::Threads {
                    finding: Some(observation),
                    round,
                    cases,
                    ..
                }) => Run::Found {
                    round: round.unwrap_or(0),
                    cases: cases.into_iter().map(|p| p as usize).collect(),
                    observation,
                },
                Event::Reply(Reply::Threads {
                    skipped: Some(_), ..
                }) => Run::Skipped,
                Event::Reply(Reply::Threads { .. }) => Run::Clean,
                Event::Exited {
                    how,
                    stderr,
                    mark: Some(mark),
                } if mark.phase == Phase::Threads => Run::Found {
                    round: mark.index,
                    cases: assign(mark.index),
                    observation: Observation {
                        kind: FindingKind::ThreadSafety,
                        message: format!(
                            "{words}, {threads} threads, round {}: the process {how}; the same \
                             calls made alone do not crash",
                            mark.index
                        ),
                        traceback: (!stderr.trim().is_empty()).then_some(stderr),
                    },
                },
                Event::Hung(mark) if mark.phase == Phase::Threads => Run::Found {
                    round: mark.index,
                    cases: assign(mark.index),
                    observation: Observation {
                        kind: FindingKind::ThreadSafety,
                        message: format!(
                            "{words}, {threads} threads, round {}: the round was still running \
                             after {} ms (the same calls alone take at most {} ms each)",
                            mark.index,
                            mark.running.as_millis(),
                            o.timeout_ms
                        ),
                        traceback: None,
                    },
                },
                Event::Exited { how, stderr, .. } => Run::Aside(format!(
                    "the worker {how} outside the rounds ({words}){}",
                    stderr
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .map(|l| format!(": {}", l.trim()))
                        .unwrap_or_default()
                )),
                Event::Hung(_) => Run::Aside(format!(
                    "a call alone outlived its limit while preparing the rounds ({words})"
                )),
                Event::Silent => Run::Aside(format!("no reply within {} s", deadline.as_secs())),
                Event::Garbled(m) | Event::Reply(Reply::Error { message: m }) => Run::Aside(m),
                Event::Reply(other) => Run::Aside(format!("unexpected reply {other:?}")),
            });
        }
    }

    /// Replays `cases` (one per thread, or one shared) with `threads` threads until the
    /// failure shows again; the round and what went wrong, if it did.
    fn replay(
        &self,
        scenario: Scenario,
        threads: u32,
        cases: &[Vec<Value>],
        time: Duration,
    ) -> crate::Result<Option<(u64, Observation)>> {
        Ok(
            match self.once(scenario, threads, cases, true, REPLAY_ROUNDS, time)? {
                Run::Found {
                    round, observation, ..
                } => Some((round, observation)),
                _ => None,
            },
        )
    }

    /// Confirms a failure by replaying it, tries fewer threads, shrinks the arguments, and
    /// makes the finding.
    fn settle(
        &self,
        scenario: Scenario,
        round: u64,
        at: &[u64],
        first: Observation,
        warnings: &mut Vec<String>,
    ) -> crate::Result<Finding> {
        let o = self.options;
        let mut indices = at.to_vec();
        let mut threads = self.threads;
        let values = |ix: &[u64]| -> Vec<Vec<Value>> {
            ix.iter()
                .map(|&i| generate_case(self.strategies, o.seed, i))
                .collect()
        };
        let mut last = (round, first.clone());
        let mut confirmed = false;
        for _ in 0..CONFIRM_TRIES {
            if let Some(seen) = self.replay(scenario, threads, &values(&indices), REPLAY_TIME)? {
                last = seen;
                confirmed = true;
                break;
            }
        }
        if !confirmed {
            let mut observation = first;
            observation.message.push_str(&format!(
                "\n(did not show again in {CONFIRM_TRIES} replays of up to {REPLAY_ROUNDS} \
                 rounds: a rare interleaving)"
            ));
            return Ok(self.finding(scenario, threads, round, &values(&indices), observation));
        }
        // Fewer threads (at least two), when the failure still shows with them (part of
        // shrinking: not when it is off).
        let most = if o.max_shrink_time.is_zero() {
            2
        } else {
            threads
        };
        for fewer in 2..most {
            let ix: Vec<u64> = if scenario == Scenario::Own {
                indices.iter().copied().take(fewer as usize).collect()
            } else {
                indices.clone()
            };
            if let Some(seen) = self.replay(scenario, fewer, &values(&ix), REPLAY_TIME)? {
                threads = fewer;
                indices = ix;
                last = seen;
                break;
            }
        }
        // The arguments, while the failure keeps showing within the replay's rounds.
        let trees: Option<Vec<ArgsTree>> = indices
            .iter()
            .map(|&i| case_tree(self.strategies, o.seed, i))
            .collect();
        let mut shrunk = values(&indices);
        if o.max_shrink_time.is_zero() {
            // No shrinking asked for.
        } else if let Some(trees) = trees {
            let limit = SHRINK_TIME.min(o.max_shrink_time);
            let (tree, stop) = Budgeted::new(
                CasesTree { trees, ix: 0 },
                super::cases::SHRINK_STEPS,
                limit,
            );
            let failure: RefCell<Option<crate::Error>> = RefCell::new(None);
            let seen = RefCell::new(last.clone());
            let started = Instant::now();
            let result = shrink_runner().run_one(tree, |cases: Vec<Vec<Value>>| {
                if failure.borrow().is_some() {
                    return Ok(());
                }
                match self.replay(scenario, threads, &cases, SHRINK_REPLAY_TIME) {
                    Ok(Some(s)) => {
                        *seen.borrow_mut() = s;
                        Err(TestCaseError::fail("thread-safety"))
                    }
                    Ok(None) => Ok(()),
                    Err(e) => {
                        *failure.borrow_mut() = Some(e);
                        Ok(())
                    }
                }
            });
            if let Some(e) = failure.into_inner() {
                warnings.push(format!("thread-safety: shrinking stopped: {e}"));
            } else if let Err(TestError::Fail(_, v)) = result {
                shrunk = v;
                last = seen.into_inner();
            }
            if let Some(m) = stop.message() {
                warnings.push(format!(
                    "thread-safety: {m} ({} s of replays)",
                    started.elapsed().as_secs()
                ));
            }
        }
        Ok(self.finding(scenario, threads, last.0, &shrunk, last.1))
    }

    fn finding(
        &self,
        scenario: Scenario,
        threads: u32,
        round: u64,
        cases: &[Vec<Value>],
        observation: Observation,
    ) -> Finding {
        let mut imports: Vec<String> = Vec::new();
        let inputs: Vec<String> = cases
            .iter()
            .map(|c| {
                let (source, more) = args_source(c);
                for m in more {
                    if !imports.contains(&m) {
                        imports.push(m);
                    }
                }
                source
            })
            .collect();
        let input = inputs.first().cloned().unwrap_or_else(|| "()".into());
        let mut finding = Finding::observed(FindingKind::ThreadSafety, input, imports, observation);
        // Generated callbacks (never armed here) need their classes in the reproducer.
        let mut r = crate::value::Renderer::new();
        cases.iter().flatten().for_each(|v| {
            r.render(v);
        });
        finding.definitions = r.definitions();
        finding.threads = Some(ThreadContext {
            scenario: scenario.name().to_string(),
            threads,
            round,
            inputs,
            seconds: 0.0,
        });
        finding
    }
}

/// The cases a scenario draws from: half the largest (by pickled size) of the first 1,000
/// clean ones, since longer calls leave wider windows for a race, and half the first ones
/// (small and edge values), in case order.
fn pool(clean: &[u64], size: impl Fn(u64) -> usize) -> Vec<u64> {
    let first: Vec<u64> = clean.iter().copied().take(1000).collect();
    let mut by_size: Vec<(usize, u64)> = first.iter().map(|&i| (size(i), i)).collect();
    by_size.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<u64> = by_size.iter().take(POOL / 2).map(|p| p.1).collect();
    for &i in &first {
        if chosen.len() >= POOL {
            break;
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// The cases (positions in `usable`'s list) round `round` gives its threads, as `threads.py`
/// assigns them: one per thread for own arguments, one shared otherwise.
fn assignment(
    scenario: Scenario,
    threads: u32,
    usable: &[usize],
    round: u64,
    fixed: bool,
) -> Vec<usize> {
    let m = usable.len() as u64;
    if m == 0 {
        return Vec::new();
    }
    match scenario {
        Scenario::Own => (0..threads as u64)
            .map(|t| {
                let k = if fixed {
                    t % m
                } else {
                    (round * threads as u64 + t) % m
                };
                usable[k as usize]
            })
            .collect(),
        _ => {
            let at = |r: u64| usable[(r % m) as usize];
            let mut cases = vec![at(round)];
            if round > 0 && m > 1 {
                cases.push(at(round - 1));
            }
            cases
        }
    }
}

/// Several cases shrunk one after another (each with its own [`ArgsTree`]).
struct CasesTree {
    trees: Vec<ArgsTree>,
    ix: usize,
}

impl std::fmt::Debug for CasesTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CasesTree({:?})", self.current())
    }
}

impl ValueTree for CasesTree {
    type Value = Vec<Vec<Value>>;

    fn current(&self) -> Vec<Vec<Value>> {
        self.trees.iter().map(|t| t.current()).collect()
    }

    fn simplify(&mut self) -> bool {
        while self.ix < self.trees.len() {
            if self.trees[self.ix].simplify() {
                return true;
            }
            self.ix += 1;
        }
        false
    }

    fn complicate(&mut self) -> bool {
        match self.trees.get_mut(self.ix) {
            Some(t) => t.complicate(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_takes_the_largest_cases_and_the_first_ones() {
        let clean: Vec<u64> = (0..40).filter(|i| i % 3 != 0).collect();
        // Sizes grow with the index: the 8 largest are the last 8 clean cases.
        let chosen = pool(&clean, |i| i as usize);
        assert_eq!(
            chosen,
            [1, 2, 4, 5, 7, 8, 10, 11, 28, 29, 31, 32, 34, 35, 37, 38]
        );
        assert_eq!(pool(&[3, 9], |_| 0), [3, 9]);
        assert!(pool(&[], |_| 0).is_empty());
    }

    #[test]
    fn rounds_assign_cases_as_the_worker_does() {
        let usable = [0, 2, 5];
        // Own arguments rotate through the usable cases, thread by thread.
        assert_eq!(assignment(Scenario::Own, 2, &usable, 0, false), [0, 2]);
        assert_eq!(assignment(Scenario::Own, 2, &usable, 1, false), [5, 0]);
        assert_eq!(assignment(Scenario::Own, 2, &usable, 7, true), [0, 2]);
        // Shared arguments: one case a round, and the one of the round before.
        assert_eq!(assignment(Scenario::Shared, 4, &usable, 4, false), [2, 0]);
        assert_eq!(assignment(Scenario::Changing, 4, &usable, 0, true), [0]);
        assert!(assignment(Scenario::Own, 4, &[], 0, false).is_empty());
    }
}
