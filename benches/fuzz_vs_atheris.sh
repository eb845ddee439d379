#!/usr/bin/env bash
# Side by side: pyz3's libFuzzer target `parse_string` vs an atheris harness calling the same
# extension function, same time budget, with and without AddressSanitizer. Two kinds of seeds:
# the committed corpus (text as UTF-32, converted to FuzzedDataProvider's UTF-32 form for
# atheris), and the same documents as plain text (UTF-8 for pyz3; ASCII, FuzzedDataProvider's
# first form, for atheris). Prints exec/s and the time to the first crash (the planted deep
# defect) of each run, then per configuration the runs that found it and the median time (a run
# that did not counts as longer than the budget).
#
#   benches/fuzz_vs_atheris.sh [SECONDS_PER_RUN] [RUNS] [build|asan|none|committed|committed-asan|committed-none]
#
# build: only build, no runs; asan: only the four AddressSanitizer configurations (UTF-32 and
# text seeds, pyz3 and atheris); none: only the two configurations without a sanitizer;
# committed: the four configurations from the committed seeds (UTF-32), with AddressSanitizer
# and without; committed-asan and committed-none: the two of them with AddressSanitizer, or the
# two without. Without it, all six.
#
# Needs scripts/setup.sh's environment; installs atheris into its own virtualenv under target/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
budget="${1:-120}"
runs="${2:-3}"
only="${3:-}"
work="$root/target/fuzz-vs-atheris"
mkdir -p "$work"
triple=x86_64-unknown-linux-gnu
sancov="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-max-loads-per-memcmp=0 -Cforce-frame-pointers=yes"

# atheris, in its own virtualenv.
if [ ! -x "$work/venv/bin/python" ]; then "$PYO3_PYTHON" -m venv "$work/venv"; fi
"$work/venv/bin/python" -c 'import atheris' 2>/dev/null || "$work/venv/bin/pip" install -q atheris
apath="$("$work/venv/bin/python" -c 'import atheris; print(atheris.path())')"

# The demo extension, coverage-instrumented for atheris as pyz3's target instruments it (memcmp
# kept a call, as src/fuzz/rustc-wrapper.sh keeps it): with ASan and without.
build_demo() { # $1 = asan|none
  local flags="$sancov"
  [ "$1" = asan ] && flags="$flags -Zsanitizer=address"
  (cd harness/demo && PYO3_BUILD_EXTENSION_MODULE=1 RUSTFLAGS="$flags" CARGO_TARGET_DIR="$work/demo-$1" \
    cargo +nightly build --quiet --release --target "$triple")
  mkdir -p "$work/so-$1"
  cp "$work/demo-$1/$triple/release/libpyz3_demo.so" "$work/so-$1/pyz3_demo.so"
}
want() { # $1 = asan|none
  [ -z "$only" ] || [ "$only" = build ] || [ "$only" = committed ] || [ "$only" = "$1" ] || [ "$only" = "committed-$1" ]
}
want asan && build_demo asan
want none && build_demo none

# pyz3's target, both ways, built from fuzz/ as a user would (its .cargo/config.toml keeps the
# coverage instrumentation to the demo crate and its dependencies, as atheris's build above).
if want asan; then
  (cd fuzz && cargo +nightly fuzz build -O --target-dir "$root/target/fuzz" parse_string >/dev/null 2>&1)
fi
if want none; then
  (cd fuzz && cargo +nightly fuzz build -O -s none --target-dir "$root/target/fuzz-none" parse_string >/dev/null 2>&1)
fi

# Seeds, from each committed document (text stored as UTF-32, UTF-16 or UTF-8):
# - atheris-seeds: the same storage in FuzzedDataProvider's format (0x00: UTF-32, 0x02: UTF-16,
#   0x01: ASCII, or UTF-32 for UTF-8 text that is not ASCII);
# - text-seeds: the document as plain UTF-8, for pyz3;
# - atheris-text-seeds: FuzzedDataProvider's ASCII form (UTF-16 for text that is not ASCII).
mkdir -p "$work/atheris-seeds" "$work/text-seeds" "$work/atheris-text-seeds"
"$PYO3_PYTHON" - "$work" <<'PY'
import os, sys
work = sys.argv[1]
def write(kind, name, data):
    open(os.path.join(work, kind, name), "wb").write(data)
def fdp(text, mark, enc, wide):
    """FuzzedDataProvider's form `mark` + `enc`, or `wide` (mark, encoding) if `enc` cannot hold it."""
    try:
        return mark + text.encode(enc, "surrogatepass")
    except UnicodeEncodeError:
        return wide[0] + text.encode(wide[1], "surrogatepass")
