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
# LOADGEN_CPU (1), MAX_GENERATOR_CPU (85), REPEAT (rounds of every scenario, 3: medians are
# reported, each ratio taken against the health run of its own round), BARE_RS256_US (the bare
# RS256 verify of the same session: prints the RS256 target's verdict).
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
repeat=${REPEAT:-3}
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

printf '\n== h2load (%s): %s connection(s), %s streams in flight, %ss after %ss warm-up, %s round(s)\n' \
  "$(h2load --version | sed -n '1s/^h2load //p')" "$connections" "$streams" "$duration" "$warmup" \
  "$repeat"
printf '%-6s %-8s %10s %12s %14s %10s %s\n' round scenario QPS 'server µs' 'generator CPU' \
  'vs health' ''
# One line per scenario and round: "SCENARIO QPS SERVER_US GEN_CPU RATIO FAILED DONE".
rows=()
for ((round = 1; round <= repeat; round++)); do
  health_qps=
  for i in "${!scenarios[@]}"; do
    s=${scenarios[$i]}
    TIMEFORMAT='%R %U %S'
    { time "${pin[@]}" h2load -D "$duration" --warm-up-time="$warmup" -c "$connections" \
        -m "$streams" -t 1 --data="$dir/$s.bin" -H 'content-type: application/grpc' \
        -H 'te: trailers' "http://127.0.0.1:$port${paths[$i]}" >"$dir/$s.out" 2>&1; } \
      2>"$dir/$s.time" &
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
    printf '%-6s %-8s %10.0f %12s %13s%% %9sx\n' "$round" "$s" "$qps" "$server_us" "$gen_cpu" "$ratio"
    rows+=("$s $qps $server_us $gen_cpu $ratio $failed $done_n")
  done
done

# Medians over the rounds (each ratio is taken within its round, against that round's health
# run, so slow and fast phases of a shared machine cancel out), the generator's highest CPU.
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)}'; }
column() { printf '%s\n' "${rows[@]}" | awk -v s="$1" -v c="$2" '$1 == s {print $c}'; }
printf '\nmedians of %s round(s):\n' "$repeat"
printf '%-8s %10s %12s %14s %10s %s\n' scenario QPS 'server µs' 'generator CPU' 'vs health' ''
json='{'
health_us=
for i in "${!scenarios[@]}"; do
  s=${scenarios[$i]}
  qps=$(column "$s" 2 | median)
  server_us=$(column "$s" 3 | median)
  gen_cpu=$(column "$s" 4 | sort -g | tail -n1)
  ratio=$(column "$s" 5 | median)
  failed=$(column "$s" 6 | awk '{n += $1} END {print n + 0}')
  done_n=$(column "$s" 7 | awk '{n += $1} END {print n + 0}')
  [[ $s == health ]] && health_us=$server_us
  verdict=
  if ((gen_cpu > max_cpu)); then
    verdict="INVALID: generator at ${gen_cpu}% of its core (> ${max_cpu}%)"
  elif [[ $failed != 0 ]]; then
    verdict="INVALID: $failed requests failed"
  elif [[ $s == nohint ]]; then
    verdict=$(awk -v r="$ratio" 'BEGIN {print ((r >= 0.90) ? "target >= 0.90x: MET" : "target >= 0.90x: NOT MET")}')
  elif [[ $s == rs256 && -n ${BARE_RS256_US:-} ]]; then
    # Server CPU <= health + 1.3 x the bare RS256 verify measured in the same session.
    verdict=$(awk -v u="$server_us" -v h="$health_us" -v b="$BARE_RS256_US" 'BEGIN {
      lim = h + 1.3 * b
      printf "server %.1f µs = health +%.1f; target <= health + 1.3 x bare verify %.1f = %.1f µs: %s",
        u, u - h, b, lim, (u <= lim ? "MET" : "NOT MET")}')
  fi
  printf '%-8s %10.0f %12s %13s%% %9sx %s\n' "$s" "$qps" "$server_us" "$gen_cpu" "$ratio" "$verdict"
  rounds=$(printf '%s\n' "${rows[@]}" | awk -v s="$s" '$1 == s {printf "%s{\"qps\":%s,\"server_cpu_us_per_rpc\":%s,\"generator_cpu_percent\":%s,\"ratio_to_health\":%s}", (n++ ? "," : ""), $2, $3, $4, $5}')
  json+=$(printf '"%s":{"qps":%s,"done":%s,"failed":%s,"server_cpu_us_per_rpc":%s,"generator_cpu_percent":%s,"ratio_to_health":%s,"verdict":"%s","rounds":[%s]}' \
    "$s" "$qps" "$done_n" "$failed" "$server_us" "$gen_cpu" "$ratio" "$verdict" "$rounds")
  [[ $i -lt $((${#scenarios[@]} - 1)) ]] && json+=,
done
json+='}'
printf '%s\n' "$json" >"$run_dir/h2load.json"
echo "h2load: $run_dir/h2load.json (requests, responses and h2load output in $dir/)"
