#!/usr/bin/env bash
# Provides the environment the pyZ3/Zig tests build in: a virtualenv of the machine's python3 with
# the pyZ3 framework (PyPI `pyz3`, the Zig extension framework this project is named after), the
# Zig compiler (PyPI `ziglang`) and pytest. It is kept apart from the project's .venv because the
# framework registers a pytest plugin that every pytest run in its environment loads.
#
# Usage: scripts/python-zig.sh
#   PYZ3_CACHE  cache directory (default: $HOME/.cache/pyz3), outside the repo so that every clone
#               on the machine shares one environment.
# Creates <cache>/venv-zig once (about a minute), then prints its python path as the only line on
# stdout; progress goes to stderr. Later runs only read a stamp file. Exit status 2 with one line on
# stderr when something fails.
set -euo pipefail

# Versions verified together: pyz3 0.11 builds with Zig 0.15.2, and its plugin needs pytest < 9.
packages=("pyz3==0.11.0" "ziglang==0.15.2" "pytest==8.4.2")
recipe="venv ${packages[*]}"
cache="${PYZ3_CACHE:-${HOME:?HOME is not set; set PYZ3_CACHE}/.cache/pyz3}"
case "$cache" in /*) ;; *) cache="$PWD/$cache" ;; esac
venv="$cache/venv-zig"
stamp="$venv/.pyz3-complete"
log="$cache/venv-zig.log"

say() { echo "pyz3 python-zig: $*" >&2; }
die() { echo "pyz3 python-zig: error: $*" >&2; exit 2; }

if [ -f "$stamp" ] && [ "$(<"$stamp")" = "$recipe" ] && [ -x "$venv/bin/python" ]; then
  echo "$venv/bin/python"
  exit 0
fi
mkdir -p "$cache" || die "cannot create the cache directory $cache"
python="${PYZ3_ZIG_BASE_PYTHON:-python3}"
command -v "$python" >/dev/null || die "$python not found"
say "creating $venv with ${packages[*]}"
start=$SECONDS
rm -rf "$venv"
"$python" -m venv "$venv" >"$log" 2>&1 || die "creating the virtualenv $venv failed (log: $log)"
timeout 900 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" \
    </dev/null >>"$log" 2>&1 || die "pip install ${packages[*]} into $venv failed (log: $log)"
timeout 300 "$venv/bin/python" -c '
import pyz3.buildzig, pytest, subprocess, sys
v = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True, timeout=120)
assert v.returncode == 0 and v.stdout.startswith("0.15."), v
' >>"$log" 2>&1 || die "the pyZ3 framework or Zig does not work in $venv (log: $log)"
echo "$recipe" >"$stamp"
say "ready in $((SECONDS - start)) s"
echo "$venv/bin/python"
