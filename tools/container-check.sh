#!/usr/bin/env bash
# Build the prokit-broker container image from docker/Dockerfile and check it
# end to end with podman, on a Debian 12 machine that can reach nothing but
# Debian's package mirror (no Docker Hub, no registry). Run as root:
#
#   tools/container-check.sh
#
#  1. installs podman, buildah, debootstrap, podman-compose and what podman
#     needs here (runc, netavark, aardvark-dns, iptables);
#  2. builds a Debian base image with `debootstrap --variant=minbase` from the
#     mirror apt already uses (/etc/apt/sources.list, sources.list.d/*.list and
#     deb822 *.sources), trimmed like Docker's "slim" images, and tags it as
#     both debian:bookworm and debian:bookworm-slim, so the Dockerfile keeps
#     its ordinary FROM lines. Both tags are the same local image: it is NOT
#     Docker Hub's image, and the build stage gets the same trimmed base;
#  3. builds the image (podman build --format docker --pull=never) and
#     records its size;
#  4. makes CURVE keys with docker/make-keys.sh, starts the broker on an
#     internal network (no route out of this machine), runs its health check
#     until healthy, pings it over TCP with CURVE from another container, and
#     checks a key-less ping is refused;
#  5. runs prokit-example-main (attached to the broker), -work and -window in
#     containers of their own and checks the messages in their logs; then the
#     prokit CLI (if built) inside the broker container: windows, a request;
#  6. stops a window (exit 0 required), then the broker with main and a
#     window attached (SIGTERM): it must exit 0 in under 5 s;
#  7. brings the same demo up with podman-compose from docker/compose.yaml and
#     checks its logs too (skip with PROKIT_CI_COMPOSE=0).
#
# Prints a summary (base and image size, build time, health, stop time);
# exits non-zero on any failure. The debootstrap rootfs is cached as a tarball
# in $PROKIT_CI_CACHE (default /var/cache/prokit-ci) for a week, so reruns
# skip it (PROKIT_CI_REFRESH=1 rebuilds it). PROKIT_CI_MIRROR overrides the
# mirror; PROKIT_CI_KEEP=1 leaves the containers of steps 4-6 and their
# network behind (compose's always come down).
#
# Sandbox notes (what this machine needed; all harmless on an ordinary host):
#  - podman's settings go in a containers.conf of our own, exported as
#    CONTAINERS_CONF for podman, podman build and podman-compose alike;
#    nothing under /etc/containers is changed;
#  - runtime runc: crun 1.8 (bookworm) refuses hosts whose cgroups are
#    "hybrid" (v1 controllers plus a cgroup2 mount with a controller in it):
#    "crun: cgroups in hybrid mode not supported";
#  - default_ulimits: without CAP_SYS_RESOURCE podman cannot raise
#    RLIMIT_NOFILE/RLIMIT_NPROC to its defaults ("setrlimit RLIMIT_NOFILE:
#    Operation not permitted"); we ask for the current hard limits, NPROC at
#    most 32768 (podman lowers its own NPROC to that);
#  - cgroup_manager cgroupfs and events_logger file, as there is no systemd
#    (PID 1 is not systemd: no timers either, so health checks do not run by
#    themselves; we run `podman healthcheck run`, which records the status);
#  - network_backend netavark (bookworm's podman also ships a CNI config whose
#    plugins are not installed); netavark needs iptables;
#  - storage: overlay on ext4 works natively; set STORAGE_DRIVER=vfs if the
#    kernel or file system refuses overlay;
#  - the build's RUN steps use podman's default network to reach the mirror
#    (apt-get in the Dockerfile); the containers under test are on internal
#    networks only;
#  - clients whose broker's name stops resolving (its container removed) take
#    up to ~10 s to stop: libzmq resolves the name in its I/O thread on each
#    reconnect and the lookup times out on an internal network. The check
#    stops a window while the broker runs and removes the others with -t 0.
set -Eeuo pipefail
trap 'echo "FAIL: tools/container-check.sh line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

