#!/bin/sh
# One-off: make the CURVE keys and the access list docker/compose.yaml mounts.
#
#   docker/make-keys.sh [DIR]        (default: docker/keys, next to compose.yaml)
#
# Runs `prokit-broker --keygen` inside the image (PROKIT_IMAGE, default
# localhost/prokit-broker:latest; build it first, docs/DEPLOY.md) with the
# container engine CONTAINER_ENGINE (default: podman if installed, else
# docker). Writes, never overwriting anything:
#
#   DIR/broker/broker_secret   the broker's key pair     mounted into "broker"
#   DIR/broker/broker          its public certificate
#   DIR/broker/allowed/NAME    the clients' public certificates (--curve-allow)
#   DIR/broker/acl             the access list (--acl): main's key gets @main,
#                              window's key the name "main", work's key "work",
#                              keyless local peers (the prokit CLI run inside
#                              the broker's container) names prokit-cli-*
#   DIR/NAME/client_secret     a client's key pair       mounted into "NAME"
#   DIR/NAME/broker            the broker's public certificate (pinned key)
#   DIR/NAME.key, broker.key   the public keys in Z85, for reference
#
# for NAME in main, window and work (the compose services). The files belong
# to the image's user (uid 10001) with secrets mode 0600, so the containers,
# which run as that user, can read them. With rootless podman that uid is one
# of your subordinate ids: remove the directory with `podman unshare rm -rf DIR`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/keys}
image=${PROKIT_IMAGE:-localhost/prokit-broker:latest}
engine=${CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
    if command -v podman >/dev/null 2>&1; then engine=podman; else engine=docker; fi
fi
clients="main window work"

if [ -e "$dir/broker" ]; then
    echo "make-keys: $dir/broker exists; keys are never overwritten (remove $dir first)" >&2
    exit 1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# One container does it all (the script in single quotes runs in it), as root inside it so that it can hand the files
# to uid 10001 whatever the engine's user mapping (rootful, rootless, Docker).
# shellcheck disable=SC2016
"$engine" run --rm --user 0 --network none --no-healthcheck --entrypoint /bin/sh \
    -v "$dir:/keys:z" -e "CLIENTS=$clients" "$image" -c '
set -eu
cd /keys
mkdir -p broker/allowed
prokit-broker --keygen broker/broker >broker.key 2>/dev/null
{
    echo "# prokit-broker access list, written by docker/make-keys.sh:"
    echo "# <client public key> <window-name patterns...> (@main: the main role)"
    echo "# the prokit CLI inside the broker container, over its ipc endpoint:"
    echo "local prokit-cli-*"
} >broker/acl
for client in $CLIENTS; do
    mkdir "$client"
    prokit-broker --keygen "$client/client" >"$client.key" 2>/dev/null
    cp "$client/client" "broker/allowed/$client"
    cp broker/broker "$client/broker"
    case $client in
        main) grants="@main" ;;     # prokit-example-main attaches as main
        window) grants="main" ;;    # prokit-example-window is the window "main"
        *) grants="$client" ;;      # prokit-example-work is the window "work"
    esac
    echo "$(cat "$client.key") $grants" >>broker/acl
done
chown -R 10001:10001 /keys
find /keys -type d -exec chmod 0750 {} +
find /keys -type f -exec chmod 0640 {} +
find /keys -type f -name "*_secret" -exec chmod 0600 {} +
'
echo "make-keys: wrote $dir"
echo "  broker public key: $(cat "$dir/broker.key" 2>/dev/null || echo '(see broker.key)')"
for client in $clients; do
    echo "  $client: $(cat "$dir/$client.key" 2>/dev/null || echo '?')"
done
