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
if ! "$root/.venv/bin/python" -c 'import numpy, pytest, hypothesis' >/dev/null 2>&1; then
  echo "pyz3 setup: installing Python packages from requirements.txt" >&2
  "$root/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements.txt"
fi

export PYO3_PYTHON
export VIRTUAL_ENV="$root/.venv"
export PATH="$root/.venv/bin:$PATH"
