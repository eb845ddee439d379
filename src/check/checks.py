# The costly checks of the pyz3 worker: reference counts (per argument object, and on debug
# builds the interpreter's total) and memory growth. Part of the worker program: run before
# worker.py in the same namespace (`call`, `obs` and `CH` come from there at run time).

import gc
import os
import sys
import time
import types

# -- reference counts ---------------------------------------------------------------------------

_getrefcount = sys.getrefcount


def _shared(o):
    """Objects whose count other code moves: singletons, small ints, short strings, types."""
    t = type(o)
    if o is None or t is bool:
        return True
    if t is int:
        return -5 <= o <= 256
    if t is str or t is bytes:
        return len(o) <= 1
    if t is tuple and not o:
        return True
    if isinstance(o, (type, types.ModuleType)):
        return True
    e = sys.modules.get("enum")
    if e is not None and isinstance(o, e.Enum):
        return True
    return False


_WALKED = (list, tuple, set, frozenset)


_LEAVES = (int, float, complex, str, bytes, type(None), bool)


def reachable(args, labels=None):
    """The objects reachable from the arguments (iteratively, bounded), with their labels."""
    if labels is None:
        # Most arguments hold nothing: no walk needed.
        for a in args:
            if type(a) not in _LEAVES:
                break
        else:
            return [a for a in args if not _shared(a)]
    out = []
    stack = [(a, i, 0) for i, a in reversed(list(enumerate(args)))]
    deque = sys.modules.get("collections").deque if "collections" in sys.modules else ()
    while stack and len(out) < 10000:
        o, label, depth = stack.pop()
        if depth > 32 or _shared(o):
            continue
        out.append(o)
        if labels is not None:
            labels.append(label)
        if isinstance(o, dict):
            items = list(o.items())
            for k, (key, v) in reversed(list(enumerate(items))):
                stack.append((v, (label, "[]", key), depth + 1))
                stack.append((key, (label, "key", k), depth + 1))
        elif isinstance(o, _WALKED) or (deque and type(o) is deque):
            try:
                items = list(o)
            except Exception:
                continue
            for k in range(len(items) - 1, -1, -1):
                stack.append((items[k], (label, "", k), depth + 1))
    return out


def label_text(label):
    parts = []
    while isinstance(label, tuple):
        label, how, k = label
        if how == "key":
            parts.append(" key #%d" % k)
        elif how == "[]":
            parts.append("[%s]" % short_repr(k))
        else:
            parts.append("[%d]" % k)
    return "args[%d]" % label + "".join(reversed(parts))


def short_repr(o):
    try:
        r = repr(o)
    except Exception:
        r = "?"
    return r if len(r) <= 24 else r[:24] + "..."


def counts(objs):
    return [_getrefcount(o) for o in objs]


def held(args, objs):
    """How many references to each of `objs` the arguments hold: the argument tuple's and those
    of the containers in it (walked as `reachable` walks them, each container once)."""
    slots = {}
    seen = set()
    stack = [(a, 0) for a in args]
    deque = sys.modules.get("collections").deque if "collections" in sys.modules else ()
    steps = 0
    while stack and steps < 20000:
        o, depth = stack.pop()
        steps += 1
        slots[id(o)] = slots.get(id(o), 0) + 1
        if depth > 32 or id(o) in seen:
            continue
        if isinstance(o, dict):
            seen.add(id(o))
            stack.extend((x, depth + 1) for kv in list(o.items()) for x in kv)
        elif isinstance(o, _WALKED) or (deque and type(o) is deque):
            seen.add(id(o))
            try:
                stack.extend((x, depth + 1) for x in list(o))
            except Exception:
                pass
    return [slots.get(id(o), 0) for o in objs]


def deltas(objs, before, args, held_before):
    """How the counts of `objs` moved since `before`, less the references the arguments took or
    dropped (when `held_before` says what they held: a function meant to change them)."""
    d = [c - b for c, b in zip(counts(objs), before)]
    if held_before is not None and any(d):
        d = [x - (now - was) for x, now, was in zip(d, held(args, objs), held_before)]
    return d


def refcount_judge(f, args1, objs1, before1, objs2, before2, held1=None, held2=None, args2=()):
    """A finding when every call moves the same counts by the same amounts. `held1` and `held2`
    (functions meant to change their arguments, with `args2`): the references the arguments
    held before each call, so that a reference stored into an argument is not taken for a
    leak."""
    d1 = deltas(objs1, before1, args1, held1)
    if not any(d1):
        return None
    d2 = deltas(objs2, before2, args2, held2)
    if d1 != d2:
        return None
    gc.collect()
    d1 = deltas(objs1, before1, args1, held1)
    d2 = deltas(objs2, before2, args2, held2)
    if not any(d1) or d1 != d2:
        return None
    before3 = counts(objs1)
    held3 = None if held1 is None else held(args1, objs1)
    call(f, args1)
    gc.collect()
    d3 = deltas(objs1, before3, args1, held3)
    if d3 != d1:
        return None
    labels = []
    reachable(args1, labels)
    lines = []
    for o, d, b, label in zip(objs1, d1, before1, labels):
        if not d or b >= _IMMORTAL:
            continue
        what = "%s (%s)" % (label_text(label), type(o).__name__)
        if d > 0:
            lines.append("%s: reference count +%d per call (a leaked reference)" % (what, d))
        else:
            lines.append("%s: reference count %d per call (an over-release)" % (what, d))
        if len(lines) == 5:
            break
    if not lines:
        return None
    return obs("refcount", "\n".join(lines))


_total_refcount = getattr(sys, "gettotalrefcount", None)
TOTAL_CALLS = 20


