#!/usr/bin/env bash
# What one execution of pyz3's generic fuzz target costs, in instructions: the target runs a fixed
# number of inputs (-runs, libFuzzer seed 1, -max_len=64, a fresh corpus) under callgrind, on
# gcc-built, uninstrumented C functions (`ident(b: bytes) -> bytes` and `total(xs: list[int]) ->
# int`, as in benches/fuzz_overhead.sh). With the same seed and the same coverage feedback two
# builds run the same inputs, so the counts compare harness changes exactly, where wall-clock
# rates on a shared 2-core machine move by ±10% from run to run.
#
# Printed per execution: all instructions, less start-up (a run of one input) and less
# libFuzzer's 8 KiB value-profile reset before every input (a `rep stosb`, which valgrind counts
# byte by byte: thousands of "instructions" for some 100 cycles); then the pyz3 callback alone
# (`LLVMFuzzerTestOneInput`, inclusive).
#
#   benches/fuzz_instructions.sh [RUNS] [BINARY...]      (default 100000 runs; the binary of the
#                                                         user cache's no-sanitizer entry)
#
# Pass an older binary (a copy of `<cache>/fuzz/<entry>/bin/pyz3_generic`) next to the current
# one for an A/B. Needs scripts/setup.sh's environment, gcc and valgrind; builds the target
# (or reuses the cached one) with `pyz3 fuzz` first.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
set -euo pipefail
runs="${1:-100000}"
shift || true
python="$root/.venv/bin/python"
cargo build --quiet --bin pyz3
pyz3="${CARGO_TARGET_DIR:-$root/target}/debug/pyz3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export NO_COLOR=1

cp benches/fuzz_triv.c "$work/triv.c"
cp benches/fuzz_triv.pyi "$work/triv.pyi"
include="$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")"
suffix="$("$python" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")"
gcc -shared -fPIC -O2 -I "$include" -o "$work/triv$suffix" "$work/triv.c"

cd "$work"
# Build (or reuse) the target, untimed; its binary is the default one to measure.
"$pyz3" fuzz triv:ident --sanitize none --max-time 1 -- -max_len=64 >/dev/null 2>&1
if [ "$#" -eq 0 ]; then
  set -- "$("$python" - <<'PY'
import glob, os
cache = os.environ.get("PYZ3_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pyz3")
bins = glob.glob(os.path.join(cache, "fuzz", "*-none-py*", "bin", "pyz3_generic"))
print(max(bins, key=os.path.getmtime))
PY
)"
fi

# Instructions of one callgrind run: total, the memset inside libFuzzer's ExecuteCallback, and
# the pyz3 callback (inclusive).
measure() { # BINARY FUNC RUNS
  local out="$work/cg.out"
  rm -rf "$work/corpus" && mkdir "$work/corpus"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$1" "$work/corpus" -max_len=64 -seed=1 \
    -runs="$3" >/dev/null 2>&1
  local total reset callback
  total="$(callgrind_annotate "$out" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
  # In the caller tree a function's callers ("<" lines) come right before its own "*" line.
  reset="$(callgrind_annotate --tree=caller "$out" 2>/dev/null | awk '
    /^ *$/ { from = ""; next }
    /< .*fuzzer::Fuzzer::ExecuteCallback/ { from = $1 }
    /\*  .*memset/ && from != "" { print from; exit }' | tr -d ,)"
  callback="$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null |
    sed -n 's/^ *\([0-9,]*\) .*:LLVMFuzzerTestOneInput .*/\1/p' | head -n 1 | tr -d ,)"
  echo "${total:-0} ${reset:-0} ${callback:-0}"
}

printf '%-8s %-60s %14s %14s\n' function binary "Ir/execution" "pyz3 callback"
for fn in ident total; do
  case $fn in
    ident) export PYZ3_FUZZ_SPEC='{"module":"triv","path":"'"$work"'","function":"ident","param_names":["b"],"param_types":["bytes"],"no_refcount":false}' ;;
    total) export PYZ3_FUZZ_SPEC='{"module":"triv","path":"'"$work"'","function":"total","param_names":["xs"],"param_types":["list[int]"],"no_refcount":false}' ;;
  esac
  for bin in "$@"; do
    read -r start _ _ <<<"$(measure "$bin" $fn 1)"
    read -r all reset callback <<<"$(measure "$bin" $fn "$runs")"
    printf '%-8s %-60s %14s %14s\n' "$fn" "$bin" $(((all - start - reset) / runs)) $((callback / runs))
  done
done
