#!/usr/bin/env bash
# CTest smoke run of the end-to-end load test: mint a bench policy, start logoutd on a free
# port, run logout_loadgen for a fraction of a second per scenario, stop the server. Checks
# only that everything runs and every answer is the expected decision; asserts nothing on time.
#   bench/loadgen_smoke.sh LOGOUTD MINT_BENCH_POLICY LOGOUT_LOADGEN
set -euo pipefail
logoutd=$1 mint=$2 loadgen=$3
dir=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$mint" --out_dir="$dir" --entries=200
"$logoutd" --listen=127.0.0.1:0 --store=file --policy="$dir/policy.json" --drain_delay=0s \
  2>"$dir/server.log" &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(grep -o '"port":[0-9]*' "$dir/server.log" | head -n1 | cut -d: -f2 || true)
  [[ -n $port ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$dir/server.log"; exit 1; }
  sleep 0.1
done
[[ -n $port ]] || { echo "logoutd did not report its port"; cat "$dir/server.log"; exit 1; }

"$loadgen" --target="127.0.0.1:$port" --server_pid="$server_pid" --channels=2 --in_flight=4 \
  --warmup=0.1s --duration=0.3s --hint_rs256="$dir/hint_rs256.txt" \
  --hint_es256="$dir/hint_es256.txt" --rs256_public_key="$dir/rs256_public.pem" \
  --json_out="$dir/results.json"
grep -q '"scenarios"' "$dir/results.json"
"$loadgen" --target="127.0.0.1:$port" --mode=open --rate=500 --channels=1 --warmup=0s \
  --duration=0.3s --scenarios=health,nohint