cache=${PROKIT_CI_CACHE:-/var/cache/prokit-ci}
image=${PROKIT_CI_IMAGE:-localhost/prokit-broker:ci}
prefix=prokit-ci          # containers, network and compose project
network=$prefix-net
port=5570
keep=${PROKIT_CI_KEEP:-0}
containers=("$prefix-broker" "$prefix-main" "$prefix-work" "$prefix-window")
start_all=$(date +%s.%N)

say() { printf '== %s\n' "$*"; }
fail() {
    trap - ERR
    printf 'FAIL: %s\n' "$*" >&2
    for name in "${containers[@]}"; do
        if podman container exists "$name" 2>/dev/null; then
            printf -- '--- the last lines of the log of %s\n' "$name" >&2
            podman logs --tail 30 "$name" >&2 2>&1 || true
        fi
    done
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" -eq 0 ] || { echo "tools/container-check.sh must run as root" >&2; exit 1; }
# shellcheck source=/dev/null
. /etc/os-release
codename=${VERSION_CODENAME:-bookworm}
arch=$(dpkg --print-architecture)

# --- 1. packages --------------------------------------------------------------------
say "installing podman, buildah, debootstrap, podman-compose"
packages=(podman buildah debootstrap podman-compose runc netavark aardvark-dns iptables
          ca-certificates debian-archive-keyring)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "$(podman --version), $(buildah --version | cut -d' ' -f1-3), podman-compose $(dpkg-query -W -f '${Version}' podman-compose), $(runc --version | head -n1)"

# --- podman settings for this machine (see the notes at the top) --------------------
mkdir -p "$cache"
nofile=$(ulimit -Hn)
if [ "$nofile" = unlimited ] || [ "$nofile" -gt 1048576 ]; then nofile=1048576; fi
nproc=$(ulimit -Hu)
if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
cgroup_manager=systemd
[ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || cgroup_manager=cgroupfs
cat >"$cache/containers.conf" <<EOF
# Written by tools/container-check.sh for this machine; see its notes.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "$cgroup_manager"
events_logger = "file"

[network]
network_backend = "netavark"
EOF
export CONTAINERS_CONF="$cache/containers.conf"
echo "podman settings: $CONTAINERS_CONF (runc, $cgroup_manager, nofile $nofile, nproc $nproc);" \
    "storage $(podman info --format '{{.Store.GraphDriverName}}' 2>/dev/null)"

# --- 2. the Debian base image -------------------------------------------------------
# The mirrors apt uses: "URI SUITE" for every enabled deb entry, from one-line
# .list files and deb822 .sources files alike.
apt_sources() {
    local file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$file" ] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$file" |
            awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
    done
    for file in /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no") {
                    n = split(uris, u, " "); m = split(suites, s, " ")
                    for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j]
                }
                types = uris = suites = field = ""; enabled = "yes"
            }
            BEGIN { enabled = "yes" }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/ { if (field == "uris") uris = uris " " $0
                       else if (field == "suites") suites = suites " " $0
                       next }
            {
                key = tolower($0); sub(/:.*/, "", key)
                value = $0; sub(/^[^:]*:[ \t]*/, "", value)
                field = key
                if (key == "types") types = value
                else if (key == "uris") uris = value
                else if (key == "suites") suites = value
                else if (key == "enabled") enabled = value
            }
            END { flush() }' "$file"
    done
}
sources=$(apt_sources)
mirror=${PROKIT_CI_MIRROR:-$(awk -v s="$codename" '$2 == s { print $1; exit }' <<<"$sources")}
security=$(awk -v s="$codename-security" '$2 == s { print $1; exit }' <<<"$sources")
updates=$(awk -v s="$codename-updates" '$2 == s { print $1; exit }' <<<"$sources")
[ -n "$mirror" ] || fail "no apt source for '$codename' in /etc/apt (set PROKIT_CI_MIRROR)"
mirror=${mirror%/}
echo "mirror: $mirror ($codename${updates:+, $codename-updates}${security:+, $codename-security from $security})"

# A proxy apt is told to use (Acquire::http::Proxy) is used by debootstrap
# and kept in the image, so that builds reach the mirror the same way.
apt_proxy=$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p' | head -n1)
[ "$apt_proxy" != DIRECT ] || apt_proxy=""

