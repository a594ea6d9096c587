#!/usr/bin/env bash
# Install what is missing (Debian 12 / Ubuntu), build, and run the whole
# test suite with ctest. Extra arguments go to cmake's configure step, e.g.
#   tools/test.sh -DPROKIT_SANITIZE=address,undefined
# BUILD_DIR (default: build) chooses where to build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config libzmq3-dev libczmq-dev libmsgpack-dev
          libcmocka-dev)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "Installing: ${missing[*]}"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
fi

build="${BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure
