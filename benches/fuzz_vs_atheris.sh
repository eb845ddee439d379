#!/usr/bin/env bash
# Side by side: pyz3's libFuzzer target `parse_string` vs an atheris harness calling the same
# extension function, same time budget, with and without AddressSanitizer. Two kinds of seeds:
# the committed corpus (text as UTF-32, converted to FuzzedDataProvider's UTF-32 form for
# atheris), and the same documents as plain text (UTF-8 for pyz3; ASCII, FuzzedDataProvider's
# first form, for atheris). Prints exec/s and the time to the first crash (the planted deep
# defect) of each run, then per configuration the runs that found it and the median time (a run
# that did not counts as longer than the budget).
#
#   benches/fuzz_vs_atheris.sh [SECONDS_PER_RUN] [RUNS] [build]   (build: only build, no runs)
#
# Needs scripts/setup.sh's environment; installs atheris into its own virtualenv under target/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
budget="${1:-120}"
runs="${2:-3}"
only_build="${3:-}"
work="$root/target/fuzz-vs-atheris"
mkdir -p "$work"
triple=x86_64-unknown-linux-gnu
sancov="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares -Cforce-frame-pointers=yes"

# atheris, in its own virtualenv.
if [ ! -x "$work/venv/bin/python" ]; then "$PYO3_PYTHON" -m venv "$work/venv"; fi
"$work/venv/bin/python" -c 'import atheris' 2>/dev/null || "$work/venv/bin/pip" install -q atheris
apath="$("$work/venv/bin/python" -c 'import atheris; print(atheris.path())')"

# The demo extension, coverage-instrumented for atheris as pyz3's target instruments it: with ASan
# and without.
build_demo() { # $1 = asan|none
  local flags="$sancov"
  [ "$1" = asan ] && flags="$flags -Zsanitizer=address"
  (cd harness/demo && PYO3_BUILD_EXTENSION_MODULE=1 RUSTFLAGS="$flags" CARGO_TARGET_DIR="$work/demo-$1" \
    cargo +nightly build --quiet --release --target "$triple")
  mkdir -p "$work/so-$1"
  cp "$work/demo-$1/$triple/release/libpyz3_demo.so" "$work/so-$1/pyz3_demo.so"
}
build_demo asan
build_demo none

# pyz3's target, both ways, built from fuzz/ as a user would (its .cargo/config.toml keeps the
# coverage instrumentation to the demo crate and its dependencies, as atheris's build above).
(cd fuzz && cargo +nightly fuzz build -O --target-dir "$root/target/fuzz" parse_string >/dev/null 2>&1)
(cd fuzz && cargo +nightly fuzz build -O -s none --target-dir "$root/target/fuzz-none" parse_string >/dev/null 2>&1)

# Seeds for atheris: the same documents in FuzzedDataProvider's format (0x01: ASCII, 0x00: UTF-32).
mkdir -p "$work/atheris-seeds"
"$PYO3_PYTHON" - "$work/atheris-seeds" <<'PY'
import os, sys
out = sys.argv[1]
for name in os.listdir("corpora/parse_string"):
    data = open(os.path.join("corpora/parse_string", name), "rb").read()
    if data[:1] == b"\xff":
        text = data[1:].decode("utf-32-le", "surrogatepass"); mark = b"\x00"; enc = "utf-32-le"
    elif data[:1] == b"\xfe":
        text = data[1:].decode("utf-16-le", "surrogatepass"); mark = b"\x02"; enc = "utf-16-le"
    else:
        text = data.decode("utf-8", "surrogateescape"); mark = b"\x01"; enc = "ascii"
    try:
        payload = text.encode(enc, "surrogatepass")
    except UnicodeEncodeError:
        payload = text.encode("utf-32-le", "surrogatepass"); mark = b"\x00"
    open(os.path.join(out, name), "wb").write(mark + payload)
PY

