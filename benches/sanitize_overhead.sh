#!/usr/bin/env bash
# Wall time of the example projects' pytest suites (tests/fixtures/sanitize, clean variants: a
# PyO3 crate and a setuptools C extension) plain vs under each sanitizer, and build times (cold:
# a fresh target directory; incremental: after touching one source file).
#
#   benches/sanitize_overhead.sh [RUNS]     (default 3 runs per cell; prints medians)
#
# Needs scripts/setup.sh's environment.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
runs="${1:-3}"
cargo build --quiet --bin pyz3
pyz3="$root/target/debug/pyz3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

# The clean variants of the example projects (the fix from each planted-defect marker).
python "$root/benches/example_projects.py" "$work" sani_rs sani_c

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
seconds() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; echo "$(date +%s.%N) - $s" | bc; }

printf '%-8s %-18s %10s %10s %12s %8s\n' project sanitizers "build cold" "build incr" "pytest (s)" "× plain"
for proj in rs c; do
  dir="$work/$proj"
  plain=""
  for san in "" address leak thread undefined address,undefined; do
    cold=$(seconds "$pyz3" build --project "$dir" --sanitize "$san")
    touch "$dir/src/lib.rs" "$dir/sani_c.c" 2>/dev/null || true
    incr=$(seconds "$pyz3" build --project "$dir" --sanitize "$san")
    t=$(for _ in $(seq "$runs"); do
      "$pyz3" test --project "$dir" --sanitize "$san" --json "$work/r.json" >/dev/null 2>&1 || true
      python -c 'import json,sys; print(json.load(open(sys.argv[1]))["pytest"]["seconds"])' "$work/r.json"
    done | median)
    [ -z "$san" ] && plain="$t"
    printf '%-8s %-18s %10.1f %10.1f %12.2f %8.2f\n' "$proj" "${san:-plain}" "$cold" "$incr" "$t" "$(echo "$t / $plain" | bc -l)"
  done
done
