#!/usr/bin/env bash
# The main job on the bundled default: build pyz3 and the demo extension (harness/demo), then run
# `pyz3 check` on it with zero code: every planted defect is found, shrunk and given a
# reproducer, and the correct functions come out clean.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh
cargo build --release --quiet --bin pyz3
demo="$(scripts/build-demo.sh "$root/target/demo" | tail -n 1)"
echo "\$ pyz3 check $demo/pyz3_demo.so --oracle ... --property ..."
status=0
target/release/pyz3 check "$demo/pyz3_demo.so" \
  --oracle 'bad_abs=builtins:abs' --oracle 'checked_abs=builtins:abs' \
  --property 'bad_clamp=lo > hi or lo <= result <= hi' \
  --property 'clamp=lo > hi or lo <= result <= hi' \
  --json target/demo/report.json || status=$?
echo
echo "pyz3 check exited with $status (1 = findings: the demo's planted defects)."
echo "JSON report: target/demo/report.json; reproducers: .pyz3/repro/"
[ "$status" -eq 1 ]
