"""Benchmark runner used by `pyz3 bench` (run as a script; not imported by users).

Bench files are Python modules whose top-level ``bench_*`` functions call the extension. Options,
as plain attributes of the function (simple as pytest-benchmark):

- ``bench_f.params = [10, 1000]``: one benchmark per parameter, named ``bench_f[10]``;
- ``bench_f.setup = callable``: called (with the parameter, if any) outside the timing; its
  return value (a tuple, or a single value) becomes the arguments of each call.

Commands (JSON on stdout):

- ``list FILES...``: the benchmarks;
- ``calibrate MIN_NS NAMES_JSON FILES...``: iterations per sample of the named benchmarks so one
  sample takes at least MIN_NS;
- ``sample PLAN_JSON FILES...``: samples of each benchmark, interleaved round by round;
- ``loop NAME ITERS FILES...``: runs one benchmark's body ITERS times inside ``exec`` (for
  profilers);
- ``loops SPEC_JSON FILES...``: for callgrind, per benchmark a warm-up loop then N and 2N calls,
  each inside its own ``exec`` (collection is toggled on, and a profile part dumped after, each);
- ``memory NAME ITERS FILES...``: allocations of ITERS calls, with memray when installed.

Before each step (importing a bench file, setting up a benchmark, its warm-up call, a
calibration, one sample, a loop of calls) the runner marks the step and its start in a page
shared with pyz3 (fd ``PYZ3_BENCH_WATCH_FD``), outside the timed code: pyz3 stops a step that
outlives its limit and names it.
"""

import importlib.util
import itertools
import json
import os
import sys
import time
import traceback

# The loop callgrind measures, exec'd so that collection can be toggled on `builtin_exec`. As
# timeit does: `itertools.repeat` yields one object, where `range` past 256 would allocate an
# int per call (which would make the cost per call depend on the number of calls).
LOOP = "for _ in _repeat(None, _n):\n    _f(*_a)\n"

# What a step is, for pyz3: the runner's own work, importing a bench file, one step of a
# benchmark, a loop of many calls of one.
RUNNER, IMPORT, STEP, LOOPS = 0, 1, 2, 3


class Watch:
    """The shared page: word 0 the kind of step, word 1 its start (CLOCK_MONOTONIC ns, 0 while
    it is being written), word 2 the length of its name, the name's bytes from offset 64."""

    def __init__(self):
        fd = os.environ.pop("PYZ3_BENCH_WATCH_FD", None)
        if fd:
            import mmap

            self.page = mmap.mmap(int(fd), 4096)
            os.close(int(fd))
        else:
            self.page = bytearray(4096)
        self.words = memoryview(self.page).cast("Q")
        self.names = {}

    def mark(self, kind, name, _now=time.monotonic_ns):
        b = self.names.get(name)
        if b is None:
            b = self.names[name] = name.encode("utf-8", "backslashreplace")[:1024]
        w = self.words
        w[1] = 0
        w[0] = kind
        w[2] = len(b)
        self.page[64:64 + len(b)] = b
        w[1] = _now()

    def done(self):
        self.mark(RUNNER, "")


WATCH = Watch()


