//! The runner: checks one function over many cases, survives crashes, shrinks each finding.
//!
//! For library users and `pyz3 check`. The runner generates every case (see [`super::cases`])
//! and sends batches of them, pickled, to a worker running in the interpreter under test, which
//! answers per case. When a worker crashes or hangs, its watch page says which case and whose
//! code: that case becomes a finding and a fresh worker continues after it. At the end
//! each kind of finding is shrunk from its first failing case, replaying candidates one by one
//! (in fresh workers when they crash), and written out as a reproducer.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use super::cases::{arg_strategies_hostile_with, case_tree};
use super::pool::{Event, Mark, Phase, Spawn, Worker};
use super::protocol::{check_version, Reply, Request, Setup};
use super::shrink::{unshrunk_finding, Cases, NOT_REPRODUCED};
use super::slow::{retry, slow_input, Retry, SlowInput};
use crate::report::run::{FunctionEntry, SlowEntry};
use crate::report::{repro, Finding, FindingKind, Observation, RunReport};
use crate::target::Target;

use crate::project::python::Interpreter;
use crate::value::Value;
use crate::Error;

/// How to run the checks.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Cases per function.
    pub cases: u64,
    /// Seed of the run: the same seed checks the same cases.
    pub seed: u64,
    /// Per-call time limit.
    pub timeout_ms: u64,
    /// How long importing the module may take (`None`: 30 s, or 10 × `timeout_ms` if longer).
    pub import_timeout_ms: Option<u64>,
    /// Which cases get the memory check: every n-th; 0 never; `u64::MAX` (default) cases
    /// 0, 1, 2, 4, 8, 16, ...
    pub memory_every: u64,
    /// Size scale of generated values (0: default).
    pub size: usize,
    /// Where reproducers go (`None`: not written).
    pub repro_dir: Option<PathBuf>,
    /// The interpreter the function runs in (the worker program runs there).
    pub interpreter: Interpreter,
    /// Longest time spent shrinking one finding (zero: findings are reported as first seen).
    pub max_shrink_time: Duration,
    /// Skip the reference-count check.
    pub no_refcount: bool,
    /// When both the function and its oracle raise, whether they agree: `exact` (the same
    /// type), `related` (one a subclass of the other, the default) or `any`.
    pub oracle_exceptions: String,
    /// Threads for the thread-safety check after the ordinary cases (0: none). On by default
    /// on free-threaded interpreters ([`super::threads::default_threads`]).
    pub threads: u32,
    /// Cases (per mille) whose `Any` and `Callable` positions get hostile values (see
    /// [`crate::value::Hostile`]); 0 turns them off. Default 200.
    pub hostile_per_mille: u32,
    /// The hostile cases also get hostile subclasses in positions typed `int`, `list[...]`,
    /// ... (`--hostile-subclasses`). Default off.
    pub hostile_subclasses: bool,
}

/// The default share of cases with hostile values, per mille.
pub const DEFAULT_HOSTILE_PER_MILLE: u32 = 200;

impl CheckOptions {
    /// Defaults: 200 cases, seed 0, 1000 ms, memory check on cases 0, 1, 2, 4, 8, ..., reproducers in
    /// `.pyz3/repro`, workers run by `interpreter` (see [`Interpreter::select`]).
    pub fn new(interpreter: Interpreter) -> Self {
        CheckOptions {
            cases: 200,
            seed: 0,
            timeout_ms: 1000,
            memory_every: u64::MAX,
            size: 0,
            repro_dir: Some(PathBuf::from(".pyz3/repro")),
            max_shrink_time: Duration::from_secs(30),
            import_timeout_ms: None,
            no_refcount: false,
            oracle_exceptions: "related".into(),
            threads: if interpreter.free_threaded {
                super::threads::default_threads()
            } else {
                0
            },
            interpreter,
            hostile_per_mille: DEFAULT_HOSTILE_PER_MILLE,
            hostile_subclasses: false,
        }
    }
}

