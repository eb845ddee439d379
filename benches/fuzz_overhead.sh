#!/usr/bin/env bash
# What one execution costs the fuzzer itself: `pyz3 fuzz MODULE:FUNC` against an atheris harness,
# on the same trivial, uninstrumented C function (`total(xs: list[int]) -> int`, the sum of a
# list), no sanitizer, the same time budget and the same maximum input length (64 bytes). The
# function costs well under a microsecond, so the rates measure the harnesses: decoding, making
# the Python objects, the call, the per-input checks and libFuzzer's bookkeeping. Prints one row
# per run and the median exec/s of each. The pyz3 target is built (or taken from the user cache)
# before the timed runs.
#
#   benches/fuzz_overhead.sh [SECONDS_PER_RUN] [RUNS]     (defaults 30 and 3; runs alternate)
#
# Needs scripts/setup.sh's environment, gcc, cargo-fuzz and nightly; atheris comes from
# requirements.txt (installed into .venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
budget="${1:-30}"
runs="${2:-3}"
maxlen=64
python="$root/.venv/bin/python"
"$python" -c 'import atheris' 2>/dev/null || "$python" -m pip install -q "$(grep '^atheris==' requirements.txt | cut -d' ' -f1)"
cargo build --quiet --bin pyz3
pyz3="${CARGO_TARGET_DIR:-$root/target}/debug/pyz3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export NO_COLOR=1

# The function, compiled with gcc (no coverage instrumentation), with its stub.
cat > "$work/triv.c" <<'C'
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *total(PyObject *self, PyObject *xs) {
    if (!PyList_Check(xs)) { PyErr_SetString(PyExc_TypeError, "a list"); return NULL; }
    long t = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(xs); i++) {
        long v = PyLong_AsLong(PyList_GET_ITEM(xs, i));
        if (v == -1 && PyErr_Occurred()) return NULL;
        t += v;
    }
    return PyLong_FromLong(t);
}
static PyMethodDef methods[] = {{"total", total, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "triv", NULL, -1, methods};
PyMODINIT_FUNC PyInit_triv(void) { return PyModule_Create(&mod); }
C
echo 'def total(xs: list[int]) -> int: ...' > "$work/triv.pyi"
include="$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")"
suffix="$("$python" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")"
gcc -shared -fPIC -O2 -I "$include" -o "$work/triv$suffix" "$work/triv.c"

# The atheris harness: a list of up to 16 ints of one byte each, as pyz3's decoder gives them.
cat > "$work/atheris_triv.py" <<'PY'
import sys
import atheris
import triv

def one(data):
    fdp = atheris.FuzzedDataProvider(data)
    n = fdp.ConsumeIntInRange(0, 16)
    triv.total(fdp.ConsumeIntList(n, 1))

atheris.Setup(sys.argv, one)
atheris.Fuzz()
PY

cd "$work"
# Build (or reuse) pyz3's target once, untimed.
"$pyz3" fuzz triv:total --sanitize none --max-time 1 -- -max_len=$maxlen >/dev/null 2>&1

pyz3_run() {
  rm -rf .pyz3/fuzz/corpus
  "$pyz3" fuzz triv:total --sanitize none --max-time "$budget" -- -max_len=$maxlen -seed="$1" 2>&1 |
    sed -n 's/.*no findings ([0-9]* execs, \([0-9]*\) exec\/s.*/\1/p'
}
atheris_run() {
  rm -rf acorpus && mkdir acorpus
  PYTHONPATH="$work" "$python" atheris_triv.py acorpus -max_len=$maxlen -seed="$1" \
    -max_total_time="$budget" -print_final_stats=1 2>&1 |
    sed -n 's/^stat::average_exec_per_sec: *//p'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

: > pyz3.txt
: > atheris.txt
printf '%-8s %-4s %10s\n' fuzzer run exec/s
for i in $(seq 1 "$runs"); do
  p="$(pyz3_run "$i")"
  echo "$p" >> pyz3.txt
  printf '%-8s %-4s %10s\n' pyz3 "$i" "$p"
  a="$(atheris_run "$i")"
  echo "$a" >> atheris.txt
  printf '%-8s %-4s %10s\n' atheris "$i" "$a"
done
echo
echo "| fuzzer (total(list[int]), no sanitizer, ${budget} s, -max_len=$maxlen) | exec/s (median of $runs) |"
echo "|---|---:|"
echo "| pyz3 fuzz | $(median < pyz3.txt) |"
echo "| atheris $("$python" -c 'import importlib.metadata as m; print(m.version("atheris"))') | $(median < atheris.txt) |"
