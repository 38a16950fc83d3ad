#!/bin/sh
#  Builds zeb's libFuzzer targets (tests/fuzz) with clang, ASan and UBSan
#  in build-fuzz, and runs each for a bounded time on a copy of its seed
#  corpus. Fails if any target finds a crash, leak, undefined behaviour, an
#  input slower than 5 s, or grows past 2 GiB. See tests/fuzz/README.md.
#  usage: tools/fuzz.sh [seconds per target, default 60] [target...]
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-"fuzz_publish fuzz_json fuzz_schema fuzz_config fuzz_rule fuzz_zmtp"}
build=build-fuzz
jobs=$(nproc 2>/dev/null || echo 2)

case "$seconds" in
    ''|0|*[!0-9]*) echo "usage: tools/fuzz.sh [seconds, at least 1] [target...]" >&2; exit 2 ;;
esac
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is missing (tools/setup.sh installs it)" >&2
    exit 1
fi

echo "== fuzz: building $build (clang, libFuzzer, ASan+UBSan)"
mkdir -p "$build"
if ! { cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
             -DZEB_FUZZ=ON -DZEB_BUILD_TESTS=OFF \
    && cmake --build "$build" -j "$jobs" --target fuzz; } >"$build/build.log" 2>&1; then
    cat "$build/build.log" >&2
    echo "fuzz: build failed" >&2
    exit 1
fi

#  The seeds are copied, not used in place: what libFuzzer adds stays in
#  $build/corpus (kept between runs, so a long run builds on the last one)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/tests/fuzz/lsan.supp:print_suppressions=0}"
failed=""
for target in $targets; do
    seeds=tests/fuzz/corpus/$target
    corpus=$build/corpus/$target
    artifacts=$build/artifacts/$target
    log=$build/logs/$target.log
    if [ ! -x "$build/tests/fuzz/$target" ] || [ ! -d "$seeds" ]; then
        echo "fuzz: no target or no seeds named $target" >&2
        failed="$failed $target"
        continue
    fi
    mkdir -p "$corpus" "$artifacts" "$build/logs"
    stamp=$artifacts/.started
    : >"$stamp"
    cp "$seeds"/* "$corpus"/
    dict=""
    [ -f "tests/fuzz/$target.dict" ] && dict="-dict=tests/fuzz/$target.dict"
    echo "== fuzz: $target for ${seconds}s"
    status=0
    "$build/tests/fuzz/$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" $dict "$corpus" >"$log" 2>&1 \
        || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    size=$(sed -n 's/^#[0-9]*[[:space:]]*DONE .* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' "$log" | tail -1)
    if [ "$status" -eq 0 ]; then
        echo "fuzz: $target: ok, ${runs:-?} executions (${speed:-?} exec/s), corpus ${size:-?}"
    else
        echo "fuzz: $target: FAILED (exit $status) after ${runs:-?} executions; log $log" >&2
        #  The report: from the sanitizer's or the oracle's first line on
        sed -n '/==ERROR\|runtime error\|fuzz: oracle failed\|ALARM\|out-of-memory\|deadly signal/,$p' \
            "$log" | grep -v ' in fuzzer::' | head -40 >&2
        find "$artifacts" -type f -newer "$stamp" ! -name .started | while read -r crash; do
            echo "fuzz: input saved as $crash (replay: $build/tests/fuzz/$target $crash)" >&2
        done
        failed="$failed $target"
    fi
done

if [ -n "$failed" ]; then
    echo "== fuzz: FAILED:$failed" >&2
    exit 1
fi
echo "== fuzz: all targets passed"
