#!/usr/bin/env python3
"""pyz3 check --threads against hand-written pytest-run-parallel tests, on the thread-safety
fixtures (tests/fixtures/threads/), same machine, same thread count.

For each planted defect it reports:
- pyz3: in how many of R runs (seeds 0..R-1) `pyz3 check MOD:F --threads N --cases C` found a
  `thread-safety` finding, and the median time from the start of the thread-safety check to
  the first failure (the finding's `threads.seconds`);
- the hand-written test (one per function, below, in the style of NumPy's and the
  free-threading guide's tests): in how many of R runs `pytest --parallel-threads N
  --iterations I` failed (or crashed), and the median time to the failure;
- the extra time `--threads N` costs per function: the correct twin's whole `pyz3 check` run
  with `--threads N` minus the same run with `--threads 0`, per function.

Usage: python benches/thread_safety.py [--pyz3 target/release/pyz3] [--runs 20] [--threads 4]
       [--python311 .venv/bin/python] [--python313t ~/.cache/pyz3/venv-3.13t/bin/python]
Needs gcc, cargo (for the PyO3 fixture) and pytest-run-parallel in both interpreters' envs
(installed into the 3.13t venv by the script when missing).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "threads"

# The hand-written tests: what an author would write with pytest-run-parallel in mind.
HAND_TESTS = {
    "upper": """
import {module} as m
import random
def test_upper():
    rng = random.Random()
    for _ in range(200):
        data = bytes(rng.randrange(97, 123) for _ in range(rng.randrange(1, 64)))
        assert m.upper(data) == data.upper()
""",
    "square": """
import {module} as m
import random
def test_square():
    rng = random.Random()
    for _ in range(200):
        x = rng.randrange(10**20, 10**21)
        assert m.square(x) == x * x
""",
    "total": """
import {module} as m
SHARED = list(range(1000, 1100))
def test_total():
    for _ in range(200):
        SHARED.append(7)
        m.total(SHARED)
        SHARED.pop()
""",
    "scaled": """
import {module} as m
import {twin} as ref
import random
def test_scaled():
    rng = random.Random()
    for _ in range(200):
        n = rng.randrange(2**63)
        assert m.scaled(n) == ref.scaled(n)
