#!/usr/bin/env bash
# Build the demo extension (harness/demo) in release mode and put it, with its stub, in OUTDIR:
#   OUTDIR/pyz3_demo.so  OUTDIR/pyz3_demo.pyi
# Usage: scripts/build-demo.sh [OUTDIR]   (default OUTDIR: target/demo)
# Env: CARGO_TARGET_DIR (default: the repository's target/), PYTHON (default: python3).
# The last line printed is the absolute OUTDIR path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v cargo >/dev/null 2>&1; then
  echo "build-demo.sh: cargo not found on PATH (install Rust: https://rustup.rs)" >&2
  exit 2
fi
python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "build-demo.sh: $python not found on PATH (set PYTHON to a CPython interpreter)" >&2
  exit 2
fi
# The real interpreter, not a virtualenv shim or pyenv wrapper.
interpreter="$("$python" -c 'import sys; print(sys.executable)')"

outdir="${1:-$root/target/demo}"
mkdir -p "$outdir"
outdir="$(cd "$outdir" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

# The .so must not link libpython: the interpreter loading it provides the symbols.
PYO3_BUILD_EXTENSION_MODULE=1 PYO3_PYTHON="$interpreter" \
  cargo build --release --manifest-path "$root/harness/demo/Cargo.toml" >&2

lib="$CARGO_TARGET_DIR/release/libpyz3_demo.so"
if [[ ! -f "$lib" ]]; then
  lib="$CARGO_TARGET_DIR/release/libpyz3_demo.dylib" # macOS
fi
if [[ ! -f "$lib" ]]; then
  echo "build-demo.sh: build finished but no libpyz3_demo.{so,dylib} in $CARGO_TARGET_DIR/release" >&2
  exit 1
fi
cp "$lib" "$outdir/pyz3_demo.so"
cp "$root/harness/demo/pyz3_demo.pyi" "$outdir/pyz3_demo.pyi"
echo "$outdir"
