#!/usr/bin/env bash
# Cost of native coverage, plain vs `pyz3 test --coverage`:
# - the example projects' pytest suites (tests/fixtures/sanitize, clean variants: a PyO3 crate and
#   a setuptools C extension; for C also gcc's gcov with CC=gcc);
# - a compute-bound suite over a copy of the demo extension (its JSON parser and word counter on
#   large inputs).
# Columns: the first run with a cold build directory, pytest wall time, whole-command time
# (build + tests + report). Then, for `pyz3 test --watch`, the time from a saved edit of the
# extension's source to the rerun's result line.
#
#   benches/coverage_overhead.sh [RUNS]     (default 5 runs per cell; prints medians)
#
# Needs scripts/setup.sh's environment.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
runs="${1:-5}"
cargo build --quiet --bin pyz3
pyz3="$root/target/debug/pyz3"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="$work/target"

python "$root/benches/example_projects.py" "$work" cov_bench_rs cov_bench_c
# A compute-bound suite: the demo extension's JSON parser and word counter on large inputs.
demo="$work/demo"
mkdir -p "$demo/src" "$demo/tests"
cp harness/demo/Cargo.toml harness/demo/Cargo.lock "$demo/"
cp harness/demo/src/*.rs "$demo/src/"
cat >"$demo/tests/test_heavy.py" <<'PY'
import json

import pyz3_demo

DOC = json.dumps([{"k%d" % i: [i, str(i) * 5, {"x": [1.5, None, True]}]} for i in range(3000)])
TEXT = " ".join("w%d" % (i % 500) for i in range(200000))


def test_parse():
    for _ in range(20):
        assert len(pyz3_demo.parse_string(DOC)) == 3000


def test_words():
    for _ in range(10):
        assert len(pyz3_demo.word_count(TEXT)) == 500
PY

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

printf '%-6s %-14s %11s %12s %8s %12s %8s\n' project mode "first run" "pytest (s)" "× plain" "command (s)" "× plain"
for proj in rs c demo; do
  dir="$work/$proj"
  modes="plain coverage"
  [ "$proj" = c ] && modes="plain coverage gcov"
  for mode in $modes; do
    args=(test --project "$dir" --json "$work/r.json")
    envs=()
    case $mode in
      coverage) args+=(--coverage) ;;
      gcov) args+=(--coverage); envs=(CC=gcc) ;;
    esac
    rm -rf "$CARGO_TARGET_DIR/pyz3"
    s=$(now); env "${envs[@]}" "$pyz3" "${args[@]}" >/dev/null 2>&1 || true; e=$(now)
    cold=$(echo "$e - $s" | bc)
    rows=$(for _ in $(seq "$runs"); do
      s=$(now); env "${envs[@]}" "$pyz3" "${args[@]}" >/dev/null 2>&1 || true; e=$(now)
      t=$(python -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("tests", d)["pytest"]["seconds"])' "$work/r.json")
      echo "$t $(echo "$e - $s" | bc)"
    done)
    t=$(echo "$rows" | awk '{print $1}' | median)
    cmd=$(echo "$rows" | awk '{print $2}' | median)
    if [ "$mode" = plain ]; then plain_t="$t"; plain_cmd="$cmd"; fi
    printf '%-6s %-14s %11.1f %12.2f %8.2f %12.2f %8.2f\n' "$proj" "$mode" "$cold" "$t" \
      "$(echo "$t / $plain_t" | bc -l)" "$cmd" "$(echo "$cmd / $plain_cmd" | bc -l)"
  done
done

# Watch mode: save an edit of the Rust source, time until the result line.
dir="$work/rs"
log="$work/watch.log"
for mode in plain coverage; do
  extra=()
  [ "$mode" = coverage ] && extra=(--coverage)
  "$pyz3" test --watch --project "$dir" "${extra[@]}" >/dev/null 2>"$log" &
  pid=$!
  until grep -q "waiting for changes" "$log"; do sleep 0.2; done
  times=()
  for i in $(seq "$runs"); do
    before=$(grep -c "waiting for changes" "$log")
    s=$(now)
    printf '\n// edit %s\n' "$i" >>"$dir/src/lib.rs"
    until [ "$(grep -c "waiting for changes" "$log")" -gt "$before" ]; do sleep 0.02; done
    times+=("$(echo "$(now) - $s" | bc)")
  done
  kill -INT "$pid"; wait "$pid" || true
  printf 'watch (%s): saved edit → rerun result: median %.2f s over %s edits\n' "$mode" \
    "$(printf '%s\n' "${times[@]}" | median)" "$runs"
done
