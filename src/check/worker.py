# The pyz3 worker: runs inside the interpreter under test (any CPython 3.9+, GIL or free-threaded).
#
# Started by the runner as `python -c <helpers.py + this file>`. It reads framed requests on a
# private copy of fd 0 (4-byte little-endian length, then b"J" + JSON or b"P" + a pickle of the
# argument tuple written by the runner) and writes JSON replies, one per line, on a private copy
# of fd 1; fds 0 and 1 themselves are pointed at /dev/null and stderr, so whatever the extension
# reads or prints cannot touch the protocol. Before each call it writes the case index, the
# call's start (CLOCK_MONOTONIC ns) and what is running into a shared page (fd PYZ3_WATCH_FD):
# the runner reads it to stop a hung call and to know which case, and whose code, crashed.
# Nothing here is imported by user code.

import gc
import os
import pickle
import struct
import sys
import time
import types

_loads = pickle.loads
_now = time.monotonic_ns

# What is running, for the runner: nothing, the function under test, the oracle, the property,
# pyz3's own work on a result.
PHASE_IDLE, PHASE_CALL, PHASE_ORACLE, PHASE_PROPERTY, PHASE_PYZ3 = 0, 1, 2, 3, 4

_IMMORTAL = 1 << 29

# The runner-worker protocol's version (`protocol::VERSION` in the runner), named in the first
# reply ("ready" or "functions"); the runner refuses any other.
PROTOCOL = 1


class Channel:
    """The protocol streams and the shared watch page."""

    def __init__(self):
        self.inp = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
        self.out = os.fdopen(os.dup(1), "wb", buffering=0)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        self.pending = []
        self.last_flush = time.monotonic()
        # The watch page as three unsigned 64-bit words: case index, start (ns), phase. Item
        # assignment is the cheapest write Python has; it runs twice per call.
        fd = os.environ.pop("PYZ3_WATCH_FD", None)
        if fd:
            import mmap

            self.page = mmap.mmap(int(fd), 4096)
            os.close(int(fd))
        else:
            self.page = bytearray(4096)
        self.watch = memoryview(self.page).cast("Q")
        self.index = 0

    def frame(self):
        head = self.inp.read(4)
        if len(head) < 4:
            return None
        (n,) = struct.unpack("<I", head)
        body = self.inp.read(n)
        if len(body) < n:
            return None
        return body

    def mark(self, phase):
        w = self.watch
        w[0] = self.index
        w[1] = _now() if phase else 0
        w[2] = phase

    def queue(self, reply):
        import json

        self.pending.append(json.dumps(reply))

    def flush(self):
        if not self.pending:
            return
        text = "\n".join(self.pending) + "\n"
        self.pending = []
        self.out.write(text.encode("utf-8", "backslashreplace"))
        self.last_flush = time.monotonic()

    def send(self, reply):
        self.queue(reply)
        self.flush()


CH = None


# `Type: message` of an exception (threads.py, run before this file, defines it).
err_text = exception_text  # noqa: F821


def traceback_text(e):
    import traceback

    try:
        return "".join(traceback.format_exception(type(e), e, e.__traceback__))
    except Exception:
        return None


TEXT_CAP = 16384


def capped(text, keep_end=False):
    """`text` within TEXT_CAP characters: a target's exception message or traceback may be any
    size. Messages keep their start, tracebacks their end (the innermost frames)."""
    if text is None or len(text) <= TEXT_CAP:
        return text
    cut = len(text) - TEXT_CAP
    if keep_end:
        return "[%d characters cut]\n%s" % (cut, text[-TEXT_CAP:])
    return "%s\n[%d characters cut]" % (text[:TEXT_CAP], cut)


def obs(kind, message, tb=None):
    return {"kind": kind, "message": capped(message), "traceback": capped(tb, keep_end=True)}


# -- calls and comparisons ----------------------------------------------------------------------


