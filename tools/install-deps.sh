#!/usr/bin/env bash
# Install, on Debian 12 / Ubuntu, whatever prokit needs to build and test
# that is not installed yet (with sudo unless run as root). Extra package
# names given as arguments are installed too; --python adds what the Python
# client (python/) and its tests need (tools/test.sh asks for it).
set -euo pipefail

# libjson-c-dev: the prokit CLI's JSON. iproute2: the multi-host test
# builds its hosts from network namespaces.
packages=(build-essential cmake ninja-build pkg-config libzmq3-dev libczmq-dev libmsgpack-dev
          libcmocka-dev libjson-c-dev iproute2)
for argument in "$@"; do
    if [ "$argument" = --python ]; then
        # pyzmq and msgpack, pytest, and pip with setuptools to install
        # python/ from the tree without network (tools/python-test.sh)
        packages+=(python3-zmq python3-msgpack python3-pytest python3-venv python3-pip
                   python3-setuptools)
    else
        packages+=("$argument")
    fi
done
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "Missing ${missing[*]}: run as root or install sudo" >&2; exit 1; }
    sudo="sudo"
fi
echo "Installing: ${missing[*]}"
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
