"""`pyz3 check` on a trivial C function in each interpreter given, against Hypothesis.

For every ``--python PATH`` (default: this interpreter), the script compiles a tiny C extension
``triv`` with ``add(a: int, b: int) -> int`` (``PyNumber_Add``; it declares ``Py_mod_gil`` so a
free-threaded interpreter keeps the GIL off) for that interpreter in a scratch directory, then
measures, each the median of ``--repeat`` runs:

- pyz3: the wall time of the whole ``pyz3 check triv.<suffix>:add --python PATH --cases N``
  (starting pyz3, the discovery worker, the case worker, every check, the report);
- start-up: the same command with ``--cases 1`` (two workers started, the module imported
  twice, one case), and ``PATH -c pass`` for scale;
- Hypothesis, where it imports in that interpreter: ``@given(st.integers(), st.integers())``
  with ``max_examples=M``, ``database=None``, ``deadline=None`` and a body that calls ``add``,
  run in that interpreter; examples/s.

It prints a markdown table: cases/s, examples/s and their ratio per interpreter. With
``--json PATH`` it writes the same figures (``"version": 1``). Bad input (a missing pyz3 binary,
an interpreter that does not run, a compiler error) is one line on stderr and exit 2.

    cargo build --release
    .venv/bin/python benches/check_interpreters.py --python .venv/bin/python \\
        --python ~/.cache/pyz3/venv-3.13t/bin/python --cases 200000
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SOURCE = r"""
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *add(PyObject *self, PyObject *const *args, Py_ssize_t n) {
    if (n != 2) { PyErr_SetString(PyExc_TypeError, "add(a, b)"); return NULL; }
    return PyNumber_Add(args[0], args[1]);
}
static PyMethodDef methods[] = {{"add", (PyCFunction)(void (*)(void))add, METH_FASTCALL, NULL},
                                {NULL, NULL, 0, NULL}};
static PyModuleDef_Slot slots[] = {
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL}};
static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "triv", NULL, 0, methods, slots};
PyMODINIT_FUNC PyInit_triv(void) { return PyModuleDef_Init(&def); }
"""

HYPOTHESIS = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from hypothesis import given, settings, seed, strategies as st
import triv
calls = 0
@seed(0)
@settings(max_examples=int(sys.argv[2]), database=None, deadline=None)
@given(st.integers(), st.integers())
def body(a, b):
    global calls
    calls += 1
    triv.add(a, b)
t = time.perf_counter()
body()
print(time.perf_counter() - t, calls)
"""


def die(message):
    print(f"check_interpreters: error: {message}", file=sys.stderr)
    sys.exit(2)


def run(cmd, **kw):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=3600, **kw)
    except (OSError, subprocess.SubprocessError) as exc:
        die(f"cannot run {cmd[0]}: {exc}")


def ask(python, code):
    proc = run([python, "-c", code])
    if proc.returncode != 0:
        die(f"{python} failed: {(proc.stderr.strip() or '?').splitlines()[-1]}")
    return proc.stdout.strip()


def build(python, directory):
    include = ask(python, "import sysconfig; print(sysconfig.get_paths()['include'])")
    suffix = ask(python, "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
    with open(os.path.join(directory, "triv.c"), "w") as f:
        f.write(SOURCE)
    with open(os.path.join(directory, "triv.pyi"), "w") as f:
        f.write("def add(a: int, b: int, /) -> int: ...\n")
    out = os.path.join(directory, "triv" + suffix)
    proc = run(["gcc", "-shared", "-fPIC", "-O2", f"-I{include}", "-o", out,
                os.path.join(directory, "triv.c")])
    if proc.returncode != 0:
        die(f"compiling triv for {python}: {proc.stderr.strip().splitlines()[-1]}")
    return out


def time_pyz3(binary, python, so, cases):
    with tempfile.TemporaryDirectory(prefix="pyz3-interp-bench-") as tmp:
        report = os.path.join(tmp, "r.json")
        cmd = [binary, "check", f"{so}:add", "--python", python, "--cases", str(cases),
               "--json", report, "--repro-dir", os.path.join(tmp, "repro")]
        start = time.perf_counter()
        proc = run(cmd, cwd=tmp)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            die(f"pyz3 check exited with {proc.returncode}: "
                f"{(proc.stderr.strip() or '?').splitlines()[-1]}")
        with open(report, encoding="utf-8") as f:
            data = json.load(f)
        if data["functions"][0]["cases"] != cases or data["functions"][0]["findings"]:
            die(f"unexpected report: {data['functions'][0]}")
        return elapsed, data.get("interpreter", "?")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyz3", default="target/release/pyz3", metavar="PATH")
    parser.add_argument("--python", action="append", metavar="PATH",
                        help="an interpreter to measure (repeatable; default: this one)")
    parser.add_argument("--cases", type=int, default=200000, metavar="N")
    parser.add_argument("--hyp-examples", type=int, default=2000, metavar="M")
    parser.add_argument("--repeat", type=int, default=3, metavar="K")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.hyp_examples < 1 or args.repeat < 1:
        die("--cases, --hyp-examples and --repeat must be at least 1")
    if not os.path.isfile(args.pyz3):
        die(f"pyz3 binary not found: {args.pyz3} (cargo build --release)")
    binary = os.path.abspath(args.pyz3)
    rows = []
    for python in args.python or [sys.executable]:
        python = os.path.abspath(python) if os.sep in python else python
        with tempfile.TemporaryDirectory(prefix="pyz3-triv-") as directory:
            so = build(python, directory)
            print(f"measuring {python} ...", file=sys.stderr, flush=True)
            runs = [time_pyz3(binary, python, so, args.cases) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            interp = runs[0][1]
            startup = statistics.median(
                time_pyz3(binary, python, so, 1)[0] for _ in range(args.repeat))
            bare = statistics.median(
                (lambda t: (run([python, "-c", "pass"]), time.perf_counter() - t)[1])(
                    time.perf_counter()) for _ in range(args.repeat))
            hyp = None
            if run([python, "-c", "import hypothesis"]).returncode == 0:
                results = []
                for _ in range(args.repeat):
                    proc = run([python, "-c", HYPOTHESIS, directory, str(args.hyp_examples)])
                    if proc.returncode != 0:
                        die(f"Hypothesis run failed: {proc.stderr.strip().splitlines()[-1]}")
                    seconds, calls = proc.stdout.split()
                    results.append(int(calls) / float(seconds))
                hyp = statistics.median(results)
        rate = args.cases / wall
        rows.append({
            "python": python, "interpreter": interp, "cases": args.cases,
            "wall_s": wall, "cases_per_s": rate, "startup_s": startup,
            "python_c_pass_s": bare, "hypothesis_examples_per_s": hyp,
            "ratio": rate / hyp if hyp else None,
        })
    print("| interpreter | pyz3 cases/s | Hypothesis examples/s | ratio | `--cases 1` wall | `python -c pass` |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        hyp = f"{r['hypothesis_examples_per_s']:,.0f}" if r["hypothesis_examples_per_s"] else "not installable"
        ratio = f"{r['ratio']:.0f}×" if r["ratio"] else "—"
        print(f"| {r['interpreter']} | {r['cases_per_s']:,.0f} | {hyp} | {ratio} | "
              f"{r['startup_s'] * 1000:.0f} ms | {r['python_c_pass_s'] * 1000:.0f} ms |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"version": 1, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
