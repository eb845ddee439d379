"""Side-by-side cost of `pyz3 check` on a trivial function: pyz3 vs. a bare loop vs. Hypothesis.

The function is the demo extension's ``add(a: int, b: int) -> int`` (built by
``scripts/build-demo.sh DIR``, which writes ``DIR/pyz3_demo.so`` and ``DIR/pyz3_demo.pyi``).
Three things are timed, each with ``time.perf_counter()`` around the whole run:

(a) pyz3: ``pyz3 check DIR/pyz3_demo.so:add --cases N`` as a subprocess, once with every check
    on (the defaults, including the memory-growth check on cases 0, 1, 2, 4, 8, ...) and once
    with ``--memory-every 0``. The wall time is the whole command: starting pyz3, the worker that
    imports the module to read signatures, the worker that runs the cases, and the report.
    Nothing is subtracted. Every case calls ``add`` at least twice (the nondeterminism check
    calls it again on fresh, equal arguments) and builds fresh argument objects for each call,
    so a case is more than one call by design. Result: cases/s.
(b) The bare loop, in this process: the same number of calls ``add(a, b)`` in a plain Python
    loop, (b1) over pairs generated before the loop, (b2) drawing both arguments inside the
    loop. Both draw the same values: ``random.Random(seed).randint(-2**63, 2**63 - 1)``.
    Result: calls/s.
(c) Hypothesis: ``@given(st.integers(), st.integers())`` with
    ``@settings(max_examples=M, database=None, deadline=None)`` (and ``@seed(seed)``), a body
    that calls ``add`` and asserts nothing. All default phases run; nothing fails, so nothing is
    shrunk. Result: examples/s (body invocations / wall time).

Each measurement is repeated ``--repeat`` times and the median wall time is kept. The script
prints a markdown table and two ratios (pyz3 cases/s / Hypothesis examples/s; pyz3 time per case
/ bare-loop time per call) and, with ``--json PATH``, writes the same figures (``"version": 1``).

Run it with the project's virtualenv (it needs hypothesis), from the repository root:

    cargo build --release && scripts/build-demo.sh /tmp/demo
    .venv/bin/python benches/check_bench.py
    .venv/bin/python benches/check_bench.py --cases 20000 --hyp-examples 2000 --json out.json

A missing file or a failing subprocess is reported in one line and exits with status 2.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

LO, HI = -(2**63), 2**63 - 1


def die(message):
    print(f"check_bench: error: {message}", file=sys.stderr)
    sys.exit(2)


def pyz3_env():
    """The environment for pyz3: its workers find this interpreter's virtualenv."""
    env = dict(os.environ)
    if not env.get("VIRTUAL_ENV") and sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    return env


