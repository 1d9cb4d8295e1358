#!/usr/bin/env bash
# One command: install, build, and run logoutd on the example policy (Ctrl-C stops it).
#   bash scripts/run.sh [extra logoutd flags]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec ./build/service/logoutd --listen="${LISTEN:-0.0.0.0:50051}" \
  --policy="${POLICY:-deploy/examples/policy.json}" "$@"
