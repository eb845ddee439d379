#!/bin/sh
# A rustc wrapper for cargo-fuzz builds of pyz3 fuzz targets: libFuzzer's coverage
# instrumentation (-Cpasses=sancov-module and its -Cllvm-args=-sanitizer-coverage-* options,
# which cargo-fuzz gives every crate) is kept only for the crates named in PYZ3_SANCOV_CRATES
# (space-separated crate names: the extension and the crates it depends on). pyz3's own runtime
# and decoder are then built without it: libFuzzer scans and clears fewer counters per input,
# and the harness's code paths are not mistaken for new behaviour of the extension.
# Sanitizers and every other flag are left as they are. With PYZ3_SANCOV_CRATES unset, every
# crate keeps its instrumentation.
#
# Cargo runs it as `rustc-wrapper.sh RUSTC ARGS...` (build.rustc-wrapper or RUSTC_WRAPPER).
rustc=$1
shift
if [ -z "${PYZ3_SANCOV_CRATES+set}" ]; then
  exec "$rustc" "$@"
fi
name=
prev=
for a do
  [ "$prev" = --crate-name ] && name=$a
  prev=$a
done
case " $PYZ3_SANCOV_CRATES " in
  *" $name "*) exec "$rustc" "$@" ;;
esac
for a do
  shift
  case $a in
    -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
    *) set -- "$@" "$a" ;;
  esac
done
exec "$rustc" "$@"
