#!/usr/bin/env bash
# Provides a second interpreter for the tests: CPython 3.13 built free-threaded (--disable-gil) with a
# static libpython, the shape pyenv and most source builds have, next to the machine's shared 3.11.
# Bookworm has no Python 3.13, and only package registries are reachable, so the source comes from
# Debian trixie's python3.13 source package (deb-src, checked against trixie's signed Release file).
#
# Usage: scripts/python-ft.sh [--debug]
#   --debug     instead: CPython 3.13 with the GIL, built --with-pydebug (sys.gettotalrefcount),
#               static libpython, into <cache>/cpython-3.13.5d and <cache>/venv-3.13d
#   PYZ3_CACHE  cache directory (default: $HOME/.cache/pyz3), outside the repo so that every clone
#               on the machine shares one build.
# Installs CPython into <cache>/cpython-3.13.5t and a virtualenv with numpy, pytest and setuptools
# into <cache>/venv-3.13t, then prints the venv's python path as the only line on stdout; progress
# goes to stderr. The first run builds (2-3 minutes on 2 cores); later runs only check two stamp
# files, in a few milliseconds. Exit status 2 with one line on stderr when something is missing or fails.
set -euo pipefail

version=3.13.5                    # upstream version in trixie's python3.13 source package
case "${1:-}" in
  "")
    variant=t                          # free-threaded
    configure_args=(--disable-gil)     # no --enable-shared (static libpython), no PGO/LTO (quick build)
    what="free-threaded, static libpython"
    exe=python3.13t
    checks='assert not sys._is_gil_enabled(), "the GIL is enabled"' ;;
  --debug)
    variant=d                          # debug, with the GIL
    configure_args=(--with-pydebug)
    what="debug (--with-pydebug), static libpython"
    exe=python3.13
    checks='assert hasattr(sys, "gettotalrefcount"), "not a debug build"' ;;
  *) echo "usage: $0 [--debug]" >&2; exit 2 ;;
esac
# Written into both stamps: a change of version or flags makes the next run rebuild.
recipe="cpython $version configure ${configure_args[*]}; venv numpy pytest setuptools"

