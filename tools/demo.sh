#!/usr/bin/env bash
# Install what is missing (Debian 12 / Ubuntu), build, and run prokit-demo:
# a main process and two window processes exchanging every message kind.
# Exits with the demo's status (0: every step happened).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/install-deps.sh

cmake -S . -B build -G Ninja
cmake --build build --target prokit-demo
exec build/examples/prokit-demo
