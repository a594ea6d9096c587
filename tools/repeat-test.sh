#!/bin/bash
# Run one test binary many times in a row, to catch a failure that shows
# once in N runs. Each run's output goes to $OUT/run-K.txt; a failed run's
# last lines are printed. Stray test peers are killed between runs (a
# failed test may leave its child processes behind), but under LOAD.
#
#   tools/repeat-test.sh BINARY [RUNS] [FILTER]
#
# FILTER is a cmocka pattern for $PROKIT_TEST_FILTER ('*restarts*'); RUNS
# defaults to 10. Each run is killed after $TIMEOUT seconds (default 300).
# With MATCH=REGEX, a run whose output matches counts as failed too (say,
# 'more reported'); with LOAD=BUILD_DIR, the other tests of that build run
# over and over beside it (ctest -j2), the load under which the rare cases
# of docs/RELIABILITY.md showed; PROKIT_LOG passes through.
#
#   tools/repeat-test.sh build/tests/test_processes 12
#   LOAD=build MATCH='more reported' PROKIT_LOG=info \
#       tools/repeat-test.sh build/tests/test_processes 500 '*restarting_broker*'
set -u
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 BINARY [RUNS] [FILTER]" >&2
    exit 2
fi
binary=$1
runs=${2:-10}
filter=${3:-*}
timeout=${TIMEOUT:-300}
out=${OUT:-$(mktemp -d /tmp/prokit-repeat.XXXXXX)}
mkdir -p "$out"
match=${MATCH:-}
load_pid=
if [ -n "${LOAD:-}" ]; then
    # A process group of its own, so that all of it stops with us.
    setsid bash -c 'while true; do
        (cd "$0" && ctest -j2 -E "test_processes|test_channel|faults|bench|multihost" \
            >/dev/null 2>&1)
    done' "$LOAD" &
    load_pid=$!
    trap 'kill -- -"$load_pid" 2>/dev/null' EXIT
fi
failed=0
for run in $(seq 1 "$runs"); do
    PROKIT_TEST_FILTER="$filter" timeout -s KILL "$timeout" "$binary" >"$out/run-$run.txt" 2>&1
    rc=$?
    [ -z "$load_pid" ] && pkill -9 -f prokit-test-peer 2>/dev/null
    if [ "$rc" -eq 0 ] && [ -n "$match" ] && grep -a -q -E "$match" "$out/run-$run.txt"; then
        rc=1
    fi
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        echo "--- run $run: exit $rc ($out/run-$run.txt)"
        grep -a -v -E '^\[ RUN|^\[==|OK \]|dangling' "$out/run-$run.txt" | tail -15
    fi
done
echo "$failed of $runs runs failed ($binary, filter '$filter'; output in $out)"
[ "$failed" -eq 0 ]
