//! The worker process: imports the module, generates cases, calls the function, checks each call.
//!
//! For `pyz3 __worker`, started by [`super::pool`]. Crashes and hangs kill only this process; the
//! runner notices and starts a fresh one. The protocol goes out on a private copy of stdout while
//! fd 1 is pointed at stderr, so whatever the extension prints cannot corrupt it. A watchdog
//! thread reports a call that outlives the time limit and ends the process.

use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, Write};
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PySystemError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::cases::{arg_strategies, generate_case, memory_case};
use super::finding::{FindingKind, Observation};
use super::memory;
use super::protocol::{FunctionInfo, Reply, Request, Setup};
use super::refcount;
use crate::py::err_text;
use crate::strategy::ValueStrategy;
use crate::value::Value;

static OUT: OnceLock<Mutex<File>> = OnceLock::new();
/// Replies not yet written (batches send them in groups).
static PENDING: Mutex<Vec<String>> = Mutex::new(Vec::new());
/// The batch case being checked (`u64::MAX`: none).
static CURRENT_CASE: AtomicU64 = AtomicU64::new(u64::MAX);
/// Start of the running call in ms since the epoch (0: no call running).
static CALL_START_MS: AtomicU64 = AtomicU64::new(0);
static TIMEOUT_MS: AtomicU64 = AtomicU64::new(u64::MAX);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn send(reply: &Reply) {
    queue(reply);
    flush();
}

/// Adds a reply to the pending group.
fn queue(reply: &Reply) {
    let line = serde_json::to_string(reply).expect("replies serialize");
    PENDING.lock().unwrap_or_else(|e| e.into_inner()).push(line);
}

/// Writes every pending reply.
fn flush() {
    let lines = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    // Nothing pending writes nothing: a bare newline would be read as a reply.
    if lines.is_empty() {
        return;
    }
    if let Some(out) = OUT.get() {
        let mut out = out.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = lines.join("\n");
        text.push('\n');
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// Entry point of `pyz3 __worker`; returns the process exit code.
pub fn main() -> i32 {
    // SAFETY: plain fd juggling before any other thread exists: keep a private copy of stdout for
    // the protocol and send everything else written to fd 1 to stderr.
    let proto = unsafe {
        let fd = libc::dup(1);
        if fd < 0 || libc::dup2(2, 1) < 0 {
            eprintln!("pyz3 worker: cannot set up the protocol channel");
            return 2;
        }
        File::from_raw_fd(fd)
    };
    let _ = OUT.set(Mutex::new(proto));
    std::thread::spawn(watchdog);
    crate::py::init();
    let stdin = std::io::stdin();
    let mut state: Option<Checker> = None;
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let request: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                send(&Reply::Error {
                    message: format!("bad request: {e}"),
                });
                continue;
            }
        };
        Python::attach(|py| handle(py, request, &mut state));
    }
    0
}

fn watchdog() {
    loop {
        std::thread::sleep(Duration::from_millis(10));
        let start = CALL_START_MS.load(Ordering::Relaxed);
        let limit = TIMEOUT_MS.load(Ordering::Relaxed);
        if start != 0 {
            let elapsed = now_ms().saturating_sub(start);
            if elapsed > limit {
                // The cases finished before this one go out first, then the timeout.
                let index = CURRENT_CASE.load(Ordering::Relaxed);
                send(&Reply::Timeout {
                    elapsed_ms: elapsed,
                    index: (index != u64::MAX).then_some(index),
                });
                // SAFETY: ends the process without unwinding or running Python's exit handlers
                // (the stuck call holds the GIL).
                unsafe { libc::_exit(3) };
            }
        }
    }
}