/// The outcome for one function.
#[derive(Clone, Debug)]
pub struct FunctionReport {
    /// Function name.
    pub name: String,
    /// Cases run.
    pub cases: u64,
    /// Findings, one per kind, shrunk.
    pub findings: Vec<Finding>,
    /// Strategy fallback warnings, and cases skipped for reasons of pyz3's own.
    pub warnings: Vec<String>,
    /// Inputs whose calls went over the time limit but finished within ten times it (not
    /// findings; see [`super::slow`]).
    pub slow: Vec<SlowInput>,
    /// Further cases over the limit, not retried (past [`super::slow::MAX_RETRIES`]).
    pub slow_more: u64,
    /// On a free-threaded interpreter: whether the GIL was on after importing the module (it
    /// re-enables it when the module does not declare `Py_mod_gil`). `None` on GIL builds.
    pub gil_enabled: Option<bool>,
}

/// The run report of `pyz3 check` over these function results (not yet naming the
/// interpreter: [`RunReport::ran_in`]).
pub fn run_report(module: &str, functions: &[FunctionReport]) -> RunReport {
    RunReport::check(
        module,
        functions.iter().any(|f| f.gil_enabled == Some(true)),
        functions
            .iter()
            .map(|f| FunctionEntry {
                name: f.name.clone(),
                cases: f.cases,
                findings: f.findings.iter().cloned().map(Into::into).collect(),
                slow_not_retried: f.slow_more,
            })
            .collect(),
        functions
            .iter()
            .flat_map(|f| {
                f.slow.iter().map(|s| SlowEntry {
                    function: f.name.clone(),
                    input: s.clone(),
                })
            })
            .collect(),
    )
}

fn setup_for(t: &Target, o: &CheckOptions) -> Setup {
    let mut target = t.clone();
    target.no_refcount |= o.no_refcount;
    Setup {
        target,
        size: o.size,
        oracle_exceptions: o.oracle_exceptions.clone(),
        timeout_ms: o.timeout_ms,
        memory_every: o.memory_every,
        no_result_work: false,
    }
}

/// Starts a worker in the options' interpreter and sets it up; `Err` names the problem (module
/// not importable, ...). Also says whether the GIL is on after the import (free-threaded builds).
pub(super) fn start(
    setup: &Setup,
    options: &CheckOptions,
) -> crate::Result<(Worker, Option<bool>)> {
    let python = &options.interpreter.executable;
    let mut w = Worker::spawn(&Spawn {
        python,
        free_threaded: options.interpreter.free_threaded,
        call_limit: Duration::from_millis(options.timeout_ms.max(1)),
        env: &options.interpreter.env,
    })
    .map_err(|e| Error::Usage(format!("cannot start {}: {e}", python.display())))?;
    w.send(&Request::Init {
        pickle_helpers: crate::value::PICKLE_HELPERS.to_string(),
    });
    w.send(&Request::Setup(setup.clone()));
    let limit = import_limit(options);
    match w.recv(limit) {
        Event::Reply(Reply::Ready {
            gil_enabled,
            version,
        }) => check_version(version)
            .map(|()| (w, gil_enabled))
            .map_err(Error::Usage),
        Event::Reply(Reply::Error { message }) => Err(Error::Usage(message)),
        Event::Reply(other) => Err(Error::Usage(format!("unexpected reply {other:?}"))),
        Event::Exited { how, stderr, .. } => Err(Error::Usage(format!(
            "the worker {how} while importing `{}`{}",
            setup.target.module,
            last_line(&stderr)
        ))),
        Event::Silent | Event::Hung(_) => Err(import_timed_out(&setup.target.module, limit)),
        Event::Garbled(message) => Err(Error::Usage(message)),
    }
}

/// How long importing the module (and the oracle) may take: `import_timeout_ms` if set, else
/// 30 s, or 10 times the per-call limit when that is longer.
pub fn import_limit(options: &CheckOptions) -> Duration {
    Duration::from_millis(
        options
            .import_timeout_ms
            .unwrap_or_else(|| options.timeout_ms.saturating_mul(10).max(30_000)),
    )
}

