#!/usr/bin/env bash
# The full test suite, from a fresh clone: set-up, formatting, lints, all tests, benches compile.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# A full run writes about 9 GiB (the clone's target/ with its sanitizer and fuzz builds, the
# tests' temporary projects): say so at once rather than fail on a full disk 40 minutes in.
need_gib=12
free_gib=$(( $(df -Pk "$root" | awk 'NR == 2 { print $4 }') / 1024 / 1024 ))
if [ "$free_gib" -lt "$need_gib" ]; then
  echo "scripts/test.sh: only $free_gib GiB free on the disk of $root;" \
    "the tests need about $need_gib GiB" >&2
  exit 2
fi

. scripts/setup.sh

# The second interpreter: free-threaded CPython 3.13 with a static libpython, built once into a
# cache outside the repo (a few minutes the first time, milliseconds after). The integration
# tests find it through PYZ3_TEST_PYTHON_FT. The script prints the venv's python as its last line.
echo "== free-threaded CPython 3.13 (scripts/python-ft.sh)"
ft_start=$SECONDS
PYZ3_TEST_PYTHON_FT="$(scripts/python-ft.sh | tail -n 1)"
export PYZ3_TEST_PYTHON_FT
echo "PYZ3_TEST_PYTHON_FT=$PYZ3_TEST_PYTHON_FT (ready in $((SECONDS - ft_start)) s)"
# And a debug build (--with-pydebug, GIL, static): sys.gettotalrefcount for the refcount check.
debug_start=$SECONDS
PYZ3_TEST_PYTHON_DEBUG="$(scripts/python-ft.sh --debug | tail -n 1)"
export PYZ3_TEST_PYTHON_DEBUG
echo "PYZ3_TEST_PYTHON_DEBUG=$PYZ3_TEST_PYTHON_DEBUG (ready in $((SECONDS - debug_start)) s)"

# The pyZ3 framework (Zig extensions) in a virtualenv of its own, cached the same way.
PYZ3_TEST_PYTHON_ZIG="$(scripts/python-zig.sh | tail -n 1)"
export PYZ3_TEST_PYTHON_ZIG
echo "PYZ3_TEST_PYTHON_ZIG=$PYZ3_TEST_PYTHON_ZIG"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo build --release --bin pyz3 (no libpython: a test checks it with ldd)"
cargo build --release --quiet --bin pyz3
echo "== cargo test"
cargo test --all-targets
cargo test --doc
echo "== side-by-side script against Hypothesis (smoke run)"
cargo build --quiet --bin pyz3
python benches/compare_hypothesis.py --pyz3 target/debug/pyz3 --hyp-examples 20 --pyz3-examples 200 --repeat 1 >/dev/null
echo "pyz3 tests: all passed"