fn handle(py: Python<'_>, request: Request, state: &mut Option<Checker>) {
    match request {
        Request::Setup(setup) => match Checker::new(py, setup) {
            Ok(c) => {
                *state = Some(c);
                send(&Reply::Ready);
            }
            Err(message) => send(&Reply::Error { message }),
        },
        Request::Describe {
            module,
            path,
            stubs,
        } => send(&describe(py, &module, path.as_deref(), stubs.as_deref())),
        Request::Batch {
            seed,
            start,
            count,
            flush_each,
        } => {
            let Some(c) = checker(state) else { return };
            // Replies go out in groups, but at least every 50 ms, so the runner hears from a
            // worker busy with slow cases long before its silence deadline.
            let mut last_flush = Instant::now();
            for index in start..start + count {
                CURRENT_CASE.store(index, Ordering::Relaxed);
                let args = generate_case(&c.strategies, seed, index);
                let memory = memory_case(c.setup.memory_every, index);
                let finding = c.check(py, &args, memory);
                let urgent = finding.is_some();
                queue(&Reply::Case { index, finding });
                if flush_each || urgent || last_flush.elapsed() > Duration::from_millis(50) {
                    flush();
                    last_flush = Instant::now();
                }
            }
            CURRENT_CASE.store(u64::MAX, Ordering::Relaxed);
            flush();
        }
        Request::Explicit {
            imports,
            args,
            memory,
        } => {
            let Some(c) = checker(state) else { return };
            match eval_args(py, &imports, &args) {
                Ok(values) => {
                    let finding = c.check(py, &values, memory);
                    send(&Reply::Case {
                        index: u64::MAX,
                        finding,
                    });
                }
                Err(message) => send(&Reply::Error { message }),
            }
        }
    }
}

/// The checker set up by the first request, or an error reply when there is none.
fn checker(state: &Option<Checker>) -> Option<&Checker> {
    if state.is_none() {
        send(&Reply::Error {
            message: "a case request came before setup".into(),
        });
    }
    state.as_ref()
}

fn run_code(py: Python<'_>, code: &str, globals: &Bound<'_, PyDict>) -> PyResult<()> {
    let code = CString::new(code).map_err(|e| PySystemError::new_err(e.to_string()))?;
    py.run(&code, Some(globals), None)
}

fn eval_args(py: Python<'_>, imports: &str, args: &str) -> Result<Vec<Value>, String> {
    let globals = PyDict::new(py);
    run_code(py, imports, &globals).map_err(|e| err_text(py, &e))?;
    run_code(py, &format!("__args = {args}"), &globals).map_err(|e| err_text(py, &e))?;
    let tuple = globals
        .get_item("__args")
        .ok()
        .flatten()
        .ok_or("no arguments")?;
    tuple
        .try_iter()
        .map_err(|e| err_text(py, &e))?
        .map(|x| {
            x.and_then(|x| Value::from_python(&x))
                .map_err(|e| err_text(py, &e))
        })
        .collect()
}

/// The helper namespace (comparison, discovery), created once per worker.
fn helpers(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    static HELPERS: pyo3::sync::PyOnceLock<Py<PyDict>> = pyo3::sync::PyOnceLock::new();
    HELPERS
        .get_or_try_init(py, || {
            let globals = PyDict::new(py);
            run_code(py, include_str!("helpers.py"), &globals)?;
            run_code(py, "import faulthandler\nfaulthandler.enable()", &globals)?;
            Ok::<_, PyErr>(globals.unbind())
        })
        .map(|d| d.bind(py).clone())
}

pub(crate) fn import_target<'py>(
    py: Python<'py>,
    module: &str,
    path: Option<&std::path::Path>,
) -> Result<Bound<'py, PyAny>, String> {
    // Like `python -c`, the current directory is importable.
    let cwd = std::env::current_dir().ok();
    if let Some(dir) = path.or(cwd.as_deref()) {
        let sys = py.import("sys").map_err(|e| err_text(py, &e))?;
        let sys_path = sys.getattr("path").map_err(|e| err_text(py, &e))?;
        sys_path
            .call_method1("insert", (0, dir.to_string_lossy().to_string()))
            .map_err(|e| err_text(py, &e))?;
    }
    py.import(module)
        .map(|m| m.into_any())
        .map_err(|e| format!("cannot import `{module}`: {}", err_text(py, &e)))
}