rootfs_tar="$cache/debian-$codename-$arch-minbase.tar"
build_rootfs() {
    local root="$cache/rootfs.tmp"
    rm -rf "$root"
    local include=()
    case "$mirror $security" in *https://*) include=(--include=ca-certificates) ;; esac
    env ${apt_proxy:+http_proxy="$apt_proxy"} \
        debootstrap --variant=minbase "${include[@]}" "$codename" "$root" "$mirror" \
        >"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log"; return 1; }
    if [ -n "$apt_proxy" ]; then
        echo "Acquire::http::Proxy \"$apt_proxy\";" >"$root/etc/apt/apt.conf.d/01proxy"
    fi
    # The same sources as the host (Debian's images use deb822 too).
    rm -f "$root/etc/apt/sources.list"
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s%s\nComponents: main\n' "$mirror" "$codename" \
            "${updates:+ $codename-updates}"
        printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        if [ -n "$security" ]; then
            printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' \
                "${security%/}" "$codename"
            printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
        fi
    } >"$root/etc/apt/sources.list.d/debian.sources"
    # Up to date with $codename-updates and -security, as Docker's images are
    # when they are rebuilt (debootstrap takes the last point release only).
    if ! { chroot "$root" apt-get update -qq &&
        chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq; } \
        >>"$cache/debootstrap.log" 2>&1; then
        tail -n 20 "$cache/debootstrap.log"
        return 1
    fi
    # Trimmed like Docker's debian images (debuerreotype), the slim variant's
    # dpkg excludes included: no downloaded packages or lists, no docs, man
    # pages or translations, now or in later apt-get installs.
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/* \
        "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin \
        "$root"/var/lib/apt/lists/* "$root"/var/log/* "$root"/var/cache/debconf/*-old \
        "$root"/var/lib/dpkg/*-old "$root"/tmp/* "$root"/root/.bash_history
    # The host's name and resolver do not belong in an image; podman provides them.
    rm -f "$root/etc/resolv.conf" "$root/etc/hostname"
    : >"$root/etc/machine-id"
    tar --numeric-owner --xattrs -C "$root" -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$root"
}
start=$(now)
if [ -n "${PROKIT_CI_REFRESH:-}" ] || [ ! -s "$rootfs_tar" ] ||
    [ -n "$(find "$rootfs_tar" -mtime +7)" ]; then
    say "debootstrap --variant=minbase $codename from $mirror (cached in $rootfs_tar)"
    build_rootfs || fail "debootstrap failed (log: $cache/debootstrap.log)"
    base_source="debootstrapped in $(elapsed "$start") s"
else
    say "Debian base: cached $rootfs_tar ($(date -r "$rootfs_tar" '+%F %T'))"
    base_source="from the cache"
fi
# Import only when the tarball changed: the same base image ID keeps podman
# build's layer cache valid on reruns.
rootfs_sum=$(sha256sum "$rootfs_tar" | cut -c1-64)
base_id=$(podman image inspect --format '{{.Id}} {{index .Labels "prokit.ci.rootfs"}}' \
    "localhost/prokit-ci-debian:$codename" 2>/dev/null | awk -v s="$rootfs_sum" '$2 == s { print $1 }' ||
    true)
[ -n "$base_id" ] || base_id=$(podman import --quiet \
    --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.opencontainers.image.description="debootstrap --variant=minbase, trimmed; local stand-in for debian:bookworm and debian:bookworm-slim"' \
    --change "LABEL prokit.ci.rootfs=$rootfs_sum" \
    --message "tools/container-check.sh: debootstrap --variant=minbase $codename from $mirror" \
    "$rootfs_tar" "localhost/prokit-ci-debian:$codename")
base_id=${base_id#sha256:}
for tag in "$codename" "$codename-slim"; do
    podman tag "$base_id" "docker.io/library/debian:$tag"
done
base_size=$(podman image inspect --format '{{.Size}}' "$base_id")
base_mb=$(awk -v s="$base_size" 'BEGIN { printf "%.1f", s / 1e6 }')
echo "base image ${base_id:0:12} ($base_mb MB, $base_source) tagged debian:$codename and" \
    "debian:$codename-slim. NOTE: one local debootstrap image stands in for both: it is not" \
    "Docker Hub's; trimmed like the slim variant, it is not the full debian:$codename either"

# --- 3. the image --------------------------------------------------------------------
say "podman build --format docker --pull=never -f docker/Dockerfile -t $image ."
# --format docker: the OCI format has no HEALTHCHECK. --pull=never: there is
# no registry; debian:* must be the local images tagged above.
build_flags=(--format docker --pull=never)
[ -z "${PROKIT_CI_NO_CACHE:-}" ] || build_flags+=(--no-cache)
start=$(now)
if ! podman build "${build_flags[@]}" -f docker/Dockerfile -t "$image" . >"$cache/build.log" 2>&1; then
    tail -n 40 "$cache/build.log"
    fail "podman build failed (whole log: $cache/build.log)"
fi
build_time=$(elapsed "$start")
# The packages the runtime stage added to the base (the build log has all
# the packages owning a linked library, libc6 and the like included).
runtime_packages=$(comm -13 \
    <(podman run --rm --network none "docker.io/library/debian:$codename-slim" \
        dpkg-query -W -f '${Package}\n' | sed 's/:.*//' | sort -u) \
    <(podman run --rm --no-healthcheck --network none --entrypoint dpkg-query "$image" \
        -W -f '${Package}\n' | sed 's/:.*//' | sort -u) | tr '\n' ' ')