/// The error for an import that did not finish within `limit`.
pub fn import_timed_out(module: &str, limit: Duration) -> Error {
    Error::Usage(format!(
        "importing `{module}` did not finish within {} (a longer limit: --import-timeout-ms)",
        crate::process::seconds(limit)
    ))
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default()
}

pub(super) fn crash_observation(how: &str, stderr: &str) -> Observation {
    let traceback = if stderr.trim().is_empty() {
        None
    } else {
        Some(stderr.to_string())
    };
    // A debug build makes the interpreter's own result check fatal (NULL without an exception,
    // a result with one set): the same defect as a SystemError elsewhere.
    if stderr.contains("Fatal Python error: _Py_CheckFunctionResult")
        || stderr.contains("Assertion `_PyErr_Occurred(tstate)' failed")
    {
        let line = stderr
            .lines()
            .find(|l| l.starts_with("SystemError: "))
            .or_else(|| {
                stderr
                    .lines()
                    .find(|l| l.contains("_Py_CheckFunctionResult"))
            })
            .unwrap_or("SystemError");
        return Observation {
            kind: FindingKind::SystemError,
            message: format!(
                "{} (fatal in a debug build: the process {how})",
                line.trim()
            ),
            traceback,
        };
    }
    Observation {
        kind: FindingKind::Crash,
        message: format!("the process {how}"),
        traceback,
    }
}

pub(super) fn timeout_observation(elapsed_ms: u64, limit: u64) -> Observation {
    Observation {
        kind: FindingKind::Timeout,
        message: format!("a call was still running after {elapsed_ms} ms (limit {limit} ms)"),
        traceback: None,
    }
}

/// A generous backstop per case; the watch page stops a hung call much sooner.
pub(super) fn case_deadline(o: &CheckOptions) -> Duration {
    Duration::from_millis(o.timeout_ms.saturating_mul(6) + 10_000)
}

/// The most the memory check may take (`checks.py` skips it, with a note, for a function
/// whose calls are too slow for at least 100 calls a round within it).
pub(super) const MEMORY_CHECK_LIMIT: Duration = Duration::from_secs(60);

/// [`case_deadline`], plus [`MEMORY_CHECK_LIMIT`] when the case gets the memory check.
pub(super) fn case_deadline_with(o: &CheckOptions, memory: bool) -> Duration {
    case_deadline(o)
        + if memory {
            MEMORY_CHECK_LIMIT
        } else {
            Duration::ZERO
        }
}

/// Imports the module in a worker and sets up `target` (its oracle imported, its property
/// compiled) without running any case: `Err` names what is wrong.
pub fn validate(target: &Target, options: &CheckOptions) -> crate::Result<()> {
    let mut setup = setup_for(target, options);
    // Parameters do not matter here; none are generated.
    setup.target.param_names.clear();
    setup.target.param_types.clear();
    start(&setup, options).map(drop)
}