pub(crate) fn resolve(module: &Bound<'_, PyAny>, dotted: &str) -> PyResult<Py<PyAny>> {
    let mut obj = module.clone();
    for part in dotted.split('.') {
        obj = obj.getattr(part)?;
    }
    Ok(obj.unbind())
}

fn describe(
    py: Python<'_>,
    module: &str,
    path: Option<&std::path::Path>,
    stubs: Option<&std::path::Path>,
) -> Reply {
    if let Err(message) = import_target(py, module, path) {
        return Reply::Error { message };
    }
    let result = helpers(py).and_then(|h| {
        let f = h.get_item("pyz3_describe")?.expect("helper defined");
        let stubs = stubs.map(|p| p.to_string_lossy().to_string());
        f.call1((module, stubs))
    });
    let value = match result {
        Ok(v) => v,
        Err(e) => {
            return Reply::Error {
                message: err_text(py, &e),
            }
        }
    };
    type Described = (
        Vec<(String, Option<Vec<(String, Option<String>)>>, String)>,
        Option<String>,
        Option<String>,
    );
    match value.extract::<Described>() {
        Ok((list, stub, file)) => Reply::Functions {
            functions: list
                .into_iter()
                .map(|(name, params, source)| FunctionInfo {
                    name,
                    params,
                    source,
                })
                .collect(),
            stub: stub.map(Into::into),
            file: file.map(Into::into),
        },
        Err(e) => Reply::Error {
            message: err_text(py, &e),
        },
    }
}

/// One function under check, with its oracle and property.
struct Checker {
    setup: Setup,
    strategies: Vec<ValueStrategy>,
    function: Py<PyAny>,
    oracle: Option<Py<PyAny>>,
    property: Option<Py<PyAny>>,
    eq: Py<PyAny>,
    show: Py<PyAny>,
}

/// What a call did.
enum Outcome<'py> {
    Returned(Bound<'py, PyAny>),
    Raised(PyErr),
}

impl Checker {
    fn new(py: Python<'_>, setup: Setup) -> Result<Checker, String> {
        TIMEOUT_MS.store(setup.timeout_ms.max(1), Ordering::Relaxed);
        let helpers = helpers(py).map_err(|e| err_text(py, &e))?;
        let module = import_target(py, &setup.module, setup.path.as_deref())?;
        let function = resolve(&module, &setup.function)
            .map_err(|_| format!("`{}` has no attribute `{}`", setup.module, setup.function))?;
        let oracle = match &setup.oracle {
            None => None,
            Some(spec) => {
                let (m, f) = spec
                    .split_once(':')
                    .ok_or_else(|| format!("oracle `{spec}` must be module:callable"))?;
                let m = import_target(py, m, None).map_err(|e| format!("oracle `{spec}`: {e}"))?;
                Some(resolve(&m, f).map_err(|_| format!("oracle `{spec}`: no attribute `{f}`"))?)
            }
        };
        let property = match &setup.property {
            None => None,
            Some(expr) => {
                let compile = py
                    .import("builtins")
                    .and_then(|b| b.getattr("compile"))
                    .map_err(|e| err_text(py, &e))?;
                Some(
                    compile
                        .call1((expr.as_str(), "<property>", "eval"))
                        .map_err(|e| {
                            format!("property `{expr}` does not compile: {}", err_text(py, &e))
                        })?
                        .unbind(),
                )
            }
        };
        let strategies = arg_strategies(&setup.param_names, &setup.param_types, setup.size)
            .map_err(|e| e.to_string())?
            .strategies;
        let get = |name: &str| -> Result<Py<PyAny>, String> {
            helpers
                .get_item(name)
                .ok()
                .flatten()
                .map(|x| x.unbind())
                .ok_or_else(|| format!("helper {name} missing"))
        };
        Ok(Checker {
            eq: get("pyz3_eq")?,
            show: get("pyz3_show")?,
            setup,
            strategies,
            function,
            oracle,
            property,
        })
    }

