//! Standalone reproducers: `python3 <file>` with nothing of pyz3 installed.
//!
//! For users holding a finding. The script imports the module, builds the shrunk arguments,
//! repeats the failing call with the check that caught it, prints what went wrong and exits 1 if
//! it reproduced (0 if not).
//!
//! The module under check is not trusted: its names and exception messages end up in the
//! script. Every such text is either a Python literal ([`str_source`]) or, in the header
//! comments, has every line-break and control character escaped ([`comment_text`]), so no
//! text can leave its literal or its comment; file names are made with
//! [`crate::fs::safe_file_name`].

use std::path::{Path, PathBuf};

use crate::report::{Finding, FindingKind};
use crate::target::Target;
use crate::value::str_source;

fn py_str(s: &str) -> String {
    str_source(&s.chars().map(|c| c as u32).collect::<Vec<_>>())
}

/// `text` made safe to follow `#` on one line of Python source: control characters (CR, LF,
/// form feed, NUL, ESC, NEL, ...), the Unicode line and paragraph separators and the
/// bidirectional-text controls are written as `\xNN` / `\uNNNN`, so the text can neither end
/// the comment nor change how the line displays. A `coding:` or `coding=` is written
/// `coding\x3a` / `coding\x3d`: on the first two lines it would declare the file's encoding.
pub fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let escape = c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{feff}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        match c as u32 {
            n if escape && n < 0x100 => out.push_str(&format!("\\x{n:02x}")),
            n if escape => out.push_str(&format!("\\u{n:04x}")),
            _ => out.push(c),
        }
    }
    out.replace("coding:", "coding\\x3a")
        .replace("coding=", "coding\\x3d")
}

/// `attempt()`: one call whose exception (any but `KeyboardInterrupt`, so the script still
/// stops on Ctrl-C) is noted rather than raised; `raised()` prints the last one noted.
const ATTEMPT: &str = "last_error = [None]\n\
    def attempt():\n\
    \x20   try:\n\
    \x20       f(*args)\n\
    \x20   except KeyboardInterrupt:\n\
    \x20       raise\n\
    \x20   except BaseException as e:\n\
    \x20       last_error[0] = type(e).__name__\n\
    def raised():\n\
    \x20   if last_error[0] is not None:\n\
    \x20       print('the calls raised', last_error[0], '(caught; measured all the same)')\n";

