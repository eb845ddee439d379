#!/usr/bin/env bash
# Sets up what pyz3 needs on a fresh machine and prints the environment to use.
# Source it (". scripts/setup.sh") to get VIRTUAL_ENV, PATH and PYO3_PYTHON in your shell.
# Idempotent: a second run reuses .venv and only installs what is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need() { command -v "$1" >/dev/null 2>&1 || { echo "pyz3 setup: '$1' not found: $2" >&2; exit 2; }; }
need cargo "install Rust (rustup) first"
need python3 "install CPython 3.9+ with a shared libpython"

# The real interpreter (pyenv shims resolve to it); pyo3 builds against it and the binaries
# get an rpath to its LIBDIR (see build.rs).
PYO3_PYTHON="$(python3 -c 'import sys; print(sys.executable)')"
shared="$("$PYO3_PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("Py_ENABLE_SHARED") or 0)')"
if [ "$shared" != "1" ]; then
  echo "pyz3 setup: $PYO3_PYTHON has no shared libpython; pyz3 embeds CPython and needs one" >&2
  exit 2
fi

if [ ! -x "$root/.venv/bin/python" ]; then
  echo "pyz3 setup: creating $root/.venv" >&2
  "$PYO3_PYTHON" -m venv "$root/.venv"
fi
# Every pinned package at its pinned version (`pkg==X` lines), the others importable.
if ! "$root/.venv/bin/python" - "$root/requirements.txt" >/dev/null 2>&1 <<'PY'
import importlib.metadata as md, sys
for line in open(sys.argv[1]):
    spec = line.split("#")[0].strip()
    if "==" in spec:
        name, version = spec.split("==")
        assert md.version(name.strip()) == version.strip()
import numpy, pytest, pytest_run_parallel, hypothesis, setuptools, memray
PY
then
  missing=1
elif [ ! -x "$root/.venv/bin/py-spy" ]; then
  missing=1
else
  missing=0
fi
if [ "$missing" = 1 ]; then
  echo "pyz3 setup: installing Python packages from requirements.txt" >&2
  "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements.txt"
fi

# Fuzzing and sanitizers: LLVM 22 (matching rustc's LLVM) for the sanitizer and libFuzzer
# runtimes and llvm-symbolizer, the nightly toolchain, and cargo-fuzz. Chromium (headless) renders
# flamegraph SVGs in the profiling tests.
if ! [ -e /usr/lib/llvm-22/lib/clang/22/lib/linux/libclang_rt.fuzzer-x86_64.a ] || ! command -v llvm-symbolizer-22 >/dev/null 2>&1 \
   || ! [ -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "pyz3 setup: installing clang-22 llvm-22 libclang-rt-22-dev chromium (apt)" >&2
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-22 llvm-22 libclang-rt-22-dev chromium >/dev/null
  else
    echo "pyz3 setup: warning: install clang-22 llvm-22 libclang-rt-22-dev chromium for fuzzing, sanitizers and the profiling tests" >&2
  fi
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "pyz3 setup: warning: no nightly Rust toolchain: fuzzing needs it (rustup toolchain install nightly)" >&2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "pyz3 setup: installing cargo-fuzz (a few minutes, once)" >&2
  cargo install --quiet --locked cargo-fuzz
fi

if [ -x /usr/lib/llvm-22/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-22/bin/llvm-symbolizer
fi
export PYO3_PYTHON
export VIRTUAL_ENV="$root/.venv"
export PATH="$root/.venv/bin:$PATH"
