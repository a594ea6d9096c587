#!/usr/bin/env bash
# Install what is missing (Debian 12 / Ubuntu), build, and run prokit-demo:
# a main process and two window processes exchanging every message kind.
# Exits with the demo's status (0: every step happened).
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
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "Missing ${missing[*]}: run as root or install sudo" >&2; exit 1; }
        sudo="sudo"
    fi
    echo "Installing: ${missing[*]}"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja
cmake --build build --target prokit-demo
exec build/examples/prokit-demo
