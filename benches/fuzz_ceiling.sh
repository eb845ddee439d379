#!/usr/bin/env bash
# How fast can any libFuzzer harness of a Python function be on this machine? Measures, with the
# same time budget and maximum input length (64 bytes), without a sanitizer and with
# AddressSanitizer:
#
#   - an empty libFuzzer target in C (`LLVMFuzzerTestOneInput` returns 0): libFuzzer's own cost
#     per execution (mutation, clearing and collecting the coverage counters, corpus bookkeeping),
#     the ceiling of every libFuzzer-based fuzzer;
#   - a C libFuzzer target that embeds CPython and, per input, does what a harness minimally
#     does: `PyBytes_FromStringAndSize` of the input, `PyObject_CallOneArg` on `triv.ident` (an
#     uninstrumented C function, `ident(b: bytes) -> bytes`, compiled with gcc), and DECREFs the
#     result and the argument. No decoding, no checks: the floor cost of "a Python call per
#     input". Run with Python's own allocator (pymalloc, as atheris runs) and with
#     `PYTHONMALLOC=malloc` (as pyz3's targets run);
#   - atheris (`triv.ident(data)`) and `pyz3 fuzz triv:ident` on the same function, as in
#     benches/fuzz_overhead.sh.
#
# exec/s is libFuzzer's final `stat::average_exec_per_sec` (-print_final_stats=1: executions
# divided by whole seconds since the process started, the figure pyz3 fuzz and
# benches/fuzz_overhead.sh report), one fresh empty corpus a run, libFuzzer seed = run number.
# Run i of every configuration comes before run i+1. Prints one row per run, then a table: each
# run's exec/s, the median, the ratio to atheris with the same sanitizer, and µs per execution
# (10^6 / median).
#
#   benches/fuzz_ceiling.sh [SECONDS_PER_RUN] [RUNS]      (defaults 10 and 3)
#
# Needs scripts/setup.sh's environment (CPython with a shared libpython; atheris from
# requirements.txt in .venv), gcc, clang-22 with libclang-rt-22-dev (CLANG= to use another
# clang), and for the pyz3 rows cargo-fuzz and nightly (`cargo build` of pyz3 honours
# CARGO_TARGET_DIR). ASan runs use pyz3's ASAN_OPTIONS defaults unless ASAN_OPTIONS is set.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
set -euo pipefail
budget="${1:-10}"
runs="${2:-3}"
maxlen=64
clang="${CLANG:-clang-22}"
asan_options="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1:detect_stack_use_after_return=0}"
python="$root/.venv/bin/python"
"$python" -c 'import atheris' 2>/dev/null || "$python" -m pip install -q "$(grep '^atheris==' requirements.txt | cut -d' ' -f1)"
cargo build --quiet --bin pyz3
pyz3="${CARGO_TARGET_DIR:-$root/target}/debug/pyz3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export NO_COLOR=1

cfg() { "$python" -c "import sysconfig; print(sysconfig.get_config_var('$1'))"; }
include="$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")"
suffix="$(cfg EXT_SUFFIX)"
libdir="$(cfg LIBDIR)"
libpython="python$(cfg LDVERSION)"

# The function, compiled with gcc (no coverage instrumentation), with its stub.
cat > "$work/triv.c" <<'C'
#define PY_SSIZE_T_CLEAN
#include <Python.h>
static PyObject *ident(PyObject *self, PyObject *b) { Py_INCREF(b); return b; }
static PyMethodDef methods[] = {{"ident", ident, METH_O, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "triv", NULL, -1, methods};
PyMODINIT_FUNC PyInit_triv(void) { return PyModule_Create(&mod); }
C
printf 'def ident(b: bytes) -> bytes: ...\n' > "$work/triv.pyi"
gcc -shared -fPIC -O2 -I "$include" -o "$work/triv$suffix" "$work/triv.c"

# The empty target.
cat > "$work/empty.c" <<'C'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
C

# The minimal embedding harness.
cat > "$work/pycall.c" <<'C'
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
static PyObject *fn;
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc; (void)argv;
    Py_Initialize();
    PyObject *m = PyImport_ImportModule("triv");
    if (!m) { PyErr_Print(); abort(); }
    fn = PyObject_GetAttrString(m, "ident");
    Py_DECREF(m);
    if (!fn) { PyErr_Print(); abort(); }
    return 0;
}
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    PyObject *arg = PyBytes_FromStringAndSize((const char *)d, (Py_ssize_t)n);
    if (!arg) abort();
    PyObject *r = PyObject_CallOneArg(fn, arg);
    if (!r) { PyErr_Print(); abort(); }
    Py_DECREF(r);
    Py_DECREF(arg);
    return 0;
}
C
for san in none address; do
  flags=-fsanitize=fuzzer
  [ "$san" = address ] && flags=-fsanitize=fuzzer,address
  "$clang" -O2 -g $flags -o "$work/empty-$san" "$work/empty.c"
  "$clang" -O2 -g $flags -I "$include" -o "$work/pycall-$san" "$work/pycall.c" \
    -L "$libdir" -l"$libpython" -Wl,-rpath,"$libdir"
