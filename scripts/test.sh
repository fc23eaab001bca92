#!/usr/bin/env bash
# The test command: sets up the host, builds and installs, runs every test
# (Catch2 unit tests, our topotests, FRR's GR regression topotests) via CTest.
#
#   sudo scripts/test.sh [ctest arguments, e.g. -L unit or -R topotest]
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
build="${FRR_HA_BUILD_DIR:-$top/build}"

timed() {
    local what=$1; shift
    local t0=$SECONDS
    "$@"
    echo "== $what took $((SECONDS - t0)) s"
}

timed "setup" "$top/scripts/setup-host.sh"
timed "build" "$top/scripts/build.sh"
timed "tests" ctest --test-dir "$build" --output-on-failure "$@"
