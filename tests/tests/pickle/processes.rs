//! Pickles loaded in a separate process by every other CPython 3.9+ found on the machine.

use super::*;
use crate::util::Assert;

/// CPython interpreters to try besides the project's: versioned names on PATH and pyenv's.
fn other_interpreters() -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let names = [
        "python3.9",
        "python3.10",
        "python3.11",
        "python3.12",
        "python3.13",
        "python3.13t",
        "python3.14",
        "python3.14t",
    ];
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for n in names {
            let p = dir.join(n);
            let venv = dir.parent().is_some_and(|d| d.join("pyvenv.cfg").exists());
            if p.is_file() && !venv && !dir.to_string_lossy().contains("shims") {
                found.push(p);
            }
        }
    }
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pyenv")));
    if let Some(Ok(entries)) = pyenv.map(|p| std::fs::read_dir(p.join("versions"))) {
        for e in entries.flatten() {
            let p = e.path().join("bin/python3");
            if p.is_file() {
                found.push(p);
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|p| seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())));
    found
}

/// Unpickles each length-prefixed pickle of `in` and writes `describe` of it, one per line, to
/// `out`; the first line is whether NumPy was imported by installing the helpers.
const LOADER: &str = r#"
import pickle, struct, sys, types
src, support, inp, out = sys.argv[1:5]
m = types.ModuleType('_pyz3')
exec(open(src).read(), m.__dict__)
sys.modules['_pyz3'] = m
ns = {}
exec(open(support).read(), ns)
data = open(inp, 'rb').read()
lines = ['numpy' in sys.modules]
i = 0
while i < len(data):
    (n,) = struct.unpack_from('<Q', data, i)
    lines.append(ns['describe'](pickle.loads(data[i + 8:i + 8 + n])))
    i += 8 + n
open(out, 'w', encoding='utf-8', errors='surrogatepass').write(
    '\n'.join(map(str, lines)))
"#;

fn contains_array(v: &Value) -> bool {
    match v {
        Value::Array(_) => true,
        Value::List(x) | Value::Tuple(x) | Value::Set(x) | Value::FrozenSet(x) => {
            x.iter().any(contains_array)
        }
        Value::Deque { items, .. } => items.iter().any(contains_array),
        Value::Dict(p)
        | Value::Counter(p)
        | Value::OrderedDict(p)
        | Value::DefaultDict { items: p, .. } => p
            .iter()
            .any(|(k, v)| contains_array(k) || contains_array(v)),
        _ => false,
    }
}

#[test]
fn pickles_load_in_a_separate_process_in_every_cpython_found() {
    let dir = Project::new();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let (helpers, support, loader) = (
        write("helpers.py", PICKLE_HELPERS),
        write("support.py", SUPPORT),
        write("loader.py", LOADER),
    );
    let mut values = edge_values();
    values.extend(sample(&strategy::any_value(Size::default()), 400, 9));
    let (expected_all, expected_plain): (Vec<String>, Vec<String>) = python(|py| {
        let ns = setup(py);
        let all: Vec<String> = values
            .iter()
            .map(|v| describe(&ns, &v.to_python(py).unwrap()))
            .collect();
        let plain = values
            .iter()
            .zip(&all)
            .filter(|(v, _)| !contains_array(v))
            .map(|(_, d)| d.clone())
            .collect();
        (all, plain)
    });
    let framed = |vs: &mut dyn Iterator<Item = &Value>| {
        let mut out = Vec::new();
        for v in vs {
            let p = v.to_pickle().unwrap();
            out.extend_from_slice(&(p.len() as u64).to_le_bytes());
            out.extend_from_slice(&p);
        }
        out
    };
    let all_in = dir.path().join("all.bin");
    std::fs::write(&all_in, framed(&mut values.iter())).unwrap();
    let plain_in = dir.path().join("plain.bin");
    std::fs::write(
        &plain_in,
        framed(&mut values.iter().filter(|v| !contains_array(v))),
    )
    .unwrap();

    let venv_python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let mut interpreters = vec![(venv_python, true)];
    interpreters.extend(other_interpreters().into_iter().map(|p| (p, false)));
    let mut ran = Vec::new();
    for (exe, with_numpy) in interpreters {
        let version = std::process::Command::new(&exe)
            .args(["-c", "import sys; print(sys.version_info >= (3, 9))"])
            .output();
        match version {
            Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "True" => {}
            _ => continue,
        }
        let (input, expected) = if with_numpy {
            (&all_in, &expected_all)
        } else {
            (&plain_in, &expected_plain)
        };
        let out = dir.path().join("out.txt");
        let o = std::process::Command::new(&exe)
            .arg(&loader)
            .args([&helpers, &support, input, &out])
            .env_remove("PYTHONPATH")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}: {}", exe.display(), o.shown());
        let text = String::from_utf8(std::fs::read(&out).unwrap())
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let mut lines = text.split('\n');
        assert_eq!(
            lines.next(),
            Some("False"),
            "{}: installing the helpers imported NumPy",
            exe.display()
        );
        let got: Vec<&str> = lines.collect();
        assert_eq!(got.len(), expected.len(), "{}", exe.display());
        for (g, e) in got.iter().zip(expected) {
            assert!(g == e, "{}: {}", exe.display(), first_difference(g, e));
        }
        ran.push(exe.display().to_string());
    }
    eprintln!("pickles loaded by: {ran:?}");
    assert!(!ran.is_empty());
}