/// The body that checks one kind; `f`, `args`, `fresh()`, `call()` and `outcome()` are defined
/// before it.
fn check_body(kind: FindingKind, t: &Target) -> String {
    let body = match kind {
        // A function that ends the process from Python (`os._exit(0)`, `sys.exit`) must not
        // read as "not reproduced": those exits say so and exit 1.
        FindingKind::Crash | FindingKind::Sanitizer => "print('calling; a crash here (e.g. Segmentation fault) reproduces the finding', flush=True)\n\
             _real_exit = os._exit\n\
             def _ended(code=0):\n    print('the call ended the process (exit status %r): reproduced' % (code,), flush=True)\n    _real_exit(1)\n\
             os._exit = _ended\n\
             try:\n    f(*args)\nexcept SystemExit as e:\n    _ended(e.code)\nexcept Exception as e:\n    print('raised', type(e).__name__)\n\
             print('no crash')\n\
             sys.exit(0)\n"
            .to_string(),
        // faulthandler's watchdog is a thread of its own that needs no GIL: it ends the
        // process even when the call never gives the GIL back.
        FindingKind::Timeout => "import faulthandler, time\n\
             print('calling; still running after %.1f s (exit 1) reproduces the finding' % LIMIT_S, flush=True)\n\
             faulthandler.dump_traceback_later(LIMIT_S, exit=True)\n\
             start = time.perf_counter()\n\
             try:\n    f(*args)\nexcept Exception as e:\n    print('raised', type(e).__name__)\n\
             faulthandler.cancel_dump_traceback_later()\n\
             print('finished in %.3f s' % (time.perf_counter() - start))\n\
             sys.exit(0)\n"
            .to_string(),
        FindingKind::SystemError => "try:\n    f(*args)\nexcept SystemError as e:\n    print('SystemError:', e)\n    sys.exit(1)\n\
             print('no SystemError')\nsys.exit(0)\n"
            .to_string(),
        FindingKind::InputMutation => "import copy\n\
             before = repr(args)\n\
             try:\n    f(*args)\nexcept Exception as e:\n    print('raised', type(e).__name__, e)\n\
             after = repr(args)\n\
             if before != after:\n    print('arguments before:', before)\n    print('arguments after: ', after)\n    sys.exit(1)\n\
             print('arguments unchanged')\nsys.exit(0)\n"
            .to_string(),
        FindingKind::Nondeterministic => "a = outcome(f, fresh())\nb = outcome(f, fresh())\n\
             print('first call: ', a)\nprint('second call:', b)\n\
             sys.exit(1 if a != b else 0)\n"
            .to_string(),
        FindingKind::OracleMismatch => {
            let (m, c) = t
                .oracle
                .as_deref()
                .and_then(|o| o.split_once(':'))
                .unwrap_or(("builtins", "repr"));
            format!(
                "oracle = importlib.import_module({})\n\
                 for part in {}.split('.'):\n    oracle = getattr(oracle, part)\n\
                 expected = outcome(oracle, fresh())\nactual = outcome(f, fresh())\n\
                 print('expected:', expected)\nprint('actual:  ', actual)\n\
                 sys.exit(1 if expected != actual else 0)\n",
                py_str(m),
                py_str(c)
            )
        }
        FindingKind::PropertyFailed if t.property.is_none() => {
            // A Rust property cannot run here: show the call and what it gave.
            "print('the property is Rust code; this is what the call gave:')\n\
             print(outcome(f, fresh()))\n\
             sys.exit(2)\n"
                .to_string()
        }
        FindingKind::PropertyFailed => {
            let expr = t.property.as_deref().unwrap_or("True");
            let names: Vec<String> = t
                .param_names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("{}: args[{i}]", py_str(n)))
                .collect();
            format!(
                "ns = {{{}}}\nns['args'] = args\nns['exception'] = None\n\
                 try:\n    ns['result'] = f(*args)\nexcept Exception as e:\n    ns['result'] = None\n    ns['exception'] = e\n\
                 ok = eval({}, ns)\n\
                 print('property', {}, 'is', ok, 'for result', repr(ns['result']))\n\
                 sys.exit(0 if ok else 1)\n",
                names.join(", "),
                py_str(expr),
                py_str(expr)
            )
        }
        FindingKind::Refcount => "import gc\n\
             def walk(x, out):\n\
             \x20   out.append(x)\n\
             \x20   if isinstance(x, dict):\n\
             \x20       for k, v in x.items(): walk(k, out); walk(v, out)\n\
             \x20   elif isinstance(x, (list, tuple, set, frozenset)):\n\
             \x20       for v in x: walk(v, out)\n\
             \x20   return out\n\
             objs = walk(args, [])[1:]\n\
             keep = objs * 20  # extra references: an over-release must not free them\n\
             def counts(): return [sys.getrefcount(o) for o in objs]\n\
             attempt(); gc.collect()\n\
             before = counts()\n\
             for _ in range(3):\n    attempt()\n\
             gc.collect()\n\
             after = counts()\n\
             changed = [(i, type(o).__name__, a - b) for i, (o, a, b) in enumerate(zip(objs, after, before)) if a != b]\n\
             for i, ty, d in changed:\n    print('object #%d (%s): reference count %+d over 3 calls' % (i, ty, d))\n\
             grew = 0\n\
             if hasattr(sys, 'gettotalrefcount'):\n\
             \x20   # A debug build also counts every reference: one leaked outside the arguments.\n\
             \x20   def rounds():\n\
             \x20       for _ in range(20):\n\
             \x20           attempt()\n\
             \x20       gc.collect()\n\
             \x20       return sys.gettotalrefcount()\n\
             \x20   t0 = rounds(); t1 = rounds(); t2 = rounds()\n\
             \x20   if t2 - t1 == t1 - t0 >= 20:\n\
             \x20       grew = (t2 - t1) // 20\n\
             \x20       print('total reference count: +%d per call' % grew)\n\
             raised()\n\
             sys.exit(1 if changed or grew else 0)\n"
            .to_string(),
        // Written by `thread_body` (it needs the finding's thread context).
        FindingKind::ThreadSafety => "print('this finding needs its thread context')\nsys.exit(2)\n".to_string(),
        FindingKind::MemoryLeak => "import ctypes, gc\n\
             class MallInfo2(ctypes.Structure):\n\
             \x20   _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n\
             libc = ctypes.CDLL(None)\n\
             libc.mallinfo2.restype = MallInfo2\n\
             blocks = sys.getallocatedblocks  # Python's own allocator (0 under PYTHONMALLOC=malloc)\n\
             def in_use():\n    m = libc.mallinfo2()\n    return m.uordblks + m.hblkhd + blocks() * 32\n\
             # Native memory through glibc, Python objects by their allocator's blocks (or through\n\
             # glibc too under PYTHONMALLOC=malloc).\n\
             for _ in range(50): attempt()\n\
             gc.collect()\n\
             last = in_use(); start = last; growth = []\n\
             for _ in range(5):\n    for _ in range(200): attempt()\n    gc.collect()\n    now = in_use(); growth.append(now - last); last = now\n\
             print('growth per round of 200 calls (bytes):', growth)\n\
             raised()\n\
             sys.exit(1 if all(g > 0 for g in growth) and (last - start) / 1000 >= 16 else 0)\n"
            .to_string(),
    };
    let body = match kind {
        // These repeat the call and measure: one that raises (a leak on the error path) must
        // not end the script before it has measured.
        FindingKind::Refcount | FindingKind::MemoryLeak => format!("{ATTEMPT}{body}"),
        _ => body,
    };
    // `f(*args)` skips CPython's result check on some versions; `call` spells the arguments out.
    body.replace("f(*args)", "call(f, args)")
}