def time_pyz3(binary, so, cases, seed, extra):
    """Wall seconds of one `pyz3 check SO:add --cases N`, run in a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="pyz3-check-bench-") as tmp:
        report = os.path.join(tmp, "report.json")
        cmd = [binary, "check", f"{so}:add", "--cases", str(cases), "--seed", str(seed),
               "--json", report, "--repro-dir", os.path.join(tmp, "repro"), *extra]
        start = time.perf_counter()
        try:
            # The scratch cwd keeps a pyproject.toml [tool.pyz3.check] from changing the run.
            proc = subprocess.run(cmd, cwd=tmp, env=pyz3_env(), capture_output=True, text=True,
                                  timeout=3600)
        except (OSError, subprocess.SubprocessError) as exc:
            die(f"cannot run {binary}: {exc}")
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            lines = (proc.stderr.strip() or proc.stdout.strip() or "(no output)").splitlines()
            die(f"`{' '.join(cmd[1:4])} ...` exited with {proc.returncode}: {lines[-1]}")
        try:
            with open(report, encoding="utf-8") as f:
                done = json.load(f)["functions"][0]["cases"]
        except (OSError, ValueError, KeyError, IndexError) as exc:
            die(f"pyz3 wrote no readable report: {exc}")
        if done != cases:
            die(f"pyz3 ran {done} cases, not {cases}")
        return elapsed


def time_bare(add, n, seed, build_inside):
    """Wall seconds of n calls add(a, b) in a plain loop."""
    randint = random.Random(seed).randint
    if build_inside:
        start = time.perf_counter()
        for _ in range(n):
            add(randint(LO, HI), randint(LO, HI))
        return time.perf_counter() - start
    pairs = [(randint(LO, HI), randint(LO, HI)) for _ in range(n)]
    start = time.perf_counter()
    for a, b in pairs:
        add(a, b)
    return time.perf_counter() - start


def time_hypothesis(add, m, seed):
    """(wall seconds, examples run) of one @given run calling add."""
    from hypothesis import given, settings
    from hypothesis import seed as hyp_seed
    from hypothesis import strategies as st

    calls = 0

    @hyp_seed(seed)
    @settings(max_examples=m, database=None, deadline=None)
    @given(st.integers(), st.integers())
    def body(a, b):
        nonlocal calls
        calls += 1
        add(a, b)

    start = time.perf_counter()
    body()
    elapsed = time.perf_counter() - start
    if calls == 0:
        die("Hypothesis ran no examples")
    return elapsed, calls


def median_time(repeat, measure):
    return statistics.median(measure() for _ in range(repeat))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="pyz3 check vs. a bare loop vs. Hypothesis on the demo's add(a, b)."
    )
    parser.add_argument("--pyz3", default="target/release/pyz3", metavar="PATH",
                        help="pyz3 binary (default: %(default)s)")
    parser.add_argument("--demo", default="/tmp/demo", metavar="DIR",
                        help="directory with pyz3_demo.so and pyz3_demo.pyi (default: %(default)s)")
    parser.add_argument("--cases", type=int, default=20000, metavar="N",
                        help="pyz3 cases, and calls of each bare loop (default: %(default)s)")
    parser.add_argument("--hyp-examples", type=int, default=2000, metavar="M",
                        help="Hypothesis max_examples (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, metavar="K",
                        help="runs per measurement; the median wall time is kept "
                             "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed for all three (default: 0)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    for name in ("cases", "hyp_examples", "repeat"):
        if getattr(args, name) < 1:
            die(f"--{name.replace('_', '-')} must be at least 1")
    if not os.path.isfile(args.pyz3):
        die(f"pyz3 binary not found: {args.pyz3} (build it with `cargo build --release`)")
    binary = os.path.abspath(args.pyz3)
    demo = os.path.abspath(args.demo)
    so = os.path.join(demo, "pyz3_demo.so")
    for path in (so, os.path.join(demo, "pyz3_demo.pyi")):
        if not os.path.isfile(path):
            die(f"{path} not found (build the demo with `scripts/build-demo.sh {args.demo}`)")
    try:
        import hypothesis  # noqa: F401
    except ImportError as exc:
        die(f"{exc} (run with an interpreter that has hypothesis, e.g. .venv/bin/python)")
    sys.path.insert(0, demo)
    try:
        import pyz3_demo
    except ImportError as exc:
        die(f"cannot import pyz3_demo from {demo}: {exc}")
    add = pyz3_demo.add

    n, m, k = args.cases, args.hyp_examples, args.repeat
    progress = lambda what: print(f"measuring {what} ...", file=sys.stderr, flush=True)  # noqa: E731
    progress("pyz3 check (all checks)")
    t_all = median_time(k, lambda: time_pyz3(binary, so, n, args.seed, []))
    progress("pyz3 check --memory-every 0")
    t_nomem = median_time(k, lambda: time_pyz3(binary, so, n, args.seed,
                                               ["--memory-every", "0"]))
    progress("bare loops")
    t_pre = median_time(k, lambda: time_bare(add, n, args.seed, build_inside=False))
    t_built = median_time(k, lambda: time_bare(add, n, args.seed, build_inside=True))
    progress("Hypothesis")
    hyp_runs = [time_hypothesis(add, m, args.seed) for _ in range(k)]
    t_hyp = statistics.median(t for t, _ in hyp_runs)
    hyp_count = statistics.median(c for _, c in hyp_runs)

    def row(name, what, count, seconds, unit):
        return {"name": name, "what": what, "count": int(count), "unit": unit,
                "wall_s": seconds, "per_item_us": seconds / count * 1e6,
                "per_s": count / seconds}

    rows = [
        row("pyz3_all", f"`pyz3 check pyz3_demo.so:add --cases {n}` (all checks)", n, t_all,
            "cases"),
        row("pyz3_no_memory", f"`pyz3 check pyz3_demo.so:add --cases {n} --memory-every 0`", n,
            t_nomem, "cases"),
        row("bare_pregenerated", "bare loop `add(a, b)`, pairs generated before the loop", n,
            t_pre, "calls"),
        row("bare_built", "bare loop `add(randint(..), randint(..))`, arguments drawn in the loop",
            n, t_built, "calls"),
        row("hypothesis", f"Hypothesis `@given(st.integers(), st.integers())`, "
            f"max_examples={m}", hyp_count, t_hyp, "examples"),
    ]
    by = {r["name"]: r for r in rows}
    ratios = {}
    for p in ("pyz3_all", "pyz3_no_memory"):
        ratios[f"{p}_per_s_over_hypothesis"] = by[p]["per_s"] / by["hypothesis"]["per_s"]
        for b in ("bare_pregenerated", "bare_built"):
            ratios[f"{p}_per_case_over_{b}_per_call"] = by[p]["per_item_us"] / by[b]["per_item_us"]

    print(f"add(a: int, b: int) from {so}; seed {args.seed}; median of {k} runs; raw wall "
          "times (pyz3's include starting pyz3 and its worker processes).\n")
    print("| run | count | wall time (s) | µs per item | items/s |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['what']} | {r['count']:,} {r['unit']} | {r['wall_s']:.3f} | "
              f"{r['per_item_us']:,.2f} | {r['per_s']:,.0f} |")
    print()
    print("| ratio | all checks | --memory-every 0 |")
    print("|---|---:|---:|")
    print(f"| pyz3 cases/s ÷ Hypothesis examples/s | "
          f"{ratios['pyz3_all_per_s_over_hypothesis']:,.1f}× | "
          f"{ratios['pyz3_no_memory_per_s_over_hypothesis']:,.1f}× |")
    print(f"| pyz3 time per case ÷ bare-loop time per call (pre-generated) | "
          f"{ratios['pyz3_all_per_case_over_bare_pregenerated_per_call']:,.1f}× | "
          f"{ratios['pyz3_no_memory_per_case_over_bare_pregenerated_per_call']:,.1f}× |")
    print(f"| pyz3 time per case ÷ bare-loop time per call (drawn in the loop) | "
          f"{ratios['pyz3_all_per_case_over_bare_built_per_call']:,.1f}× | "
          f"{ratios['pyz3_no_memory_per_case_over_bare_built_per_call']:,.1f}× |")

    if args.json:
        out = {
            "version": 1,
            "function": "pyz3_demo.add",
            "settings": {"cases": n, "hyp_examples": m, "repeat": k, "seed": args.seed,
                         "pyz3": binary, "demo": demo, "python": sys.version.split()[0]},
            "rows": rows,
            "ratios": ratios,
        }
        try:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(out, f, indent=2)
                f.write("\n")
        except OSError as exc:
            die(f"cannot write {args.json}: {exc}")


if __name__ == "__main__":
    main()
