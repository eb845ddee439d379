"""Side-by-side generation throughput: Hypothesis vs. `pyz3 sample`.

For each shape of data below, this script measures examples per second for:

* Hypothesis: the *generate phase only*. An empty-bodied ``@given(strategy)``
  test runs with ``max_examples=N``, ``phases=[Phase.generate]``, no example
  database, no deadline and every health check suppressed. The whole call is
  timed with ``time.perf_counter()``; throughput is the number of body
  invocations divided by the elapsed time.
* pyz3: ``pyz3 sample TYPE -n N --seed S --stats``, which generates N values,
  turns each one into a live Python object and prints its own timing; the
  ``examples/s:`` line of that output is used.

Each measurement is repeated (``--repeat``, default 3) and the median is kept.
Both sides produce the same shapes, but Hypothesis's size distribution differs
from pyz3's, so the ratio compares throughput, not identical work per example.

Run it from the repository root with an interpreter that has Hypothesis and
NumPy installed, after building the release binary:

    cargo build --release
    .venv/bin/python benches/compare_hypothesis.py
    .venv/bin/python benches/compare_hypothesis.py --json results.json \\
        --hyp-examples 300 --pyz3-examples 20000 --repeat 3 --seed 0

It prints a markdown table; ``--json PATH`` also writes the rows as JSON. Any
setup or subprocess failure is reported in one line and exits with status 2.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def die(message):
    print(f"compare_hypothesis: error: {message}", file=sys.stderr)
    sys.exit(2)


def shapes():
    """(label, pyz3 type expression, equivalent Hypothesis strategy)."""
    import collections

    import numpy as np
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    nested = st.lists(
        st.one_of(
            st.dictionaries(
                st.text(),
                st.lists(st.one_of(st.integers(), st.floats(), st.text())),
            ),
            st.builds(collections.Counter, st.dictionaries(st.text(), st.integers())),
            st.builds(collections.deque, st.lists(st.integers())),
        )
    )
    array_shapes = hnp.array_shapes(min_dims=1, max_dims=3)
    return [
        (
            "nested",
            "list[dict[str, list[int | float | str]] | collections.Counter[str]"
            " | collections.deque[int]]",
            nested,
        ),
        (
            "float64 arrays (1-3 d)",
            "numpy.typing.NDArray[numpy.float64]",
            hnp.arrays(np.float64, array_shapes),
        ),
        (
            "int64 arrays (1-3 d)",
            "numpy.typing.NDArray[numpy.int64]",
            hnp.arrays(np.int64, array_shapes),
        ),
        ("int", "int", st.integers()),
        ("list[int]", "list[int]", st.lists(st.integers())),
    ]


def hypothesis_rate(strategy, n, seed):
    """Examples/s of one generate-phase-only run of an empty @given test."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hyp_seed

    calls = 0

    @hyp_seed(seed)
    @settings(
        max_examples=n,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def body(_value):
        nonlocal calls
        calls += 1

    start = time.perf_counter()
    body()
    elapsed = time.perf_counter() - start
    if calls == 0 or elapsed <= 0:
        die(f"Hypothesis produced no examples ({calls} calls in {elapsed:.6f} s)")
    return calls / elapsed


def pyz3_rate(binary, type_expr, n, seed):
    """The `examples/s:` figure printed by `pyz3 sample ... --stats`."""
    cmd = [binary, "sample", type_expr, "-n", str(n), "--seed", str(seed), "--stats"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as exc:
        die(f"cannot run {binary}: {exc}")
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["(no stderr)"])[0]
        die(f"pyz3 sample {type_expr!r} exited with {proc.returncode}: {first}")
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "examples/s":
            try:
                return float(value)
            except ValueError:
                break
    die(f"no parsable 'examples/s:' line in output of pyz3 sample {type_expr!r}")


def median_of(repeat, measure):
    return statistics.median(measure() for _ in range(repeat))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Compare generation throughput of Hypothesis and pyz3."
    )
    parser.add_argument("--pyz3", default="target/release/pyz3", metavar="PATH",
                        help="pyz3 binary (default: %(default)s)")
    parser.add_argument("--hyp-examples", type=int, default=300, metavar="N",
                        help="max_examples per Hypothesis run (default: %(default)s)")
    parser.add_argument("--pyz3-examples", type=int, default=20000, metavar="N",
                        help="values per pyz3 run (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, metavar="K",
                        help="runs per measurement; the median is kept (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for both generators (default: %(default)s)")
    parser.add_argument("--json", metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)

    for name in ("hyp_examples", "pyz3_examples", "repeat"):
        if getattr(args, name) < 1:
            die(f"--{name.replace('_', '-')} must be at least 1")
    if not os.path.isfile(args.pyz3):
        die(f"pyz3 binary not found: {args.pyz3} (build it with `cargo build --release`)")
    try:
        table = shapes()
    except ImportError as exc:
        die(f"{exc} (run with an interpreter that has hypothesis and numpy)")

    rows = []
    for label, type_expr, strategy in table:
        print(f"measuring {label} ...", file=sys.stderr, flush=True)
        ours = median_of(args.repeat,
                         lambda: pyz3_rate(args.pyz3, type_expr, args.pyz3_examples, args.seed))
        hyp = median_of(args.repeat,
                        lambda: hypothesis_rate(strategy, args.hyp_examples, args.seed))
        rows.append({"shape": label, "type": type_expr, "hypothesis": hyp,
                     "pyz3": ours, "ratio": ours / hyp})

    print(f"Hypothesis: generate phase, max_examples={args.hyp_examples}; "
          f"pyz3: -n {args.pyz3_examples}; seed {args.seed}; "
          f"median of {args.repeat} runs.\n")
    print("| shape | hypothesis ex/s | pyz3 ex/s | ratio (pyz3 / hypothesis) |")
    print("|---|---:|---:|---:|")
    for r in rows:
        print(f"| {r['shape']} | {r['hypothesis']:,.0f} | {r['pyz3']:,.0f} | {r['ratio']:,.1f} |")

    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "rows": rows}, f, indent=2)
                f.write("\n")
        except OSError as exc:
            die(f"cannot write {args.json}: {exc}")


if __name__ == "__main__":
    main()
