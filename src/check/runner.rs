//! The runner: checks one function over many cases, survives crashes, shrinks each finding.
//!
//! For library users and `pyz3 check`. Cases go to a worker process in batches; the worker
//! generates them itself (see [`super::cases`]) and answers per case. When a worker crashes or
//! hangs, the case it was on becomes a finding and a fresh worker continues after it. At the end
//! each kind of finding is shrunk from its first failing case, replaying candidates one by one
//! (in fresh workers when they crash), and written out as a reproducer.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use super::cases::{arg_strategies, args_source, case_tree};
use super::finding::{Finding, FindingKind, Observation};
use super::pool::{Event, Worker};
use super::protocol::{Reply, Request, Setup};
use super::repro;
use std::sync::Arc;

use pyo3::prelude::*;

use crate::strategy::ValueStrategy;
use crate::value::Value;
use crate::Error;

const NOT_REPRODUCED: &str = "(did not reproduce when replayed alone)";

/// How to run the checks.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Cases per function.
    pub cases: u64,
    /// Seed of the run: the same seed checks the same cases.
    pub seed: u64,
    /// Per-call time limit.
    pub timeout_ms: u64,
    /// Which cases get the memory check: every n-th; 0 never; `u64::MAX` (default) cases
    /// 0, 1, 2, 4, 8, 16, ...
    pub memory_every: u64,
    /// Size scale of generated values (0: default).
    pub size: usize,
    /// Where reproducers go (`None`: not written).
    pub repro_dir: Option<PathBuf>,
    /// The executable run as `EXE __worker`.
    pub worker_exe: PathBuf,
    /// Longest time spent shrinking one finding.
    pub max_shrink_time: Duration,
    /// Skip the reference-count check.
    pub no_refcount: bool,
}

impl CheckOptions {
    /// Defaults: 200 cases, seed 0, 1000 ms, memory check on cases 0, 1, 2, 4, 8, ..., reproducers in
    /// `.pyz3/repro`, the current executable as worker.
    pub fn new(worker_exe: PathBuf) -> Self {
        CheckOptions {
            cases: 200,
            seed: 0,
            timeout_ms: 1000,
            memory_every: u64::MAX,
            size: 0,
            repro_dir: Some(PathBuf::from(".pyz3/repro")),
            worker_exe,
            max_shrink_time: Duration::from_secs(30),
            no_refcount: false,
        }
    }
}

/// One function to check: where it is, its parameters, and what is declared about it.
#[derive(Clone, Debug, Default)]
pub struct FunctionTarget {
    /// Module name.
    pub module: String,
    /// Directory to put first on `sys.path`.
    pub path: Option<PathBuf>,
    /// Function name in the module.
    pub function: String,
    /// Parameter names.
    pub param_names: Vec<String>,
    /// Parameter type expressions.
    pub param_types: Vec<String>,
    /// `module:callable` giving the expected result.
    pub oracle: Option<String>,
    /// Python expression that must hold (names: parameters, `args`, `result`, `exception`).
    pub property: Option<String>,
    /// Declared to mutate its arguments.
    pub mutates: bool,
    /// Declared nondeterministic.
    pub nondeterministic: bool,
    /// Float tolerance for oracle comparisons.
    pub float_tolerance: f64,
    /// A property written in Rust: given the arguments and what the call returned (or raised),
    /// `Err(message)` is a `property-failed` finding. It runs in the calling process, after the
    /// worker has run the same case safely; cases are then sent one by one.
    pub rust_property: Option<RustProperty>,
    /// Strategies for the arguments, overriding `param_types`. Cases are then generated here
    /// and sent to the worker one by one as Python source (slower than letting the worker
    /// generate them from type expressions, but any [`ValueStrategy`] works).
    pub strategies: Option<Vec<ValueStrategy>>,
}

/// The signature of a Rust property.
pub type RustPropertyFn = dyn for<'py> Fn(Python<'py>, &[Value], &PyResult<Bound<'py, PyAny>>) -> Result<(), String>
    + Send
    + Sync;

/// A property written in Rust (see [`FunctionTarget::rust_property`]).
#[derive(Clone)]
pub struct RustProperty(pub Arc<RustPropertyFn>);

impl RustProperty {
    /// Wraps a closure: `Ok(())` when the property holds, `Err(why)` when it does not.
    pub fn new(
        f: impl for<'py> Fn(Python<'py>, &[Value], &PyResult<Bound<'py, PyAny>>) -> Result<(), String>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        RustProperty(Arc::new(f))
    }
}

