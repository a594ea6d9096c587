#!/usr/bin/env bash
# Install what is missing (Debian 12 / Ubuntu), build, and run the whole
# test suite with ctest, then the Python client's (tools/python-test.sh:
# pip install ./python, pytest python/tests). Extra arguments go to cmake's configure step, e.g.
#   tools/test.sh -DPROKIT_SANITIZE=address,undefined
# BUILD_DIR (default: build) chooses where to build.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/install-deps.sh --python

build="${BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build"
ctest --test-dir "$build" --output-on-failure
./tools/python-test.sh "$build"