/// Checks one function; `progress` is called with the number of cases done.
pub fn check_function(
    target: &Target,
    options: &CheckOptions,
    progress: &mut dyn FnMut(u64),
) -> crate::Result<FunctionReport> {
    let mut setup = setup_for(target, options);
    let mut first: BTreeMap<FindingKind, (u64, Observation)> = BTreeMap::new();
    let mut later = BTreeMap::new();
    let (strategies, warnings) = match &target.strategies {
        Some(s) => {
            setup.target.param_types = vec!["Any".to_string(); s.len()];
            (s.clone(), Vec::new())
        }
        None => {
            let mut size = super::cases::size_for(options.size);
            if !options.interpreter.numpy {
                size = size.without_numpy();
            }
            let a = arg_strategies_hostile_with(
                &target.param_names,
                &target.param_types,
                target.optional,
                size,
                options.hostile_per_mille,
                options.hostile_subclasses,
            )?;
            (a.strategies, a.warnings)
        }
    };
    let mut warnings = warnings;
    let mut gil_enabled = None;
    // Cases with a finding, or skipped: the thread-safety check uses only the others.
    let mut failed: BTreeSet<u64> = BTreeSet::new();
    let (mut slow, mut slow_more) = (Vec::new(), 0);
    let done = if has_rust_property(target) {
        // A Rust property needs each case here after the worker has run it safely.
        let slot = RefCell::new(None);
        let mut done = 0;
        for index in 0..options.cases {
            let case = super::cases::generate_case(&strategies, options.seed, index);
            let memory = super::cases::memory_case(options.memory_every, index);
            if let Some(o) = check_case(&slot, &setup, options, target, &case, memory)? {
                first.entry(o.kind).or_insert((index, o));
            }
            done += 1;
            progress(done);
        }
        done
    } else {
        let mut batches = super::batches::Batches {
            setup: &mut setup,
            options,
            strategies: &strategies,
            first: &mut first,
            later: &mut later,
            warnings: &mut warnings,
            gil_enabled: &mut gil_enabled,
            failed: &mut failed,
            stop: false,
            slow: &mut slow,
            slow_more: &mut slow_more,
        };
        batches.run(progress)?
    };
    let mut thread_finding = None;
    if options.threads > 0 && setup.no_result_work {
        warnings.push(
            "threads: not checked: pyz3's own work on this function's results failed, and the \
             thread-safety check compares results"
                .to_string(),
        );
    } else if options.threads > 0 && !has_rust_property(target) {
        let clean: Vec<u64> = (0..done).filter(|i| !failed.contains(i)).collect();
        let check = super::threads::ThreadCheck {
            setup: &setup,
            options,
            strategies: &strategies,
            threads: options.threads.max(2),
        };
        thread_finding = check.run(&clean, &mut warnings)?;
    }
    let mut findings = Vec::new();
    let original: BTreeMap<u64, Vec<Value>> = first
        .values()
        .filter(|(_, o)| o.kind == FindingKind::Timeout)
        .map(|(i, _)| {
            (
                *i,
                super::cases::generate_case(&strategies, options.seed, *i),
            )
        })
        .collect();
    for (kind, (index, observation)) in first {
        let cases = Cases {
            target,
            setup: &setup,
            options,
            strategies: &strategies,
        };
        let later = later.remove(&kind).unwrap_or_default();
        let (index, observation, shrunk) =
            cases.shrink_replayable(kind, (index, observation), later, &mut warnings);
        let (finding, minimal) = match shrunk {
            Ok(found) => found,
            // Shrinking could not go on: the finding stays, as first seen.
            Err(e) => {
                warnings.push(format!("{}: shrinking stopped: {e}", kind.name()));
                let args = case_tree(&strategies, options.seed, index)
                    .map(|t| proptest::strategy::ValueTree::current(&t))
                    .unwrap_or_default();
                (unshrunk_finding(kind, &args, observation), args)
            }
        };
        // A finding that came after hostile cases and does not come back alone is what those
        // cases left in the worker (memory the extension freed and then used without crashing:
        // two objects sharing one freed block), not a bug of its case: after hostile cases,
        // only what a hostile case itself reports stands unreplayed.
        let hostile_kind = matches!(
            kind,
            FindingKind::Crash
                | FindingKind::Timeout
                | FindingKind::SystemError
                | FindingKind::Sanitizer
        );
        if !hostile_kind
            && finding.message.ends_with(NOT_REPRODUCED)
            && super::cases::hostile_before(&strategies, options.seed, index)
        {
            warnings.push(format!(
                "{}: not reported: seen only after cases with hostile values, and not when \
                 replayed alone",
                kind.name()
            ));
            continue;
        }
        // Unshrunk (`--shrink-time 0`), such a finding was never replayed: once, here, in a
        // fresh worker (a few times for a flaky result).
        if !hostile_kind
            && options.max_shrink_time.is_zero()
            && super::cases::hostile_before(&strategies, options.seed, index)
        {
            let tries = if kind == FindingKind::Nondeterministic {
                4
            } else {
                1
            };
            let fresh = RefCell::new(None);
            let back = (0..tries).any(|_| {
                let again = replay(
                    &fresh,
                    &setup,
                    options,
                    &minimal,
                    costly_checks(kind, options),
                );
                matches!(again, Ok(Some(o)) if o.kind == kind)
            });
            if !back {
                warnings.push(format!(
                    "{}: not reported: seen only after cases with hostile values, and not when \
                     replayed alone",
                    kind.name()
                ));
                continue;
            }
        }
        // Leak measurements must come back on a replay, and again in a fresh worker (state
        // built up by earlier cases can look like growth): otherwise they are noise.
        if matches!(kind, FindingKind::MemoryLeak | FindingKind::Refcount) {
            let fresh = RefCell::new(None);
            let again = replay(
                &fresh,
                &setup,
                options,
                &minimal,
                costly_checks(kind, options),
            )
            .unwrap_or(None);
            if finding.message.ends_with(NOT_REPRODUCED) || again.map(|o| o.kind) != Some(kind) {
                continue;
            }
        }
        let mut finding = finding;
        // A hang shrunk to another input is retried on it: a function whose time only grows
        // with its input shrinks to an input just over the limit, which is slow, not hung.
        if kind == FindingKind::Timeout && Some(&minimal) != original.get(&index) {
            match retry(&setup, options, &minimal) {
                Ok(Retry::Finished(ms)) => {
                    if ms > options.timeout_ms {
                        slow.push(slow_input(&minimal, ms, options.timeout_ms));
                    }
                    // No finding: nor a warning about how far its shrinking got.
                    let shrinking = format!("{}: shrinking stopped", kind.name());
                    warnings.retain(|w| !w.starts_with(&shrinking));
                    continue;
                }
                Ok(Retry::Hung(h)) => finding.message = h.message,
                Ok(Retry::Found(_)) | Err(_) => {}
            }
        }
        // Optional parameters the input leaves out are not passed by the reproducer either.
        let mut shown = target.clone();
        shown.param_names.truncate(minimal.len());
        findings.push(with_reproducer(finding, &shown, options)?);
    }
    if let Some(finding) = thread_finding {
        findings.push(with_reproducer(finding, target, options)?);
    }
    Ok(FunctionReport {
        name: target.function.clone(),
        cases: done,
        findings,
        warnings,
        gil_enabled,
        slow,
        slow_more,
    })
}

