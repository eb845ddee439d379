//! The runtime of a fuzz target: the embedded interpreter, the function under test and its
//! checks, one input at a time.
//!
//! For [`fuzz_target!`](crate::fuzz_target) (behind the `embed` feature: it links libpython).
//!
//! This code runs inside the fuzz target binary, where stderr is the channel to `pyz3 fuzz`
//! and to whoever runs the target by hand: every line it writes goes through [`say`].

use std::cell::OnceCell;
use std::ffi::CString;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::call::{
    call_for_system_error, check_property, checked_call, import_target, objects, resolve, traceback,
};
use super::decode::decode_args_with;
use super::instrumented::coverage_counters;
use super::refcount;
use super::shapes;
use super::spec::GUIDANCE_PREFIX;
use super::spec::{ReportLine, DESCRIBE_ENV, SPEC_ENV};
use super::text::text_start;
use crate::py::err_text;
use crate::report::{FindingKind, Observation};
use crate::strategy::Shape;
use crate::target::Target;
use crate::value::Value;

/// A Rust extension module linked into the fuzz binary: its name and its `PyInit_` function.
pub type Builtin = (
    &'static str,
    unsafe extern "C" fn() -> *mut pyo3::ffi::PyObject,
);

/// A started target: the function, its argument shapes and its checks.
pub struct FuzzTarget {
    pub(crate) spec: Target,
    pub(crate) shapes: Vec<Shape>,
    /// Whether some argument can hold text read from the input ([`super::text::holds_text`]):
    /// without it the mutator's text steps are skipped.
    pub(crate) text: bool,
    /// Whether every argument is made straight from the input ([`super::direct`]).
    direct: bool,
    function: Py<PyAny>,
    property: Option<Py<PyAny>>,
}

thread_local! {
    // libFuzzer runs every input on the thread that initialized it (`-fork` and `-jobs` use
    // processes), and a shape may hold a strategy, which is not `Send`.
    pub(crate) static TARGET: OnceCell<FuzzTarget> = const { OnceCell::new() };
}

impl FuzzTarget {
    /// Starts the interpreter (registering `builtins` first) and resolves the function.
    pub fn start(spec: Target, builtins: &[Builtin]) -> Result<FuzzTarget, String> {
        prepare_interpreter(builtins)?;
        let (shapes, warnings) = spec.shapes().map_err(|e| e.to_string())?;
        for w in warnings {
            say(&format!("pyz3: warning: {w}"));
        }
        Python::attach(|py| {
            let module = import_target(py, &spec.module, spec.path.as_deref())?;
            guidance();
            let function = resolve(&module, &spec.function)
                .map_err(|_| format!("`{}` has no attribute `{}`", spec.module, spec.function))?;
            let property = match &spec.property {
                None => None,
                Some(expr) => Some(
                    py.import("builtins")
                        .and_then(|b| b.getattr("compile"))
                        .and_then(|c| c.call1((expr.as_str(), "<property>", "eval")))
                        .map_err(|e| {
                            format!("property `{expr}` does not compile: {}", err_text(py, &e))
                        })?
                        .unbind(),
                ),
            };
            Ok(FuzzTarget {
                spec,
                text: shapes.iter().any(super::text::holds_text),
                direct: shapes.iter().all(super::direct::supported),
                shapes,
                function,
                property,
            })
        })
    }

    /// The target's description.
    pub fn spec(&self) -> &Target {
        &self.spec
    }

    /// Runs one input: `Some` when it is a finding (crashes are not returned: they end the
    /// process, as they should under libFuzzer).
    pub fn run(&self, data: &[u8]) -> Option<Observation> {
        // With the GIL already held (`hold_gil`) this attach only counts, for pyo3's sake.
        Python::attach(|py| {
            let found = if self.direct {
                self.check_direct(py, data)
            } else {
                let args = decode_args_with(&self.shapes, data, !self.spec.no_hostile);
                shapes::record(&args);
                self.check(py, &args)
            };
            self.found(py, found)
        })
    }

    fn found(&self, py: Python<'_>, found: PyResult<Option<Observation>>) -> Option<Observation> {
        match found {
            Ok(found) => found,
            // The value model converts every value it can decode; this would be a pyz3 bug.
            Err(e) => {
                say(&format!(
                    "pyz3: could not build the arguments: {}",
                    err_text(py, &e)
                ));
                None
            }
        }
    }

