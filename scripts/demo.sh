#!/usr/bin/env bash
# The demo command: sets up the host, builds and installs, runs demo/run.sh.
#
#   sudo scripts/demo.sh
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
"$top/scripts/setup-host.sh"
"$top/scripts/build.sh"
exec "$top/demo/run.sh"
