#!/bin/sh
# A rustc wrapper for cargo-fuzz builds of pyz3 fuzz targets. With PYZ3_SANCOV_CRATES set
# (space-separated crate names: the extension and the crates it depends on; empty for pyz3's
# generic target), two kinds of instrumentation are kept only where they find bugs:
#
# - libFuzzer's coverage instrumentation (-Cpasses=sancov-module and its
#   -Cllvm-args=-sanitizer-coverage-* options, which cargo-fuzz gives every crate) stays only on
#   the named crates. pyz3's own runtime and decoder are built without it: libFuzzer scans and
#   clears fewer counters per input, and the harness's code paths are not mistaken for new
#   behaviour of the extension.
# - AddressSanitizer's instrumentation (-Zsanitizer=address) stays only on the named crates and
#   on binaries (the binary links the sanitizer's runtime, which intercepts every allocation and
#   reports for every instrumented library the process loads). The harness's own code is not
#   what is under test, and checking its every memory access cost a third of an execution.
#   Crates built both ways are linked together, as with the standard library (never
#   instrumented), so every crate is told that this mixing is intended.
#
# Every other flag is left as it is. With PYZ3_SANCOV_CRATES unset, every crate keeps all of it.
#
# Cargo runs it as `rustc-wrapper.sh RUSTC ARGS...` (build.rustc-wrapper or RUSTC_WRAPPER).
rustc=$1
shift
if [ -z "${PYZ3_SANCOV_CRATES+set}" ]; then
  exec "$rustc" "$@"
fi
name=
prev=
bin=
asan=
for a do
  [ "$prev" = --crate-name ] && name=$a
  [ "$prev" = --crate-type ] && [ "$a" = bin ] && bin=1
  [ "$a" = -Zsanitizer=address ] && asan=1
  prev=$a
done
keep=
case " $PYZ3_SANCOV_CRATES " in
  *" $name "*) keep=1 ;;
esac
for a do
  shift
  case $a in
    -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*)
      [ -n "$keep" ] && set -- "$@" "$a" ;;
    -Zsanitizer=address)
      [ -n "$keep$bin" ] && set -- "$@" "$a" ;;
    *) set -- "$@" "$a" ;;
  esac
done
[ -n "$asan" ] && set -- "$@" -Cunsafe-allow-abi-mismatch=sanitizer
exec "$rustc" "$@"