image_size=$(podman image inspect --format '{{.Size}}' "$image")
image_mb=$(awk -v s="$image_size" 'BEGIN { printf "%.1f", s / 1e6 }')
echo "built $image in $build_time s: $image_mb MB ($(awk -v a="$image_size" -v b="$base_size" \
    'BEGIN { printf "%.1f", (a - b) / 1e6 }') MB over the base)"
echo "runtime packages added to the base: $runtime_packages"
for program in prokit-broker prokit-example-main prokit-example-window prokit-example-work; do
    podman run --rm --no-healthcheck --network none --entrypoint sh "$image" -c \
        "command -v $program >/dev/null" || fail "$program is not in the image"
done
[ "$(podman image inspect --format '{{.Config.User}}' "$image")" = 10001:10001 ] ||
    fail "the image does not run as uid 10001"
healthcheck=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$image")
[[ "$healthcheck" == *--ping* ]] || fail "the image has no HEALTHCHECK"
if podman run --rm --no-healthcheck --network none --entrypoint sh "$image" -c \
    'command -v cc || command -v gcc || command -v cmake' >/dev/null 2>&1; then
    fail "the runtime image has a compiler or cmake"
fi
version=$(podman run --rm --no-healthcheck --network none "$image" --version)
echo "$version; runs as 10001:10001; HEALTHCHECK present; no compiler or cmake"
if cli=$(podman run --rm --no-healthcheck --network none --entrypoint prokit "$image" --version \
    2>&1); then
    echo "the prokit CLI is in the image too: $cli"
fi

# --- 4. the broker, its keys, the health check -------------------------------------------
compose_project=$prefix-compose
compose_network=${compose_project}_prokit
compose() {
    PROKIT_IMAGE=$image PROKIT_KEYS=$keys \
        podman-compose -p "$compose_project" -f docker/compose.yaml "$@"
}
cleanup() {
    local rc=$?
    if [ "$keep" = 1 ]; then
        echo "kept (PROKIT_CI_KEEP=1): containers $prefix-{broker,main,work,window}," \
            "network $network, keys $keys"
        return $rc
    fi
    podman rm -f --ignore -t 0 "${containers[@]}" >/dev/null 2>&1 || true
    compose down -t 1 >/dev/null 2>&1 || true
    podman network rm -f "$network" "$compose_network" >/dev/null 2>&1 || true
    return $rc
}
trap cleanup EXIT
keys="$cache/keys"
podman rm -f --ignore -t 0 "${containers[@]}" >/dev/null 2>&1 || true
compose down -t 1 >/dev/null 2>&1 || true
podman network rm -f "$network" "$compose_network" >/dev/null 2>&1 || true
rm -rf "$keys"

say "keys: docker/make-keys.sh $keys"
PROKIT_IMAGE=$image CONTAINER_ENGINE=podman docker/make-keys.sh "$keys" ||
    fail "docker/make-keys.sh failed"

