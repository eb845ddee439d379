//! Shared set-up: the project's virtualenv (for NumPy), seeded sampling, Python helpers.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyz3::strategy::ValueStrategy;
use pyz3::value::Value;

/// Starts Python with the project virtualenv on the path when no virtualenv is active.
pub fn python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    if std::env::var_os("VIRTUAL_ENV").is_none() && std::env::var_os("PYZ3_VENV").is_none() {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv");
        // SAFETY: set before the interpreter starts; tests only read it through pyz3::py::init.
        unsafe { std::env::set_var("PYZ3_VENV", venv) };
    }
    pyz3::py::with_python(f)
}

/// `n` values of `s` with a fixed seed.
pub fn sample(s: &ValueStrategy, n: usize, seed: u64) -> Vec<Value> {
    pyz3::sample::sample(s, n, seed).collect()
}

/// Every named strategy family, at the default size.
pub fn all_strategies() -> Vec<(&'static str, ValueStrategy)> {
    use pyz3::strategy::*;
    let s = Size::default();
    let small = Size::small();
    vec![
        ("none", scalar::none()),
        ("bool", scalar::boolean()),
        ("int", scalar::int(s)),
        ("float", scalar::float(s)),
        ("complex", scalar::complex(s)),
        ("str", text::string(s)),
        ("bytes", text::bytes(s)),
        ("bytearray", text::bytearray(s)),
        ("list", container::list(scalar::int(s), 8)),
        ("tuple", container::tuple_of(text::string(s), 8)),
        (
            "dict",
            container::dict(any::hashable(s), scalar::float(s), 8),
        ),
        ("set", container::set(any::hashable(s), 8)),
        ("frozenset", container::frozenset(any::hashable(s), 8)),
        ("counter", collections::counter(any::hashable(s), s)),
        ("deque", collections::deque(scalar::int(s), s)),
        (
            "defaultdict",
            collections::defaultdict(text::string(s), scalar::int(s), s),
        ),
        (
            "ordereddict",
            collections::ordered_dict(scalar::int(s), text::string(s), s),
        ),
        ("fraction", numbers::fraction(s)),
        ("decimal", numbers::decimal(s)),
        ("enum", enums::generated_member()),
        ("date", datetime::date(s)),
        ("time", datetime::time(s)),
        ("datetime", datetime::datetime(s)),
        ("timedelta", datetime::timedelta(s)),
        ("ndarray", numpy::arrays(s)),
        ("any", any::any_value(small)),
    ]
}

/// Evaluates the value's Python source (imports first) in a fresh namespace.
pub fn eval_source<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    let src = v.python_source();
    let globals = PyDict::new(py);
    let imports = std::ffi::CString::new(src.import_lines()).unwrap();
    py.run(&imports, Some(&globals), None)?;
    let expr = std::ffi::CString::new(src.expr.clone()).unwrap();
    py.eval(&expr, Some(&globals), None)
}

/// The `pyz3` binary as a command run in `dir`, with the project virtualenv when none is active.
pub fn pyz3_command(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pyz3"));
    cmd.current_dir(dir);
    if std::env::var_os("VIRTUAL_ENV").is_none() {
        cmd.env("VIRTUAL_ENV", concat!(env!("CARGO_MANIFEST_DIR"), "/.venv"));
    }
    cmd
}

/// A run's exit status, stdout and stderr, for assertion messages.
pub fn output_text(o: &std::process::Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