    fn call<'py>(
        &self,
        f: &Bound<'py, PyAny>,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // SAFETY: the GIL is held; `f` and `args` are live.
        unsafe { checked_call(f.py(), f, args) }
    }

    fn check(&self, py: Python<'_>, args: &[Value]) -> PyResult<Option<Observation>> {
        let f = self.function.bind(py);
        if args.iter().any(holds_hostile_object) {
            return self.hostile_check(py, f, args);
        }
        let objs1 = objects(py, args)?;
        let watch1 = (!self.spec.no_refcount).then(|| refcount::Watch::new(&objs1));
        if let Some(found) = self.first_call(py, f, &objs1)? {
            return Ok(Some(found));
        }
        // Reference counts: one cheap look per input; a change is confirmed the harness's way
        // (the same change on fresh arguments, surviving a collection, and on a third call).
        if let Some(watch1) = watch1 {
            if watch1.changed() {
                let objs2 = objects(py, args)?;
                let watch2 = refcount::Watch::new(&objs2);
                drop(self.call(f, &objs2));
                return refcount::judge(py, &objs1, watch1, watch2, |objs| {
                    drop(self.call(f, objs));
                });
            }
        }
        Ok(None)
    }

    /// [`check`](Self::check) for arguments made straight from the input: one call, watched
    /// cheaply; when a reference count moved, the input is checked again the full way (fresh
    /// arguments from the value model, the change confirmed on further calls).
    fn check_direct(&self, py: Python<'_>, data: &[u8]) -> PyResult<Option<Observation>> {
        let f = self.function.bind(py);
        let mut watch = (!self.spec.no_refcount).then(refcount::Fresh::new);
        let objs = super::direct::arguments(py, &self.shapes, data, watch.as_mut())?;
        if let Some(w) = watch.as_mut() {
            w.arm();
        }
        let found = self.first_call(py, f, &objs);
        let changed = watch.as_ref().is_some_and(refcount::Fresh::changed);
        // The watch goes first: it keeps its reference to an object the call over-released,
        // which the arguments would otherwise free while it still looks at it.
        drop(watch);
        drop(objs);
        if !matches!(found, Ok(None)) {
            return found;
        }
        if changed {
            let args = decode_args_with(&self.shapes, data, !self.spec.no_hostile);
            return self.check(py, &args);
        }
        Ok(None)
    }

    /// The first call of an input: a `SystemError`, or the property's verdict.
    fn first_call(
        &self,
        py: Python<'_>,
        f: &Bound<'_, PyAny>,
        objs: &Bound<'_, PyTuple>,
    ) -> PyResult<Option<Observation>> {
        if let Some(code) = &self.property {
            let result = self.call(f, objs);
            if let Some(found) = system_error(py, &result) {
                return Ok(Some(found));
            }
            return self.property_check(py, code.bind(py), objs, &result);
        }
        // SAFETY: the GIL is held; `f` and `objs` are live.
        Ok(unsafe { call_for_system_error(py, f, objs) }.and_then(|e| system_error(py, &Err(e))))
    }

    /// One call with armed hostile values, as `pyz3 check` makes it: the arguments built from
    /// their pickle (the hostile classes' source travels in it), armed by the helpers' `bind`;
    /// only a `SystemError` is a finding here (a crash or a hang ends the process as usual).
    /// Exceptions, changed arguments and reference counts are what the hostile code asked for.
    fn hostile_check(
        &self,
        py: Python<'_>,
        f: &Bound<'_, PyAny>,
        args: &[Value],
    ) -> PyResult<Option<Observation>> {
        let helpers = pickle_helpers(py)?;
        let data = crate::value::args_pickle(args)
            .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
        let objs = py
            .import("pickle")?
            .call_method1("loads", (pyo3::types::PyBytes::new(py, &data),))?
            .cast_into::<PyTuple>()?;
        helpers.call_method1("bind", (&objs, f))?;
        let result = self.call(f, &objs);
        drop(objs);
        if let Some(found) = system_error(py, &result) {
            return Ok(Some(found));
        }
        Ok(None)
    }

    fn property_check(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        result: &PyResult<Bound<'_, PyAny>>,
    ) -> PyResult<Option<Observation>> {
        let expr = self.spec.property.as_deref().unwrap_or("");
        let show = |o: &Bound<'_, PyAny>| o.repr().map(|s| s.to_string()).unwrap_or_default();
        check_property(
            py,
            code,
            expr,
            &self.spec.param_names,
            args,
            result.as_ref(),
            show,
        )
    }

    /// Prints a finding and the input that caused it, as one [`ReportLine`] (read back by
    /// `pyz3 fuzz`) and as readable text.
    pub fn report(&self, data: &[u8], found: &Observation) {
        let args = decode_args_with(&self.shapes, data, !self.spec.no_hostile);
        let (call, imports) = self.spec.call_source(&args);
        let line = ReportLine::new(found, call.clone(), imports);
        say(&format!("\n{}", line.to_line()));
        say(&format!(
            "pyz3: {} in {}.{}\npyz3: input: {call}\n{}",
            found.kind.name(),
            self.spec.module,
            self.spec.function,
            found.message
        ));
        if let Some(tb) = &found.traceback {
            say(tb);
        }
    }
}