# An internal network: containers reach each other by name (aardvark-dns)
# and nothing beyond this machine (no default route, no port forwarding).
podman network create --internal "$network" >/dev/null 2>&1 || fail "podman network create"

say "the broker (image defaults: tcp://0.0.0.0:$port with CURVE + ipc for the health check)"
# Without systemd podman cannot create the health check's timer and says so
# ("unable to get systemd connection"); we run the check ourselves below.
start=$(now)
podman run -d --name "$prefix-broker" --network "$network" --network-alias broker \
    -v "$keys/broker:/etc/prokit/keys:ro" "$image" >"$cache/podman-run.log" 2>&1 ||
    { cat "$cache/podman-run.log"; fail "podman run broker"; }
health=starting
for _ in $(seq 1 60); do
    if podman healthcheck run "$prefix-broker" >/dev/null 2>&1; then break; fi
    sleep 0.5
done
health=$(podman inspect --format '{{.State.Health.Status}}' "$prefix-broker")
health_time=$(elapsed "$start")
[ "$health" = healthy ] || fail "the broker's health check says '$health' after $health_time s"
echo "health: $health $health_time s after podman run (podman healthcheck run: no systemd timers here)"

# shellcheck disable=SC2001 # one sed beats a loop over the special characters
re() { sed 's/[][\\.*^$+?(){}|]/\\&/g' <<<"$1"; } # TEXT as an ERE matching itself
key() { re "$(cat "$keys/$1.key")"; }                 # a public key, as an ERE
wait_log() { # CONTAINER REGEX [SECONDS]: wait until its log has a matching line
    local deadline=$((SECONDS + ${3:-15})) log line
    while :; do
        # Whole log first: grep -q ending the pipe early would fail it (pipefail).
        log=$(podman logs "$1" 2>&1 || true)
        if line=$(grep -E -m1 -- "$2" <<<"$log"); then
            echo "  $1: $line"
            return 0
        fi
        [ $SECONDS -lt $deadline ] || break
        sleep 0.2
    done
    fail "no line matching /$2/ in the log of $1 within ${3:-15} s"
}
wait_log "$prefix-broker" "prokit-broker .* ready; CURVE public key $(key broker)$" 5
wait_log "$prefix-broker" "listening on tcp://0.0.0.0:$port \(CURVE\)" 1
wait_log "$prefix-broker" "listening on ipc:///run/prokit/broker.sock" 1
wait_log "$prefix-broker" "access list /etc/prokit/keys/acl: [0-9]+ key" 1

say "probes from other containers over the network"
client_args() { # NAME: the client's keys and CURVE settings, in ${client[@]}
    client=(-v "$keys/$1:/etc/prokit/keys:ro" -e PROKIT_CURVE_CERT=/etc/prokit/keys/client_secret
            -e PROKIT_CURVE_SERVER_KEY=/etc/prokit/keys/broker)
}
client_args work
ping_out=$(podman run --rm --network "$network" --no-healthcheck "${client[@]}" "$image" \
    --ping "tcp://broker:$port" --client-cert /etc/prokit/keys/client_secret \
    --server-key /etc/prokit/keys/broker 2>&1) || fail "CURVE ping over TCP failed: $ping_out"
ping_line=$(grep -m1 answered <<<"$ping_out")
echo "  CURVE ping over TCP: $ping_line"
if refused=$(podman run --rm --network "$network" --no-healthcheck "$image" \
    --ping "tcp://broker:$port" --timeout 2000 2>&1); then
    fail "a ping without a key was answered: $refused"
fi
echo "  ping without a key: refused ($(grep -m1 -o 'no answer.*' <<<"$refused"))"
wait_log "$prefix-broker" "refused a connection on tcp://.*security handshake failed" 5