/// The reproducer script for a finding; `timeout_ms` is the limit the check ran with.
pub fn script(t: &Target, finding: &Finding, timeout_ms: u64, python: &Path) -> String {
    let mut s = prelude(t, finding, python);
    if let (FindingKind::ThreadSafety, Some(ctx)) = (finding.kind, &finding.threads) {
        s.push_str(&thread_body(ctx, timeout_ms));
        return s;
    }
    s.push_str(&format!(
        "LIMIT_S = {}\ndef fresh():\n    return {}\n",
        timeout_ms as f64 / 1000.0,
        finding.input
    ));
    // A call spelled out with positional arguments goes through the interpreter's checked call
    // path, so a NULL-without-exception or result-with-exception shows as SystemError.
    let spelled: Vec<String> = (0..t.param_names.len())
        .map(|i| format!("a[{i}]"))
        .collect();
    s.push_str(&format!(
        "def call(fn, a):\n    return fn({})\n",
        spelled.join(", ")
    ));
    let armed = finding
        .definitions
        .iter()
        .any(|d| d.contains("armed = False"));
    if armed {
        // Constants of this file's code would keep the arguments' items alive: what a hostile
        // value frees must be freed here too, as it was in the check's worker.
        s.push_str(
            "import pickle\n\
             # New objects, as the check built them: constants of this code would stay alive.\n\
             args = pickle.loads(pickle.dumps(fresh()))\n",
        );
    } else {
        s.push_str("args = fresh()\n");
    }
    s.push_str(
        "def outcome(fn, a):\n    try:\n        return ('returned', repr(call(fn, a)))\n    except Exception as e:\n        return ('raised', type(e).__name__)\n",
    );
    s.push_str(&format!(
        "print({} + '(' + ', '.join(map(repr, args)) + ')')\n",
        py_str(&t.function)
    ));
    if armed {
        s.push_str(
            "# Arm the hostile objects: from here on their methods do what their names say.\nbind(args, f)\n",
        );
    }
    s.push_str(&check_body(finding.kind, t));
    s
}

