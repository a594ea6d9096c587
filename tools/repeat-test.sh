#!/bin/bash
# Run one test binary many times in a row, to catch a failure that shows
# once in N runs. Each run's output goes to $OUT/run-K.txt; a failed run's
# last lines are printed. Stray test peers are killed between runs (a
# failed test may leave its child processes behind).
#
#   tools/repeat-test.sh BINARY [RUNS] [FILTER]
#
# FILTER is a cmocka pattern for $PROKIT_TEST_FILTER ('*restarts*'); RUNS
# defaults to 10. Each run is killed after $TIMEOUT seconds (default 300).
#
#   tools/repeat-test.sh build/tests/test_processes 12
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
failed=0
for run in $(seq 1 "$runs"); do
    PROKIT_TEST_FILTER="$filter" timeout -s KILL "$timeout" "$binary" >"$out/run-$run.txt" 2>&1
    rc=$?
    pkill -9 -f prokit-test-peer 2>/dev/null
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        echo "--- run $run: exit $rc ($out/run-$run.txt)"
        grep -a -v -E '^\[ RUN|^\[==|OK \]|dangling' "$out/run-$run.txt" | tail -15
    fi
done
echo "$failed of $runs runs failed ($binary, filter '$filter'; output in $out)"
[ "$failed" -eq 0 ]
