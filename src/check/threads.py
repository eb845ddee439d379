# Thread safety: one function called from many threads at once.
#
# Part of the worker program (run before worker.py, in the same namespace) and, whole, of every
# thread-safety reproducer, so a reproducer runs exactly the rounds the check ran. It needs
# nothing but the standard library: the caller passes in how to compare results (`same`) and
# what to do at the start of each round (`on_round`: the worker marks its watch page there).
#
# A round: N threads wait at a barrier, then each calls the function CALLS times in a row
# (overlapping calls are what a race needs) and judges every outcome at once:
# - own arguments: each thread its own argument objects, unpickled fresh;
# - shared arguments: every thread the same argument objects;
# - shared and changing: one thread (the caller's own) keeps mutating the containers reachable
#   from the shared arguments (append, pop, clear, resize, item replacement, with items already
#   there) while the others call.
# In the first two, every outcome must be the outcome of the same call made alone (computed
# before the threads start; a case whose two calls alone disagree is not compared). In the
# third, results are not compared: a SystemError, or an exception of a type the call does not
# raise alone (on the same arguments and on the shapes the mutations make), is what counts.
# Crashes and hangs are seen from outside (the worker's runner, or the reproducer's exit).

import random as _random
import sys as _sys
import threading as _threading
import time as _time

# The scenarios, with the words messages use for them.
SCENARIOS = {
    "own-arguments": "own arguments",
    "shared-arguments": "shared arguments",
    "shared-changing": "shared arguments changed by another thread",
}

# The interpreter's own detection of a container changed under an iteration: correct behaviour.
_RACE_MESSAGES = ("changed size during iteration", "mutated during iteration")

_MUTABLE_NAMES = ("list", "dict", "set", "bytearray", "array", "deque")


class Alone:
    """What one case gives when called alone: `ok`, the result or exception, whether its two
    calls agreed (`stable`), whether the call changed its arguments, the exception types seen
    alone (also on mutated shapes, for the changing scenario) and the slowest call's seconds."""

    def __init__(self, ok, result, stable, mutates, seconds):
        self.ok = ok
        self.result = result
        self.stable = stable
        self.mutates = mutates
        self.seconds = seconds
        self.raised = set()
        if not ok:
            self.raised.add(type(result))


def outcome_of(f, args):
    try:
        return True, f(*args)
    except BaseException as e:  # noqa: B036 - what a target raises is an outcome
        return False, e


def exception_text(e):
    ty = type(e)
    name = ty.__qualname__ if ty.__module__ == "builtins" else "%s.%s" % (ty.__module__, ty.__qualname__)
    try:
        msg = str(e)
    except Exception:
        msg = "<str() failed>"
    if len(msg) > 16384:
        # A target's message may be any size: its start is enough to name it.
        msg = "%s... [%d characters cut]" % (msg[:16384], len(msg) - 16384)
    return "%s: %s" % (name, msg) if msg else name


def _kind_name(c):
    for t in type(c).__mro__:
        if t.__name__ in _MUTABLE_NAMES and t.__module__ in ("builtins", "array", "collections"):
            return t.__name__
    return None


def mutables(args, limit=8):
    """The mutable containers reachable from the arguments (lists, dicts, sets, bytearrays,
    arrays, deques), outermost first, at most `limit`."""
    out, seen = [], set()
    stack = [(a, 0) for a in reversed(list(args))]
    while stack and len(out) < limit:
        o, depth = stack.pop()
        if id(o) in seen or depth > 16:
            continue
        seen.add(id(o))
        kind = _kind_name(o)
        if kind is not None:
            out.append(o)
        try:
            if isinstance(o, dict):
                items = list(o.values())
            elif isinstance(o, (list, tuple, set, frozenset)) or kind == "deque":
                items = list(o)
            else:
                continue
        except Exception:
            continue
        for x in reversed(items):
            stack.append((x, depth + 1))
    return out


