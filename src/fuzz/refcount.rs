//! The reference-count check: leaks and over-releases of arguments and what they contain.
//!
//! For the fuzz runtime (the embedded counterpart of `src/check/worker.py`). Arguments are fresh objects built for the call, so nothing else holds them;
//! the watch takes an extra reference to each (an over-release then cannot free them) and skips
//! objects the interpreter shares (small ints, one-character strings, `None`, enum members, ...).
//! Like CPython's own refleak hunter it only reports a change that repeats: two calls on equal
//! arguments must show the same non-zero deltas, and a third call (after `gc.collect()`) again, so
//! first-call caches and cycles waiting for the collector are not findings.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple};

use crate::report::{FindingKind, Observation};

/// Reference counts of the objects reachable from a call's arguments.
pub struct Watch<'py> {
    objects: Vec<(Bound<'py, PyAny>, isize)>,
}

/// Whether the interpreter shares `obj` (small ints, one-character strings, `None`, enum
/// members, ...): its count moves with other code's work, so it is not watched.
pub(crate) fn shared(obj: &Bound<'_, PyAny>) -> bool {
    if obj.is_none() || obj.is_exact_instance_of::<pyo3::types::PyBool>() {
        return true;
    }
    if obj.is_exact_instance_of::<PyInt>() {
        // Read without raising: an int too big for 64 bits would otherwise raise (and have
        // normalized) an `OverflowError` on every input that holds one.
        let mut overflow = 0;
        // SAFETY: `obj` is a live exact int; this call reports overflow in `overflow` and
        // sets no exception.
        let v = unsafe { ffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
        return overflow == 0 && (-5..=256).contains(&v);
    }
    if obj.is_exact_instance_of::<PyString>() {
        return obj.len().map_or(true, |n| n <= 1);
    }
    // Exact floats, containers and the like are never enum members, classes or modules (the
    // checks below cost Python calls on every watched object of every input).
    if obj.is_exact_instance_of::<pyo3::types::PyFloat>()
        || obj.is_exact_instance_of::<PyList>()
        || obj.is_exact_instance_of::<PyDict>()
        || obj.is_exact_instance_of::<PySet>()
    {
        return false;
    }
    if let Ok(b) = obj.cast::<pyo3::types::PyBytes>() {
        return b.as_bytes().len() <= 1;
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        if t.is_empty() {
            return true;
        }
    }
    // Enum members, classes and modules are shared by design.
    let py = obj.py();
    if let Ok(e) = crate::py::std_type(py, crate::py::StdType::Enum) {
        if obj.is_instance(e).unwrap_or(false) {
            return true;
        }
    }
    obj.is_instance_of::<pyo3::types::PyType>() || obj.is_instance_of::<pyo3::types::PyModule>()
}

fn refcnt(obj: &Bound<'_, PyAny>) -> isize {
    // SAFETY: reading the reference count of a live object we hold a reference to.
    unsafe { ffi::Py_REFCNT(obj.as_ptr()) }
}

/// Collects the objects reachable from `obj` (pre-order), each with a count of 0 to be filled in
/// once the walk is over (its iterators hold references while it runs); with `labels`, also
/// where each is.
fn walk<'py>(
    label: &dyn Fn() -> String,
    obj: &Bound<'py, PyAny>,
    out: &mut Vec<(Bound<'py, PyAny>, isize)>,
    labels: &mut Option<Vec<String>>,
    depth: usize,
) {
    if depth > 32 || out.len() > 10_000 || shared(obj) {
        return;
    }
    out.push((obj.clone(), 0));
    if let Some(l) = labels.as_mut() {
        l.push(label());
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        for (i, (k, v)) in d.iter().enumerate() {
            walk(
                &|| format!("{} key #{i}", label()),
                &k,
                out,
                labels,
                depth + 1,
            );
            walk(
                &|| format!("{}[{}]", label(), short_repr(&k)),
                &v,
                out,
                labels,
                depth + 1,
            );
        }
    } else if let Ok(items) = obj.cast_exact::<PyList>() {
        // Exact lists and tuples are read by index: no iterator object per container.
        for (i, x) in items.iter().enumerate() {
            walk(&|| format!("{}[{i}]", label()), &x, out, labels, depth + 1);
        }
    } else if let Ok(items) = obj.cast_exact::<PyTuple>() {
        for (i, x) in items.iter().enumerate() {
            walk(&|| format!("{}[{i}]", label()), &x, out, labels, depth + 1);
        }
    } else if obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<PySet>()
        || obj.is_instance_of::<PyFrozenSet>()
        || is_deque(obj)
    {
        if let Ok(it) = obj.try_iter() {
            for (i, x) in it.enumerate() {
                if let Ok(x) = x {
                    walk(&|| format!("{}[{i}]", label()), &x, out, labels, depth + 1);
                }
            }
        }
    }
}

/// The objects reachable from a call's arguments with their reference counts, and (if asked)
/// their labels.
fn reachable<'py>(
    args: &Bound<'py, PyTuple>,
    with_labels: bool,
) -> (Vec<(Bound<'py, PyAny>, isize)>, Vec<String>) {
    let mut out = Vec::with_capacity(16);
    let mut labels = with_labels.then(Vec::new);
    for (i, a) in args.iter().enumerate() {
        walk(&|| format!("args[{i}]"), &a, &mut out, &mut labels, 0);
    }
    for (o, n) in &mut out {
        *n = refcnt(o);
    }
    (out, labels.unwrap_or_default())
}

fn is_deque(obj: &Bound<'_, PyAny>) -> bool {
    crate::py::std_type(obj.py(), crate::py::StdType::Deque)
        .map(|d| obj.get_type().is(d))
        .unwrap_or(false)
}

fn short_repr(obj: &Bound<'_, PyAny>) -> String {
    let r = obj
        .repr()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "?".into());
    if r.chars().count() > 24 {
        format!("{}...", r.chars().take(24).collect::<String>())
    } else {
        r
    }
}