/// The header comments, the module's import and `f`.
fn prelude(t: &Target, finding: &Finding, python: &Path) -> String {
    let mut s = String::new();
    // The first line names the interpreter the finding was made in (a path that would not
    // survive as one line is left out).
    let shown = python.to_string_lossy();
    if shown.chars().any(|c| c.is_control()) || shown.contains(char::REPLACEMENT_CHARACTER) {
        s.push_str("# (the interpreter's path cannot be written here)\n");
    } else {
        s.push_str(&format!("#!{shown}\n"));
    }
    s.push_str(&format!(
        "# pyz3 reproducer: {} in {}\n# Run with: {} {{this file}}   (exit 1: reproduced)\n",
        finding.kind,
        comment_text(&format!("{}.{}", t.module, t.function)),
        comment_text(&shown)
    ));
    for line in finding.message.lines().take(12) {
        s.push_str(&format!("#   {}\n", comment_text(line)));
    }
    s.push_str("import importlib, os, sys\n");
    if finding
        .definitions
        .iter()
        .any(|d| d.contains("armed = False"))
    {
        // What a hostile value frees is used after it is freed; pyz3 check's workers run with
        // the system allocator filling freed memory (not on free-threaded builds), so the use
        // crashes. The script runs itself the same way.
        s.push_str(
            "import sysconfig\n\
             if os.environ.get('PYTHONMALLOC') != 'malloc' and not sysconfig.get_config_var('Py_GIL_DISABLED'):\n\
             \x20   # The system allocator, filling freed memory: a freed object used again crashes.\n\
             \x20   env = dict(os.environ, PYTHONMALLOC='malloc')\n\
             \x20   env.setdefault('GLIBC_TUNABLES', 'glibc.malloc.perturb=221:glibc.malloc.tcache_count=0')\n\
             \x20   os.execve(sys.executable, [sys.executable] + sys.argv, env)\n",
        );
    }
    let module = py_str(&t.module);
    match &t.path {
        Some(dir) => s.push_str(&format!(
            "try:\n    _module = importlib.import_module({module})\nexcept ImportError:\n    sys.path.insert(0, {})\n    _module = importlib.import_module({module})\n",
            py_str(&dir.to_string_lossy()),
        )),
        None => s.push_str(&format!("_module = importlib.import_module({module})\n")),
    }
    for m in &finding.imports {
        s.push_str(&format!("import {m}\n"));
    }
    if !finding.definitions.is_empty() {
        s.push_str("# Helpers of the generated classes below, and bind(), which arms them.\n");
        s.push_str(crate::value::HOSTILE_PRELUDE);
        s.push_str("\n\n");
        for d in &finding.definitions {
            s.push_str(d);
            s.push_str("\n\n");
        }
    }
    s.push_str(&format!(
        "f = _module\nfor part in {}.split('.'):\n    f = getattr(f, part)\n",
        py_str(&t.function)
    ));
    s
}

/// A thread-safety reproducer: the rounds `pyz3 check` ran (the same code, `threads.py`), with
/// the shrunk arguments and thread count, up to a bound; it prints the round the failure
/// showed in and exits 1, or dies with the crash, or is stopped by a watchdog on a hang.
fn thread_body(ctx: &crate::report::ThreadContext, timeout_ms: u64) -> String {
    let inputs: Vec<String> = ctx
        .inputs
        .iter()
        .map(|i| format!("    lambda: {i},\n"))
        .collect();
    format!(
        "{harness}\n\
         SCENARIO = {scenario}\n\
         THREADS = {threads}\n\
         ROUNDS = 20000\n\
         TIME_S = 60.0\n\
         LIMIT_S = {limit}\n\
         INPUTS = [\n{inputs}]\n\
         {driver}",
        harness = THREADS_PY,
        scenario = py_str(&ctx.scenario),
        threads = ctx.threads,
        limit = timeout_ms as f64 / 1000.0,
        inputs = inputs.concat(),
        driver = THREAD_DRIVER,
    )
}

/// The rounds' code, shared with the checker's worker (`src/check/threads.py`).
const THREADS_PY: &str = include_str!("../check/threads.py");