/// The finding with its reproducer written (when the options name a directory).
fn with_reproducer(
    mut finding: Finding,
    target: &Target,
    options: &CheckOptions,
) -> crate::Result<Finding> {
    if let Some(dir) = &options.repro_dir {
        let path = repro::write(
            dir,
            target,
            &finding,
            options.timeout_ms,
            &options.interpreter.executable,
        )
        .map_err(|e| {
            Error::Usage(format!(
                "cannot write a reproducer in {}: {e}",
                dir.display()
            ))
        })?;
        finding.reproducer = Some(path);
    }
    Ok(finding)
}

/// A case's arguments as the worker reads them. Generated values are always consistent; a
/// value that is not (from a user's strategy) is sent as a tuple the worker cannot unpickle,
/// which it reports as an error of pyz3's, never as a finding.
pub(super) fn case_pickle(args: &[Value]) -> Vec<u8> {
    crate::value::args_pickle(args).unwrap_or_default()
}

/// Whether replays of a finding of `kind` need the costly checks: memory growth, and on a debug
/// build the interpreter's total reference count (a refcount finding may come from it).
pub(super) fn costly_checks(kind: FindingKind, options: &CheckOptions) -> bool {
    kind == FindingKind::MemoryLeak || (kind == FindingKind::Refcount && options.interpreter.debug)
}