impl<'py> Watch<'py> {
    /// Records the reference counts of everything reachable from `args`.
    pub fn new(args: &Bound<'py, PyTuple>) -> Self {
        let (objects, _) = reachable(args, false);
        Watch { objects }
    }

    /// Whether any watched reference count differs from when the watch started.
    pub fn changed(&self) -> bool {
        self.objects.iter().any(|(o, before)| refcnt(o) != *before)
    }

    fn deltas(&self) -> Vec<isize> {
        self.objects
            .iter()
            .map(|(o, before)| refcnt(o) - before)
            .collect()
    }
}

impl Drop for Watch<'_> {
    /// Gives the references back, but for an object whose count fell while watched: the call
    /// over-released it, and the watch's reference is the one that keeps it alive for its
    /// container (a confirmed finding or not, it is better leaked than freed under it).
    fn drop(&mut self) {
        for (o, before) in self.objects.drain(..) {
            if refcnt(&o) < before {
                std::mem::forget(o);
            }
        }
    }
}

/// The cheap watch of arguments made straight from the input ([`super::direct`]): the objects
/// are added as they are made (the caller knows which ones are shared), each with an extra
/// reference, so an over-release cannot free them. A change only says "look again": the runtime
/// then checks the input the full way ([`Watch`] and [`judge`]). The vector is kept from one
/// input to the next.
pub(crate) struct Fresh {
    objects: Vec<(*mut ffi::PyObject, isize)>,
}

thread_local! {
    static SPARE: std::cell::Cell<Vec<(*mut ffi::PyObject, isize)>> =
        const { std::cell::Cell::new(Vec::new()) };
}

impl Fresh {
    /// An empty watch (on the thread's kept vector).
    pub(crate) fn new() -> Fresh {
        Fresh {
            objects: SPARE.take(),
        }
    }

    /// Watches `obj`, a fresh object of the arguments that the interpreter does not share.
    pub(crate) fn add(&mut self, obj: &Bound<'_, PyAny>) {
        if self.objects.len() < 10_000 {
            // SAFETY: `obj` is live and the GIL is held (a `Bound`); the reference is given
            // back in `drop`.
            unsafe { ffi::Py_INCREF(obj.as_ptr()) };
            self.objects.push((obj.as_ptr(), 0));
        }
    }

    /// Records the counts, once the arguments are complete.
    pub(crate) fn arm(&mut self) {
        for (o, n) in &mut self.objects {
            // SAFETY: `o` is alive: the watch holds a reference to it.
            *n = unsafe { ffi::Py_REFCNT(*o) };
        }
    }