/// Runs the rounds in a reproducer (after `threads.py`, `f`, `SCENARIO`, `THREADS`, `ROUNDS`,
/// `TIME_S`, `LIMIT_S` and `INPUTS`).
const THREAD_DRIVER: &str = "import faulthandler\n\
def same(a, b):\n\
\x20   if type(a) is not type(b):\n\
\x20       return False\n\
\x20   if callable(a) and not isinstance(a, type):\n\
\x20       return True\n\
\x20   if hasattr(a, 'dtype') and hasattr(a, 'tobytes'):\n\
\x20       return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()\n\
\x20   if type(a) is float and a != a:\n\
\x20       return b != b\n\
\x20   try:\n\
\x20       return bool(a == b)\n\
\x20   except Exception:\n\
\x20       return repr(a) == repr(b)\n\
def show(x):\n\
\x20   r = repr(x)\n\
\x20   return r if len(r) <= 2000 else r[:2000] + '...'\n\
changing = SCENARIO == 'shared-changing'\n\
inputs = [(make, alone(f, make, same, changing)) for make in INPUTS]\n\
slowest = max(a.seconds for _, a in inputs)\n\
h = Harness(f, SCENARIO, THREADS, calls_per_round(slowest, THREADS), same, show)\n\
callers = THREADS - 1 if changing else THREADS\n\
if SCENARIO == 'own-arguments':\n\
\x20   assign = lambda r, t: t % len(inputs)\n\
else:\n\
\x20   assign = lambda r, t: r % len(inputs)\n\
if not hasattr(sys, '_is_gil_enabled') or sys._is_gil_enabled():\n\
\x20   switch_interval_for_threads()\n\
HANG_S = max(2.0, 5 * LIMIT_S)\n\
def on_round(r):\n\
\x20   # A round still running after HANG_S seconds ends the process with its stacks (exit 1).\n\
\x20   faulthandler.dump_traceback_later(HANG_S, exit=True)\n\
print('%d threads (%s) for up to %d rounds; a crash, a hang or exit 1 reproduces the finding'\n\
\x20     % (THREADS, SCENARIO, ROUNDS), flush=True)\n\
done, found = h.run(inputs, assign, ROUNDS, TIME_S, on_round)\n\
faulthandler.cancel_dump_traceback_later()\n\
if found is not None:\n\
\x20   print(h.describe(done, found, inputs))\n\
\x20   print('reproduced in round %d' % done)\n\
\x20   sys.exit(1)\n\
print('not reproduced in %d rounds' % done)\n\
sys.exit(0)\n";

/// The reproducer's file name, `<module>.<function>.<kind>.py`: dots in the module name become
/// `_`, and each name is passed through [`crate::fs::safe_file_name`], so a name holding `/`,
/// `..`, NUL or a line break, or a very long one, still gives one file in the directory.
pub fn file_name(t: &Target, kind: FindingKind) -> String {
    format!(
        "{}.{}.{}.py",
        crate::fs::safe_file_name(&t.module.replace('.', "_")),
        crate::fs::safe_file_name(&t.function),
        kind
    )
}

/// Writes the reproducer into `dir` (created if missing) and returns its path; the file is
/// written with [`crate::fs::write_atomic`].
pub fn write(
    dir: &Path,
    t: &Target,
    finding: &Finding,
    timeout_ms: u64,
    python: &Path,
) -> std::io::Result<PathBuf> {
    crate::fs::create_dir_all(dir)?;
    let path = dir.join(file_name(t, finding.kind));
    crate::fs::write_atomic(&path, script(t, finding, timeout_ms, python).as_bytes())?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_escape_line_breaks_and_encoding_declarations() {
        assert_eq!(comment_text("plain text: ok"), "plain text: ok");
        assert_eq!(
            comment_text("a\rb\nc\x0cd\u{2028}e\u{85}f\0g\u{202e}h"),
            "a\\x0db\\x0ac\\x0cd\\u2028e\\x85f\\x00g\\u202eh"
        );
        assert_eq!(comment_text("# coding=utf-7"), "# coding\\x3dutf-7");
    }
}
