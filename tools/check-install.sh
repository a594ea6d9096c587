#!/usr/bin/env bash
# Install a built tree into a scratch prefix and build an application
# outside the tree against it, with find_package(prokit) and with
# pkg-config, then run both. Also checks that the shared library exports
# nothing but prokit_ symbols, and that the static archive keeps only
# prokit_ symbols global.   Usage: tools/check-install.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
prefix="$(mktemp -d)"
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'libprokit.so' | head -n 1)")

echo "-- exported symbols"
foreign=$(nm -D --defined-only "$libdir/libprokit.so" | awk '{print $3}' | grep -v '^prokit_' || true)
if [ -n "$foreign" ]; then
    echo "libprokit.so exports symbols without the prokit_ prefix:" >&2
    echo "$foreign" >&2
    exit 1
fi
echo "only prokit_ symbols ($(nm -D --defined-only "$libdir/libprokit.so" | wc -l) exported)"
foreign=$(nm -g --defined-only "$libdir/libprokit.a" | awk 'NF == 3 {print $3}' | grep -v '^prokit_' || true)
if [ -n "$foreign" ]; then
    echo "libprokit.a has global symbols without the prokit_ prefix:" >&2
    echo "$foreign" >&2
    exit 1
fi
echo "libprokit.a: only prokit_ symbols are global"

echo "-- find_package(prokit)"
cmake -S tests/consumer -B "$prefix/consumer-build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
LD_LIBRARY_PATH="$libdir" "$prefix/consumer-build/consumer"
"$prefix/consumer-build/consumer_static"

echo "-- pkg-config --cflags --libs prokit"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
cc -Wall -Werror tests/consumer/consumer.c $(pkg-config --cflags --libs prokit) -o "$prefix/consumer-pc"
LD_LIBRARY_PATH="$libdir" "$prefix/consumer-pc"
echo "-- installed programs run from the prefix (no LD_LIBRARY_PATH)"
env -u LD_LIBRARY_PATH "$prefix/bin/prokit" --version
env -u LD_LIBRARY_PATH "$prefix/bin/prokit-broker" --version
# The broker and the CLI work together from there: a broker on a scratch
# ipc endpoint answers a ping, and the CLI asks it which windows are there.
endpoint="ipc://$prefix/check.sock"
env -u LD_LIBRARY_PATH "$prefix/bin/prokit-broker" --bind "$endpoint" >"$prefix/broker.log" 2>&1 &
broker=$!
ok=false
if env -u LD_LIBRARY_PATH "$prefix/bin/prokit-broker" --ping "$endpoint" --timeout 5000 &&
    env -u LD_LIBRARY_PATH "$prefix/bin/prokit" --endpoint "$endpoint" windows; then
    ok=true
fi
kill "$broker" 2>/dev/null || true
wait "$broker" 2>/dev/null || true
if ! $ok; then
    echo "the installed CLI could not reach the installed broker:" >&2
    cat "$prefix/broker.log" >&2
    exit 1
fi
echo "installed prokit and prokit-broker work from $prefix"
echo "install check passed"