impl std::fmt::Debug for RustProperty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RustProperty")
    }
}

/// Runs a Rust property in this process on one case.
fn rust_property_check(
    target: &FunctionTarget,
    prop: &RustProperty,
    args: &[Value],
) -> crate::Result<Option<Observation>> {
    crate::py::with_python(|py| {
        let python_error = |e: PyErr| Error::Python {
            context: format!("running the Rust property of {}", target.function),
            message: crate::py::err_text(py, &e),
        };
        if let Some(dir) = &target.path {
            let sys_path = py
                .import("sys")
                .and_then(|s| s.getattr("path"))
                .map_err(python_error)?;
            let dir = dir.to_string_lossy().to_string();
            if !sys_path.contains(&dir).map_err(python_error)? {
                sys_path
                    .call_method1("insert", (0, dir))
                    .map_err(python_error)?;
            }
        }
        let mut f = py
            .import(target.module.as_str())
            .map_err(python_error)?
            .into_any();
        for part in target.function.split('.') {
            f = f.getattr(part).map_err(python_error)?;
        }
        let objs = args
            .iter()
            .map(|a| a.to_python(py))
            .collect::<PyResult<Vec<_>>>()
            .map_err(python_error)?;
        let tuple = pyo3::types::PyTuple::new(py, objs).map_err(python_error)?;
        let result = f.call1(tuple);
        Ok((prop.0)(py, args, &result).err().map(|why| Observation {
            kind: FindingKind::PropertyFailed,
            message: format!("the Rust property failed: {why}"),
            traceback: None,
        }))
    })
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
    /// Strategy fallback warnings.
    pub warnings: Vec<String>,
}

fn setup_for(t: &FunctionTarget, o: &CheckOptions) -> Setup {
    Setup {
        module: t.module.clone(),
        path: t.path.clone(),
        function: t.function.clone(),
        param_names: t.param_names.clone(),
        param_types: t.param_types.clone(),
        size: o.size,
        oracle: t.oracle.clone(),
        property: t.property.clone(),
        mutates: t.mutates,
        nondeterministic: t.nondeterministic,
        float_tolerance: t.float_tolerance,
        timeout_ms: o.timeout_ms,
        memory_every: o.memory_every,
        no_refcount: o.no_refcount,
    }
}