# Nothing beyond this machine: the mirror the host reaches is unreachable
# from the network the containers are on.
mirror_host=$(sed -E 's|^[a-z]+://([^/:]+).*|\1|' <<<"$mirror")
mirror_port=80
case "$mirror" in https://*) mirror_port=443 ;; esac
mirror_ip=$(getent ahostsv4 "$mirror_host" | awk 'NR == 1 { print $1 }')
if [ -n "$mirror_ip" ]; then
    if podman run --rm --network "$network" --no-healthcheck --entrypoint bash "$image" -c \
        "timeout 5 bash -c 'exec 3<>/dev/tcp/$mirror_ip/$mirror_port'" >/dev/null 2>&1; then
        fail "a container on $network reached $mirror_host ($mirror_ip:$mirror_port)"
    fi
    echo "  no way out: $mirror_host ($mirror_ip:$mirror_port) is unreachable from $network"
fi

# --- 5. main, work and window exchange messages through the broker --------------------
say "prokit-example-main (attached), -work and -window, each in its own container"
run_client() { # NAME ENV... -- PROGRAM
    local name=$1
    shift
    client_args "$name"
    podman run -d --name "$prefix-$name" --network "$network" --no-healthcheck \
        "${client[@]}" "$@" >"$cache/podman-run.log" 2>&1 ||
        { cat "$cache/podman-run.log"; fail "podman run $name"; }
}
run_client main -e PROKIT_BROKER="tcp://broker:$port" --entrypoint prokit-example-main "$image"
wait_log "$prefix-main" "^\[main\] listening on tcp://broker:$port"
wait_log "$prefix-broker" "'@main' joined from .* with key $(key main)$"
run_client work -e PROKIT_ENDPOINT="tcp://broker:$port" --entrypoint prokit-example-work "$image"
wait_log "$prefix-work" '^\[window work\] joined as window "work"'
run_client window -e PROKIT_ENDPOINT="tcp://broker:$port" --entrypoint prokit-example-window "$image"
wait_log "$prefix-window" '^\[window main\] joined as window "main"'
wait_log "$prefix-main" '^\[main\] window "main" asks: sendMsgToMain Hello'
wait_log "$prefix-window" '^\[window main\] main replied: Main has received data: sendMsgToMain Hello'
wait_log "$prefix-window" '^\[window main\] main sent: Message from Main Process'
wait_log "$prefix-work" '^\[window work\] window "main" sent: Hello Work'
wait_log "$prefix-broker" "'work' joined from .* with key $(key work)$" 1
wait_log "$prefix-broker" "'main' joined from .* with key $(key window)$" 1

