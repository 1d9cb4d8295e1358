#!/usr/bin/env bash
# One command: install what running needs, build logoutd and logoutctl only (into build-run/,
# no tests or benchmarks), and run logoutd on the embedded default store (a SQLite file under
# ./data, seeded from the example policy on first start). Ctrl-C stops it.
#   bash scripts/run.sh [extra logoutd flags]
# Environment: LISTEN (default 0.0.0.0:50051), METRICS_LISTEN (default 127.0.0.1:9464; empty =
# off), DATA_DIR (default ./data), POLICY (seed file).
# An admin token is created in $DATA_DIR/admin-token on first start (for the LogoutAdmin API).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
BUILD_DIR=${BUILD_DIR:-build-run}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOGOUT_BUILD_TESTS=OFF \
  -DLOGOUT_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target logoutd logoutctl
data=${DATA_DIR:-./data}
mkdir -p "$data"
if [[ ! -s "$data/admin-token" ]]; then
  (umask 077 && openssl rand -hex 24 > "$data/admin-token")
  echo "run: admin token written to $data/admin-token"
fi
exec "./$BUILD_DIR/service/logoutd" --listen="${LISTEN:-0.0.0.0:50051}" \
  --store="sqlite:$data/logoutd.db" --policy="${POLICY:-deploy/examples/policy.json}" \
  --admin_token_file="$data/admin-token" --metrics_listen="${METRICS_LISTEN-127.0.0.1:9464}" "$@"
