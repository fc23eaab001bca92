#!/usr/bin/env bash
# The demo command: sets up the host, builds and installs, runs the demo's
# two parts: demo/run.sh (both RPs on one host) and demo/run-dual-rp.sh
# (the RPs on two hosts).
#
#   sudo scripts/demo.sh
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
"$top/scripts/setup-host.sh"
"$top/scripts/build.sh"
"$top/demo/run.sh"
exec "$top/demo/run-dual-rp.sh"
