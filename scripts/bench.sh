#!/usr/bin/env bash
# Performance run: builds a Release tree in build-bench/, runs the end-to-end load test (logoutd
# pinned to CPU 0, the load generator to CPU 1, one server process, baseline health Check and
# ValidateLogout without a hint / with an RS256 / with an ES256 hint) and then the
# micro-benchmarks. The same server is also driven by h2load (bench/h2load_grpc.sh), an
# independent HTTP/2 generator that reports a run INVALID when it saturates its own core.
# Prints every table and writes build-bench/bench-results.json.
# Figures are printed and compared with the targets, never asserted. About 3 minutes after the
# first build (which takes longer).
#
#   bash scripts/bench.sh
#   DURATION=20s WARMUP=3s IN_FLIGHT=64 CHANNELS=4 MIN_TIME=0.5 bash scripts/bench.sh
#   MODE=open RATE=30000 bash scripts/bench.sh          # fixed arrival rate instead
#   SKIP_MICRO=1 bash scripts/bench.sh                  # load test only
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/bench_lib.sh
source bench/bench_lib.sh

BUILD_DIR=${BUILD_DIR:-build-bench}
JOBS=${JOBS:-2}
MODE=${MODE:-closed}
IN_FLIGHT=${IN_FLIGHT:-64}
RATE=${RATE:-20000}
CHANNELS=${CHANNELS:-4}
WARMUP=${WARMUP:-2s}
DURATION=${DURATION:-10s}
ENTRIES=${ENTRIES:-1000}
MIN_TIME=${MIN_TIME:-0.2}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
RUN_DIR="$BUILD_DIR/bench-run"
RESULTS="$BUILD_DIR/bench-results.json"

echo "== build ($BUILD_DIR, Release, -j$JOBS)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target logoutd logout_loadgen mint_bench_policy \
  url_benchmark allow_list_benchmark decision_benchmark snapshot_benchmark jwt_benchmark

rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"
"$BUILD_DIR/bench/mint_bench_policy" --out_dir="$RUN_DIR" --entries="$ENTRIES"

# Pinning: the server on one core, the generator on another (skipped on a 1-CPU machine).
server_pin=() loadgen_pin=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  server_pin=(taskset -c "$SERVER_CPU")
  loadgen_pin=(taskset -c "$LOADGEN_CPU")
else
  echo "warning: fewer than 2 CPUs or no taskset: server and generator are not pinned" >&2
fi

server_pid=
trap stop_server EXIT INT TERM

echo
echo "== end-to-end: logoutd on CPU $SERVER_CPU, logout_loadgen on CPU $LOADGEN_CPU ($MODE loop)"
"${server_pin[@]}" "$BUILD_DIR/service/logoutd" --listen=127.0.0.1:0 --store=file \
  --policy="$RUN_DIR/policy.json" --drain_delay=0s 2>"$RUN_DIR/server.log" &
server_pid=$!
wait_server_port "$RUN_DIR/server.log"

load_status=0
"${loadgen_pin[@]}" "$BUILD_DIR/bench/logout_loadgen" --target="127.0.0.1:$port" \
  --server_pid="$server_pid" --mode="$MODE" --in_flight="$IN_FLIGHT" --rate="$RATE" \
  --channels="$CHANNELS" --warmup="$WARMUP" --duration="$DURATION" \
  --scenarios=health,nohint,rs256,es256 \
  --hint_rs256="$RUN_DIR/hint_rs256.txt" --hint_es256="$RUN_DIR/hint_es256.txt" \
  --rs256_public_key="$RUN_DIR/rs256_public.pem" --es256_public_key="$RUN_DIR/es256_public.pem" \
  --json_out="$RUN_DIR/load.json" | tee "$RUN_DIR/loadgen.out" || load_status=$?
# The same server under an independent HTTP/2 generator (raw gRPC frames; see the script),
# judged against the bare RS256 verify logout_loadgen measured on the generator's core.
bare_rs256=$(sed -n 's/^bare RS256 verify on the generator.s core: \([0-9.]*\) us$/\1/p' \
  "$RUN_DIR/loadgen.out")
if command -v h2load >/dev/null; then
  BARE_RS256_US=$bare_rs256 LOADGEN_CPU=$LOADGEN_CPU DURATION=$DURATION WARMUP=$WARMUP \
    STREAMS=$IN_FLIGHT \
    bash bench/h2load_grpc.sh "$port" "$server_pid" "$RUN_DIR" "$RUN_DIR/hint_rs256.txt" \
    || load_status=$?
else
  echo "h2load: skipped, not installed (Debian nghttp2-client; scripts/setup.sh installs it)"
fi
stop_server

micro=(url_benchmark allow_list_benchmark decision_benchmark snapshot_benchmark jwt_benchmark)
if [[ -z ${SKIP_MICRO:-} ]]; then
  for b in "${micro[@]}"; do
    echo
    echo "== $b (--benchmark_min_time=$MIN_TIME, CPU $LOADGEN_CPU)"
    "${loadgen_pin[@]}" "$BUILD_DIR/bench/$b" --benchmark_min_time="$MIN_TIME" \
      --benchmark_out="$RUN_DIR/$b.json" --benchmark_out_format=json
  done
fi

# One file: the load test's JSON and each micro-benchmark's Google Benchmark JSON.
{
  echo '{"load":'
  if [[ -s $RUN_DIR/load.json ]]; then cat "$RUN_DIR/load.json"; else echo null; fi
  echo ',"h2load":'
  if [[ -s $RUN_DIR/h2load.json ]]; then cat "$RUN_DIR/h2load.json"; else echo null; fi
  echo ',"micro":{'
  sep=
  for b in "${micro[@]}"; do
    if [[ -s $RUN_DIR/$b.json ]]; then
      printf '%s"%s":' "$sep" "$b"
      cat "$RUN_DIR/$b.json"
      sep=,
    fi
  done
  echo '}}'
} >"$RESULTS"
echo
echo "results: $RESULTS (per-program output in $RUN_DIR/)"
exit "$load_status"