done

# The atheris harness: the input's bytes as they are.
cat > "$work/atheris_triv.py" <<'PY'
import sys
import atheris
import triv

def ident(data):
    triv.ident(data)

atheris.Setup(sys.argv, ident)
atheris.Fuzz()
PY
asan_rt="$("$python" -c 'import atheris, os; print(os.path.join(atheris.path(), "asan_with_fuzzer.so"))')"

cd "$work"
export PYTHONPATH="$work"
rate() { sed -n 's/^stat::average_exec_per_sec: *//p'; }
lf_run() { # SEED BINARY [VAR=VALUE...]: a C target
  local seed="$1" bin="$2"; shift 2
  rm -rf corpus && mkdir corpus
  env ASAN_OPTIONS="$asan_options" "$@" "./$bin" corpus -max_len=$maxlen -seed="$seed" \
    -max_total_time="$budget" -print_final_stats=1 2>&1 | rate
}
atheris_run() { # SEED SANITIZER
  rm -rf corpus && mkdir corpus
  local preload=
  [ "$2" = address ] && preload="$asan_rt"
  LD_PRELOAD="$preload" ASAN_OPTIONS="$asan_options" "$python" atheris_triv.py corpus \
    -max_len=$maxlen -seed="$1" -max_total_time="$budget" -print_final_stats=1 2>&1 | rate
}
pyz3_run() { # SEED SANITIZER
  rm -rf .pyz3/fuzz/corpus
  "$pyz3" fuzz triv:ident --sanitize "$2" --max-time "$budget" -- -max_len=$maxlen -seed="$1" 2>&1 |
    sed -n 's/.*no findings ([0-9]* execs, \([0-9]*\) exec\/s.*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

# Build (or reuse) pyz3's targets once, untimed.
for san in none address; do
  "$pyz3" fuzz triv:ident --sanitize $san --max-time 1 -- -max_len=$maxlen >/dev/null 2>&1
done

# name|sanitizer|command (run with the seed as its first argument)
configs=(
  "empty C target|none|lf_run SEED empty-none"
  "C + CPython call, pymalloc|none|lf_run SEED pycall-none"
  "C + CPython call, PYTHONMALLOC=malloc|none|lf_run SEED pycall-none PYTHONMALLOC=malloc"
  "atheris|none|atheris_run SEED none"
  "pyz3 fuzz|none|pyz3_run SEED none"
  "empty C target|address|lf_run SEED empty-address"
  "C + CPython call, pymalloc|address|lf_run SEED pycall-address"
  "C + CPython call, PYTHONMALLOC=malloc|address|lf_run SEED pycall-address PYTHONMALLOC=malloc"
  "atheris|address|atheris_run SEED address"
  "pyz3 fuzz|address|pyz3_run SEED address"
)
printf '%-40s %-8s %-4s %10s\n' configuration san run exec/s
for i in $(seq 1 "$runs"); do
  for k in "${!configs[@]}"; do
    IFS='|' read -r name san cmd <<< "${configs[$k]}"
    r="$(${cmd/SEED/$i})" || r=
    echo "${r:-0}" >> "rates-$k.txt"
    printf '%-40s %-8s %-4s %10s\n' "$name" "$san" "$i" "${r:-FAILED}"
  done
done

echo
echo "ident(b: bytes) -> bytes, ${budget} s a run, -max_len=$maxlen, atheris $("$python" -c 'import importlib.metadata as m; print(m.version("atheris"))'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| configuration | sanitizer | exec/s per run | median exec/s | ratio to atheris | µs per exec |"
echo "|---|---|---|---:|---:|---:|"
for san in none address; do
  ath=
  for k in "${!configs[@]}"; do
    IFS='|' read -r name s cmd <<< "${configs[$k]}"
    [ "$s" = "$san" ] && [ "$name" = atheris ] && ath="$(median < "rates-$k.txt")"
  done
  for k in "${!configs[@]}"; do
    IFS='|' read -r name s cmd <<< "${configs[$k]}"
    [ "$s" = "$san" ] || continue
    m="$(median < "rates-$k.txt")"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$san" "$(paste -sd' ' "rates-$k.txt" | sed 's/ /, /g')" "$m" \
      "$(awk -v m="$m" -v a="$ath" 'BEGIN {if (a > 0) printf "%.2f", m / a; else printf "—"}')" \
      "$(awk -v m="$m" 'BEGIN {if (m > 0) printf "%.2f", 1e6 / m; else printf "—"}')"
  done
  printf '| 3 × atheris (the goal) | %s | | %s | 3.00 | %s |\n' "$san" "$((3 * ath))" \
    "$(awk -v m="$((3 * ath))" 'BEGIN {if (m > 0) printf "%.2f", 1e6 / m; else printf "—"}')"
done
