#!/usr/bin/env bash
# Run prokit-demo under valgrind's memcheck, its two window processes too:
# exits 0 when the demo succeeded with 0 errors and no definite leak in any
# of the three processes. Installs valgrind if missing (Debian 12 / Ubuntu)
# and builds prokit-demo in BUILD_DIR (default: build), configuring it
# first if needed.
#
#   tools/valgrind-demo.sh          # BUILD_DIR=build-debug tools/valgrind-demo.sh
#
# Under valgrind pidfd_open fails (ENOSYS: valgrind warns once, "unhandled
# amd64-linux syscall: 434"), so createWindow watches the windows through
# the pipe it falls back to (src/child.h): this run checks that path too.
# The windows are traced (--trace-children=yes): a few seconds more, and
# the library's window side is checked as well as main's.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/install-deps.sh valgrind

build="${BUILD_DIR:-build}"
[ -f "$build/build.ninja" ] || cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" --target prokit-demo

logs=$(mktemp -d /tmp/prokit-valgrind.XXXXXX)
started=$(date +%s)
status=0
# Each process logs to its own file; an error makes it exit 1 (a window
# that does fails the demo, which exits 1 too). The demo ends each of its
# steps after 10 s; the timeout is for valgrind itself.
timeout -s KILL 120 valgrind --trace-children=yes --leak-check=full \
    --errors-for-leak-kinds=definite --error-exitcode=1 --log-file="$logs/memcheck.%p.log" \
    "$build/examples/prokit-demo" || status=$?

# One line per process; with --errors-for-leak-kinds=definite a definite
# leak counts as an error too.
for log in "$logs"/memcheck.*.log; do
    program=$(basename "$(sed -n 's/^==[0-9]*== Command: \([^ ]*\).*/\1/p' "$log" | head -n 1)")
    errors=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
    definite=$(sed -n 's/^==[0-9]*==    definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1)
    pid=${log##*/memcheck.}
    echo "memcheck: ${program:-?} (pid ${pid%.log}): ${errors:-no summary} errors," \
        "definitely lost: ${definite:-0} bytes"
    if [ "${errors:-x}" != 0 ]; then
        status=1
        sed -n '/^==[0-9]*== [^ ]/,$p' "$log" | grep -v "^==[0-9]*== \(Memcheck\|Copyright\|Using\)" \
            | head -n 200 >&2
    fi
done
echo "memcheck: $(ls "$logs" | wc -l) processes, $(($(date +%s) - started)) s, exit status $status"
if [ "$status" -eq 0 ]; then
    rm -rf "$logs"
else
    echo "memcheck: the logs are in $logs" >&2
fi
exit "$status"