/// A `system-error` observation when the call raised `SystemError`.
fn system_error(py: Python<'_>, result: &PyResult<Bound<'_, PyAny>>) -> Option<Observation> {
    let e = result.as_ref().err()?;
    e.is_instance_of::<pyo3::exceptions::PySystemError>(py)
        .then(|| Observation {
            kind: FindingKind::SystemError,
            message: err_text(py, e),
            traceback: traceback(py, e),
        })
}

/// Whether `v` holds an object of a generated class (hostile or not): such values are built from
/// their pickle, not by [`Value::to_python`].
fn holds_hostile_object(v: &Value) -> bool {
    let mut found = false;
    v.visit_hostile(&mut |_| found = true);
    found
}

/// The pickle helpers module (`_pyz3`: generated classes, `bind`), installed once.
fn pickle_helpers(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    use crate::value::{PICKLE_HELPERS, PICKLE_HELPERS_MODULE};
    let modules = py.import("sys")?.getattr("modules")?;
    if let Ok(m) = modules.get_item(PICKLE_HELPERS_MODULE) {
        return Ok(m);
    }
    let m = py
        .import("types")?
        .call_method1("ModuleType", (PICKLE_HELPERS_MODULE,))?;
    let code = CString::new(PICKLE_HELPERS).expect("no NUL in the helpers");
    py.run(&code, Some(&m.getattr("__dict__")?.cast_into()?), None)?;
    modules.set_item(PICKLE_HELPERS_MODULE, &m)?;
    Ok(m)
}

/// Says where the fuzzer's coverage comes from: the binary itself (a Rust extension linked
/// into a cargo-fuzz target) and the libraries loaded into the process (the module under test
/// and what it loaded) that carry coverage counters. With none, the arguments' shapes guide the
/// fuzzer instead ([`shapes`]).
fn guidance() {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    for path in maps.lines().filter_map(|l| l.split_whitespace().nth(5)) {
        let path = std::path::PathBuf::from(path);
        if !path.is_absolute() || !seen.insert(path.clone()) {
            continue;
        }
        let n = coverage_counters(&path);
        if n > 0 {
            found.push(format!("{} ({n} counters)", path.display()));
        }
    }
    if found.is_empty() {
        shapes::enable();
        say(&format!(
            "{GUIDANCE_PREFIX}no loaded library is coverage-instrumented: the arguments' shapes guide the fuzzer"
        ));
    } else {
        say(&format!(
            "{GUIDANCE_PREFIX}coverage from {}",
            found.join(", ")
        ));
    }
}

/// Writes `text` and a newline to stderr: the one way the runtime inside a fuzz target speaks
/// (findings as [`ReportLine`]s for `pyz3 fuzz`, and readable lines for a person running the
/// target by hand). A failed write is ignored: there is nowhere else to tell.
pub fn say(text: &str) {
    use std::io::Write;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Whether a sanitizer's runtime (AddressSanitizer, MemorySanitizer or ThreadSanitizer) is in
/// the process, by its entry point: the fuzz binary links it, and exports its symbols.
fn sanitizer_runtime() -> bool {
    [c"__asan_init", c"__msan_init", c"__tsan_init"]
        .iter()
        // SAFETY: a lookup of a NUL-terminated name in the global scope.
        .any(|name| !unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }.is_null())
}

fn prepare_interpreter(builtins: &[Builtin]) -> Result<(), String> {
    // SAFETY: reading a flag of the C API; no interpreter state is touched.
    let running = unsafe { pyo3::ffi::Py_IsInitialized() } != 0;
    if !running {
        // Read by the interpreter at start-up: string hashing that replays the same way for an
        // artifact, and under a sanitizer Python objects in malloc'ed memory, where it sees
        // them (without one, Python's own allocator is faster).
        let mut vars = vec![("PYTHONHASHSEED", "0")];
        if sanitizer_runtime() {
            vars.push(("PYTHONMALLOC", "malloc"));
        }
        for (k, v) in vars {
            if std::env::var_os(k).is_none() {
                std::env::set_var(k, v);
            }
        }
        for (name, init) in builtins {
            let cname = CString::new(*name).map_err(|_| format!("bad module name {name:?}"))?;
            // SAFETY: before initialization, with a name that lives for the whole process.
            let rc = unsafe { pyo3::ffi::PyImport_AppendInittab(cname.into_raw(), Some(*init)) };
            if rc != 0 {
                return Err(format!("could not register the built-in module `{name}`"));
            }
        }
    } else if !builtins.is_empty() {
        return Err("the interpreter started before the extension could be linked in".into());
    }
    crate::py::init();
    for w in crate::py::take_warnings() {
        eprintln!("pyz3: {w}");
    }
    Ok(())
}

