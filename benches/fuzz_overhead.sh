#!/usr/bin/env bash
# What one execution costs the fuzzer itself: `pyz3 fuzz MODULE:FUNC` against an atheris harness,
# on the same trivial, uninstrumented C functions (`total(xs: list[int]) -> int`, the sum of a
# list, and `ident(b: bytes) -> bytes`), without a sanitizer and with AddressSanitizer, the same
# time budget and the same maximum input length (64 bytes); and `pyz3 fuzz --jobs 2` against
# `--jobs 1` on `total` (libFuzzer's job k runs k seconds: over a short budget the jobs are
# mostly start-ups, so `--jobs` pays off only over minutes). The functions cost well under a
# microsecond, so the rates measure the harnesses: decoding, making the Python objects, the
# call, the per-input checks and libFuzzer's bookkeeping. Prints one row per run and the median
# exec/s of each. The pyz3 targets are built (or taken from the user cache) before the timed
# runs.
#
#   benches/fuzz_overhead.sh [SECONDS_PER_RUN] [RUNS]     (defaults 15 and 1; runs alternate)
#
# Needs scripts/setup.sh's environment, gcc, cargo-fuzz and nightly; atheris comes from
# requirements.txt (installed into .venv).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
budget="${1:-15}"
runs="${2:-1}"
maxlen=64
python="$root/.venv/bin/python"
"$python" -c 'import atheris' 2>/dev/null || "$python" -m pip install -q "$(grep '^atheris==' requirements.txt | cut -d' ' -f1)"
cargo build --quiet --bin pyz3
pyz3="${CARGO_TARGET_DIR:-$root/target}/debug/pyz3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export NO_COLOR=1

# The function, compiled with gcc (no coverage instrumentation), with its stub.
cp benches/fuzz_triv.c "$work/triv.c"
cp benches/fuzz_triv.pyi "$work/triv.pyi"
include="$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")"
suffix="$("$python" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")"
gcc -shared -fPIC -O2 -I "$include" -o "$work/triv$suffix" "$work/triv.c"

# The atheris harnesses: a list of up to 16 ints of one byte each, as pyz3's decoder gives them;
# the input's bytes as they are.
cat > "$work/atheris_triv.py" <<'PY'
import sys
import atheris
import triv

def total(data):
    fdp = atheris.FuzzedDataProvider(data)
    n = fdp.ConsumeIntInRange(0, 16)
    triv.total(fdp.ConsumeIntList(n, 1))

def ident(data):
    triv.ident(data)

atheris.Setup(sys.argv[:1] + sys.argv[2:], globals()[sys.argv[1]])
atheris.Fuzz()
PY
asan_rt="$("$python" -c 'import atheris, os; print(os.path.join(atheris.path(), "asan_with_fuzzer.so"))')"

cd "$work"
pyz3_run() { # SANITIZER FUNC SEED [JOBS]
  rm -rf .pyz3/fuzz/corpus
  "$pyz3" fuzz "triv:$2" --sanitize "$1" --jobs "${4:-1}" --max-time "$budget" -- -max_len=$maxlen -seed="$3" 2>&1 |
    sed -n 's/.*no findings ([0-9]* execs, \([0-9]*\) exec\/s.*/\1/p'
}
atheris_run() { # SANITIZER FUNC SEED
  rm -rf acorpus && mkdir acorpus
  local preload=
  [ "$1" = address ] && preload="$asan_rt"
  LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0 PYTHONPATH="$work" "$python" atheris_triv.py "$2" acorpus \
    -max_len=$maxlen -seed="$3" -max_total_time="$budget" -print_final_stats=1 2>&1 |
    sed -n 's/^stat::average_exec_per_sec: *//p'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

for san in none address; do
  # Build (or reuse) pyz3's target once, untimed.
  "$pyz3" fuzz triv:total --sanitize $san --max-time 1 -- -max_len=$maxlen >/dev/null 2>&1
done
printf '%-22s %-4s %10s\n' configuration run exec/s
rows=()
for san in none address; do
  for fn in ident total; do
    : > "pyz3-$san-$fn.txt"; : > "atheris-$san-$fn.txt"
    for i in $(seq 1 "$runs"); do
      p="$(pyz3_run $san $fn "$i")"; echo "$p" >> "pyz3-$san-$fn.txt"
      printf '%-22s %-4s %10s\n' "pyz3 $san $fn" "$i" "$p"
      a="$(atheris_run $san $fn "$i")"; echo "$a" >> "atheris-$san-$fn.txt"
      printf '%-22s %-4s %10s\n' "atheris $san $fn" "$i" "$a"
    done
    rows+=("| $fn | $san | $(median < "pyz3-$san-$fn.txt") | $(median < "atheris-$san-$fn.txt") |")
  done
done
: > jobs2.txt
for i in $(seq 1 "$runs"); do
  j="$(pyz3_run none total "$i" 2)"; echo "$j" >> jobs2.txt
  printf '%-22s %-4s %10s\n' "pyz3 none total -j2" "$i" "$j"
done
echo
echo "| function (${budget} s a run, -max_len=$maxlen) | sanitizer | pyz3 fuzz exec/s | atheris $("$python" -c 'import importlib.metadata as m; print(m.version("atheris"))') exec/s |"
echo "|---|---|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "pyz3 fuzz --jobs 2, total, no sanitizer: $(median < jobs2.txt) exec/s (--jobs 1: $(median < pyz3-none-total.txt))"
