#!/usr/bin/env bash
# prokit-demo attached to a broker ($PROKIT_BROKER) where a window it did not
# start (the CLI, listening as "stranger") has already joined: the demo must
# finish its script and leave the stranger alone, which hears main's
# broadcast "Goodbye".
#   examples/demo-with-stranger.sh PROKIT_DEMO PROKIT_CLI PROKIT_BROKER
set -euo pipefail
demo=$1 cli=$2 broker=$3
work=$(mktemp -d /tmp/prokit-demo-stranger.XXXXXX)
endpoint="ipc://$work/broker.sock"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$broker" --bind "$endpoint" >"$work/broker.out" 2>&1 &
pids+=($!)
"$broker" --ping "$endpoint" --timeout 5000 >/dev/null
"$cli" --endpoint "$endpoint" listen stranger --count 1 --timeout 20000 >"$work/stranger.out" 2>&1 &
listener=$!
pids+=("$listener")
# The stranger is there before the demo starts: the broker lists it.
timeout 10 bash -c "until \"$cli\" --endpoint \"$endpoint\" windows | grep -q '\"stranger\"'; do :; done"
status=0
PROKIT_BROKER="$endpoint" "$demo" >"$work/demo.out" 2>&1 || status=$?
cat "$work/demo.out"
if [ "$status" -ne 0 ]; then
    echo "demo-with-stranger: prokit-demo exited $status" >&2
    exit 1
fi
wait "$listener" || { echo "demo-with-stranger: the stranger did not hear the broadcast" >&2; cat "$work/stranger.out" >&2; exit 1; }
grep -q Goodbye "$work/stranger.out" || { echo "demo-with-stranger: no Goodbye for the stranger" >&2; cat "$work/stranger.out" >&2; exit 1; }
grep -q 'window "stranger" joined (not started by the demo)' "$work/demo.out" ||
    { echo "demo-with-stranger: the demo did not see the stranger" >&2; exit 1; }
echo "demo-with-stranger: the demo finished and left the stranger alone"
