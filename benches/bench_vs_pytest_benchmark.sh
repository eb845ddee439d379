#!/usr/bin/env bash
# Run-to-run spread and time to a result: `pyz3 bench` (wall mode and --instructions) vs
# pytest-benchmark, on the same function of the example PyO3 extension (tests/fixtures/bench/,
# `bench_ops::bench_sum_squares`, i.e. `sum_squares(20_000)`) in the same release build. Each tool
# runs RUNS times with its default settings; the table gives, per tool, the spread of its
# estimates (coefficient of variation and (max-min)/median) and the median wall-clock seconds per
# run (the one-time build and a warm-up run of each tool are not counted).
#
#   benches/bench_vs_pytest_benchmark.sh [RUNS] [INSTRUCTION_RUNS]
#       (defaults 10 and RUNS; wall-mode and pytest-benchmark runs alternate)
#
# Needs scripts/setup.sh's environment; pytest-benchmark gets its own virtualenv in
# target/pytest-benchmark-venv (created once, from python3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
base_python="$(python3 -c 'import sys; print(sys.executable)')"
. scripts/setup.sh >/dev/null
runs="${1:-10}"
iruns="${2:-$runs}"
[ -x "$root/target/debug/pyz3" ] || cargo build --quiet --bin pyz3
pyz3="$root/target/debug/pyz3"
module=spreaddemo
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
proj="$work/proj"
export CARGO_TARGET_DIR="$root/target/bench-tests"
export NO_COLOR=1

# The example extension as a one-commit git repository (as tests/tests/bench.rs sets it up).
python - "$root/tests/fixtures/bench" "$proj" "$module" <<'PY'
import os, sys
src, proj, module = sys.argv[1:]
def put(rel, text):
    path = os.path.join(proj, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text)
put("Cargo.toml", f'[package]\nname = "{module}"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\n'
    'crate-type = ["cdylib"]\n\n[dependencies]\npyo3 = "0.30"\n\n[profile.release]\n'
    'debug = 1\n\n[workspace]\n')
for fixture, rel in [("lib.rs", "src/lib.rs"), ("bench_ops.py", "benches/bench_ops.py")]:
    put(rel, open(os.path.join(src, fixture)).read().replace("{module}", module))
put(".gitignore", "target/\nCargo.lock\n")
PY
git -C "$proj" init -q -b main
git -C "$proj" add -A
git -C "$proj" -c user.email=bench@example.com -c user.name=bench commit -q -m init

# pytest-benchmark, in its own virtualenv.
venv="$root/target/pytest-benchmark-venv"
if ! "$venv/bin/python" -c 'import pytest, pytest_benchmark' >/dev/null 2>&1; then
  echo "creating $venv (pytest, pytest-benchmark)" >&2
  "$base_python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pytest pytest-benchmark
fi

# The pytest-benchmark side calls the very bench function pyz3 runs, with the plugin's defaults.
mkdir -p "$work/pytest"
cat >"$work/pytest/test_sum_squares.py" <<'PY'
import bench_ops


def test_sum_squares(benchmark):
    benchmark(bench_ops.bench_sum_squares)
PY

# `timed TIMES OUT CMD...`: runs CMD with stdout to OUT (stderr to OUT.log), appends its wall time.
timed() {
  local times="$1" out="$2" s e
  shift 2
  s=$(date +%s.%N)
  if ! "$@" >"$out" 2>"$out.log"; then
    echo "failed: $*" >&2
    cat "$out.log" >&2
    exit 1
  fi
  e=$(date +%s.%N)
  echo "$s $e" >>"$times"
}
wall() { "$pyz3" bench --project "$proj" sum_squares --format json; }
instr() { "$pyz3" bench --instructions --project "$proj" sum_squares --format json; }
pytest_bench() {
  (cd "$work/pytest" && PYTHONPATH="$proj/.pyz3/build/plain-release/lib:$proj/benches" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider --benchmark-json="$1" test_sum_squares.py)
}

# The release build (and a warm-up run of each tool), not counted.
echo "building and warming up" >&2
timed "$work/warmup" "$work/warm-wall.json" wall
timed "$work/warmup" "$work/warm-pytest.out" pytest_bench "$work/warm-pytest.json"
timed "$work/warmup" "$work/warm-instr.json" instr

echo "$runs runs each of pyz3 bench (wall) and pytest-benchmark, alternating" >&2
for i in $(seq "$runs"); do
  timed "$work/t-wall" "$work/wall-$i.json" wall
  timed "$work/t-pytest" "$work/pytest-$i.out" pytest_bench "$work/pytest-$i.json"
done
echo "$iruns runs of pyz3 bench --instructions" >&2
for i in $(seq "$iruns"); do
  timed "$work/t-instr" "$work/instr-$i.json" instr
done

python "$root/benches/bench_vs_pytest_benchmark.py" "$work" "$runs" "$iruns"
echo "total: ${SECONDS}s"
