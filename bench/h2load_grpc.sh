#!/usr/bin/env bash
# End-to-end load with an independent HTTP/2 generator: h2load (Debian's nghttp2-client) sends
# raw gRPC frames to a running logoutd, so the figures do not depend on gRPC's own client.
#
#   bench/h2load_grpc.sh PORT SERVER_PID RUN_DIR [RS256_HINT_FILE]
#
# For each scenario (health Check, ValidateLogout without a hint, with an RS256 hint) it encodes
# the request with `protoc --encode`, frames it (1-byte flag, 4-byte length), first sends it once
# with curl and checks `grpc-status: 0` and the decision (h2load counts any HTTP 200 as a
# success, and gRPC errors are HTTP 200), then runs h2load pinned to LOADGEN_CPU and reads the
# server's CPU time from /proc. A run where h2load used more than MAX_GENERATOR_CPU percent of its
# core is reported INVALID: a saturated generator measures itself. Prints a table and writes
# RUN_DIR/h2load.json. The request shapes are those of bench/load_scenario.h.
# Environment: DURATION (s, default 10), WARMUP (s, 2), STREAMS (in flight, 64), CONNECTIONS (1),
# LOADGEN_CPU (1), MAX_GENERATOR_CPU (85).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/bench_lib.sh
source bench/bench_lib.sh
port=${1:?usage: h2load_grpc.sh PORT SERVER_PID RUN_DIR [RS256_HINT_FILE]}
server_pid=${2:?}
run_dir=${3:?}
hint_file=${4:-}
duration=${DURATION:-10}
duration=${duration%s}
warmup=${WARMUP:-2}
warmup=${warmup%s}
streams=${STREAMS:-64}
connections=${CONNECTIONS:-1}
max_cpu=${MAX_GENERATOR_CPU:-85}
pin=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then pin=(taskset -c "${LOADGEN_CPU:-1}"); fi
for tool in h2load curl protoc perl; do
  command -v "$tool" >/dev/null || { echo "h2load_grpc: $tool is missing (scripts/setup.sh)" >&2; exit 1; }
done

dir="$run_dir/h2load"
mkdir -p "$dir"
ticks=$(getconf CLK_TCK)
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# encode NAME PROTO_FILE MESSAGE TEXTPROTO: writes $dir/NAME.bin, the framed request.
bench_requests "$dir" "$port" "$run_dir/policy.json" "$hint_file"

printf '\n== h2load (%s): %s connection(s), %s streams in flight, %ss after %ss warm-up\n' \
  "$(h2load --version | sed -n '1s/^h2load //p')" "$connections" "$streams" "$duration" "$warmup"
printf '%-8s %10s %12s %14s %10s %s\n' scenario QPS 'server µs' 'generator CPU' 'vs health' ''
json='{'
health_qps=
for i in "${!scenarios[@]}"; do
  s=${scenarios[$i]}
  TIMEFORMAT='%R %U %S'
  { time "${pin[@]}" h2load -D "$duration" --warm-up-time="$warmup" -c "$connections" \
      -m "$streams" -t 1 --data="$dir/$s.bin" -H 'content-type: application/grpc' \
      -H 'te: trailers' "http://127.0.0.1:$port${paths[$i]}" >"$dir/$s.out" 2>&1; } 2>"$dir/$s.time" &
  h2load_job=$!
  # The server's CPU over the timed window only: h2load counts no request of its warm-up.
  sleep "$warmup"
  before=$(server_ticks)
  wait "$h2load_job"
  after=$(server_ticks)
  read -r wall user sys < <(tail -n1 "$dir/$s.time")
  qps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' "$dir/$s.out")
  done_n=$(awk '/^requests:/ {print $8}' "$dir/$s.out")
  failed=$(awk '/^requests:/ {print $10 + $12 + $14}' "$dir/$s.out")
  # Server CPU over the timed window divided by the requests h2load counted in it (the window
  # ends when h2load exits, a few ms after its last request: a slight overestimate).
  total=$(awk '/^requests:/ {print $2}' "$dir/$s.out")
  server_us=$(awk -v d="$((after - before))" -v t="$ticks" -v n="$total" \
    'BEGIN {printf "%.1f", (n > 0 ? d / t * 1e6 / n : 0)}')
  gen_cpu=$(awk -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN {printf "%.0f", (u + s) / w * 100}')
  [[ $s == health ]] && health_qps=$qps
  ratio=$(awk -v q="$qps" -v h="$health_qps" 'BEGIN {printf "%.2f", (h > 0 ? q / h : 0)}')
  verdict=
  if ((gen_cpu > max_cpu)); then
    verdict="INVALID: generator at ${gen_cpu}% of its core (> ${max_cpu}%)"
  elif [[ $failed != 0 ]]; then
    verdict="INVALID: $failed requests failed"
  elif [[ $s == nohint ]]; then
    verdict=$(awk -v r="$ratio" 'BEGIN {print ((r >= 0.90) ? "target >= 0.90x: MET" : "target >= 0.90x: NOT MET")}')
  fi
  printf '%-8s %10.0f %12s %13s%% %9sx %s\n' "$s" "$qps" "$server_us" "$gen_cpu" "$ratio" "$verdict"
  json+=$(printf '"%s":{"qps":%s,"done":%s,"failed":%s,"server_cpu_us_per_rpc":%s,"generator_cpu_percent":%s,"ratio_to_health":%s,"verdict":"%s"}' \
    "$s" "$qps" "$done_n" "$failed" "$server_us" "$gen_cpu" "$ratio" "$verdict")
  [[ $i -lt $((${#scenarios[@]} - 1)) ]] && json+=,
done
json+='}'
printf '%s\n' "$json" >"$run_dir/h2load.json"
echo "h2load: $run_dir/h2load.json (requests, responses and h2load output in $dir/)"