def call(f, args, phase=PHASE_CALL):
    """(elapsed ns, returned, value or exception) of f(*args), marked for the runner."""
    w = CH.watch
    w[0] = CH.index
    # The start before the phase: the runner must never see this phase with an older start.
    t = w[1] = _now()
    w[2] = phase
    try:
        r = f(*args)
        ok = True
    except BaseException as e:  # noqa: B036 - KeyboardInterrupt from a target is an outcome
        r = e
        ok = False
    try:
        # The next call into C finds an exception the call left set beside its result (some
        # call paths do not check): CPython raises SystemError there, caused by it.
        now = _now()
    except SystemError as e:
        now = t
        r = SystemError("%s returned a result with an exception set" % _name(f))
        r.__cause__ = e.__cause__
        ok = False
    # pyz3's own work on the result from here on, with a limit of its own.
    w[1] = now
    w[2] = PHASE_PYZ3
    return now - t, ok, r


def drop_tracebacks(e):
    """Clears the tracebacks of an exception and of those it was raised from or during."""
    seen = 0
    while isinstance(e, BaseException) and seen < 100:
        e.__traceback__ = None
        e = e.__cause__ or e.__context__
        seen += 1


def _name(f):
    try:
        return repr(f)
    except Exception:
        return "the function"


def same_value(a, b, depth=0, reads=False):
    """Strict equality of argument values: exact types, floats by bits (NaN equals itself,
    -0.0 differs from 0.0), containers item by item, arrays by dtype, shape and bytes. With
    `reads`, `a` is an argument after a call and `b` its copy from before: keys a
    `defaultdict` gained with its default value are reads (`d[k]` inserts), not changes."""
    if a is b:
        return True
    ta = type(a)
    if ta is not type(b):
        return False
    if ta.__module__ == "_pyz3":
        # Generated callbacks (and unarmed hostile objects) equal their like.
        return True
    if depth > 200:
        return pyz3_eq(a, b)
    if ta is float:
        return struct.pack("<d", a) == struct.pack("<d", b)
    if ta is complex:
        return struct.pack("<dd", a.real, a.imag) == struct.pack("<dd", b.real, b.imag)
    if ta in (int, str, bytes, bytearray, bool):
        return a == b
    if ta is list or ta is tuple:
        return len(a) == len(b) and all(same_value(x, y, depth + 1, reads) for x, y in zip(a, b))
    if isinstance(a, dict):
        if reads and len(a) > len(b) and getattr(a, "default_factory", None) is not None:
            a = _without_read_defaults(a, b)
        if len(a) != len(b) or getattr(a, "default_factory", None) is not getattr(b, "default_factory", None):
            return False
        return all(same_value(k1, k2, depth + 1, reads) and same_value(v1, v2, depth + 1, reads)
                   for (k1, v1), (k2, v2) in zip(a.items(), b.items()))
    if isinstance(a, (set, frozenset)):
        if len(a) != len(b):
            return False
        rest = list(b)
        for x in a:
            for i, y in enumerate(rest):
                if same_value(x, y, depth + 1, reads):
                    del rest[i]
                    break
            else:
                return False
        return True
    if ta.__name__ == "deque" and ta.__module__ == "collections":
        return a.maxlen == b.maxlen and len(a) == len(b) and all(
            same_value(x, y, depth + 1, reads) for x, y in zip(a, b))
    np = sys.modules.get("numpy")
    if np is not None and isinstance(a, np.ndarray):
        return (a.dtype == b.dtype and a.dtype.str == b.dtype.str and a.shape == b.shape
                and a.strides == b.strides and a.flags.writeable == b.flags.writeable
                and a.tobytes() == b.tobytes())
    if ta.__module__ == "decimal":
        return str(a) == str(b)
    if ta.__module__ == "datetime" and hasattr(a, "tzinfo"):
        return a == b and a.tzinfo == b.tzinfo and getattr(a, "fold", 0) == getattr(b, "fold", 0)
    return pyz3_eq(a, b)