def _copies(items):
    """Equal items that are other objects (a pickle round trip), so that removing an item from
    its container drops its last reference, as a caller's change would: an extension holding it
    borrowed then reads freed memory. Items that do not pickle are kept as they are."""
    import pickle

    try:
        copied = pickle.loads(pickle.dumps(items, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        return items
    return copied if len(copied) == len(items) else items


class Mutator:
    """Changes one container at a time, with (copies of) items it held: appends, pops, clears,
    deletes half, extends, replaces an item, restores. A container never grows past four times
    its first size (plus 8), so a caller iterating it always finishes."""

    def __init__(self, containers, seed):
        self.rng = _random.Random(seed)
        self.items = []
        for c in containers:
            kind = _kind_name(c)
            try:
                snap = list(c.items()) if kind == "dict" else list(c)
            except Exception:
                continue
            self.items.append((c, kind, _copies(snap)))

    def ops(self, c, kind, snap):
        """The operations that apply to `c` now, as (name, callable)."""
        rng = self.rng
        n = len(c)
        big = n > 4 * len(snap) + 8
        out = [("clear", c.clear)]
        if kind == "dict":
            if snap and not big:
                k, v = snap[rng.randrange(len(snap))]
                out.append(("insert", lambda: c.__setitem__(k, v)))
                out.append(("restore", lambda: c.update(snap)))
            if n:
                out.append(("popitem", c.popitem))
            return out
        if kind == "set":
            if snap and not big:
                x = snap[rng.randrange(len(snap))]
                out.append(("add", lambda: c.add(x)))
                out.append(("restore", lambda: c.update(snap)))
            if n:
                out.append(("pop", c.pop))
            return out
        if n:
            out.append(("pop", c.pop))
            if kind != "deque":
                out.append(("delete half", lambda: c.__delitem__(slice(n // 2, None))))
            if snap:
                i, j = rng.randrange(n), rng.randrange(len(snap))
                out.append(("replace an item", lambda: c.__setitem__(i, snap[j])))
        if snap and not big:
            x = snap[rng.randrange(len(snap))]
            out.append(("append", lambda: c.append(x)))
            out.append(("extend", lambda: c.extend(snap)))
        if kind != "deque":
            out.append(("restore", lambda: c.__setitem__(slice(None), snap)))
        return out

    def step(self):
        if not self.items:
            return
        c, kind, snap = self.items[self.rng.randrange(len(self.items))]
        try:
            ops = self.ops(c, kind, snap)
            ops[self.rng.randrange(len(ops))][1]()
        except BaseException:  # noqa: B036 - a resize refused (BufferError) is fine
            pass

def shapes(make_args):
    """Fresh arguments after each single operation on each container: the shapes a caller can
    meet, to call alone first."""
    count = len(Mutator(mutables(make_args()), 0).items)
    for ci in range(count):
        for oi in range(8):
            args = make_args()
            m = Mutator(mutables(args), oi)
            if ci >= len(m.items):
                continue
            c, kind, snap = m.items[ci]
            ops = m.ops(c, kind, snap)
            if oi >= len(ops):
                break
            try:
                ops[oi][1]()
            except BaseException:  # noqa: B036
                continue
            yield args


def alone(f, make_args, same, changing=False, invoke=outcome_of, until=None):
    """Calls one case alone (through `invoke(f, args) -> (ok, outcome)`): twice for the
    result, and (`changing`) once on every shape the mutator makes (until `until`, a
    `perf_counter` time), for the exceptions a call can raise without threads."""
    a = make_args()
    t = _time.perf_counter()
    ok, r = invoke(f, a)
    t1 = _time.perf_counter() - t
    fresh = make_args()
    try:
        mutates = not all(same(x, y) for x, y in zip(a, fresh))
    except Exception:
        mutates = True
    t = _time.perf_counter()
    ok2, r2 = invoke(f, make_args())
    t2 = _time.perf_counter() - t
    if ok and ok2:
        try:
            stable = same(r, r2)
        except Exception:
            stable = False
    else:
        stable = not ok and not ok2 and type(r) is type(r2)
    result = Alone(ok, r, stable, mutates, max(t1, t2))
    if not ok2:
        result.raised.add(type(r2))
    if changing:
        for shaped in shapes(make_args):
            if until is not None and _time.perf_counter() > until:
                break
            ok3, r3 = invoke(f, shaped)
            if not ok3:
                result.raised.add(type(r3))
    return result


def seen_alone(ty, raised):
    return any(issubclass(ty, s) or issubclass(s, ty) for s in raised)


class Harness:
    """Rounds of N threads calling `f`. `inputs` is a list of (make_args, Alone) pairs; round r
    gives thread t input `assign(r, t)` (an index into `inputs`)."""

    def __init__(self, f, scenario, threads, calls, same, show, differ=None):
        self.differ = differ
        self.f = f
        self.scenario = scenario
        self.threads = threads
        self.calls = calls
        self.same = same
        self.show = show

    def judge(self, ok, r, expect, compare):
        """What is wrong with one outcome under threads, or None."""
        if not ok and isinstance(r, SystemError):
            return "raised " + exception_text(r)
        if compare and expect.stable:
            if ok != expect.ok:
                return "differs"
            if ok:
                try:
                    return None if self.same(r, expect.result) else "differs"
                except Exception:
                    return None
            return None if type(r) is type(expect.result) else "differs"
        if ok:
            return None
        if isinstance(r, RuntimeError) and any(m in str(r) for m in _RACE_MESSAGES):
            return None
        if seen_alone(type(r), expect.raised):
            return None
        return "raised %s, which the call does not raise alone" % exception_text(r)

    def run(self, inputs, assign, rounds, budget_s, on_round=None, min_rounds=0):
        """Runs up to `rounds` rounds within `budget_s` seconds, and at least `min_rounds`
        (a loaded machine runs fewer rounds in the same time) within three times that; returns
        (rounds run, None), or (the round, (thread, what, ok, result, input index)) when
        something went wrong."""
        f = self.f
        scenario = self.scenario
        changing = scenario == "shared-changing"
        callers = self.threads - 1 if changing else self.threads
        callers = max(callers, 1)
        judge = self.judge
        start = _threading.Barrier(callers + 1)
        end = _threading.Barrier(callers + 1)
        state = {"stop": False, "work": [None] * callers, "found": [], "finished": [], "arrived": []}
        # Without a GIL, the callers leave the barrier one by one (each woken by the OS), then
        # spin until all have: their first calls start within microseconds of each other.
        spin = getattr(_sys, "_is_gil_enabled", lambda: True)() is False

        def caller(ti):
            while True:
                start.wait()
                if state["stop"]:
                    return
                try:
                    one_round(ti)
                except BaseException as e:  # noqa: B036 - pyz3's own failure, never a finding
                    state["error"] = "the rounds' own code failed: " + exception_text(e)
                state["finished"].append(ti)
                end.wait()

        def one_round(ti):
            make_args, args, expect, compare, index, calls = state["work"][ti]
            if spin:
                # At most 1 ms: on a loaded machine a spinning thread takes the core the others
                # need to arrive.
                arrived = state["arrived"]
                arrived.append(ti)
                give_up = _time.perf_counter() + 0.001
                while len(arrived) < callers and _time.perf_counter() < give_up:
                    pass
            for _ in range(calls):
                a = make_args() if args is None else args
                ok, r = outcome_of(f, a)
                what = judge(ok, r, expect, compare)
                if what is not None:
                    state["found"].append((ti, what, ok, r, index))
                    return
                if state["found"] or "error" in state:
                    return

        workers = [_threading.Thread(target=caller, args=(ti,), daemon=True) for ti in range(callers)]
        for w in workers:
            w.start()
        begun = _time.perf_counter()
        deadline = begun + budget_s
        hard = begun + 3 * budget_s
        done = 0
        found = None
        try:
            for rnd in range(rounds):
                if rnd:
                    now = _time.perf_counter()
                    if now > hard or (now > deadline and rnd >= min_rounds):
                        break
                mutator = None
                # Rounds of 1, 8, 64, 512 and 4096 calls in turn (at most `self.calls`): the
                # first calls of a round race on what the previous round left (a cache), long
                # rounds keep calls overlapping.
                calls = min(self.calls, 8 ** (rnd % 5))
                if scenario == "own-arguments":
                    for ti in range(callers):
                        index = assign(rnd, ti)
                        make_args, expect = inputs[index]
                        # A call that changes its arguments gets fresh ones every time.
                        args = None if expect.mutates else make_args()
                        state["work"][ti] = (make_args, args, expect, True, index, calls)
                else:
                    index = assign(rnd, 0)
                    make_args, expect = inputs[index]
                    args = make_args()
                    # Calls that change shared arguments cannot be compared with calls alone.
                    compare = not changing and not expect.mutates
                    for ti in range(callers):
                        state["work"][ti] = (make_args, args, expect, compare, index, calls)
                    if changing:
                        mutator = Mutator(mutables(args), rnd)
                state["finished"] = []
                state["arrived"] = []
                if on_round is not None:
                    on_round(rnd)
                start.wait()
                if mutator is not None:
                    finished = state["finished"]
                    while len(finished) < callers:
                        mutator.step()
                end.wait()
                done = rnd + 1
                if "error" in state:
                    break
                if state["found"]:
                    found = state["found"][0]
                    done = rnd
                    break
        finally:
            state["stop"] = True
            start.wait()
            for w in workers:
                w.join()
        if "error" in state:
            raise RuntimeError(state["error"])
        return done, found

    def describe(self, rnd, detail, inputs):
        """The lines of a finding: scenario, threads, round, and what went wrong."""
        ti, what, ok, r, index = detail
        head = "%s, %d threads, round %d: thread %d" % (
            SCENARIOS.get(self.scenario, self.scenario), self.threads, rnd, ti)
        if what != "differs":
            return "%s %s" % (head, what)
        expect = inputs[index][1]
        return "%s: the result differs from the same call made alone\n%s" % (
            head, self.show_diff(expect, ok, r, ti))

    def show_diff(self, expect, ok, r, ti):
        a = self.show(expect.result) if expect.ok else "raised " + exception_text(expect.result)
        b = self.show(r) if ok else "raised " + exception_text(r)
        if self.differ is not None:
            return self.differ(a, b, "alone", "thread %d" % ti)
        return "--- alone\n+++ thread %d\n-%s\n+%s" % (ti, a, b)


def calls_per_round(seconds, threads):
    """The most calls each thread makes in a round: about 1 ms of calls (so they overlap for
    long), 1 to 4096, and few enough that a round of serialised calls stays short."""
    per = max(seconds, 1e-7)
    n = int(0.001 / per)
    while n > 1 and n * per * threads > 0.05:
        n //= 2
    return max(1, min(4096, n))


def switch_interval_for_threads():
    """On a GIL build, a short switch interval so threads interleave; returns the old value."""
    old = _sys.getswitchinterval()
    _sys.setswitchinterval(1e-6)
    return old
