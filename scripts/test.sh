#!/usr/bin/env bash
# The full test suite, from a fresh clone: set-up, formatting, lints, all tests, benches compile.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
. scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test"
cargo test --all-targets
cargo test --doc
echo "== side-by-side script against Hypothesis (smoke run)"
cargo build --quiet --bin pyz3
python benches/compare_hypothesis.py --pyz3 target/debug/pyz3 --hyp-examples 20 --pyz3-examples 200 --repeat 1 >/dev/null
echo "pyz3 tests: all passed"