/// Starts the process-wide target once (the `init` of a libFuzzer target). With
/// [`DESCRIBE_ENV`] set it writes the spec and exits instead; on an error it prints one line and
/// exits with status 2.
pub fn install(spec: Target, builtins: &[Builtin]) {
    if let Some(path) = std::env::var_os(DESCRIBE_ENV) {
        let json = serde_json::to_string(&spec).unwrap_or_default();
        let code = match std::fs::write(&path, json) {
            Ok(()) => 0,
            Err(_) => 2,
        };
        std::process::exit(code);
    }
    match FuzzTarget::start(spec, builtins) {
        Ok(t) => TARGET.with(|cell| {
            let _ = cell.set(t);
        }),
        Err(e) => {
            say(&format!("pyz3: {e}"));
            std::process::exit(2);
        }
    }
}

/// The spec of the generic target, from [`SPEC_ENV`]; exits with status 2 when it is missing or
/// malformed.
pub fn spec_from_env() -> Target {
    let text = std::env::var(SPEC_ENV).unwrap_or_default();
    match serde_json::from_str(&text) {
        Ok(spec) => spec,
        Err(e) => {
            say(&format!(
                "pyz3: {SPEC_ENV} must hold the target as JSON ({e}); run through `pyz3 fuzz`"
            ));
            std::process::exit(2);
        }
    }
}

/// libFuzzer's extra counters (it scans the `__libfuzzer_extra_counters` section after every
/// input as it does the coverage counters): one per storage width of the text argument, UTF-8,
/// UTF-16 and UTF-32. An input whose text is the first in its width is new behaviour to
/// libFuzzer, so it stays in the corpus, and what the fuzzer finds from it keeps that width:
/// the re-encoding mutation then starts a lineage of inputs, where otherwise the re-encoded
/// input (the same string, the same coverage) would be dropped at once.
#[used]
#[link_section = "__libfuzzer_extra_counters"]
static TEXT_WIDTH: [std::sync::atomic::AtomicU8; 3] =
    [const { std::sync::atomic::AtomicU8::new(0) }; 3];

/// Inputs run between two moments when this thread lets other Python threads take the GIL
/// (about a millisecond: CPython's own switch interval is 5 ms).
const INPUTS_PER_GIL_RELEASE: u32 = 1024;

thread_local! {
    /// Inputs this thread has run since it last released the GIL; `None` until it holds the GIL
    /// between inputs.
    static GIL_HOLD: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
}

/// Keeps the GIL on the fuzzing thread from one input to the next: taking and dropping it for
/// every input (a mutex and a condition variable each way) cost about a twentieth of an
/// execution of a trivial function. Every [`INPUTS_PER_GIL_RELEASE`] inputs the thread releases
/// it and takes it back, so a thread the extension started still runs (a waiting thread gets
/// the GIL then, as CPython's eval loop would hand it over).
fn hold_gil() {
    GIL_HOLD.with(|h| match h.get() {
        None => {
            // SAFETY: the interpreter is initialized (`install` ran on this thread); the state
            // is never released, so the thread stays attached for the life of the process.
            unsafe { pyo3::ffi::PyGILState_Ensure() };
            h.set(Some(0));
        }
        Some(n) if n + 1 >= INPUTS_PER_GIL_RELEASE => {
            // SAFETY: this thread holds the GIL (taken above), and takes it back at once.
            unsafe { pyo3::ffi::PyEval_RestoreThread(pyo3::ffi::PyEval_SaveThread()) };
            h.set(Some(0));
        }
        Some(n) => h.set(Some(n + 1)),
    })
}

/// Runs one input on the installed target; a finding is reported and aborts the process, which
/// libFuzzer records as a crash with the input saved as an artifact.
pub fn fuzz_one(data: &[u8]) {
    TARGET.with(|cell| {
        let Some(target) = cell.get() else {
            say("pyz3: no fuzz target installed");
            std::process::abort();
        };
        // Only an argument that holds text has a width (see `TEXT_WIDTH`).
        if target.text {
            if let Some(start) = text_start(data, data.len()) {
                let width = match data.get(start) {
                    Some(0xff) => 2,
                    Some(0xfe) => 1,
                    _ => 0,
                };
                TEXT_WIDTH[width].store(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        hold_gil();
        if let Some(found) = target.run(data) {
            target.report(data, &found);
            std::process::abort();
        }
    })
}