def total_refcount_check(f, fresh):
    """Debug builds: the interpreter's total reference count, over two rounds of calls with the
    same input, grew by the same amount, at least one reference per call: a reference leaked
    somewhere the arguments do not show (a new object never released, a cache that grows)."""

    def measure():
        gc.collect()
        return _total_refcount()

    for _ in range(2):
        call(f, fresh())
    a = measure()
    for _ in range(TOTAL_CALLS):
        call(f, fresh())
    b = measure()
    for _ in range(TOTAL_CALLS):
        call(f, fresh())
    c = measure()
    d1, d2 = b - a, c - b
    if d1 < TOTAL_CALLS or d1 != d2:
        return None
    return obs(
        "refcount",
        "the interpreter's total reference count grew by %d per call, the same in two rounds of "
        "%d calls with the same input (sys.gettotalrefcount, a debug build): a reference leaked "
        "outside the arguments" % (d1 // TOTAL_CALLS, TOTAL_CALLS),
    )


# -- memory -------------------------------------------------------------------------------------

_heap = None


def heap_in_use():
    """Bytes in use, as two measures: glibc's heap (native allocations, and Python's with
    PYTHONMALLOC=malloc), and Python's own allocator's blocks where it is not malloc
    (free-threaded builds, whose mimalloc glibc does not see), 32 bytes a block. Each is judged
    on its own, so that one's noise cannot hide the other's growth."""
    global _heap
    if _heap is None:
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]

        libc = ctypes.CDLL(None)
        fn = libc.mallinfo2
        fn.restype = MallInfo2
        blocks = sys.getallocatedblocks if os.environ.get("PYTHONMALLOC") != "malloc" else None

        def heap():
            m = fn()
            return (m.uordblks + m.hblkhd, blocks() * 32 if blocks is not None else 0)

        _heap = heap
    return _heap()


ROUNDS = 5
MIN_BYTES_PER_CALL = 16.0
MIN_CALLS_PER_ROUND = 100
# Passes after the first, each of rounds twice as long.
LATER_PASSES = 2
# Within the runner's allowance for a case with the memory check (`MEMORY_CHECK_LIMIT`).
MEMORY_CHECK_SECONDS = 40


def _grows(f, fresh, per_round):
    """(bytes, calls) when one measure grew in every round, by enough per call, and as much at
    the end as at the start: a leak grows by the same amount every round, while a cache
    filling up (NumPy's and the interpreter's, warming over a few hundred calls) grows less
    and less."""
    gc.collect(1)
    start = heap_in_use()
    series = [start]
    alive = [True] * len(start)
    for _ in range(ROUNDS):
        for _ in range(per_round):
            call(f, fresh())
        gc.collect(1)
        now = heap_in_use()
        # A measure that did not grow in some round can no longer pass: once none can, the
        # remaining rounds would change nothing (most functions stop here after a round or two).
        alive = [a and b > c for a, b, c in zip(alive, now, series[-1])]
        if not any(alive):
            return None
        series.append(now)
    calls = ROUNDS * per_round
    best = None
    for k in range(len(start)):
        values = [m[k] for m in series]
        total = values[-1] - values[0]
        steps = [b - a for a, b in zip(values, values[1:])]
        if (
            all(d > 0 for d in steps)
            and total / calls >= MIN_BYTES_PER_CALL
            and steps[-1] + steps[-2] >= (steps[0] + steps[1]) / 2
        ):
            best = max(best or 0, total)
    return None if best is None else (best, calls)


def memory_check(f, fresh):
    """A memory-leak finding when memory in use grows in every round of calls with the same
    input, and twice again with rounds twice as long. `fresh()` gives the arguments of each
    call. A string (a note for the user) when the function is too slow to be checked."""
    # Steady-state time per call (the first calls may import or warm caches).
    for _ in range(3):
        call(f, fresh())
    t = time.perf_counter()
    for _ in range(3):
        call(f, fresh())
    per_call = max((time.perf_counter() - t) / 3, 1e-7)
    # At least 100 calls a round: a few calls cannot tell a leak from a cache filling. A
    # function too slow for that within the check's time limit is not checked, and says so.
    per_round = min(max(int(0.04 / per_call), MIN_CALLS_PER_ROUND), 200)
    calls = min(per_round, 50) + ROUNDS * per_round * (1 + 2 * LATER_PASSES)
    if per_call * calls > MEMORY_CHECK_SECONDS:
        return "memory growth not checked: a call takes %.0f ms, and the check's %d calls " \
            "(at least %d a round) would take over %d s" % (
                per_call * 1000, calls, MIN_CALLS_PER_ROUND, MEMORY_CHECK_SECONDS)
    # The measure's own set-up (ctypes, on its first use) and a first round of calls happen
    # before anything is measured: neither may look like the function's growth or shrinkage.
    heap_in_use()
    for _ in range(min(per_round, 50)):
        call(f, fresh())
    first = _grows(f, fresh, per_round)
    if first is None:
        return None
    # Twice more with rounds twice as long, at about the same rate each time: a bounded cache
    # (the `re` module's 512 patterns, an `lru_cache`, NumPy's formatting caches) grows for a
    # few hundred calls and then stops, while a leak goes on.
    for _ in range(LATER_PASSES):
        again = _grows(f, fresh, per_round * 2)
        if again is None or again[0] / again[1] < 0.75 * (first[0] / first[1]):
            return None
    total, calls = first
    return obs(
        "memory-leak",
        "memory in use grew in each of %d rounds of %d calls with the same input, and again "
        "in two series of rounds twice as long: %.0f bytes per call (%d bytes over %d calls; "
        "Python and native allocations)" % (ROUNDS, per_round, total / calls, total, calls),
    )