for name in os.listdir("corpora/parse_string"):
    data = open(os.path.join("corpora/parse_string", name), "rb").read()
    mark, enc = {b"\xff": (b"\x00", "utf-32-le"), b"\xfe": (b"\x02", "utf-16-le")}.get(
        data[:1], (b"\x01", "ascii"))
    text = data[1:].decode(enc, "surrogatepass") if mark != b"\x01" else data.decode(
        "utf-8", "surrogateescape")
    write("atheris-seeds", name, fdp(text, mark, enc, (b"\x00", "utf-32-le")))
    write("text-seeds", name, text.encode("utf-8", "surrogatepass"))
    write("atheris-text-seeds", name, fdp(text, b"\x01", "ascii", (b"\x02", "utf-16-le")))
PY

[ "$only" = build ] && exit 0

one() { # $1 = run, $2 = label, rest = command; prints "label run exec/s time-to-crash"
  local i="$1" label="$2"; shift 2
  rm -rf "$work/c" "$work/a"; mkdir -p "$work/c" "$work/a"
  local start end
  start=$(date +%s.%N)
  "$@" "$work/c" "$SEEDS" -artifact_prefix="$work/a/" -max_total_time="$budget" -seed="$i" >"$work/log" 2>&1 || true
  end=$(date +%s.%N)
  local eps crash t=inf
  eps=$(grep -o 'exec/s: [0-9]*' "$work/log" | tail -1 | grep -o '[0-9]*' || echo 0)
  if ls "$work/a"/crash-* >/dev/null 2>&1; then t=$(echo "$end - $start" | bc); crash="$t"; else crash="not found in ${budget} s"; fi
  printf '%-34s run %d  %8s exec/s  crash: %s\n' "$label" "$i" "$eps" "$crash"
  echo "$label|$eps|$t" >>"$work/summary"
}
rm -f "$work/summary"

# Run i of every selected configuration, then run i+1: pyz3 and atheris alternate, so both see
# the same load on a shared machine.
export VIRTUAL_ENV="$root/.venv"
pyz3_asan="$root/target/fuzz/$triple/release/parse_string"
pyz3_none="$root/target/fuzz-none/$triple/release/parse_string"
atheris() { # $1 = asan|none, $2 = run, $3 = label
  if [ "$1" = asan ]; then
    PYTHONPATH="$work/so-asan" PYTHONMALLOC=malloc ASAN_OPTIONS=detect_leaks=0 LD_PRELOAD="$apath/asan_with_fuzzer.so" \
      one "$2" "$3" "$work/venv/bin/python" benches/atheris_parse_string.py
  else
    PYTHONPATH="$work/so-none" LD_PRELOAD="$apath/ubsan_with_fuzzer.so" \
      one "$2" "$3" "$work/venv/bin/python" benches/atheris_parse_string.py
  fi
}
for i in $(seq 1 "$runs"); do
  if want asan; then
    SEEDS="$root/corpora/parse_string" one "$i" "pyz3 ASan, UTF-32 seeds" "$pyz3_asan"
    SEEDS="$work/atheris-seeds" atheris asan "$i" "atheris ASan, UTF-32 seeds"
    if [ "${only#committed}" = "$only" ]; then
      SEEDS="$work/text-seeds" one "$i" "pyz3 ASan, text seeds" "$pyz3_asan"
      SEEDS="$work/atheris-text-seeds" atheris asan "$i" "atheris ASan, text seeds"
    fi
  fi
  if want none; then
    SEEDS="$root/corpora/parse_string" one "$i" "pyz3 no sanitizer, UTF-32 seeds" "$pyz3_none"
    SEEDS="$work/atheris-seeds" atheris none "$i" "atheris no sanitizer, UTF-32 seeds"
  fi
done

echo
"$PYO3_PYTHON" - "$work/summary" "$budget" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, eps, t = line.rstrip("\n").split("|")
    rows.setdefault(label, []).append((int(eps or 0), float(t)))
print(f"{'configuration':<34} {'exec/s (median)':>15} {'found':>7} {'median time to crash':>22}")
for label, runs in rows.items():
    eps = statistics.median(e for e, _ in runs if e > 0) if any(e > 0 for e, _ in runs) else 0
    found = sum(t != float("inf") for _, t in runs)
    med = statistics.median(t for _, t in runs)
    shown = f"{med:.1f} s" if med != float("inf") else f"> {sys.argv[2]} s"
    print(f"{label:<34} {eps:>15,.0f} {found:>3}/{len(runs):<3} {shown:>22}")
PY
