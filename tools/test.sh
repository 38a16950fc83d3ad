#!/bin/sh
#  Builds zeb twice and runs the whole test suite through ctest on each:
#  a debug build with warnings as errors, then an ASan+UBSan build; then
#  the fuzz targets, ZEB_FUZZ_SECONDS each (default 30; 0 skips them).
#  usage: tools/test.sh [ctest arguments...]
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

run_suite () {
    dir=$1
    shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DZEB_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs"
    (cd "$dir" && ctest --output-on-failure -j "$jobs" $ctest_args)
}

ctest_args="$*"
echo "== tests: debug build (build-test)"
run_suite build-test
echo "== tests: ASan+UBSan build (build-asan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
run_suite build-asan -DZEB_SANITIZE=ON
if [ "${ZEB_FUZZ_SECONDS:-30}" -gt 0 ]; then
    echo "== tests: fuzz targets (build-fuzz)"
    tools/fuzz.sh "${ZEB_FUZZ_SECONDS:-30}"
fi
echo "== tests: all passed"