if [ -n "${cli:-}" ]; then
    # The CLI inside the broker's container, over the local ipc endpoint
    # (the access list lets keyless local peers be prokit-cli-*).
    say "the prokit CLI inside the broker container: windows, and a request to main"
    sock=ipc:///run/prokit/broker.sock
    windows=$(podman exec "$prefix-broker" prokit -e "$sock" windows 2>&1) ||
        fail "prokit windows: $windows"
    for name in main work; do
        grep -q "\"name\": \"$name\"" <<<"$windows" || fail "prokit windows lacks $name: $windows"
    done
    echo "  prokit windows: $(grep -o '"name": "[^"]*"' <<<"$windows" | cut -d'"' -f4 | tr '\n' ' ')"
    reply=$(podman exec "$prefix-broker" prokit -e "$sock" --raw request @main "from the CLI" 2>&1) ||
        fail "prokit request @main: $reply"
    [ "$reply" = "Main has received data: from the CLI" ] || fail "prokit request @main: '$reply'"
    echo "  prokit request @main: $reply"
    wait_log "$prefix-main" '^\[main\] window "prokit-cli-[0-9]+" asks: from the CLI' 5
fi

# --- 6. stopping ----------------------------------------------------------------------
say "stopping: a window while the broker runs, then the broker with main and a window attached"
stop_timed() { # CONTAINER: podman stop it, print "seconds exit-code"
    local start
    start=$(now)
    podman stop -t 10 "$1" >/dev/null 2>&1 || true
    echo "$(elapsed "$start") $(podman inspect --format '{{.State.ExitCode}}' "$1")"
}
read -r work_stop work_exit < <(stop_timed "$prefix-work")
echo "  window work: stopped in $work_stop s, exit $work_exit"
[ "$work_exit" = 0 ] || fail "prokit-example-work exited $work_exit on SIGTERM"
awk -v t="$work_stop" 'BEGIN { exit !(t < 5) }' || fail "prokit-example-work took $work_stop s to stop"
wait_log "$prefix-main" '^\[main\] window "work" left' 5

read -r broker_stop broker_exit < <(stop_timed "$prefix-broker")
echo "  broker: stopped in $broker_stop s, exit $broker_exit"
wait_log "$prefix-broker" 'SIGTERM: telling peers the broker is going' 1
wait_log "$prefix-broker" 'info +stopped$' 1
[ "$broker_exit" = 0 ] || fail "the broker exited $broker_exit on SIGTERM (expected 0)"
awk -v t="$broker_stop" 'BEGIN { exit !(t < 5) }' || fail "the broker took $broker_stop s to stop"
wait_log "$prefix-main" 'main: the router closed the connection' 5
wait_log "$prefix-window" "window 'main': the router closed the connection" 5
# main and the window now try to reconnect to a name that no longer resolves:
# libzmq resolves it in its I/O thread, and on this internal network each
# lookup can take 5 s, so stopping them now may take that long. They are not
# under test here; remove them at once.
[ "$keep" = 1 ] ||
    podman rm -f -t 0 "$prefix-main" "$prefix-window" "$prefix-work" "$prefix-broker" >/dev/null 2>&1

# --- 7. the same with podman-compose ------------------------------------------------------
compose_result="skipped (PROKIT_CI_COMPOSE=0)"
if [ "${PROKIT_CI_COMPOSE:-1}" != 0 ]; then
    say "podman-compose -f docker/compose.yaml up -d (project $compose_project)"
    # Created here as internal first, so compose reuses it: still no way out.
    podman network create --internal "$compose_network" >/dev/null 2>&1 ||
        fail "podman network create $compose_network"
    start=$(now)
    compose up -d >"$cache/compose.log" 2>&1 || { cat "$cache/compose.log"; fail "podman-compose up"; }
    c=${compose_project}_ # podman-compose 1.0.3 names containers PROJECT_SERVICE_1
    containers+=("${c}broker_1" "${c}main_1" "${c}work_1" "${c}window_1")
    for _ in $(seq 1 30); do
        podman healthcheck run "${c}broker_1" >/dev/null 2>&1 && break
        sleep 0.5
    done
    compose_health=$(podman inspect --format '{{.State.Health.Status}}' "${c}broker_1")
    [ "$compose_health" = healthy ] || fail "compose broker: health '$compose_health'"
    echo "  ${c}broker_1: $compose_health"
    wait_log "${c}window_1" '^\[window main\] main replied: Main has received data: sendMsgToMain Hello'
    wait_log "${c}window_1" '^\[window main\] main sent: Message from Main Process'
    wait_log "${c}work_1" '^\[window work\] window "main" sent: Hello Work'
    wait_log "${c}main_1" '^\[main\] window "main" asks: sendMsgToMain Hello'
    up_time=$(elapsed "$start")
    start=$(now)
    compose down >>"$cache/compose.log" 2>&1 || { cat "$cache/compose.log"; fail "podman-compose down"; }
    down_time=$(elapsed "$start")
    podman network rm -f "$compose_network" >/dev/null 2>&1 || true
    compose_result="up and messages in $up_time s (broker $compose_health), down in $down_time s"
    echo "  $compose_result"
fi

# --- summary --------------------------------------------------------------------------
say "summary"
cat <<EOF
base image:     debian:$codename and debian:$codename-slim = one local debootstrap
                --variant=minbase image, $base_mb MB ($base_source); NOT Docker Hub's
                images: trimmed like -slim, and the build stage uses it too
image:          $image, $image_mb MB, built in $build_time s
added packages: $runtime_packages
health:         $health after $health_time s (podman healthcheck run; no systemd here)
TCP + CURVE:    $ping_line; without a key: refused
messages:       window -> main request and reply, main -> window, window -> work: ok${cli:+
prokit CLI:     windows, request @main from inside the broker container: ok}
stop:           broker $broker_stop s, exit $broker_exit (SIGTERM, PID 1); window work $work_stop s, exit $work_exit
compose:        $compose_result
total:          $(elapsed "$start_all") s
container check passed
EOF