/// Starts a worker and sets it up; `Err` names the problem (module not importable, ...).
fn start(setup: &Setup, exe: &std::path::Path) -> crate::Result<Worker> {
    let mut w = Worker::spawn(exe)
        .map_err(|e| Error::Usage(format!("cannot start the worker {}: {e}", exe.display())))?;
    w.send(&Request::Setup(setup.clone()));
    match w.recv(Duration::from_secs(120)) {
        Event::Reply(Reply::Ready) => Ok(w),
        Event::Reply(Reply::Error { message }) => Err(Error::Usage(message)),
        Event::Reply(other) => Err(Error::Usage(format!("unexpected reply {other:?}"))),
        Event::Exited { how, stderr } => Err(Error::Usage(format!(
            "the worker {how} while importing `{}`{}",
            setup.module,
            last_line(&stderr)
        ))),
        Event::Silent => Err(Error::Usage(format!(
            "importing `{}` did not finish within 120 s",
            setup.module
        ))),
        Event::Garbled(message) => Err(Error::Usage(message)),
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default()
}

fn crash_observation(how: &str, stderr: &str) -> Observation {
    Observation {
        kind: FindingKind::Crash,
        message: format!("the process {how}"),
        traceback: if stderr.trim().is_empty() {
            None
        } else {
            Some(stderr.to_string())
        },
    }
}

fn timeout_observation(elapsed_ms: u64, limit: u64) -> Observation {
    Observation {
        kind: FindingKind::Timeout,
        message: format!("a call was still running after {elapsed_ms} ms (limit {limit} ms)"),
        traceback: None,
    }
}

/// A generous backstop per case; the worker's watchdog reports hangs much sooner.
fn case_deadline(o: &CheckOptions) -> Duration {
    Duration::from_millis(o.timeout_ms.saturating_mul(6) + 10_000)
}

/// Imports the module in a worker and sets up `target` (its oracle imported, its property
/// compiled) without running any case: `Err` names what is wrong.
pub fn validate(target: &FunctionTarget, options: &CheckOptions) -> crate::Result<()> {
    let mut setup = setup_for(target, options);
    // Parameters do not matter here; none are generated.
    setup.param_names.clear();
    setup.param_types.clear();
    start(&setup, &options.worker_exe).map(drop)
}

/// Checks one function; `progress` is called with the number of cases done.
pub fn check_function(
    target: &FunctionTarget,
    options: &CheckOptions,
    progress: &mut dyn FnMut(u64),
) -> crate::Result<FunctionReport> {
    let mut setup = setup_for(target, options);
    let mut first: BTreeMap<FindingKind, (u64, Observation)> = BTreeMap::new();
    let explicit = match (&target.strategies, &target.rust_property) {
        (Some(s), _) => Some((s.clone(), Vec::new())),
        (None, Some(_)) => {
            let a = arg_strategies(&target.param_names, &target.param_types, options.size)?;
            Some((a.strategies, a.warnings))
        }
        (None, None) => None,
    };
    let (strategies, warnings, done) = match explicit {
        Some((strategies, warnings)) => {
            // The worker gets each case's arguments (it cannot rebuild custom strategies, and
            // a Rust property needs the arguments here).
            if target.strategies.is_some() {
                setup.param_types = vec!["Any".to_string(); strategies.len()];
            }
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
            (strategies, warnings, done)
        }
        None => {
            let args = arg_strategies(&target.param_names, &target.param_types, options.size)?;
            let mut warnings = args.warnings;
            let done = run_batches(&setup, options, &mut first, &mut warnings, progress)?;
            (args.strategies, warnings, done)
        }
    };
    let mut findings = Vec::new();
    let mut warnings = warnings;
    for (kind, (index, observation)) in first {
        let shrunk = shrink(
            target,
            &setup,
            options,
            &strategies,
            kind,
            index,
            observation.clone(),
        );
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
        // Leak measurements must come back on a replay, and again in a fresh worker (state
        // built up by earlier cases can look like growth): otherwise they are noise.
        if matches!(kind, FindingKind::MemoryLeak | FindingKind::Refcount) {
            let fresh = RefCell::new(None);
            let again = replay(
                &fresh,
                &setup,
                options,
                &minimal,
                kind == FindingKind::MemoryLeak,
            )
            .unwrap_or(None);
            if finding.message.ends_with(NOT_REPRODUCED) || again.map(|o| o.kind) != Some(kind) {
                continue;
            }
        }
        let mut finding = finding;
        if let Some(dir) = &options.repro_dir {
            let path = repro::write(dir, target, &finding, options.timeout_ms).map_err(|e| {
                Error::Usage(format!(
                    "cannot write a reproducer in {}: {e}",
                    dir.display()
                ))
            })?;
            finding.reproducer = Some(path);
        }
        findings.push(finding);
    }
    Ok(FunctionReport {
        name: target.function.clone(),
        cases: done,
        findings,
        warnings,
    })
}

/// Runs the cases in batches the worker generates itself; returns the number of cases run.
fn run_batches(
    setup: &Setup,
    options: &CheckOptions,
    first: &mut BTreeMap<FindingKind, (u64, Observation)>,
    warnings: &mut Vec<String>,
    progress: &mut dyn FnMut(u64),
) -> crate::Result<u64> {
    let mut worker = start(setup, &options.worker_exe)?;
    let deadline = case_deadline(options);
    let (mut next, mut done) = (0u64, 0u64);
    // After a crash, the rest of that batch runs again with a reply per case, so the crashing
    // case is known exactly (replies are otherwise sent in groups).
    let mut careful_until = 0u64;
    const BATCH: u64 = 256;
    while next < options.cases {
        let flush_each = next < careful_until;
        let count = if flush_each {
            careful_until - next
        } else {
            BATCH.min(options.cases - next)
        };
        let end = next + count;
        if !worker.send(&Request::Batch {
            seed: options.seed,
            start: next,
            count,
            flush_each,
        }) {
            worker = start(setup, &options.worker_exe)?;
            continue;
        }
        let mut expected = next;
        let mut lost: Option<(u64, Observation)> = None;
        let mut skipped = false;
        while expected < end {
            match worker.recv(deadline) {
                Event::Reply(Reply::Case { index, finding }) => {
                    if let Some(o) = finding {
                        first.entry(o.kind).or_insert((index, o));
                    }
                    expected = index + 1;
                    done += 1;
                    progress(done);
                }
                Event::Reply(Reply::Timeout { elapsed_ms, index }) => {
                    let at = index.unwrap_or(expected);
                    lost = Some((at, timeout_observation(elapsed_ms, options.timeout_ms)));
                    break;
                }
                Event::Exited { how, stderr } => {
                    if flush_each {
                        lost = Some((expected, crash_observation(&how, &stderr)));
                    } else {
                        // Which case crashed is not known yet: run the rest again, carefully.
                        careful_until = end;
                    }
                    break;
                }
                Event::Silent => {
                    let limit = deadline.as_millis() as u64;
                    lost = Some((expected, timeout_observation(limit, options.timeout_ms)));
                    break;
                }
                // A broken exchange costs the case in progress, never the findings made: it
                // is noted, and a fresh worker goes on after that case.
                Event::Garbled(message) | Event::Reply(Reply::Error { message }) => {
                    warnings.push(format!("case {expected} skipped: {message}"));
                    skipped = true;
                    break;
                }
                Event::Reply(other) => {
                    warnings.push(format!(
                        "case {expected} skipped: unexpected reply {other:?}"
                    ));
                    skipped = true;
                    break;
                }
            }
        }
        next = expected;
        if skipped {
            done += 1;
            progress(done);
            next = expected + 1;
            if warnings.len() > 20 {
                return Err(Error::Usage(format!(
                    "the worker's replies cannot be read ({})",
                    warnings.last().map(String::as_str).unwrap_or("")
                )));
            }
        }
        let was_lost = lost.is_some() || skipped;
        if let Some((at, o)) = lost {
            // The case in progress took the worker down: it is the finding; go on after it.
            // (A timeout reply may skip ahead of unsent replies: those cases run again.)
            first.entry(o.kind).or_insert((at, o));
            done += 1;
            progress(done);
            next = at.max(expected) + 1;
        }
        if next < end || was_lost {
            worker.kill();
            worker = start(setup, &options.worker_exe)?;
        }
    }
    drop(worker);
    Ok(done)
}

/// One explicit case: the worker's checks, then (when it found nothing) the Rust property.
fn check_case(
    slot: &RefCell<Option<Worker>>,
    setup: &Setup,
    options: &CheckOptions,
    target: &FunctionTarget,
    args: &[Value],
    memory: bool,
) -> crate::Result<Option<Observation>> {
    let found = replay(slot, setup, options, args, memory)?;
    match (&found, &target.rust_property) {
        (None, Some(prop)) => rust_property_check(target, prop, args),
        _ => Ok(found),
    }
}

/// Replays one explicit case in `slot`'s worker (starting one if needed).
fn replay(
    slot: &RefCell<Option<Worker>>,
    setup: &Setup,
    options: &CheckOptions,
    args: &[Value],
    memory: bool,
) -> crate::Result<Option<Observation>> {
    let mut slot = slot.borrow_mut();
    if slot.is_none() {
        *slot = Some(start(setup, &options.worker_exe)?);
    }
    let worker = slot.as_mut().expect("set above");
    let (tuple, imports) = args_source(args);
    let imports: String = imports.iter().map(|m| format!("import {m}\n")).collect();
    worker.send(&Request::Explicit {
        imports,
        args: tuple,
        memory,
    });
    let outcome = match worker.recv(case_deadline(options)) {
        Event::Reply(Reply::Case { finding, .. }) => return Ok(finding),
        Event::Reply(Reply::Timeout { elapsed_ms, .. }) => {
            Some(timeout_observation(elapsed_ms, options.timeout_ms))
        }
        Event::Exited { how, stderr } => Some(crash_observation(&how, &stderr)),
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

/// Shrinks the first failing case of one kind; the finding and its minimal arguments.
#[allow(clippy::too_many_arguments)]
fn shrink(
    target: &FunctionTarget,
    setup: &Setup,
    options: &CheckOptions,
    strategies: &[crate::strategy::ValueStrategy],
    kind: FindingKind,
    index: u64,
    observation: Observation,
) -> crate::Result<(Finding, Vec<Value>)> {
    let slot = RefCell::new(None);
    let last = RefCell::new(observation.clone());
    let failure: RefCell<Option<Error>> = RefCell::new(None);
    let memory = kind == FindingKind::MemoryLeak;
    let mut minimal = None;
    if let Some(tree) = case_tree(strategies, options.seed, index) {
        let original = proptest::strategy::ValueTree::current(&tree);
        let config = Config {
            failure_persistence: None,
            max_shrink_iters: 2000,
            max_shrink_time: options.max_shrink_time.as_millis() as u32,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
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
fn unshrunk_finding(kind: FindingKind, args: &[Value], observation: Observation) -> Finding {
    let (input, imports) = args_source(args);
    Finding {
        kind,
        input,
        imports,
        message: observation.message,
        traceback: observation.traceback,
        reproducer: None,
        subkind: None,
        frames: Vec::new(),
        test: None,
    }
}
