"""pytest plugin loaded by `pyz3 test` (``-p _pyz3_sanitize``).

It lets pyz3 tell which test a sanitizer report came from and resume after a test that killed
the interpreter:

- before each test it points every loaded sanitizer runtime's report path at ``DIR/t<index>``
  (``__sanitizer_set_report_path``), and at ``DIR/s<index>`` after it, so each report file
  names its test; tests are recorded in ``DIR/tests.jsonl`` as they start and finish;
- with LeakSanitizer it runs a recoverable leak check after each test (the test's outcome is
  recorded before it, as ``checking``);
- tests listed in ``DIR/skip`` (already run before a crash) are deselected;
- Rust panics (overflow checks, debug assertions) are recorded in ``DIR/panics.jsonl``;
- the session's outcome is written to ``DIR/session.json``.

Every JSON object written carries ``"version": FORMAT`` (the format of these files; pyz3 refuses
a newer one). ``collected.jsonl`` holds one JSON string (a node id) per line.

``DIR`` is ``$PYZ3_SANITIZE_DIR``. Without it the plugin does nothing.
"""

import ctypes
import json
import os
import re

import pytest

DIR = os.environ.get("PYZ3_SANITIZE_DIR")
LEAKS = os.environ.get("PYZ3_SANITIZE_LEAKS") == "1"
FORMAT = 1
RUNTIME = re.compile(r"lib(asan|tsan|ubsan|lsan)[.-]|libclang_rt\.(asan|tsan|ubsan_standalone|lsan)")


def _runtimes(known=None):
    """(tag, setter, lib) for every loaded sanitizer runtime exporting
    __sanitizer_set_report_path; `known` (path -> entry) is reused, so each library is opened
    once however often this runs."""
    known = {} if known is None else known
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/" in line}
    except OSError:
        paths = set()
    for path in sorted(paths - set(known)):
        m = RUNTIME.search(os.path.basename(path))
        if not m:
            continue
        known[path] = None
        try:
            lib = ctypes.CDLL(path)
            setter = lib.__sanitizer_set_report_path
        except (OSError, AttributeError):
            continue
        setter.argtypes = [ctypes.c_char_p]
        setter.restype = None
        known[path] = ((m.group(1) or m.group(2)).split("_")[0], setter, lib)
    return known


class _Recorder:
    def __init__(self, directory):
        self.dir = directory
        self.index = self._next_index()
        self.known = _runtimes()
        self.runtimes = [r for r in self.known.values() if r]
        self.log = open(os.path.join(directory, "tests.jsonl"), "a", buffering=1)
        self.outcomes = {}
        self.leak_check = None
        if LEAKS:
            for _, _, lib in self.runtimes:
                fn = getattr(lib, "__lsan_do_recoverable_leak_check", None)
                if fn is not None:
                    fn.restype = ctypes.c_int
                    self.leak_check = fn
                    break

    def _next_index(self):
        # Indices continue across resumed runs so report files never collide.
        try:
            with open(os.path.join(self.dir, "tests.jsonl")) as f:
                return 1 + max((json.loads(l).get("i", -1) for l in f if l.strip()), default=-1)
        except OSError:
            return 0

    def set_path(self, prefix):
        # Runtimes linked by an extension (gcc's libubsan) load with it, after start-up.
        self.runtimes = [r for r in _runtimes(self.known).values() if r]
        for tag, setter, _ in self.runtimes:
            setter(os.path.join(self.dir, "%s.%s" % (prefix, tag)).encode())

    def write(self, record):
        self.log.write(json.dumps(record) + "\n")
        self.log.flush()
        os.fsync(self.log.fileno())


_rec = None


def pytest_configure(config):
    global _rec
    if DIR and _rec is None:
        _rec = _Recorder(DIR)


def pytest_collection_modifyitems(session, config, items):
    if not DIR:
        return
    try:
        with open(os.path.join(DIR, "skip")) as f:
            skip = {l.rstrip("\n") for l in f if l.strip()}
    except OSError:
        skip = set()
    keep = [i for i in items if i.nodeid not in skip]
    dropped = [i for i in items if i.nodeid in skip]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    with open(os.path.join(DIR, "collected.jsonl"), "a") as f:
        for item in items:
            f.write(json.dumps(item.nodeid) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _rec is None:
        yield
        return
    i = _rec.index
    _rec.index += 1
    _rec.write({"version": FORMAT, "i": i, "test": item.nodeid, "pid": os.getpid()})
    _rec.set_path("t%d" % i)
    yield
    if _rec.leak_check is not None:
        import gc

        # The test's outcome first: a leak check that kills the interpreter (LeakSanitizer
        # failing to stop the world) is the sanitizer's failure, not the test's.
        _rec.write({"version": FORMAT, "checking": i,
                    "outcome": _rec.outcomes.get(item.nodeid, "passed")})
        gc.collect()
        _rec.leak_check()
    _rec.set_path("s%d" % i)
    _rec.write({"version": FORMAT, "done": i,
                "outcome": _rec.outcomes.pop(item.nodeid, "passed")})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if _rec is None:
        return
    rep = outcome.get_result()
    if rep.failed:
        _rec.outcomes[item.nodeid] = "error" if rep.when != "call" else "failed"
    elif rep.skipped and item.nodeid not in _rec.outcomes:
        _rec.outcomes[item.nodeid] = "xfailed" if hasattr(rep, "wasxfail") else "skipped"
    if call.excinfo is None:
        return
    if call.excinfo.typename != "PanicException":
        return
    _rec_panic(item.nodeid, str(call.excinfo.value), getattr(rep, "capstderr", ""))


def _rec_panic(test, message, stderr):
    with open(os.path.join(DIR, "panics.jsonl"), "a") as f:
        f.write(json.dumps({"version": FORMAT, "test": test, "message": message,
                            "stderr": stderr}) + "\n")


def pytest_sessionfinish(session, exitstatus):
    if _rec is None:
        return
    counts = {}
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        for key in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
            counts[key] = len(reporter.stats.get(key, []))
    with open(os.path.join(DIR, "session.json"), "a") as f:
        f.write(json.dumps({"version": FORMAT, "exitstatus": int(exitstatus),
                            "counts": counts}) + "\n")
    # Reports after the session (leaks at exit) belong to no test.
    _rec.set_path("exit")
