#!/usr/bin/env bash
# Builds FRR (Debian's source + patches/) and our modules in ./build, and
# installs them (FRR's daemons in /usr/lib/frr, modules beside FRR's own).
#
#   scripts/build.sh [extra cmake configure arguments]
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
build="${FRR_HA_BUILD_DIR:-$top/build}"

cmake -S "$top" -B "$build" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
cmake --install "$build" >/dev/null
echo "build: FRR and frr-ha modules built and installed from $build"
