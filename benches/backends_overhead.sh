#!/usr/bin/env bash
# Build time and pytest wall time of the build-backend example projects (tests/fixtures/backends,
# clean variants: nanobind and pybind11 through scikit-build-core, Cython through setuptools and
# meson-python), plain vs --sanitize address. Each run starts from a fresh copy of the project (a
# cold build directory); "build" is what pyz3 reports (`built N modules in`), "pytest" the wall
# time of the pytest run(s) from the JSON report.
#
#   benches/backends_overhead.sh [RUNS] [KIND...]   (default 3 runs; prints medians [min-max])
#
# Needs scripts/setup.sh's environment.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh >/dev/null
runs="${1:-3}"
shift || true
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(nanobind pybind11 cython-setuptools cython-meson)
pyz3="${PYZ3:-$root/target/debug/pyz3}"
[ -n "${PYZ3:-}" ] || cargo build --quiet --bin pyz3
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

stats() { sort -n | awk '{a[NR]=$1} END {printf "%.1f (%.1f-%.1f)", a[int((NR+1)/2)], a[1], a[NR]}'; }

printf '%-18s %-8s %-18s %-18s\n' kind label build pytest
for kind in "${kinds[@]}"; do
  for san in "" address; do
    builds=()
    pytests=()
    for i in $(seq "$runs"); do
      dir="$work/$kind-$i-${san:-plain}"
      python "$root/benches/backend_projects.py" "$dir" "$kind"
      args=(test --project "$dir" --json "$work/r.json")
      [ -n "$san" ] && args+=(--sanitize "$san")
      err=$("$pyz3" "${args[@]}" 2>&1 >/dev/null || true)
      builds+=("$(echo "$err" | sed -n 's/.*built [0-9]* modules\? in \([0-9.]*\) s.*/\1/p' | head -1)")
      pytests+=("$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["pytest"]["seconds"])' "$work/r.json")")
      rm -rf "$dir"
    done
    printf '%-18s %-8s %-18s %-18s\n' "$kind" "${san:-plain}" \
      "$(printf '%s\n' "${builds[@]}" | stats)" "$(printf '%s\n' "${pytests[@]}" | stats)"
  done
done
