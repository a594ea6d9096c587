#!/usr/bin/env bash
# Three hosts (network namespaces joined by veth through a bridge): the
# broker, main and the windows, over TCP with CURVE and an access list.
#   - every message kind flows between main and two windows on other hosts;
#   - each attack is refused: a name the key may not claim, a key the broker
#     does not know, no key, the wrong broker key, a window key claiming
#     main, plaintext TCP on a routable address;
#   - the broker restarts and everyone rejoins and exchanges again;
#   - a key is withdrawn and the broker reloads (SIGHUP): that window is
#     dropped with PROKIT_EACCES, the other keeps its session.
# Usage: multihost.sh PROKIT-BROKER PROKIT-MULTIHOST-PEER
# Exits 77 (skipped) with the reason when network namespaces are impossible
# here (not root, no iproute2, no veth support).
set -uo pipefail

broker_bin=$1
peer_bin=$2
id="pk$$"
switch="$id-sw" broker_ns="$id-br" main_ns="$id-main" windows_ns="$id-win"
broker_ip=10.77.0.1 main_ip=10.77.0.2 windows_ip=10.77.0.3
port=5570
work=$(mktemp -d /tmp/prokit-multihost-XXXXXX)
pids=()

skip() { echo "SKIP: $*"; exit 77; }
fail() {
    echo "FAIL: $*"
    for log in "$work"/*.log; do echo "--- $log"; tail -n 40 "$log"; done
    exit 1
}
cleanup() {
    if [ -n "${PROKIT_MULTIHOST_KEEP:-}" ]; then # for debugging: leave it all up
        echo "kept: namespaces $id-*, files $work"
        return
    fi
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    # Whatever still runs in the hosts (a peer behind a subshell) goes too.
    for ns in "$broker_ns" "$main_ns" "$windows_ns"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
    done
    wait 2>/dev/null
    for ns in "$broker_ns" "$main_ns" "$windows_ns" "$switch"; do
        ip netns delete "$ns" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
command -v ip >/dev/null || skip "iproute2 (the ip command) is not installed"
ip netns add "$switch" 2>/dev/null || skip "cannot create network namespaces here"

# --- the network: a bridge in its own namespace, one veth per host -----------
ip -n "$switch" link add br0 type bridge || skip "no bridge support"
ip -n "$switch" link set br0 up
host=0
for spec in "$broker_ns:$broker_ip" "$main_ns:$main_ip" "$windows_ns:$windows_ip"; do
    ns=${spec%%:*} address=${spec#*:}
    host=$((host + 1))
    ip netns add "$ns" || fail "ip netns add $ns"
    ip -n "$switch" link add "port$host" type veth peer name eth0 netns "$ns" ||
        skip "no veth support"
    ip -n "$switch" link set "port$host" master br0 up
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
done
ip netns exec "$main_ns" ping -c1 -W2 "$broker_ip" >/dev/null 2>&1 ||
    echo "note: ping not available or ICMP blocked; going on"
endpoint="tcp://$broker_ip:$port"
echo "hosts: broker $broker_ip, main $main_ip, windows $windows_ip; endpoint $endpoint"

# --- keys and the access list ---------------------------------------------------
mkdir -p "$work/keys" "$work/allow"
for name in broker main alpha beta stranger; do
    "$broker_bin" --keygen "$work/keys/$name" >"$work/keys/$name.key" 2>/dev/null ||
        fail "keygen $name"
done
for name in main alpha beta; do cp "$work/keys/$name" "$work/allow/"; done
key() { cat "$work/keys/$1.key"; }
cat >"$work/acl" <<EOF
# who may claim what
$(key main) @main
$(key alpha) alpha
$(key beta) beta
EOF

start_broker() {
    ip netns exec "$broker_ns" "$broker_bin" --bind "$endpoint" \
        --curve-cert "$work/keys/broker" --curve-allow "$work/allow" --acl "$work/acl" \
        --heartbeat-ivl 200 --heartbeat-timeout 1000 >>"$work/broker.log" 2>&1 &
    broker_pid=$!
    pids+=("$broker_pid")
    for _ in $(seq 50); do
        grep -q "ready" "$work/broker.log" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "the broker did not start"
}

# A peer on HOST (a namespace) with a certificate (or "none") and the
# broker's key (a file or Z85), running ARGS; its output goes to LOG.
run_peer() {
    local ns=$1 cert=$2 server_key=$3 log=$4
    shift 4
    local -a env=(PROKIT_ENDPOINT="$endpoint" PROKIT_BROKER="$endpoint")
    if [ "$cert" != none ]; then
        env+=(PROKIT_CURVE_CERT="$work/keys/$cert" PROKIT_CURVE_SERVER_KEY="$server_key")
    fi
    ip netns exec "$ns" env "${env[@]}" "$peer_bin" "$@" >"$work/$log" 2>&1
}
# The same in the background, as a process of its own whose pid is $!.
spawn_peer() {
    run_peer "$@" &
    pids+=($!)
}

wait_for() { # FILE TEXT SECONDS
    for _ in $(seq $(($3 * 10))); do
        grep -qF -- "$2" "$work/$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# --- plaintext on a routable address is refused -----------------------------------
if ip netns exec "$broker_ns" "$broker_bin" --bind "tcp://$broker_ip:$((port + 1))" \
    >"$work/plaintext.log" 2>&1; then
    fail "a plaintext broker on $broker_ip started"
fi
grep -q "refusing plaintext TCP" "$work/plaintext.log" || fail "no reason given for plaintext"
echo "ok: plaintext TCP on $broker_ip refused: $(grep -o 'refusing plaintext TCP[^,]*' "$work/plaintext.log")"

# --- every message kind across the hosts ---------------------------------------------
start_broker
spawn_peer "$main_ns" main "$work/keys/broker" main.log main
wait_for main.log READY 10 || fail "main did not attach"
spawn_peer "$windows_ns" alpha "$(key broker)" alpha.log window alpha
spawn_peer "$windows_ns" beta "$work/keys/broker" beta.log window beta
wait_for main.log "PASS round 1" 20 || fail "round 1 did not complete"
echo "ok: every message kind between main ($main_ip) and windows ($windows_ip) via $broker_ip"

# --- attacks: each one is refused with PROKIT_EACCES -------------------------------------
expect_refused() { # LOG DESCRIPTION
    grep -q "REFUSED PROKIT_EACCES" "$work/$1" || fail "$2: not refused ($(cat "$work/$1"))"
    echo "ok: $2 -> $(grep REFUSED "$work/$1")"
}
run_peer "$windows_ns" alpha "$(key broker)" attack-name.log window alpha2
expect_refused attack-name.log "alpha's key claiming window 'alpha2'"
grep -qF "refused alpha2 to key $(key alpha)" "$work/broker.log" ||
    fail "the broker did not log the refused claim"
run_peer "$windows_ns" alpha "$(key broker)" attack-taken.log window beta
expect_refused attack-taken.log "alpha's key claiming beta's name"
run_peer "$windows_ns" stranger "$(key broker)" attack-stranger.log window gamma
expect_refused attack-stranger.log "a key the broker does not know"
run_peer "$windows_ns" none none attack-nokey.log window alpha
expect_refused attack-nokey.log "no key at all (plaintext)"
run_peer "$windows_ns" alpha "$(key main)" attack-wrongserver.log window alpha
grep -q "REFUSED" "$work/attack-wrongserver.log" || fail "wrong broker key: not refused"
echo "ok: trusting the wrong broker key -> $(grep REFUSED "$work/attack-wrongserver.log")"
run_peer "$windows_ns" alpha "$(key broker)" attack-main.log main
expect_refused attack-main.log "a window's key claiming the main role"
if ip netns exec "$windows_ns" "$broker_bin" --ping "$endpoint" --timeout 1000 \
    >"$work/attack-ping.log" 2>&1; then
    fail "a keyless probe got an answer"
fi
echo "ok: keyless health probe -> $(cat "$work/attack-ping.log")"
ip netns exec "$windows_ns" "$broker_bin" --ping "$endpoint" --client-cert "$work/keys/beta" \
    --server-key "$(key broker)" >"$work/ping.log" 2>&1 || fail "keyed probe: $(cat "$work/ping.log")"
echo "ok: keyed health probe -> $(cat "$work/ping.log")"

# --- the broker restarts: everyone rejoins -------------------------------------------------
start=$(date +%s%N)
kill -TERM "$broker_pid"
wait "$broker_pid"
status=$?
echo "ok: broker exited with status $status $((($(date +%s%N) - start) / 1000000)) ms after SIGTERM"
[ "$status" -eq 0 ] || fail "the broker exited with $status on SIGTERM"
start_broker
wait_for main.log "PASS round 2" 30 || fail "round 2 after the restart did not complete"
wait_for main.log "DONE" 5 || fail "main did not finish"
echo "ok: after the broker restarted, main and both windows rejoined and exchanged every kind"

# --- key rotation: beta's key is withdrawn and the broker reloads on SIGHUP ---------------
alpha_lost=$(grep -c "connection to the router lost" "$work/alpha.log")
rm "$work/allow/beta"
kill -HUP "$broker_pid"
wait_for broker.log "reloaded, 1 peer(s) dropped" 10 || fail "SIGHUP: the broker did not drop beta"
wait_for beta.log "no longer allowed" 10 || fail "beta was not told its key is no longer allowed"
run_peer "$windows_ns" beta "$(key broker)" rotated.log window beta
expect_refused rotated.log "beta's withdrawn key, back on a new connection"
[ "$(grep -c "connection to the router lost" "$work/alpha.log")" -eq "$alpha_lost" ] ||
    fail "alpha lost its session at the reload"
echo "ok: key rotation: beta dropped with PROKIT_EACCES on SIGHUP, alpha kept its session"
echo "PASS"