def load(files):
    """name -> (function, args factory)."""
    benches = {}
    for path in files:
        stem = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location("_pyz3_bench_" + stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        WATCH.mark(IMPORT, path)
        try:
            spec.loader.exec_module(module)
        except BaseException:
            fail("import", path, traceback.format_exc())
        for attr in sorted(vars(module)):
            fn = getattr(module, attr)
            if not attr.startswith("bench_") or not callable(fn):
                continue
            params = getattr(fn, "params", None)
            setup = getattr(fn, "setup", None)
            if params is None:
                benches["%s::%s" % (stem, attr)] = (fn, factory(setup, ()))
            else:
                for p in params:
                    benches["%s::%s[%s]" % (stem, attr, p)] = (fn, factory(setup, (p,)))
    WATCH.done()
    return benches


def factory(setup, param):
    def make():
        if setup is None:
            return param
        value = setup(*param)
        return tuple(value) if isinstance(value, (tuple, list)) else (value,)

    return make


def fail(what, name, tb):
    json.dump({"error": {"what": what, "name": name, "traceback": tb}}, sys.stdout)
    sys.stdout.flush()
    os._exit(3)


def prepared(benches, name):
    fn, make = benches[name]
    WATCH.mark(STEP, name)
    try:
        args = make()
        fn(*args)  # warm-up, and a bench that raises is reported before any timing
    except BaseException:
        fail("raised", name, traceback.format_exc())
    return fn, args


def run_loop(fn, args, iters):
    # A call of fixed arity from an ordinary function: samplers (py-spy --native) cannot merge
    # native frames under exec'd code or under calls with *args.
    if len(args) == 0:
        for _ in itertools.repeat(None, iters):
            fn()
    elif len(args) == 1:
        (a,) = args
        for _ in itertools.repeat(None, iters):
            fn(a)
    elif len(args) == 2:
        a, b = args
        for _ in itertools.repeat(None, iters):
            fn(a, b)
    elif len(args) == 3:
        a, b, c = args
        for _ in itertools.repeat(None, iters):
            fn(a, b, c)
    else:
        for _ in itertools.repeat(None, iters):
            fn(*args)


def time_once(fn, args, iters, _clock=time.perf_counter_ns, _repeat=itertools.repeat):
    # A plain loop between two clock reads, nothing else: samples are short (about 20 us), so
    # what a sample adds around the calls (an exec, a frame, name lookups) must be small and
    # steady.
    start = _clock()
    for _ in _repeat(None, iters):
        fn(*args)
    return _clock() - start


def main():
    cmd = sys.argv[1]
    if cmd == "list":
        json.dump(sorted(load(sys.argv[2:])), sys.stdout)
    elif cmd == "calibrate":
        min_ns = int(sys.argv[2])
        wanted = json.loads(sys.argv[3])  # the selected benchmarks: others are never called
        benches = load(sys.argv[4:])
        out = {}
        for name in sorted(n for n in benches if n in wanted):
            fn, args = prepared(benches, name)
            iters = 1
            while True:
                WATCH.mark(STEP, name)
                try:
                    elapsed = time_once(fn, args, iters)
                except BaseException:
                    fail("raised", name, traceback.format_exc())
                if elapsed >= min_ns or iters >= 1 << 30:
                    break
                guess = int(iters * min_ns / max(elapsed, 1) * 1.2)
                iters = min(iters * 100, max(iters * 2, guess))
            out[name] = iters
        json.dump(out, sys.stdout)
    elif cmd == "sample":
        plan = json.loads(sys.argv[2])  # {"samples": S, "iters": {name: iters}}
        benches = load(sys.argv[3:])
        ready = {name: prepared(benches, name) for name in plan["iters"]}
        out = {name: [] for name in ready}
        # One untimed round first: caches, branch predictors and the adaptive interpreter warm
        # up before anything is recorded.
        for name, (fn, args) in ready.items():
            WATCH.mark(STEP, name)
            try:
                time_once(fn, args, plan["iters"][name])
            except BaseException:
                fail("raised", name, traceback.format_exc())
        for _ in range(plan["samples"]):
            for name, (fn, args) in ready.items():
                iters = plan["iters"][name]
                WATCH.mark(STEP, name)
                try:
                    # Two decimals of a nanosecond: the clock's resolution is coarser, and the
                    # baseline file stays small.
                    out[name].append(round(time_once(fn, args, iters) / iters, 2))
                except BaseException:
                    fail("raised", name, traceback.format_exc())
        json.dump(out, sys.stdout)
    elif cmd == "loop":
        name, iters = sys.argv[2], int(sys.argv[3])
        benches = load(sys.argv[4:])
        fn, args = prepared(benches, name)
        WATCH.mark(LOOPS, name)
        # A plain function (not exec'd code): samplers merge its frames with native ones.
        run_loop(fn, args, iters)
        json.dump({"ok": True}, sys.stdout)
    elif cmd == "loops":
        # For callgrind: per benchmark a warm-up loop, then N and 2N calls, each inside one
        # exec (a dump point). Everything is prepared first, so no other exec runs in between.
        spec = json.loads(sys.argv[2])  # [[name, calls], ...]
        benches = load(sys.argv[3:])
        ready = [(prepared(benches, name), calls) for name, calls in spec]
        code = compile(LOOP, "<pyz3-bench>", "exec")
        for ((fn, args), calls), (name, _) in zip(ready, spec):
            WATCH.mark(LOOPS, name)
            for n in (calls, calls, 2 * calls):
                exec(code, {"_repeat": itertools.repeat, "_n": n, "_f": fn, "_a": args})
        json.dump({"ok": True}, sys.stdout)
    elif cmd == "memory":
        name, iters = sys.argv[2], int(sys.argv[3])
        benches = load(sys.argv[4:])
        fn, args = prepared(benches, name)
        WATCH.mark(LOOPS, name)
        json.dump(memory(fn, args, iters), sys.stdout)
    else:
        raise SystemExit("unknown command %r" % cmd)
    WATCH.done()
    sys.stdout.flush()


def memory(fn, args, iters):
    """Allocations per call: with memray (Python and native allocators), else tracemalloc."""
    import gc
    import tempfile

    gc.collect()
    try:
        import memray
    except ImportError:
        memray = None
    if memray is not None:
        path = os.path.join(tempfile.mkdtemp(), "bench.bin")
        with memray.Tracker(path, native_traces=False, follow_fork=False):
            for _ in itertools.repeat(None, iters):
                fn(*args)
            gc.collect()
        reader = memray.FileReader(path)
        records = list(reader.get_allocation_records())
        allocs = [r for r in records if r.size and "FREE" not in str(r.allocator) and "MUNMAP" not in str(r.allocator)]
        leaked = list(reader.get_leaked_allocation_records(merge_threads=True))
        return {
            "tool": "memray",
            "iters": iters,
            "allocations": sum(r.n_allocations for r in allocs),
            "allocated_bytes": sum(r.size for r in allocs),
            "peak_bytes": reader.metadata.peak_memory,
            "retained_bytes": sum(r.size for r in leaked),
        }
    import tracemalloc

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in itertools.repeat(None, iters):
        fn(*args)
    gc.collect()
    after = tracemalloc.take_snapshot()
    _, peak = tracemalloc.get_traced_memory()
    diff = after.compare_to(before, "filename")
    tracemalloc.stop()
    return {
        "tool": "tracemalloc",
        "iters": iters,
        "allocations": None,
        "allocated_bytes": None,
        "peak_bytes": peak,
        "retained_bytes": sum(max(d.size_diff, 0) for d in diff),
    }


if __name__ == "__main__":
    main()