""",
}


def with_fixes(text):
    out, fix = [], None
    for line in text.splitlines():
        if fix is not None:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + fix)
            fix = None
        elif "PLANTED: " in line:
            fix = line.split("PLANTED: ", 1)[1]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def source(name, module, planted):
    text = (FIXTURES / name).read_text().replace("{module}", module)
    return text if planted else with_fixes(text)


def py_eval(python, code):
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def build_c(python, d, module, planted):
    (d / f"{module}.c").write_text(source("ts_c.c", module, planted))
    (d / f"{module}.pyi").write_text((FIXTURES / "ts_c.pyi").read_text())
    inc = py_eval(python, "import sysconfig; print(sysconfig.get_paths()['include'])")
    suf = py_eval(python, "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", f"{module}{suf}", f"{module}.c", f"-I{inc}"],
                   cwd=d, check=True, timeout=300)


def build_pyo3(python, d, module, planted):
    crate = d / f"crate-{module}"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(
        f'[package]\nname = "{module}"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\n'
        'crate-type = ["cdylib"]\n\n[dependencies]\npyo3 = "0.30"\n\n[workspace]\n')
    (crate / "src" / "lib.rs").write_text(source("ts_rs.rs", module, planted))
    target = ROOT / "target" / "threads-tests"
    env = dict(os.environ, CARGO_TARGET_DIR=str(target), PYO3_BUILD_EXTENSION_MODULE="1", PYO3_PYTHON=python)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=crate, env=env, check=True, timeout=1800)
    (d / f"{module}.so").write_bytes((target / "release" / f"lib{module}.so").read_bytes())
    (d / f"{module}.pyi").write_text((FIXTURES / "ts_rs.pyi").read_text())


def pyz3_check(pyz3, python, d, target, threads, seed, cases):
    out = d / f"r-{os.getpid()}.json"
    t = time.perf_counter()
    subprocess.run([pyz3, "check", target, "--python", python, "--threads", str(threads), "--cases", str(cases),
                    "--seed", str(seed), "--json", str(out), "--repro-dir", str(d / "repro"),
                    "--shrink-time", "0"],
                   cwd=d, capture_output=True, timeout=900)
    wall = time.perf_counter() - t
    report = json.loads(out.read_text())
    found = [x for f in report["functions"] for x in f["findings"] if x["kind"] == "thread-safety"]
    return wall, found


def hand_test(python, d, function, module, twin, threads, iterations):
    tests = d / f"hand_{function}_{module}"
    tests.mkdir(exist_ok=True)
    (tests / f"test_{function}.py").write_text(HAND_TESTS[function].format(module=module, twin=twin))
    t = time.perf_counter()
    r = subprocess.run([python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "pytest_run_parallel",
                        f"--parallel-threads={threads}", f"--iterations={iterations}", str(tests)],
                       cwd=d, capture_output=True, timeout=900, env=dict(os.environ, PYTHONPATH=str(d)))
    return time.perf_counter() - t, r.returncode != 0


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pyz3", default=str(ROOT / "target" / "release" / "pyz3"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--iterations", type=int, default=10, help="pytest-run-parallel --iterations")
    ap.add_argument("--python311", default=str(ROOT / ".venv" / "bin" / "python"))
    ap.add_argument("--python313t", default=os.environ.get(
        "PYZ3_TEST_PYTHON_FT", str(Path.home() / ".cache" / "pyz3" / "venv-3.13t" / "bin" / "python")))
    a = ap.parse_args()
    for py in (a.python311, a.python313t):
        if subprocess.run([py, "-c", "import pytest_run_parallel"], capture_output=True, timeout=60).returncode:
            subprocess.run([py, "-m", "pip", "install", "-q", "pytest-run-parallel"], check=True, timeout=600)
    rows, costs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        build_c(a.python311, d, "ts_c_planted", True)
        build_c(a.python311, d, "ts_c_fixed", False)
        build_c(a.python313t, d, "ts_c_planted", True)
        build_c(a.python313t, d, "ts_c_fixed", False)
        build_pyo3(a.python311, d, "ts_rs_planted", True)
        build_pyo3(a.python311, d, "ts_rs_fixed", False)
        cases = [
            ("C static buffer, GIL released", a.python311, "3.11", "ts_c_planted", "ts_c_fixed", "upper"),
            ("C static buffer", a.python313t, "3.13t", "ts_c_planted", "ts_c_fixed", "upper"),
            ("C one-entry cache", a.python313t, "3.13t", "ts_c_planted", "ts_c_fixed", "square"),
            ("C borrowed list items", a.python313t, "3.13t", "ts_c_planted", "ts_c_fixed", "total"),
            ("PyO3 cache in py.detach", a.python311, "3.11", "ts_rs_planted", "ts_rs_fixed", "scaled"),
        ]
        for label, py, tag, mod, twin, fn in cases:
            hits, seconds = 0, []
            for seed in range(a.runs):
                _, found = pyz3_check(a.pyz3, py, d, f"{mod}:{fn}", a.threads, seed, a.cases)
                if found:
                    hits += 1
                    seconds.append(found[0]["threads"]["seconds"])
            hand_hits, hand_times = 0, []
            for _ in range(a.runs):
                t, failed = hand_test(py, d, fn, mod, twin, a.threads, a.iterations)
                if failed:
                    hand_hits += 1
                    hand_times.append(t)
            on = [pyz3_check(a.pyz3, py, d, f"{twin}:{fn}", a.threads, s, a.cases)[0] for s in range(3)]
            off = [pyz3_check(a.pyz3, py, d, f"{twin}:{fn}", 0, s, a.cases)[0] for s in range(3)]
            costs.append((label, tag, median(on) - median(off)))
            rows.append((label, tag, fn, hits, median(seconds), hand_hits, median(hand_times)))
            print(f"{label} ({tag}): pyz3 {hits}/{a.runs}, hand-written {hand_hits}/{a.runs}", file=sys.stderr)
    print(f"| defect | interpreter | function | pyz3 --threads {a.threads}: found | time to first finding "
          f"(median) | hand-written pytest-run-parallel test: failed | its time to failure (median) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for label, tag, fn, hits, sec, hh, ht in rows:
        print(f"| {label} | {tag} | `{fn}` | {hits}/{a.runs} | {sec:.2f} s | {hh}/{a.runs} | {ht:.2f} s |")
    print()
    print(f"| correct twin | interpreter | extra time of --threads {a.threads} per function (median of 3) |")
    print("|---|---|---:|")
    for label, tag, extra in costs:
        print(f"| {label} | {tag} | {extra:.2f} s |")


if __name__ == "__main__":
    main()
