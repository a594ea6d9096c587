#!/usr/bin/env bash
# Where the time of a scenario goes, per message, prokit against raw libzmq:
# user-space instructions by thread and by library, allocations and copies
# (callgrind), then CPU time, system calls and context switches (perf stat).
#
#   bench/profile.sh [BUILD_DIR] [SCENARIO...]    scenarios: rtt pipe send bcast
#
# Every figure is a slope: the scenario runs with N and with 2N messages
# (4N for perf) and the difference is divided by the extra messages, so
# start-up and shutdown drop out. callgrind serialises threads, so it counts
# instructions, not time, and its batching is not the real one; perf stat
# runs at full speed and needs only the kernel's tracepoints (no hardware
# counters), taking the median of three runs.
# Needs valgrind (Debian: valgrind); perf (linux-perf) for the last three
# columns, which read "—" where perf or the kernel's syscall tracepoint is
# not available (perf_event_paranoid, containers). About 2 minutes.
set -euo pipefail
build=${1:-build-rel}
shift || true
scenarios=${*:-rtt pipe send bcast}
bench=$build/bench/prokit-bench
[ -x "$bench" ] || {
    echo "profile.sh: no $bench; build first:" >&2
    echo "  cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C $build" >&2
    exit 2
}
command -v valgrind >/dev/null || { echo "profile.sh: valgrind is missing" >&2; exit 2; }
use_perf=true
if ! perf stat -e task-clock,raw_syscalls:sys_enter,context-switches true >/dev/null 2>&1; then
    echo "profile.sh: perf stat with the raw_syscalls tracepoint does not work here: no CPU/syscall columns" >&2
    use_perf=false
fi
work=$(mktemp -d /tmp/prokit-profile.XXXXXX)
trap 'rm -rf "$work"' EXIT

# One callgrind run, one output file per thread; prints the instructions of
# each role, then allocator calls and copy calls over all threads:
# "caller main windows router libzmq allocs copies".
#   caller:  the process's first thread (main's sends in send/bcast)
#   main:    the thread running prokit_main_run() or the raw ROUTER echo
#   windows: the windows' threads, or the raw DEALERs/SUBs
#   router:  the embedded router's background thread
#   libzmq:  libzmq's own threads (the I/O thread above all)
cg_run () {
    local scenario=$1 side=$2 n=$3 out=$work/cg.$2.$3
    rm -f "$out"*
    valgrind --tool=callgrind --separate-threads=yes --compress-strings=no \
        --callgrind-out-file="$out" \
        "$bench" --profile "$scenario" "$side" "$n" >/dev/null 2>"$work/vg.log" ||
        { cat "$work/vg.log" >&2; exit 1; }
    local caller=0 main=0 windows=0 router=0 libzmq=0 allocs=0 copies=0
    for f in "$out"-*; do
        local ir role
        ir=$(awk '/^summary:/ { print $2 }' "$f")
        role=libzmq
        if grep -qE '^fn=main$' "$f"; then role=caller
        elif grep -qE '^fn=(pk_main_thread|raw_server_thread)$' "$f"; then role=main
        elif grep -qE '^fn=(pk_pipe_thread|raw_pipe_thread|raw_sub_thread|pk_window_thread)$' "$f"; then role=windows
        elif grep -qE '^fn=s_router_thread$' "$f"; then role=router
        fi
        eval "$role=\$(( $role + ir ))"
        # cfn= names a callee, the calls= line after it counts the calls.
        read -r a c < <(awk '
            /^cfn=/ { callee = substr($0, 5) }
            /^calls=/ {
                split(substr($0, 7), f, " ")
                if (callee ~ /^(malloc|calloc|realloc)$/) allocs += f[1]
                if (callee ~ /^__mem(cpy|move)_/) copies += f[1]
            }
            END { printf "%d %d\n", allocs, copies }' "$f")
        allocs=$((allocs + a))
        copies=$((copies + c))
    done
    echo "$caller $main $windows $router $libzmq $allocs $copies"
}

# perf stat, median of three runs: "task_clock_ms syscalls context_switches".
perf_run () {
    for i in 1 2 3; do
        perf stat -x, -e task-clock,raw_syscalls:sys_enter,context-switches -o "$work/perf" \
            "$bench" --profile "$@" >/dev/null
        awk -F, '/task-clock/ { t = $1 } /sys_enter/ { s = $1 } /context-switches/ { c = $1 }
                 END { printf "%s %s %s\n", t, s, c }' "$work/perf"
    done | sort -n -k1,1 | sed -n 2p
}

# (B - A) * K / N, rounded; a rounding of -0 prints as 0.
per () { awk -v a="$1" -v b="$2" -v n="$3" -v k="${4:-1}" 'BEGIN { v = (b - a) * k / n; if (v > -0.5 && v < 0.5) v = 0; printf "%.0f", v }'; }
per2 () { awk -v a="$1" -v b="$2" -v n="$3" -v k="${4:-1}" 'BEGIN { v = (b - a) * k / n; if (v > -0.005 && v < 0.005) v = 0; printf "%.2f", v }'; }

echo "| scenario | side | instructions/msg | caller thread | main thread | window threads | router thread | libzmq threads | allocations/msg | copy calls/msg | CPU µs/msg | syscalls/msg | context switches/msg |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for scenario in $scenarios; do
    case $scenario in
        rtt) cg_n=2000 perf_n=5000 ;;
        pipe | send) cg_n=10000 perf_n=50000 ;;
        bcast) cg_n=3000 perf_n=10000 ;;
        *) echo "profile.sh: unknown scenario $scenario (rtt, pipe, send, bcast)" >&2; exit 2 ;;
    esac
    for side in raw prokit; do
        read -r -a a <<<"$(cg_run "$scenario" "$side" "$cg_n")"
        read -r -a b <<<"$(cg_run "$scenario" "$side" $((2 * cg_n)))"
        if $use_perf; then
            read -r -a pa <<<"$(perf_run "$scenario" "$side" "$perf_n")"
            read -r -a pb <<<"$(perf_run "$scenario" "$side" $((4 * perf_n)))"
        fi
        total_a=$((a[0] + a[1] + a[2] + a[3] + a[4]))
        total_b=$((b[0] + b[1] + b[2] + b[3] + b[4]))
        row="| $scenario | $side | $(per "$total_a" "$total_b" "$cg_n")"
        for i in 0 1 2 3 4; do row="$row | $(per "${a[$i]}" "${b[$i]}" "$cg_n")"; done
        row="$row | $(per2 "${a[5]}" "${b[5]}" "$cg_n") | $(per2 "${a[6]}" "${b[6]}" "$cg_n")"
        if $use_perf; then
            perf_extra=$((3 * perf_n))
            row="$row | $(per2 "${pa[0]}" "${pb[0]}" "$perf_extra" 1000) | $(per2 "${pa[1]}" "${pb[1]}" "$perf_extra") | $(per2 "${pa[2]}" "${pb[2]}" "$perf_extra") |"
        else
            row="$row | — | — | — |"
        fi
        echo "$row"
    done
done
cat <<'EOF'

msg: rtt = one 16 B round trip window -> main (ipc), one at a time; pipe = one
request and its reply, 1 window keeping 100 in flight; send = one main ->
window message (raw: PUB -> SUB); bcast = one broadcast to 4 windows (raw: one
PUB send to 4 SUBs). Instructions: callgrind, user space only. CPU, system calls
and context switches: perf stat, all threads, kernel included.
EOF
