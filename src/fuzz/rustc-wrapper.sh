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
# The named crates also get -Cllvm-args=-max-loads-per-memcmp=0: LLVM would otherwise expand a
# memcmp or bcmp of a constant length (a slice compared with a constant) into loads and vector
# compares, whose traced operands are masks, not the bytes compared; as a call it reaches the
# interceptor that hands libFuzzer the compared bytes (clang's -fsanitize=fuzzer keeps such
# calls with -fno-builtin-memcmp and kin).
#
# Every other flag is left as it is. With PYZ3_SANCOV_CRATES unset, every crate keeps all of it.
#
# Without a sanitizer, PYZ3_FUZZ_INTERCEPTORS may name LLVM's libFuzzer interceptors archive
# (libclang_rt.fuzzer_interceptors): the fuzz target's binary (a bin crate built for --target,
# not a build script) links all of it. Its memcmp, strcmp, strstr and kin tell libFuzzer what
# they compared, as AddressSanitizer's interceptors do, so a comparison of the input with a
# constant word in the extension's code or in libpython guides the fuzzer without a sanitizer
# too. (libfuzzer-sys's own libFuzzer has them built in; LLVM's prebuilt one does not.)
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
cross=
for a do
  [ "$prev" = --crate-name ] && name=$a
  [ "$prev" = --crate-type ] && [ "$a" = bin ] && bin=1
  [ "$a" = -Zsanitizer=address ] && asan=1
  case $a in --target | --target=*) cross=1 ;; esac
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
[ -n "$keep" ] && set -- "$@" -Cllvm-args=-max-loads-per-memcmp=0
case $name in build_script_*) cross= ;; esac
if [ -n "$bin" ] && [ -n "$cross" ] && [ -z "$asan" ] && [ -n "${PYZ3_FUZZ_INTERCEPTORS:-}" ]; then
  set -- "$@" -Clink-arg=-Wl,--whole-archive -Clink-arg="$PYZ3_FUZZ_INTERCEPTORS" \
    -Clink-arg=-Wl,--no-whole-archive
fi
exec "$rustc" "$@"
