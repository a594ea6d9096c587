#!/usr/bin/env bash
# Build the libFuzzer targets (fuzz/) with clang in their own build
# directory, and run each for SECONDS (default 60) on a copy of its seed
# corpus (fuzz/corpus/TARGET). Exits 1 if any target finds a crash, a leak
# or a timeout (its input and log are kept under BUILD_DIR/fuzz-runs/TARGET),
# and prints per target how many inputs it ran. docs/RELIABILITY.md says
# what each target covers.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]
#
# TARGET: proto router payload cli_json acl settings (default: all, in that
# order). Environment: BUILD_DIR (default build-fuzz), JOBS (build
# parallelism, default 2), FUZZ_OPTS (more libFuzzer options, e.g.
# "-runs=10000000" to stop a target there if SECONDS have not passed).
# Installs clang, with libFuzzer, when it is missing (Debian 12 / Ubuntu).
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(proto router payload cli_json acl settings)
seconds=${1:-60}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
case "$seconds" in
'' | *[!0-9]*)
    echo "usage: tools/fuzz.sh [SECONDS] [TARGET...] (targets: ${all_targets[*]})" >&2
    exit 2
    ;;
esac
for target in "${targets[@]}"; do
    if [ ! -f "fuzz/fuzz_$target.c" ]; then
        echo "tools/fuzz.sh: no target '$target' (targets: ${all_targets[*]})" >&2
        exit 2
    fi
done
build=${BUILD_DIR:-build-fuzz}

# clang and its libFuzzer runtime (a package of its own on Debian 12).
s_have_libfuzzer() {
    command -v clang >/dev/null || return 1
    local dir
    dir=$(mktemp -d)
    echo 'int LLVMFuzzerTestOneInput (const unsigned char *d, unsigned long n) { return 0; }' \
        >"$dir/probe.c"
    clang -fsanitize=fuzzer "$dir/probe.c" -o "$dir/probe" >/dev/null 2>&1
    local rc=$?
    rm -rf "$dir"
    return $rc
}
./tools/install-deps.sh
if ! s_have_libfuzzer; then
    ./tools/install-deps.sh clang
    s_have_libfuzzer || ./tools/install-deps.sh libclang-rt-dev
    if ! s_have_libfuzzer; then
        echo "tools/fuzz.sh: clang cannot link -fsanitize=fuzzer (libFuzzer missing)" >&2
        exit 1
    fi
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Debug -DPROKIT_BUILD_FUZZ=ON -DPROKIT_BUILD_TESTS=OFF \
    -DPROKIT_BUILD_BENCH=OFF -DPROKIT_BUILD_EXAMPLES=OFF >/dev/null
binaries=()
for target in "${targets[@]}"; do binaries+=("fuzz_$target"); done
cmake --build "$build" --parallel "${JOBS:-2}" --target "${binaries[@]}"

# A crash is an abort (ASan, UBSan, or a target's own check): libFuzzer
# writes the input and stops.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build=$(cd "$build" && pwd)
runs="$build/fuzz-runs"
failed=()
printf '%-10s %12s %8s %9s  %s\n' target executions seconds "exec/s" result
for target in "${targets[@]}"; do
    dir="$runs/$target"
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/cwd"
    cp fuzz/corpus/"$target"/* "$dir/corpus/"
    # Run from an empty directory (fuzz_settings.c: a config file named
    # by a fuzzed command line is relative to it), with a per-input
    # timeout; the outer timeout catches a target that hangs on exit.
    read -r -a options <<<"${FUZZ_OPTS:-}"
    start=$(date +%s)
    rc=0
    (cd "$dir/cwd" && timeout $((seconds + 300)) "$build/fuzz/fuzz_$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/" "${options[@]}" "$dir/corpus" >"$dir/log" 2>&1) || rc=$?
    elapsed=$(($(date +%s) - start))
    units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
    units=${units:-0}
    result=ok
    artifacts=$(find "$dir" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) | sort | tr '\n' ' ')
    artifacts=${artifacts% }
    if [ "$rc" -ne 0 ] || [ -n "$artifacts" ]; then
        result="FAILED (exit $rc) ${artifacts:-no input saved}; log: $dir/log"
        failed+=("$target")
    fi
    printf '%-10s %12s %8s %9s  %s\n' "$target" "$units" "$elapsed" \
        "$((units / (elapsed > 0 ? elapsed : 1)))" "$result"
    if [ "$result" != ok ]; then
        grep -E 'ERROR|SUMMARY|runtime error|check failed|fuzz_[a-z_]+:|#[0-9]+ 0x' "$dir/log" |
            head -30 | sed 's/^/    /' >&2 || true
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "tools/fuzz.sh: ${failed[*]} found a problem; run $build/fuzz/fuzz_TARGET INPUT" \
        "to reproduce one" >&2
    exit 1
fi
