#!/usr/bin/env bash
# prokit-bench before and after, in one session: builds REV (Release) in a
# temporary worktree, builds this tree (Release), then runs the two benches
# alternately (before, after, before, after, ...) and prints each figure's
# ratio to raw libzmq in every run, and the median of each side.
#
#   bench/compare.sh REV [PAIRS] [-- BENCH_ARGS...]
#
#   REV         the "before" revision (a commit, tag or branch)
#   PAIRS       how many before/after pairs to run (default 2)
#   BENCH_ARGS  passed to both benches, e.g. -- --only pipe
#
# Environment: BUILD (this tree's Release build directory, default
# build-rel), KEEP=1 (keep the worktree and the raw JSON, and say where).
# Each side's ratios come from its own run against raw libzmq in that same
# run, so alternating the two sides spreads the machine's noise over both.
# A full run takes about 45 s per bench here, so the default 4 runs ~4 min
# after the builds.
set -euo pipefail
usage () { echo "usage: bench/compare.sh REV [PAIRS] [-- BENCH_ARGS...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
rev=$1
shift
pairs=2
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    pairs=$1
    shift
fi
[ $# -eq 0 ] || { [ "$1" = "--" ] || usage; shift; }
bench_args=("$@")
case $pairs in '' | *[!0-9]*) usage ;; esac

top=$(git rev-parse --show-toplevel)
cd "$top"
build=${BUILD:-build-rel}
before_commit=$(git rev-parse --verify "$rev^{commit}")
after_desc="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include bench CMakeLists.txt || echo '+changes')"
work=$(mktemp -d /tmp/prokit-compare.XXXXXX)
tree=$work/before
cleanup () {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "compare.sh: kept $work (worktree $tree: git worktree remove --force $tree)" >&2
        return
    fi
    git -C "$top" worktree remove --force "$tree" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "compare.sh: building $rev ($(git rev-parse --short "$before_commit")) in $tree" >&2
git worktree add --quiet --detach "$tree" "$before_commit"
flags=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DPROKIT_BUILD_TESTS=OFF -DPROKIT_BUILD_EXAMPLES=OFF
       -DPROKIT_BUILD_TOOLS=OFF)
cmake -S "$tree" -B "$tree/build-rel" "${flags[@]}" >"$work/cmake-before.log" 2>&1 ||
    { cat "$work/cmake-before.log" >&2; exit 1; }
ninja -C "$tree/build-rel" prokit-bench >"$work/build-before.log" 2>&1 ||
    { cat "$work/build-before.log" >&2; exit 1; }
echo "compare.sh: building this tree ($after_desc) in $build" >&2
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$work/cmake-after.log" 2>&1 ||
        { cat "$work/cmake-after.log" >&2; exit 1; }
fi
ninja -C "$build" prokit-bench >"$work/build-after.log" 2>&1 ||
    { cat "$work/build-after.log" >&2; exit 1; }
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt" ||
    echo "compare.sh: warning: $build is not a Release build" >&2

before_bench=$tree/build-rel/bench/prokit-bench
after_bench=$build/bench/prokit-bench
runs=()
for ((i = 1; i <= pairs; i++)); do
    for side in before after; do
        bench=$before_bench
        [ $side = after ] && bench=$after_bench
        out=$work/$side.$i.json
        echo "compare.sh: run $i, $side: $bench ${bench_args[*]:-}" >&2
        # A bench exits non-zero when something was lost or failed: keep
        # its figures, and say so in the table.
        if ! "$bench" --json "${bench_args[@]}" >"$out" 2>"$work/$side.$i.err"; then
            echo "compare.sh: run $i, $side exited non-zero (see the failures column)" >&2
        fi
        runs+=("$side:$out")
    done
done

python3 - "$rev" "$after_desc" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "${runs[@]}" <<'EOF'
import json, statistics, sys
rev, after, cpus, load = sys.argv[1:5]
runs = []
for arg in sys.argv[5:]:
    side, path = arg.split(":", 1)
    try:
        with open(path) as f:
            runs.append((side, json.load(f)))
    except (OSError, ValueError) as e:
        runs.append((side, {"rows": [], "failures": f"unreadable: {e}"}))
figures = []  # in the order the benches print them, before's first
for _, data in runs:
    for row in data.get("rows", []):
        if row.get("ratio") is not None and row["figure"] not in figures:
            figures.append(row["figure"])
def ratio(data, figure):
    for row in data.get("rows", []):
        if row["figure"] == figure:
            return row.get("ratio")
    return None
def fmt(v):
    return "—" if v is None else f"{v:.2f}×"
labels = []
count = {"before": 0, "after": 0}
for side, _ in runs:
    count[side] += 1
    labels.append(f"{side} {count[side]}")
print(f"prokit-bench ratios to raw libzmq, before = {rev}, after = {after}; "
      f"runs alternate ({', '.join(labels)}); {cpus} CPUs, load average {load} at the end")
print()
print("| figure | target | " + " | ".join(labels) + " | before (median) | after (median) | after ÷ before |")
print("|---|---|" + "---:|" * (len(labels) + 3))
for figure in figures:
    target = ""
    for _, data in runs:
        for row in data.get("rows", []):
            if row["figure"] == figure and row.get("target"):
                target = row["target"]
    values = [ratio(data, figure) for _, data in runs]
    med = {}
    for side in ("before", "after"):
        got = [v for (s, _), v in zip(runs, values) if s == side and v is not None]
        med[side] = statistics.median(got) if got else None
    change = (med["after"] / med["before"]) if med["before"] and med["after"] is not None else None
    print(f"| {figure} | {target} | " + " | ".join(fmt(v) for v in values) +
          f" | {fmt(med['before'])} | {fmt(med['after'])} | " +
          ("—" if change is None else f"{change:.2f}") + " |")
print()
print("failures (lost, mismatched, failed requests or joins): " +
      ", ".join(f"{label} {data.get('failures', '?')}" for label, (_, data) in zip(labels, runs)))
print("A ratio is prokit ÷ raw in that run; for rates higher is better, for times lower is better.")
EOF
