#!/usr/bin/env bash
# The Python client's test suite (python/tests, pytest) against the C
# binaries of a build directory: installs python/ with pip into a virtual
# environment of that build directory (no network: Debian's pyzmq, msgpack,
# setuptools and pytest through --system-site-packages), then runs pytest.
#   tools/python-test.sh [BUILD_DIR]      (default: build)
# Skips, saying why, where it cannot run: no Python 3 with those modules.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
python=/usr/bin/python3

if ! [ -x "$python" ] || ! "$python" -c 'import zmq, msgpack, pytest, venv, setuptools' 2>/dev/null; then
    echo "python tests: SKIPPED: $python lacks zmq, msgpack, pytest, venv or setuptools" \
         "(tools/install-deps.sh installs them)" >&2
    exit 0
fi
if ! [ -x "$build/tests/prokit-test-cpeer" ]; then
    echo "python tests: SKIPPED: $build/tests/prokit-test-cpeer is not built" >&2
    exit 0
fi

venv="$(cd "$build" && pwd)/python-venv"
[ -x "$venv/bin/python" ] || "$python" -m venv --system-site-packages "$venv"
echo "== pip install ./python (into $venv)"
"$venv/bin/python" -m pip install --quiet --no-index --no-build-isolation --no-deps \
    --disable-pip-version-check --force-reinstall ./python
echo "== pytest python/tests against $build"
# From the build directory, so that the package imported is the one installed.
abs_build="$(cd "$build" && pwd)"
(cd "$abs_build" && PROKIT_BUILD_DIR="$abs_build" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
    "$OLDPWD/python/tests")
