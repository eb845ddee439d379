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

/// A screenshot of `url` in headless Chromium (Debian's `chromium`) at `width`×`height`, as
/// pixels: `(rgb-or-rgba bytes, channels)`. `dir` holds the browser profile and the PNG.
pub fn screenshot(url: &str, dir: &std::path::Path, width: u32, height: u32) -> (Vec<u8>, usize) {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let chromium = std::path::Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "headless Chromium is needed for this test: run scripts/setup.sh as root, or \
         `apt-get install chromium`"
    );
    std::fs::create_dir_all(dir).unwrap();
    let png = dir.join("screenshot.png");
    let _ = std::fs::remove_file(&png);
    let mut child = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish its screenshot within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium failed: {status}");
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (width, height));
    let channels = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    buf.truncate(info.buffer_size());
    (buf, channels)
}

/// Writes `text` to `dir/rel`, creating directories.
pub fn write_file(dir: &std::path::Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A fixture's correct twin: the line after each `PLANTED: <fix>` marker becomes the fix (with
/// the marker line's indentation kept from the replaced line).
pub fn with_fixes(text: &str) -> String {
    let mut out = Vec::new();
    let mut fix: Option<String> = None;
    for line in text.lines() {
        if let Some(f) = fix.take() {
            let indent = &line[..line.len() - line.trim_start().len()];
            out.push(format!("{indent}{f}"));
        } else if let Some((_, f)) = line.split_once("PLANTED: ") {
            fix = Some(f.to_string());
        } else {
            out.push(line.to_string());
        }
    }
    out.join("\n") + "\n"
}

/// Runs the reproducer at `path` with `python` (from `/`, `PYTHONMALLOC=malloc` when `malloc`)
/// and asserts that it reproduced a finding of `kind`: a crash dies by a signal; a debug build
/// (`debug`) aborts in its own result check for a `system-error`; anything else exits 1.
pub fn assert_reproduces(
    python: &std::path::Path,
    path: &std::path::Path,
    kind: &str,
    debug: bool,
    malloc: bool,
) {
    let mut cmd = std::process::Command::new(python);
    cmd.arg(path).current_dir("/");
    if malloc {
        cmd.env("PYTHONMALLOC", "malloc");
    }
    let run = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    let reproduced = match kind {
        "crash" => run.status.code().is_none(),
        "system-error" if debug => {
            run.status.code().is_none()
                && ["_Py_CheckFunctionResult", "_PyErr_Occurred"]
                    .iter()
                    .any(|p| stderr.contains(p))
        }
        _ => run.status.code() == Some(1),
    };
    assert!(
        reproduced,
        "{}: {:?}\n{}\n{stderr}",
        path.display(),
        run.status,
        String::from_utf8_lossy(&run.stdout),
    );
}

/// Runs `cmd` to its end, failing the test (after killing it) when it takes longer than `limit`:
/// for the tests of runs that used to hang.
pub fn output_within(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
) -> std::process::Output {
    use std::io::Read;
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let read = |p: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = p {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = read(child.stdout.take().map(|p| Box::new(p) as _));
    let err = read(child.stderr.take().map(|p| Box::new(p) as _));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} took longer than {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Whether process `pid` is gone (or has exited and waits to be reaped).
pub fn process_gone(pid: i32) -> bool {
    // SAFETY: signal 0 only asks whether the process exists.
    if unsafe { libc::kill(pid, 0) } != 0 {
        return true;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Waits up to `limit` for `path` to hold a process id, and returns it.
pub fn wait_for_pid_file(path: &std::path::Path, limit: std::time::Duration) -> i32 {
    let start = std::time::Instant::now();
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(start.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