def _without_read_defaults(after, before):
    """`after` (a defaultdict) without the keys that are not in `before` and map to the value
    its `default_factory` gives: what reading missing keys inserted."""
    try:
        default = after.default_factory()
    except BaseException:  # noqa: B036 - a factory of the target's own
        return after
    kept = type(after)(after.default_factory)
    for k, v in after.items():
        try:
            inserted = k not in before and same_value(v, default)
        except BaseException:  # noqa: B036 - keys whose hash or equality raise
            inserted = False
        if not inserted:
            kept[k] = v
    return kept


def arm(args, f):
    """Arms the hostile values in `args` for a call of `f` (see the pickle helpers' `bind`); how
    many. No other reference to them is kept: one that removes itself from its container may be
    freed."""
    return sys.modules["_pyz3"].bind(args, f)


_CALLABLES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
              types.LambdaType, types.MethodWrapperType)


def same_result(a, b):
    """Whether two results of calls with equal arguments are the same: values compare strictly;
    objects without value equality (functions, closures, bound methods, plain instances) by
    type."""
    if type(a) is type(b) and isinstance(a, _CALLABLES):
        return True
    try:
        return same_value(a, b)
    except RecursionError:
        return True
    except Exception:
        return type(a) is type(b)


class Checker:
    def __init__(self, setup):
        self.setup = setup
        self.timeout_ns = max(int(setup["timeout_ms"]), 1) * 1_000_000
        module = import_target(setup["module"], setup.get("path"))
        self.function = resolve(module, setup["function"])
        self.oracle = None
        spec = setup.get("oracle")
        if spec:
            if ":" not in spec:
                raise SetupError("oracle `%s` must be module:callable" % spec)
            m, name = spec.split(":", 1)
            try:
                self.oracle = resolve(import_target(m, None), name)
            except SetupError as e:
                raise SetupError("oracle `%s`: %s" % (spec, e))
        self.property = None
        expr = setup.get("property")
        if expr:
            try:
                self.property = compile(expr, "<property>", "eval")
            except SyntaxError as e:
                raise SetupError("property `%s` does not compile: %s" % (expr, err_text(e)))
        self.names = setup.get("param_names") or []
        self.check_mutation = not setup.get("mutates")
        self.check_determinism = not setup.get("nondeterministic")
        self.check_refcount = not setup.get("no_refcount")
        # A note on how the function was checked, for the next reply (the runner shows it
        # once).
        self.note = None
        # Set once the memory check found a leak: later cases of the batches skip the check
        # (one leaking input is the finding, more would cost seconds each; replays still run
        # it).
        self.memory_leak_found = False
        # Set once pyz3's own work on this function's results hung or crashed: results are then
        # neither compared nor shown (the runner warns once).
        self.result_work = not setup.get("no_result_work")
        if not self.result_work:
            self.check_determinism = False
            self.oracle = None

    def slow_or_system_error(self, elapsed, ok, r):
        if elapsed > self.timeout_ns:
            return obs("timeout", "the call took %d ms (limit %d ms)" % (
                elapsed // 1_000_000, self.timeout_ns // 1_000_000))
        if not ok and isinstance(r, SystemError):
            return obs("system-error", err_text(r), traceback_text(r))
        return None

    def show(self, ok, r):
        if ok:
            return pyz3_show(r) if self.result_work else "<a result, not shown>"
        return "raised " + err_text(r)

    def check(self, case, memory):
        f = self.function
        limit = self.timeout_ns
        try:
            args1 = _loads(case)
        except Exception as e:
            raise CaseError("the case's arguments do not unpickle: " + err_text(e))
        if b"hostile" in case and arm(args1, f):
            return self.hostile_check(args1)
        objs1 = reachable(args1)
        if objs1:
            # Extra references: an over-release must not free what it releases under our feet.
            keep1 = objs1 * 16  # noqa: F841
            before1 = counts(objs1)
            # A function meant to change its arguments may store references in them.
            held1 = None if self.check_mutation else held(args1, objs1)
        t1, ok1, r1 = call(f, args1)
        if t1 > limit or (not ok1 and isinstance(r1, SystemError)):
            return self.slow_or_system_error(t1, ok1, r1)
        args2 = _loads(case)
        # Input mutation: the arguments after the call against fresh equal ones.
        if self.check_mutation:
            found = self.mutation(args1, args2)
            if found:
                return found
        objs2 = reachable(args2)
        if objs2:
            keep2 = objs2 * 16  # noqa: F841
            before2 = counts(objs2)
            held2 = None if self.check_mutation else held(args2, objs2)
        t2, ok2, r2 = call(f, args2)
        if t2 > limit or (not ok2 and isinstance(r2, SystemError)):
            return self.slow_or_system_error(t2, ok2, r2)
        if self.check_determinism:
            if ok1 and ok2:
                same = type(r1) is type(r2) and (r1 == r2 if type(r1) is int else same_result(r1, r2))
            else:
                same = not ok1 and not ok2 and type(r1) is type(r2)
            if not same:
                return obs("nondeterministic",
                           "two calls with equal arguments gave different results\n%s" % diff(
                               self.show(ok1, r1), self.show(ok2, r2), "first call", "second call"))
        setup = self.setup
        if self.oracle is not None:
            args3 = _loads(case)
            _, oke, expected = call(self.oracle, args3, PHASE_ORACLE)
            tol = setup.get("float_tolerance") or 0.0
            if oke and ok1:
                try:
                    agree = pyz3_eq(expected, r1, tol)
                except Exception:
                    # Results that cannot be compared (a raising __eq__, too deep) show no
                    # difference: the oracle check says nothing about them.
                    agree = True
            else:
                agree = not oke and not ok1 and self.same_exception(type(expected), type(r1))
            if not agree:
                return obs("oracle-mismatch", "result differs from the oracle %s\n%s" % (
                    setup.get("oracle"), diff(self.show(oke, expected), self.show(ok1, r1),
                                              "expected (oracle)", "actual")),
                           None if ok1 else traceback_text(r1))
        if self.property is not None:
            found = self.property_check(args1, ok1, r1)
            if found:
                return found
        # An exception's traceback keeps the frames of the call, and the arguments in them,
        # alive in a cycle until the collector runs: dropped here, so the counts are back at
        # once and the refcount check needs no collection for every call that raised.
        for r, ok in ((r1, ok1), (r2, ok2)):
            if not ok:
                drop_tracebacks(r)
        del r1, r2, r
        if objs1 and objs2 and self.check_refcount:
            found = refcount_judge(f, args1, objs1, before1, objs2, before2, held1, held2, args2)
            if found:
                return found
        # The costly checks, on some cases (and on every replay of their findings).
        if memory:
            # A function that mutates its arguments gets fresh ones for every call: reusing
            # a list it appends to would look like a leak.
            fresh = (lambda: _loads(case)) if not self.check_mutation else (lambda: args2)
            if _total_refcount is not None:
                found = total_refcount_check(f, fresh)
                if found:
                    return found
            found = memory_check(f, fresh)
            if isinstance(found, str):
                self.note, found = found, None
            self.memory_leak_found |= found is not None
            return found
        return None

    def take_note(self, reply):
        """Moves the pending note, if any, into `reply`."""
        if self.note:
            reply["note"], self.note = self.note, None
        return reply

    def hostile_check(self, args):
        """One call with armed hostile values: only a hang or a SystemError is a finding here
        (a crash or an over-release ends the process, which the runner reports). Exceptions,
        changed arguments and results are what the hostile code asked for."""
        t, ok, r = call(self.function, args)
        if t > self.timeout_ns or (not ok and isinstance(r, SystemError)):
            return self.slow_or_system_error(t, ok, r)
        if not ok:
            drop_tracebacks(r)
        return None

    def same_exception(self, a, b):
        """Whether two calls that both raised agree, by `--oracle-exceptions`."""
        mode = self.setup.get("oracle_exceptions") or "related"
        if mode == "any":
            return True
        if mode == "exact":
            return a is b
        return issubclass(a, b) or issubclass(b, a)

    def mutation(self, args1, args2):
        """An input-mutation finding when an argument differs from a fresh copy (a method, so
        that no local keeps a reference the refcount check would count)."""
        for i in range(min(len(args1), len(args2))):
            try:
                same = same_value(args1[i], args2[i], reads=True)
            except RecursionError:
                same = True
            if not same:
                name = self.names[i] if i < len(self.names) else "?"
                return obs("input-mutation", "argument `%s` changed during the call\n%s" % (
                    name, diff(pyz3_show(args2[i]), pyz3_show(args1[i]), "before", "after")))
        return None

    def property_check(self, args, ok, r):
        expr = self.setup.get("property")
        env = {"__builtins__": __builtins__}
        for name, a in zip(self.names, args):
            env[name] = a
        env["args"] = args
        env["result"] = r if ok else None
        env["exception"] = None if ok else r
        CH.mark(PHASE_PROPERTY)
        try:
            v = eval(self.property, env)
            holds = bool(v)
        except BaseException as e:  # noqa: B036
            CH.mark(PHASE_PYZ3)
            return obs("property-failed", "property `%s` raised %s" % (expr, err_text(e)),
                       traceback_text(e))
        CH.mark(PHASE_PYZ3)
        if holds:
            return None
        return obs("property-failed", "property `%s` is %s for result %s" % (
            expr, pyz3_show(v), self.show(ok, r)))


PHASE_THREADS = 5


def threads_request(checker, req, cases):
    """Runs one thread-safety scenario on `cases` (pickled argument tuples that ran clean
    alone): a `baseline` reply naming the cases usable (clean and in time when called alone
    here), then a `threads` reply with what the rounds found."""
    f = checker.function
    scenario = req["scenario"]
    n = max(int(req["threads"]), 2)
    changing = scenario == "shared-changing"
    limit_s = checker.timeout_ns / 1e9

    def invoke(fn, args):
        t, ok, r = call(fn, args)
        return ok, r

    inputs, usable = [], []
    # The calls alone take at most the rounds' time (a slow function gets fewer cases), but
    # always two cases (one for shared arguments).
    until = time.perf_counter() + req["budget_ms"] / 1000.0
    least = 2 if scenario == "own-arguments" else 1
    for i, case in enumerate(cases):
        if len(inputs) >= least and time.perf_counter() > until:
            break
        CH.index = i

        def make(c=case):
            return _loads(c)

        if changing and not mutables(make()):
            continue
        a = alone(f, make, same_value, changing, invoke, until)
        if a.seconds > limit_s or (not a.ok and isinstance(a.result, SystemError)):
            continue
        inputs.append((make, a))
        usable.append(i)
    CH.mark(PHASE_IDLE)
    CH.send({"reply": "baseline", "usable": usable})
    if not inputs:
        why = "no argument holds a mutable container" if changing else "no case runs cleanly alone"
        return {"reply": "threads", "rounds": 0, "finding": None, "skipped": why}
    callers = n - 1 if changing else n
    m = len(inputs)
    if scenario == "own-arguments":
        assign = (lambda r, t: t % m) if req.get("fixed") else (lambda r, t: (r * callers + t) % m)
    else:
        # Shared arguments: one case a round, in turn (a replay alternates the failing case
        # with the one before it, whose state, such as a cache, may be what it races on).
        assign = lambda r, t: r % m  # noqa: E731
    seconds = max(a.seconds for _, a in inputs)
    h = Harness(f, scenario, n, calls_per_round(seconds, n), same_result, pyz3_show, diff)
    w = CH.watch

    def on_round(r):
        w[0] = r
        w[1] = _now()
        w[2] = PHASE_THREADS

    old = switch_interval_for_threads() if gil_enabled() is not False else None
    try:
        done, found = h.run(inputs, assign, int(req["rounds"]), req["budget_ms"] / 1000.0, on_round,
                            int(req.get("min_rounds", 0)))
    except RuntimeError as e:
        return {"reply": "error", "message": str(e)}
    finally:
        CH.mark(PHASE_IDLE)
        if old is not None:
            sys.setswitchinterval(old)
    if found is None:
        return {"reply": "threads", "rounds": done, "finding": None}
    rnd, detail = done, found
    ti, what, ok, r, index = detail
    if scenario == "own-arguments":
        per = [usable[assign(rnd, t)] for t in range(callers)]
    else:
        per = [usable[index]]
        if rnd > 0 and m > 1:
            per.append(usable[assign(rnd - 1, 0)])
    message = h.describe(rnd, detail, inputs)
    return {"reply": "threads", "rounds": rnd + 1, "round": rnd, "thread": ti, "cases": per,
            "finding": obs("thread-safety", message, None if ok else traceback_text(r))}


def diff(a, b, la, lb):
    """A line diff of `a` (labelled `la`) against `b`, every line shown; long one-line values
    are split at commas so the difference stands out."""
    import difflib

    def split(t):
        return t if "\n" in t or len(t) <= 60 else t.replace(", ", ",\n")

    out = ["--- " + la, "+++ " + lb]
    for line in difflib.ndiff(split(a).splitlines(), split(b).splitlines()):
        if line[:1] in "-+ ":
            out.append(line[0] + line[2:])
    return "\n".join(out).rstrip()


class CaseError(Exception):
    """pyz3 could not build a case's arguments (never the function's fault)."""


class SetupError(Exception):
    pass


def import_target(module, path):
    import importlib

    directory = path or os.getcwd()
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        return importlib.import_module(module)
    except BaseException as e:  # noqa: B036 - SystemExit or KeyboardInterrupt at import too
        raise SetupError("cannot import `%s`: %s" % (module, err_text(e)))


def resolve(module, dotted):
    obj = module
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except Exception:
            raise SetupError("`%s` has no attribute `%s`" % (module.__name__, dotted))
    return obj


def gil_enabled():
    """On a free-threaded build, whether the GIL is on; None on GIL builds."""
    import sysconfig

    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None
    return bool(sys._is_gil_enabled())


def install_pickle_helpers(source):
    m = types.ModuleType("_pyz3")
    exec(source, m.__dict__)
    sys.modules["_pyz3"] = m


def handle(req, state):
    op = req.get("op")
    if op == "init":
        install_pickle_helpers(req["pickle_helpers"])
        return
    if op == "setup":
        try:
            state["checker"] = Checker(req)
        except SetupError as e:
            CH.send({"reply": "error", "message": str(e)})
            return
        CH.send({"reply": "ready", "gil_enabled": gil_enabled(), "version": PROTOCOL})
        return
    if op == "describe":
        try:
            import_target(req["module"], req.get("path"))
            functions, stub, module_file = pyz3_describe(
                req["module"], req.get("stubs"), req.get("include") or ())
        except SetupError as e:
            CH.send({"reply": "error", "message": str(e)})
            return
        except Exception as e:
            CH.send({"reply": "error", "message": err_text(e)})
            return
        CH.send({"reply": "functions", "functions": [
            {"name": n, "params": p, "source": s, "optional": o, "mutating": m}
            for n, p, s, o, m in functions],
            "stub": stub, "file": module_file, "gil_enabled": gil_enabled(),
            "version": PROTOCOL})
        return
    if op == "load":
        count = 0
        for _ in range(req["count"]):
            case = CH.frame()
            if case is None:
                sys.exit(0)
            try:
                _loads(case[1:])
            except Exception as e:
                CH.send({"reply": "error", "message": "value %d does not unpickle: %s" % (
                    count, err_text(e))})
                return
            count += 1
        CH.send({"reply": "loaded", "count": count})
        return
    checker = state.get("checker")
    if checker is None:
        CH.send({"reply": "error", "message": "a case request came before setup"})
        return
    if op == "batch":
        flush_each = req.get("flush_each", False)
        memory_cases = set(req.get("memory", ()))
        reported = index = None
        blob = CH.frame()
        if blob is None:
            sys.exit(0)
        # One frame: a pickled list of the cases' pickles.
        cases = _loads(blob[1:]) if blob[:1] == b"B" else ()
        start = req["start"]
        for index in range(start, start + min(req["count"], len(cases))):
            case = cases[index - start]
            CH.index = index
            own = None
            try:
                found = checker.check(
                    case, index in memory_cases and not checker.memory_leak_found)
            except CaseError as e:
                CH.flush()
                CH.send({"reply": "error", "message": str(e)})
                return
            except Exception as e:
                # pyz3's own checking code failed (on something the target returned): the
                # case is skipped with a warning, never blamed on the function.
                found, own = None, pyz3_failure(e)
            CH.mark(PHASE_IDLE)
            # A case with a finding is sent at once (so a crash never hides it); a clean case
            # is only acknowledged now and then: "done through this one".
            if own:
                CH.queue({"reply": "case", "index": index, "finding": None, "pyz3_error": own})
                CH.flush()
                reported = index
            elif found or flush_each or checker.note or time.monotonic() - CH.last_flush > 0.05:
                CH.queue(checker.take_note({"reply": "case", "index": index, "finding": found}))
                CH.flush()
                reported = index
        if reported != index:
            CH.queue({"reply": "case", "index": index, "finding": None})
        CH.flush()
    elif op == "threads":
        blob = CH.frame()
        if blob is None:
            sys.exit(0)
        cases = _loads(blob[1:]) if blob[:1] == b"B" else ()
        CH.send(threads_request(checker, req, cases))
    elif op == "explicit":
        case = CH.frame()
        if case is None:
            sys.exit(0)
        CH.index = (1 << 64) - 1
        if req.get("time_only"):
            # One call and its time: a call over the limit retried with a longer one.
            args = _loads(case[1:])
            if b"hostile" in case:
                arm(args, checker.function)
            elapsed, ok, r = call(checker.function, args)
            del args
            found = None if ok or not isinstance(r, SystemError) else obs(
                "system-error", err_text(r), traceback_text(r))
            CH.mark(PHASE_IDLE)
            CH.send({"reply": "case", "index": (1 << 64) - 1, "finding": found,
                     "elapsed_ms": elapsed // 1_000_000})
            return
        own = None
        try:
            found = checker.check(case[1:], req.get("memory", False))
        except CaseError as e:
            CH.send({"reply": "error", "message": str(e)})
            return
        except Exception as e:
            found, own = None, pyz3_failure(e)
        CH.mark(PHASE_IDLE)
        reply = checker.take_note({"reply": "case", "index": (1 << 64) - 1, "finding": found})
        if own:
            reply["pyz3_error"] = own
        CH.send(reply)
    else:
        CH.send({"reply": "error", "message": "unknown request %r" % (op,)})


def pyz3_failure(e):
    """One line on an exception that escaped pyz3's own checking code (a comparison or a walk
    over what the target returned), with the innermost frame of the worker it came from."""
    import traceback

    where = ""
    frames = traceback.extract_tb(e.__traceback__)
    if frames:
        where = " (in %s)" % frames[-1].name
    return "pyz3 could not check the case: %s%s" % (err_text(e), where)


def main():
    global CH
    import json

    CH = Channel()
    import faulthandler

    faulthandler.enable()
    state = {}
    while True:
        body = CH.frame()
        if body is None:
            return
        if body[:1] != b"J":
            CH.send({"reply": "error", "message": "a request frame must be JSON"})
            continue
        handle(json.loads(body[1:].decode("utf-8")), state)


main()