    fn objects<'py>(&self, py: Python<'py>, args: &[Value]) -> PyResult<Bound<'py, PyTuple>> {
        objects(py, args)
    }

    /// Calls `f(*args)` under the watchdog.
    fn call<'py>(
        &self,
        f: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
    ) -> (Duration, Outcome<'py>) {
        self.call_watched(f, args, true)
    }

    /// Calls `f(*args)`; `watched` puts the call under the watchdog (the function under test:
    /// yes; a reference oracle: no, a slow oracle is not the function's fault).
    fn call_watched<'py>(
        &self,
        f: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
        watched: bool,
    ) -> (Duration, Outcome<'py>) {
        let py = f.py();
        let start = Instant::now();
        if watched {
            CALL_START_MS.store(now_ms().max(1), Ordering::Relaxed);
        }
        // SAFETY: `f` and `args` are live objects; the returned reference is owned.
        let result = unsafe { checked_call(py, f, args) };
        CALL_START_MS.store(0, Ordering::Relaxed);
        let elapsed = start.elapsed();
        match result {
            Ok(r) => (elapsed, Outcome::Returned(r)),
            Err(e) => (elapsed, Outcome::Raised(e)),
        }
    }

    fn show(&self, py: Python<'_>, o: &Outcome<'_>) -> String {
        match o {
            Outcome::Returned(r) => self
                .show
                .bind(py)
                .call1((r,))
                .and_then(|s| s.extract::<String>())
                .unwrap_or_else(|_| "<unprintable>".into()),
            Outcome::Raised(e) => format!("raised {}", err_text(py, e)),
        }
    }

    /// Whether two calls on equal arguments behaved the same: results identical through the
    /// value model (NaN equals NaN, NaT equals NaT, -0.0 differs from 0.0), or equal by
    /// [`Checker::equal`] for objects outside the model; exceptions of the same type.
    fn same(&self, py: Python<'_>, a: &Outcome<'_>, b: &Outcome<'_>) -> bool {
        if let (Outcome::Returned(x), Outcome::Returned(y)) = (a, b) {
            if let (Ok(vx), Ok(vy)) = (Value::from_python(x), Value::from_python(y)) {
                return vx == vy;
            }
        }
        self.equal(py, a, b, 0.0)
    }

    fn equal(&self, py: Python<'_>, a: &Outcome<'_>, b: &Outcome<'_>, tol: f64) -> bool {
        match (a, b) {
            (Outcome::Returned(x), Outcome::Returned(y)) => self
                .eq
                .bind(py)
                .call1((x, y, tol))
                .and_then(|r| r.is_truthy())
                .unwrap_or(false),
            (Outcome::Raised(x), Outcome::Raised(y)) => x.get_type(py).is(y.get_type(py)),
            _ => false,
        }
    }

    /// Runs every enabled check on one case.
    fn check(&self, py: Python<'_>, args: &[Value], memory: bool) -> Option<Observation> {
        match self.check_inner(py, args, memory) {
            Ok(found) => found,
            Err(e) => Some(Observation {
                kind: FindingKind::PropertyFailed,
                message: format!("pyz3 could not run the case: {}", err_text(py, &e)),
                traceback: None,
            }),
        }
    }

    fn check_inner(
        &self,
        py: Python<'_>,
        args: &[Value],
        memory: bool,
    ) -> PyResult<Option<Observation>> {
        let f = self.function.bind(py);
        let timeout = Duration::from_millis(self.setup.timeout_ms);
        let objs1 = self.objects(py, args)?;
        let watch1 = refcount::Watch::new(&objs1);
        let (t1, r1) = self.call(f, &objs1);
        if let Some(found) = slow_or_system_error(py, t1, timeout, &r1) {
            return Ok(Some(found));
        }
        // Input mutation, through the value model.
        if !self.setup.mutates {
            for (i, (obj, before)) in objs1.iter().zip(args).enumerate() {
                let after = Value::from_python(&obj);
                let same = matches!(&after, Ok(v) if v == before);
                if !same {
                    let name = self.setup.param_names.get(i).map_or("?", |s| s.as_str());
                    let after = match after {
                        Ok(v) => v.python_source().expr,
                        Err(_) => self.show(py, &Outcome::Returned(obj.clone())),
                    };
                    return Ok(Some(Observation {
                        kind: FindingKind::InputMutation,
                        message: format!(
                            "argument `{name}` changed during the call\n{}",
                            super::diff::diff(
                                &before.python_source().expr,
                                &after,
                                "before",
                                "after"
                            )
                        ),
                        traceback: None,
                    }));
                }
            }
        }
        // A second call on equal, fresh arguments: determinism, and a second refcount sample.
        let objs2 = self.objects(py, args)?;
        let watch2 = refcount::Watch::new(&objs2);
        let (t2, r2) = self.call(f, &objs2);
        if let Some(found) = slow_or_system_error(py, t2, timeout, &r2) {
            return Ok(Some(found));
        }
        if !self.setup.nondeterministic && !self.same(py, &r1, &r2) {
            return Ok(Some(Observation {
                kind: FindingKind::Nondeterministic,
                message: format!(
                    "two calls with equal arguments gave different results\n{}",
                    super::diff::diff(
                        &self.show(py, &r1),
                        &self.show(py, &r2),
                        "first call",
                        "second call"
                    )
                ),
                traceback: None,
            }));
        }
        if let Some(oracle) = &self.oracle {
            let objs3 = self.objects(py, args)?;
            let (_, expected) = self.call_watched(oracle.bind(py), &objs3, false);
            if !self.equal(py, &expected, &r1, self.setup.float_tolerance) {
                let (e, a) = (self.show(py, &expected), self.show(py, &r1));
                return Ok(Some(Observation {
                    kind: FindingKind::OracleMismatch,
                    message: format!(
                        "result differs from the oracle {}\n{}",
                        self.setup.oracle.as_deref().unwrap_or(""),
                        super::diff::diff(&e, &a, "expected (oracle)", "actual")
                    ),
                    traceback: match &r1 {
                        Outcome::Raised(err) => traceback(py, err),
                        _ => None,
                    },
                }));
            }
        }
        if let Some(code) = &self.property {
            if let Some(found) = self.property_check(py, code.bind(py), &objs1, &r1)? {
                return Ok(Some(found));
            }
        }
        drop((r1, r2));
        if !self.setup.no_refcount {
            if let Some(found) = refcount::judge(py, &objs1, watch1, watch2, |objs| {
                let (_, r) = self.call(f, objs);
                drop(r);
            })? {
                return Ok(Some(found));
            }
        }
        if memory {
            if let Some(found) = memory::check(py, &objs2, t1, |objs| {
                let (_, r) = self.call(f, objs);
                drop(r);
            })? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    fn property_check(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        result: &Outcome<'_>,
    ) -> PyResult<Option<Observation>> {
        let result = match result {
            Outcome::Returned(r) => Ok(r),
            Outcome::Raised(e) => Err(e),
        };
        let expr = self.setup.property.as_deref().unwrap_or("");
        let show = |o: &Bound<'_, PyAny>| self.show(py, &Outcome::Returned(o.clone()));
        check_property(py, code, expr, &self.setup.param_names, args, result, show)
    }
}

/// `f(*args)`'s arguments as Python objects.
pub(crate) fn objects<'py>(py: Python<'py>, args: &[Value]) -> PyResult<Bound<'py, PyTuple>> {
    let objs: Vec<Bound<'py, PyAny>> = args
        .iter()
        .map(|a| a.to_python(py))
        .collect::<PyResult<_>>()?;
    PyTuple::new(py, objs)
}

