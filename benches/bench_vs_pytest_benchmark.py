"""The table of benches/bench_vs_pytest_benchmark.sh, from the runs it left in WORK.

    python benches/bench_vs_pytest_benchmark.py WORK RUNS INSTRUCTION_RUNS

WORK holds wall-N.json and instr-N.json (`pyz3 bench --format json`), pytest-N.json
(`pytest --benchmark-json`), and t-wall, t-pytest, t-instr: one "start end" line (epoch seconds)
per run.
"""

import json
import os
import statistics
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def pyz3_estimates(work, prefix, runs):
    out = []
    for i in range(1, runs + 1):
        results = load(os.path.join(work, f"{prefix}-{i}.json"))["results"]
        (name,) = [n for n in results if n.endswith("bench_sum_squares")]
        out.append(results[name]["estimate"])
    return out


def pytest_stats(work, runs):
    out = []
    for i in range(1, runs + 1):
        (bench,) = load(os.path.join(work, f"pytest-{i}.json"))["benchmarks"]
        out.append(bench["stats"])
    return out


def durations(work, name):
    with open(os.path.join(work, name)) as f:
        return [float(e) - float(s) for s, e in (line.split() for line in f if line.strip())]


def spread(values):
    """(coefficient of variation %, (max - min) / median %)."""
    mean = statistics.fmean(values)
    cv = statistics.stdev(values) / mean * 100 if len(values) > 1 else 0.0
    return cv, (max(values) - min(values)) / statistics.median(values) * 100


def main():
    work, runs, iruns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    wall = pyz3_estimates(work, "wall", runs)
    instr = pyz3_estimates(work, "instr", iruns)
    stats = pytest_stats(work, runs)
    t_wall, t_pytest, t_instr = (durations(work, n) for n in ("t-wall", "t-pytest", "t-instr"))
    rounds = statistics.median(s["rounds"] for s in stats)

    rows = [
        ("pyz3 bench (wall)", runs, statistics.median(wall) / 1e3, "µs", spread(wall), t_wall),
    ]
    for key in ("median", "mean", "min"):
        values = [s[key] for s in stats]
        rows.append((f"pytest-benchmark {key}", runs, statistics.median(values) * 1e6, "µs",
                     spread(values), t_pytest))
    rows.append(("pyz3 bench --instructions", iruns, statistics.median(instr), "instr",
                 spread(instr), t_instr))

    head = ("tool / statistic", "runs", "median estimate", "CV %", "range/median %",
            "s per run")
    print(f"{head[0]:<28} {head[1]:>4} {head[2]:>18} {head[3]:>8} {head[4]:>15} {head[5]:>10}")
    for label, n, estimate, unit, (cv, rng), times in rows:
        value = f"{estimate:,.2f} {unit}" if unit == "µs" else f"{estimate:,.0f} {unit}"
        print(f"{label:<28} {n:>4} {value:>18} {cv:>8.3f} {rng:>15.3f} "
              f"{statistics.median(times):>10.2f}")

    pyz3_cv, pyz3_rng = rows[0][4]
    print()
    print(f"pytest-benchmark: median {rounds:,.0f} rounds per run (its defaults)")
    print(f"{'per run, pyz3 wall (µs):':<40}" + " ".join(f"{v / 1e3:.1f}" for v in wall))
    print(f"{'per run, pytest-benchmark median (µs):':<40}"
          + " ".join(f"{s['median'] * 1e6:.1f}" for s in stats))
    for label, _, _, _, (cv, rng), _ in rows[1:4]:
        name = label.removeprefix("pytest-benchmark ")
        print(f"spread ratio, pyz3 wall / pytest-benchmark {name}: CV {pyz3_cv / cv:.2f}, "
              f"range/median {pyz3_rng / rng:.2f}")
    print(f"time-to-result ratio, pyz3 wall / pytest-benchmark: "
          f"{statistics.median(t_wall) / statistics.median(t_pytest):.2f}")


if __name__ == "__main__":
    main()
