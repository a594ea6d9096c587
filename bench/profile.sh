#!/usr/bin/env bash
# Where a throughput figure's time goes, per message, prokit against raw
# libzmq: user-space instructions by library, allocations and copies
# (callgrind), then CPU time, system calls and context switches (perf stat).
#
#   bench/profile.sh [BUILD_DIR] [SCENARIO...]     scenarios: pipe send bcast
#
# Each figure is a slope: the scenario runs with N and with 2N messages and
# the difference is divided by N, so start-up and shutdown drop out.
# callgrind serialises threads, so its runs are slow and their batching is
# not the real one; it counts instructions, not time. perf stat runs at full
# speed and needs only the kernel's tracepoints (no hardware counters).
# Needs valgrind and perf (Debian: valgrind, linux-perf).
set -euo pipefail
build=${1:-build-rel}
shift || true
scenarios=${*:-pipe send bcast}
bench=$build/bench/prokit-bench
[ -x "$bench" ] || {
    echo "profile.sh: no $bench; build first:" >&2
    echo "  cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release && ninja -C $build" >&2
    exit 2
}
for tool in valgrind callgrind_annotate perf; do
    command -v $tool >/dev/null || { echo "profile.sh: $tool is missing" >&2; exit 2; }
done
work=$(mktemp -d /tmp/prokit-profile.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Self instructions by object file, and calls to the allocator and to the
# copy routines, from one callgrind output file: "total prokit libzmq libc
# other allocs copies copied_ir" on one line.
cg_summary () {
    local out=$1
    callgrind_annotate --inclusive=no --threshold=100 "$out" 2>/dev/null | awk '
        /^ *[0-9,]+ \(/ && /\[/ {
            ir = $1; gsub(",", "", ir); obj = $NF
            if (obj ~ /libprokit/) p += ir
            else if (obj ~ /libzmq/) z += ir
            else if (obj ~ /libc\.so/) c += ir
            else o += ir
            if ($0 ~ /mem(cpy|move)/) cir += ir
        }
        END { printf "%d %d %d %d %d", p + z + c + o, p, z, c, o; printf " %d", cir > "/dev/stderr" }' \
        2>"$out.copy_ir"
    # Calls, from the file itself: cfn= names the callee (with callgrind's
    # name compression, "(id) name" once and "(id)" after), calls= counts.
    awk '
        /^c?fn=\(/ {
            match($0, /\(([0-9]+)\)/); id = substr($0, RSTART + 1, RLENGTH - 2)
            rest = substr($0, RSTART + RLENGTH + 1)
            if (rest != "") name[id] = rest
            if ($0 ~ /^cfn=/) callee = name[id]
        }
        /^calls=/ {
            split(substr($0, 7), f, " ")
            if (callee ~ /^(malloc|calloc|realloc)$/) allocs += f[1]
            if (callee ~ /mem(cpy|move)/ && callee !~ /^(memcpy|memmove)$/) copies += f[1]
        }
        END { printf " %d %d", allocs, copies }' "$out"
    printf ' %s\n' "$(cat "$out.copy_ir")"
}

perf_summary () { # "task_clock_ms syscalls context_switches"
    perf stat -x, -e task-clock,raw_syscalls:sys_enter,context-switches -o "$work/perf" \
        "$bench" --profile "$@" >/dev/null
    awk -F, '/task-clock/ { t = $1 } /sys_enter/ { s = $1 } /context-switches/ { c = $1 }
             END { printf "%s %s %s\n", t, s, c }' "$work/perf"
}

slope () { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.2f", (b - a) / n }'; }

printf '| scenario | side | instr/msg | prokit | libzmq | libc | other | allocs/msg | copies/msg (instr) | CPU µs/msg | syscalls/msg | ctx switches/msg |\n'
printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for scenario in $scenarios; do
    case $scenario in
        pipe | send) cg_n=5000 perf_n=100000 ;;
        bcast) cg_n=2000 perf_n=25000 ;;
        *) echo "profile.sh: unknown scenario $scenario (pipe, send, bcast)" >&2; exit 2 ;;
    esac
    for side in raw prokit; do
        for n in $cg_n $((2 * cg_n)); do
            valgrind --tool=callgrind --callgrind-out-file="$work/cg.$n" \
                "$bench" --profile "$scenario" "$side" "$n" >/dev/null 2>"$work/vg.log" ||
                { cat "$work/vg.log" >&2; exit 1; }
        done
        read -r -a a <<<"$(cg_summary "$work/cg.$cg_n")"
        read -r -a b <<<"$(cg_summary "$work/cg.$((2 * cg_n))")"
        read -r -a pa <<<"$(perf_summary "$scenario" "$side" "$perf_n")"
        read -r -a pb <<<"$(perf_summary "$scenario" "$side" $((2 * perf_n)))"
        row="| $scenario | $side"
        for i in 0 1 2 3 4 5; do
            row="$row | $(slope "${a[$i]}" "${b[$i]}" "$cg_n")"
        done
        row="$row | $(slope "${a[6]}" "${b[6]}" "$cg_n") ($(slope "${a[7]}" "${b[7]}" "$cg_n"))"
        cpu_us=$(awk -v a="${pa[0]}" -v b="${pb[0]}" -v n="$perf_n" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')
        row="$row | $cpu_us | $(slope "${pa[1]}" "${pb[1]}" "$perf_n") | $(slope "${pa[2]}" "${pb[2]}" "$perf_n") |"
        echo "$row"
    done
done
echo
echo "per message: pipe = one request and its reply (1 window, 100 in flight);"
echo "send = one main->window message; bcast = one broadcast to 4 windows."
echo "callgrind: N=5000 and 10000 (bcast 2000 and 4000); perf stat: N=100000 and 200000 (bcast 25000 and 50000)."