/// Evaluates a compiled property expression over the parameters (by name), `args`, `result`
/// and `exception`: `Some` (a `property-failed` observation) when it is false or raises.
pub(crate) fn check_property(
    py: Python<'_>,
    code: &Bound<'_, PyAny>,
    expr: &str,
    param_names: &[String],
    args: &Bound<'_, PyTuple>,
    result: Result<&Bound<'_, PyAny>, &PyErr>,
    show: impl Fn(&Bound<'_, PyAny>) -> String,
) -> PyResult<Option<Observation>> {
    let globals = PyDict::new(py);
    globals.set_item("__builtins__", py.import("builtins")?)?;
    for (name, obj) in param_names.iter().zip(args.iter()) {
        globals.set_item(name, obj)?;
    }
    globals.set_item("args", args)?;
    match result {
        Ok(r) => {
            globals.set_item("result", r)?;
            globals.set_item("exception", py.None())?;
        }
        Err(e) => {
            globals.set_item("result", py.None())?;
            globals.set_item("exception", e.value(py))?;
        }
    }
    let eval = py.import("builtins")?.getattr("eval")?;
    Ok(match eval.call1((code, &globals)) {
        Ok(v) if v.is_truthy().unwrap_or(false) => None,
        Ok(v) => Some(Observation {
            kind: FindingKind::PropertyFailed,
            message: format!(
                "property `{expr}` is {} for result {}",
                show(&v),
                match result {
                    Ok(r) => show(r),
                    Err(e) => format!("raised {}", err_text(py, e)),
                }
            ),
            traceback: None,
        }),
        Err(e) => Some(Observation {
            kind: FindingKind::PropertyFailed,
            message: format!("property `{expr}` raised {}", err_text(py, &e)),
            traceback: traceback(py, &e),
        }),
    })
}

/// Calls `f(*args)` and checks the result as the interpreter's own call path does, whatever
/// route the binding library takes: a NULL return without an exception, or a result returned
/// with an exception set, is a `SystemError` with CPython's wording.
///
/// # Safety
/// Must be called with the GIL held (guaranteed by `py`).
pub(crate) unsafe fn checked_call<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    args: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyAny>> {
    let ptr = pyo3::ffi::PyObject_Call(f.as_ptr(), args.as_ptr(), std::ptr::null_mut());
    let pending = !pyo3::ffi::PyErr_Occurred().is_null();
    let what = || {
        f.repr()
            .map(|r| r.to_string())
            .unwrap_or_else(|_| "the function".into())
    };
    match (ptr.is_null(), pending) {
        (true, true) => Err(PyErr::fetch(py)),
        (true, false) => Err(PySystemError::new_err(format!(
            "{} returned NULL without setting an exception",
            what()
        ))),
        (false, false) => Ok(Bound::from_owned_ptr(py, ptr)),
        (false, true) => {
            let cause = PyErr::fetch(py);
            pyo3::ffi::Py_DecRef(ptr);
            let err = PySystemError::new_err(format!(
                "{} returned a result with an exception set",
                what()
            ));
            err.set_cause(py, Some(cause));
            Err(err)
        }
    }
}

pub(crate) fn traceback(py: Python<'_>, err: &PyErr) -> Option<String> {
    err.traceback(py)
        .and_then(|tb| tb.format().ok())
        .map(|tb| format!("{tb}{}", err_text(py, err)))
}

/// A finished call that took too long, or raised SystemError.
fn slow_or_system_error(
    py: Python<'_>,
    took: Duration,
    limit: Duration,
    r: &Outcome<'_>,
) -> Option<Observation> {
    if took > limit {
        return Some(Observation {
            kind: FindingKind::Timeout,
            message: format!(
                "the call took {} ms (limit {} ms)",
                took.as_millis(),
                limit.as_millis()
            ),
            traceback: None,
        });
    }
    if let Outcome::Raised(e) = r {
        if e.is_instance_of::<PySystemError>(py) {
            return Some(Observation {
                kind: FindingKind::SystemError,
                message: err_text(py, e),
                traceback: traceback(py, e),
            });
        }
    }
    None
}