cache="${PYZ3_CACHE:-${HOME:?HOME is not set; set PYZ3_CACHE}/.cache/pyz3}"
# configure needs an absolute --prefix.
case "$cache" in /*) ;; *) cache="$PWD/$cache" ;; esac
prefix="$cache/cpython-${version}${variant}"
venv="$cache/venv-3.13${variant}"
work="$cache/cpython-${version}${variant}-work"   # apt lists, downloaded sources, build tree, logs
log="$work/build.log"
python_ft="$prefix/bin/$exe"
stamp_prefix="$prefix/.pyz3-complete"   # written only after a verified install
stamp_venv="$venv/.pyz3-complete"       # written only after the venv's packages import

say() { echo "pyz3 python-ft: $*" >&2; }
die() { echo "pyz3 python-ft: error: $*" >&2; exit 2; }
# The stamps hold the recipe; reading them with the builtin keeps the cached path well under a second.
stamped() { [ -f "$1" ] && [ "$(<"$1")" = "$recipe" ]; }
ready() { stamped "$stamp_prefix" && stamped "$stamp_venv" && [ -x "$venv/bin/python" ]; }

# Fast path, without the lock: the stamps are written last, so their presence means a complete install.
if ready; then
  echo "$venv/bin/python"
  exit 0
fi

mkdir -p "$cache" "$work" || die "cannot create the cache directory $cache"
command -v flock >/dev/null 2>&1 || die "'flock' not found (util-linux)"
# One builder at a time: a second caller waits here and then finds the stamps of the first.
exec 9>"$cache/python-3.13${variant}.lock"
if ! flock -n 9; then
  say "another run is building in $cache; waiting for it"
  flock 9
fi
if ready; then
  echo "$venv/bin/python"
  exit 0
fi

# A variable left by the caller (scripts/test.sh sources setup.sh and exports its .venv) must not
# steer the new interpreter or pip.
unset PYTHONHOME PYTHONPATH VIRTUAL_ENV PIP_REQUIRE_VIRTUALENV
# pip runs inside the new venv; its warning about running as root would only add noise to the log.
export PIP_ROOT_USER_ACTION=ignore
export DEBIAN_FRONTEND=noninteractive
start=$SECONDS
elapsed() { local s=$((SECONDS - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
# On a failed step: the end of its log for context, then the one line that says what failed.
fail_with_log() {
  if [ -s "$log" ]; then
    echo "---- last lines of $log" >&2
    tail -n 15 "$log" >&2
    echo "----" >&2
  fi
  die "$1 (full log: $log)"
}

if ! stamped "$stamp_prefix"; then
  for tool in apt-get gcc make tar xz; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; it is needed to build CPython from Debian's source package"
  done
  # pip needs ssl and zlib to install from PyPI, and ctypes needs libffi; CPython's configure would
  # silently leave those modules out, so check the headers before spending minutes on a build.
  for header in openssl/ssl.h zlib.h ffi.h; do
    echo "#include <$header>" | gcc -E -x c - >/dev/null 2>&1 \
      || die "C header <$header> not found; install libssl-dev zlib1g-dev libffi-dev (apt-get install)"
  done

  # A previous run may have stopped half-way: start again from nothing.
  rm -rf "$prefix" "$venv" "$work/build"
  mkdir -p "$work/apt/lists/partial" "$work/apt/cache" "$work/download" "$work/build"
  : >"$log"

  # The deb-src entry: trixie, with the same mirror and keyring as the machine's own Debian entry,
  # so apt verifies the download against a Release file signed with a key the machine trusts.
  codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
  [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release (is this Debian?)"
  uri="" signed_by=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822 stanzas are separated by blank lines; take the one with Types "deb" for this
    # release's main suite (not the security archive).
    read -r uri signed_by < <(awk -v suite="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; key = ""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (line ~ /^Types:/)     { sub(/^Types:[ \t]*/, "", line); types = line }
          if (line ~ /^URIs:/)      { sub(/^URIs:[ \t]*/, "", line); split(line, u, /[ \t]+/); uris = u[1] }
          if (line ~ /^Suites:/)    { sub(/^Suites:[ \t]*/, "", line); suites = " " line " " }
          if (line ~ /^Signed-By:/) { sub(/^Signed-By:[ \t]*/, "", line); key = line }
        }
        if ((" " types " ") ~ / deb / && suites ~ (" " suite " ") && uris !~ /security/) {
          print uris, key; exit
        }
      }' "$f") || true
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    # One-line format: deb [signed-by=KEY] URI SUITE COMPONENTS...
    read -r uri signed_by < <(awk -v suite="$codename" '
      $1 == "deb" {
        key = ""; i = 2
        if ($2 ~ /^\[/) {
          for (; i <= NF; i++) {
            if ($i ~ /signed-by=/) { key = $i; sub(/.*signed-by=/, "", key); sub(/\]$/, "", key) }
            if ($i ~ /\]$/) { i++; break }
          }
        }
        if ($(i + 1) == suite && $i !~ /security/) { print $i, key; exit }
      }' /etc/apt/sources.list) || true
  fi
  [ -n "$uri" ] || die "no Debian '$codename' entry found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  # Trixie's Release file is signed by keys that debian-archive-keyring ships in bookworm too; an
  # entry without Signed-By (or with an inline key block) relies on that keyring.
  case "$signed_by" in /*) ;; *) signed_by=/usr/share/keyrings/debian-archive-keyring.gpg ;; esac
  [ -r "$signed_by" ] || die "keyring $signed_by not readable"
  cat >"$work/apt/trixie-src.sources" <<EOF
Types: deb-src
URIs: $uri
Suites: trixie
Components: main
Signed-By: $signed_by
EOF

  # apt with its own sources file, lists and cache, all inside the cache directory: the machine's
  # sources and /var/lib/apt, /var/cache/apt stay as they are. The download runs as the calling
  # user (the _apt sandbox user could not write into a cache under /root).
  apt_opts=(
    -o "Dir::Etc::sourcelist=$work/apt/trixie-src.sources"
    -o Dir::Etc::sourceparts=/dev/null
    -o "Dir::State::Lists=$work/apt/lists"
    -o "Dir::Cache=$work/apt/cache"
    -o Dir::Cache::pkgcache=
    -o Dir::Cache::srcpkgcache=
    -o APT::Sandbox::User="$(id -un)"
  )
  not_root_hint=""
  [ "$(id -u)" = 0 ] || not_root_hint="; not running as root, and apt may need root: run as root"
  say "fetching the python3.13 source package from Debian trixie (deb-src $uri)"
  t=$SECONDS
  # --error-on=any: without it a mirror that cannot be reached is only a warning and update exits 0.
  apt-get "${apt_opts[@]}" --error-on=any update </dev/null >>"$log" 2>&1 \
    || fail_with_log "apt-get update of the trixie deb-src index at $uri failed (apt source not reachable?)$not_root_hint"
  (cd "$work/download" && apt-get "${apt_opts[@]}" source --download-only python3.13 </dev/null >>"$log" 2>&1) \
    || fail_with_log "apt-get source --download-only python3.13 (trixie) failed$not_root_hint"
  tarball="$work/download/python3.13_$version.orig.tar.xz"
  if [ ! -f "$tarball" ]; then
    found="$(cd "$work/download" && ls python3.13_*.orig.tar.* 2>/dev/null | tr '\n' ' ')"
    die "expected python3.13_$version.orig.tar.xz from trixie, found: ${found:-nothing}; update 'version' in $0"
  fi
  say "downloaded $(basename "$tarball") in $(elapsed "$t")"

  say "building CPython $version $what, into $prefix (2-3 minutes on 2 cores, more on a busy machine; log: $log)"
  t=$SECONDS
  tar -xJf "$tarball" -C "$work/build" || die "cannot unpack $tarball"
  src="$(find "$work/build" -mindepth 2 -maxdepth 2 -name configure -printf '%h\n' | head -n 1)"
  [ -n "$src" ] || die "no configure script in $tarball"
  jobs="$(nproc 2>/dev/null || echo 2)"
  (cd "$src" && ./configure --prefix="$prefix" "${configure_args[@]}" </dev/null >>"$log" 2>&1) \
    || fail_with_log "CPython configure failed"
  say "configured in $(elapsed "$t"); compiling with make -j$jobs"
  (cd "$src" && make -j"$jobs" </dev/null >>"$log" 2>&1) || fail_with_log "CPython make failed"
  say "compiled in $(elapsed "$t"); installing"
  (cd "$src" && make install </dev/null >>"$log" 2>&1) || fail_with_log "CPython make install failed"

  # What the tests rely on: no GIL, a static libpython, and the modules pip and the tests need.
  "$python_ft" -c "
import sys, sysconfig
$checks
assert not sysconfig.get_config_var('Py_ENABLE_SHARED'), 'libpython is shared'
import ssl, zlib, ctypes, sqlite3, lzma, bz2
" >>"$log" 2>&1 || fail_with_log "the installed $python_ft failed its checks ($what, ssl/zlib/ctypes)"
  # The build tree is about 300 MB and not needed once installed; the downloaded sources stay.
  rm -rf "$work/build"
  echo "$recipe" >"$stamp_prefix"
  say "CPython $version $what built and installed in $(elapsed "$t")"
fi

if ! stamped "$stamp_venv"; then
  rm -rf "$venv"
  say "creating $venv with numpy, pytest, setuptools (pip)"
  t=$SECONDS
  "$python_ft" -m venv "$venv" >>"$log" 2>&1 || fail_with_log "creating the virtualenv $venv failed"
  # Wheels only: a numpy source build for 3.13t would take far longer than the interpreter itself.
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
      numpy pytest setuptools </dev/null >>"$log" 2>&1 \
    || fail_with_log "pip install numpy pytest setuptools into $venv failed (PyPI not reachable, or no cp313 wheels?)"
  # -W error: numpy must import without re-enabling the GIL (that would be a RuntimeWarning).
  "$venv/bin/python" -W error -c '
import sys, numpy, pytest, setuptools
assert not getattr(sys, "_is_gil_enabled", lambda: False)() or not __import__("sysconfig").get_config_var("Py_GIL_DISABLED"), "importing numpy re-enabled the GIL"
print("venv: numpy", numpy.__version__, "pytest", pytest.__version__, "setuptools", setuptools.__version__)
' >>"$log" 2>&1 || fail_with_log "numpy, pytest or setuptools does not import in $venv"
  echo "$recipe" >"$stamp_venv"
  say "venv ready in $(elapsed "$t")"
fi

say "ready after $(elapsed "$start"): $venv/bin/python"
echo "$venv/bin/python"
