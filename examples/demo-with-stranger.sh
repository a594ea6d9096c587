#!/usr/bin/env bash
# prokit-demo on $PROKIT_ENDPOINT while a window it did not start (the CLI,
# listening as "stranger") is joined: the demo must finish its script and
# leave the stranger alone, which hears main's broadcast "Goodbye".
#   examples/demo-with-stranger.sh PROKIT_DEMO PROKIT_CLI
set -euo pipefail
demo=$1 cli=$2
work=$(mktemp -d /tmp/prokit-demo-stranger.XXXXXX)
trap 'kill "$listener" 2>/dev/null || true; rm -rf "$work"' EXIT
export PROKIT_ENDPOINT="ipc://$work/demo.sock"
"$demo" >"$work/demo.out" 2>&1 &
demo_pid=$!
# The stranger joins as soon as main listens (the CLI retries its join up to
# its timeout), and waits for the broadcast.
"$cli" --timeout 10000 listen stranger --count 1 --timeout 20000 >"$work/stranger.out" 2>&1 &
listener=$!
status=0
wait "$demo_pid" || status=$?
cat "$work/demo.out"
if [ "$status" -ne 0 ]; then
    echo "demo-with-stranger: prokit-demo exited $status" >&2
    exit 1
fi
wait "$listener" || { echo "demo-with-stranger: the stranger did not hear the broadcast" >&2; cat "$work/stranger.out" >&2; exit 1; }
grep -q Goodbye "$work/stranger.out" || { echo "demo-with-stranger: no Goodbye for the stranger" >&2; cat "$work/stranger.out" >&2; exit 1; }
grep -q 'window "stranger" joined (not started by the demo)' "$work/demo.out" ||
    { echo "demo-with-stranger: the demo did not see the stranger join" >&2; exit 1; }
echo "demo-with-stranger: the demo finished and left the stranger alone"