    /// Whether any count differs from when the watch was armed.
    pub(crate) fn changed(&self) -> bool {
        self.objects
            .iter()
            // SAFETY: as in `arm`.
            .any(|(o, n)| unsafe { ffi::Py_REFCNT(*o) } != *n)
    }
}

impl Drop for Fresh {
    /// Gives the references back (the GIL is held: a `Fresh` lives within one input's call),
    /// but for an object whose count fell since [`Fresh::arm`]: the call over-released it, and
    /// the watch's reference is the one that keeps it alive for its other holders (a finding
    /// or not, it is better leaked than freed under them).
    fn drop(&mut self) {
        for (o, armed) in self.objects.drain(..) {
            // SAFETY: `o` is alive (the watch's reference); that reference is given back here
            // unless the object was over-released.
            unsafe {
                if ffi::Py_REFCNT(o) >= armed {
                    ffi::Py_DECREF(o);
                }
            }
        }
        SPARE.set(std::mem::take(&mut self.objects));
    }
}

fn collect(py: Python<'_>) -> PyResult<()> {
    py.import("gc")?.call_method0("collect")?;
    Ok(())
}

/// Judges two watched calls; confirms a repeated change with a third call.
pub fn judge<'py>(
    py: Python<'py>,
    args1: &Bound<'py, PyTuple>,
    first: Watch<'py>,
    second: Watch<'py>,
    call_again: impl Fn(&Bound<'py, PyTuple>),
) -> PyResult<Option<Observation>> {
    let (d1, d2) = (first.deltas(), second.deltas());
    if d1.iter().all(|&d| d == 0) || d1 != d2 {
        return Ok(None);
    }
    // Something changed the same way twice: let the collector run, then look again.
    collect(py)?;
    let (d1, d2) = (first.deltas(), second.deltas());
    if d1.iter().all(|&d| d == 0) || d1 != d2 {
        return Ok(None);
    }
    let third = Watch::new(args1);
    call_again(args1);
    collect(py)?;
    let d3 = third.deltas();
    if d3 != d1 {
        return Ok(None);
    }
    // Labels are only worth computing now that there is something to report.
    let (_, labels) = reachable(args1, true);
    let lines: Vec<String> = first
        .objects
        .iter()
        .zip(&d1)
        .zip(labels)
        .filter(|((_, &d), _)| d != 0)
        .take(5)
        .map(|(((obj, _), &d), label)| {
            let ty = obj
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default();
            if d > 0 {
                format!("{label} ({ty}): reference count +{d} per call (a leaked reference)")
            } else {
                format!("{label} ({ty}): reference count {d} per call (an over-release)")
            }
        })
        .collect();
    Ok(Some(Observation {
        kind: FindingKind::Refcount,
        message: lines.join("\n"),
        traceback: None,
    }))
}

/// Releases `item` once more than it should be, as a buggy call would, where its container and
/// a watch hold it (a count of 2); with `watch_changed`, the watch's verdict after it.
#[cfg(test)]
pub(crate) fn over_release(item: *mut ffi::PyObject, watch_changed: impl Fn() -> bool) {
    // SAFETY: `item` is alive, held by its container and the watch.
    unsafe {
        assert_eq!(ffi::Py_REFCNT(item), 2);
        ffi::Py_DECREF(item);
    }
    assert!(watch_changed());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_the_call_over_released_is_left_to_its_container() {
        Python::attach(|py| {
            let list = py.eval(c"[1000]", None, None).unwrap();
            let args = PyTuple::new(py, [&list]).unwrap();
            let item = list.get_item(0).unwrap().as_ptr();
            let watch = Watch::new(&args);
            over_release(item, || watch.changed());
            drop(watch);
            // SAFETY: alive: the watch left its reference to the list's item.
            assert_eq!(unsafe { ffi::Py_REFCNT(item) }, 1);
            assert_eq!(args.repr().unwrap().to_string(), "([1000],)");
            // Objects the call left alone get their references back.
            let before = refcnt(&list);
            drop(Watch::new(&args));
            assert_eq!(refcnt(&list), before);
        });
    }
}