# The same documents as plain text: UTF-8 for pyz3, FuzzedDataProvider's ASCII form (0x01) for
# atheris (UTF-16, 0x02, for the one document that is not ASCII).
mkdir -p "$work/text-seeds" "$work/atheris-text-seeds"
"$PYO3_PYTHON" - "$work/text-seeds" "$work/atheris-text-seeds" <<'PY'
import os, sys
plain, ath = sys.argv[1:]
for name in os.listdir("corpora/parse_string"):
    data = open(os.path.join("corpora/parse_string", name), "rb").read()
    enc = {b"\xff": "utf-32-le", b"\xfe": "utf-16-le"}.get(data[:1])
    text = data[1:].decode(enc, "surrogatepass") if enc else data.decode("utf-8", "surrogateescape")
    open(os.path.join(plain, name), "wb").write(text.encode("utf-8", "surrogatepass"))
    try:
        payload = b"\x01" + text.encode("ascii")
    except UnicodeEncodeError:
        payload = b"\x02" + text.encode("utf-16-le", "surrogatepass")
    open(os.path.join(ath, name), "wb").write(payload)
PY

[ "$only_build" = build ] && exit 0

run() { # $1 = label, rest = command; prints "label run exec/s time-to-crash"
  local label="$1"; shift
  for i in $(seq 1 "$runs"); do
    rm -rf "$work/c" "$work/a"; mkdir -p "$work/c" "$work/a"
    local start end
    start=$(date +%s.%N)
    "$@" "$work/c" "$SEEDS" -artifact_prefix="$work/a/" -max_total_time="$budget" -seed="$i" >"$work/log" 2>&1 || true
    end=$(date +%s.%N)
    local eps crash
    eps=$(grep -o 'exec/s: [0-9]*' "$work/log" | tail -1 | grep -o '[0-9]*' || echo 0)
    if ls "$work/a"/crash-* >/dev/null 2>&1; then crash=$(echo "$end - $start" | bc); else crash="not found in ${budget} s"; fi
    printf '%-34s run %d  %8s exec/s  crash: %s\n' "$label" "$i" "$eps" "$crash"
    echo "$label|$eps|$crash" >>"$work/summary"
  done
}
rm -f "$work/summary"

export VIRTUAL_ENV="$root/.venv"
SEEDS="$root/corpora/parse_string" run "pyz3 ASan, UTF-32 seeds" "$root/target/fuzz/$triple/release/parse_string"
SEEDS="$work/atheris-seeds" PYTHONPATH="$work/so-asan" PYTHONMALLOC=malloc ASAN_OPTIONS=detect_leaks=0 \
  LD_PRELOAD="$apath/asan_with_fuzzer.so" run "atheris ASan, UTF-32 seeds" "$work/venv/bin/python" benches/atheris_parse_string.py
SEEDS="$work/text-seeds" run "pyz3 ASan, text seeds" "$root/target/fuzz/$triple/release/parse_string"
SEEDS="$work/atheris-text-seeds" PYTHONPATH="$work/so-asan" PYTHONMALLOC=malloc ASAN_OPTIONS=detect_leaks=0 \
  LD_PRELOAD="$apath/asan_with_fuzzer.so" run "atheris ASan, text seeds" "$work/venv/bin/python" benches/atheris_parse_string.py
SEEDS="$root/corpora/parse_string" run "pyz3 no sanitizer, UTF-32 seeds" "$root/target/fuzz-none/$triple/release/parse_string"
SEEDS="$work/atheris-seeds" PYTHONPATH="$work/so-none" LD_PRELOAD="$apath/ubsan_with_fuzzer.so" \
  run "atheris no sanitizer, UTF-32 seeds" "$work/venv/bin/python" benches/atheris_parse_string.py

echo
"$PYO3_PYTHON" - "$work/summary" "$budget" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, eps, crash = line.rstrip("\n").split("|")
    t = float(crash) if crash[:1].isdigit() or crash[:1] == "." else float("inf")
    rows.setdefault(label, []).append((int(eps or 0), t))
print(f"{'configuration':<34} {'exec/s (median)':>15} {'found':>7} {'median time to crash':>22}")
for label, runs in rows.items():
    eps = statistics.median(e for e, _ in runs if e > 0) if any(e > 0 for e, _ in runs) else 0
    found = sum(t != float("inf") for _, t in runs)
    med = statistics.median(t for _, t in runs)
    shown = f"{med:.1f} s" if med != float("inf") else f"> {sys.argv[2]} s"
    print(f"{label:<34} {eps:>15,.0f} {found:>3}/{len(runs):<3} {shown:>22}")
PY