/// The observation of a crash or hang, given whose code was running; `Err` when it was pyz3's
/// own work (a note, not a finding).
pub(super) fn attribute(
    phase: Phase,
    o: Observation,
    setup: &Setup,
) -> Result<Observation, String> {
    let what = match o.kind {
        FindingKind::Timeout => o.message.replace("a call ", ""),
        _ => format!(
            "ended the process ({})",
            o.message.replace("the process ", "it ")
        ),
    };
    match phase {
        Phase::Call | Phase::Idle | Phase::Threads => Ok(o),
        Phase::Oracle => Ok(Observation {
            kind: FindingKind::OracleMismatch,
            message: format!(
                "the oracle {} {what}",
                setup.target.oracle.as_deref().unwrap_or("")
            ),
            traceback: o.traceback,
        }),
        Phase::Property => Ok(Observation {
            kind: FindingKind::PropertyFailed,
            message: format!(
                "the property `{}` {what}",
                setup.target.property.as_deref().unwrap_or("")
            ),
            traceback: o.traceback,
        }),
        Phase::Pyz3 => Err(format!(
            "pyz3's own work on the result {what}; the case is skipped"
        )),
    }
}

impl Observation {
    /// A call that outlived its limit, as the watch page saw it.
    /// The limit is the function's for its calls, and the longer one of the oracle, the
    /// property and pyz3's own work otherwise (see [`Worker::recv`]).
    pub(super) fn hung(mark: &Mark, limit_ms: u64) -> Observation {
        let limit = mark
            .phase
            .limit(Duration::from_millis(limit_ms))
            .map_or(limit_ms, |d| d.as_millis() as u64);
        timeout_observation(mark.running.as_millis() as u64, limit)
    }
}

/// Whether the target has a Rust property (cases then go one by one).
fn has_rust_property(target: &Target) -> bool {
    #[cfg(feature = "embed")]
    {
        target.rust_property.is_some()
    }
    #[cfg(not(feature = "embed"))]
    {
        let _ = target;
        false
    }
}

/// One explicit case: the worker's checks, then (when it found nothing) the Rust property.
pub(super) fn check_case(
    slot: &RefCell<Option<Worker>>,
    setup: &Setup,
    options: &CheckOptions,
    target: &Target,
    args: &[Value],
    memory: bool,
) -> crate::Result<Option<Observation>> {
    let found = replay(slot, setup, options, args, memory)?;
    #[cfg(feature = "embed")]
    if let (None, Some(prop)) = (&found, &target.rust_property) {
        return super::rust_property::check(target, prop, args);
    }
    #[cfg(not(feature = "embed"))]
    let _ = target;
    Ok(found)
}

/// Replays one explicit case in `slot`'s worker (starting one if needed).
pub(super) fn replay(
    slot: &RefCell<Option<Worker>>,
    setup: &Setup,
    options: &CheckOptions,
    args: &[Value],
    memory: bool,
) -> crate::Result<Option<Observation>> {
    let mut slot = slot.borrow_mut();
    if slot.is_none() {
        *slot = Some(start(setup, options)?.0);
    }
    let worker = slot.as_mut().expect("set above");
    worker.send(&Request::Explicit {
        memory,
        time_only: false,
    });
    worker.send_case(&case_pickle(args));
    worker.flush();
    let outcome = match worker.recv(case_deadline_with(options, memory)) {
        Event::Reply(Reply::Case { finding, .. }) => return Ok(finding),
        Event::Hung(mark) => attribute(
            mark.phase,
            Observation::hung(&mark, options.timeout_ms),
            setup,
        )
        .ok(),
        Event::Exited { how, stderr, mark } => {
            let o = crash_observation(&how, &stderr);
            match mark {
                Some(mark) => attribute(mark.phase, o, setup).ok(),
                None => Some(o),
            }
        }
        Event::Silent => Some(timeout_observation(
            case_deadline(options).as_millis() as u64,
            options.timeout_ms,
        )),
        Event::Garbled(message) | Event::Reply(Reply::Error { message }) => {
            *slot = None;
            return Err(Error::Usage(message));
        }
        Event::Reply(other) => {
            *slot = None;
            return Err(Error::Usage(format!("unexpected reply {other:?}")));
        }
    };
    // The worker is gone (crash or hang): the next replay starts a fresh one.
    *slot = None;
    Ok(outcome)
}
