#!/usr/bin/env bash
# Outbox benchmark: what --deliver_backchannel (the durable notification outbox) costs and how
# fast it delivers, against an independent real HTTP receiver (bench/outbox_receiver.js, plain
# node http on ORIGINS loopback ports, one origin each; it decodes the logout token's payload,
# without verifying it, for its `sid` and records the arrival wall time per sid). Per store:
#   1. enqueue cost: PlanLogoutNotifications (one session client with a back-channel URI per
#      plan, initiator rp-logout) without and with --deliver_backchannel, each on a fresh
#      logoutd and database, WARMUP calls then N timed calls, closed loop at each CONCURRENCY
#      (1: sequential; 16: that many in flight, where group commit batches). Reports p50/p99
#      of both and the p50 difference (the deliveries of the 'on' rows run meanwhile).
#   2. delivery: an open-loop driver issuing RATE plans/s (one job each) for DURATION s; for
#      each plan the wall time its RPC returned; the receiver's first arrival per sid. Reports
#      the achieved plan rate (and whether it met RATE), delivered, lost (planned but not
#      received within GRACE s after the run), duplicates, delivery latency (arrival − RPC
#      return) p50/p90/p99/max, and the CPU of logoutd, of each driver load process and of the
#      receiver (/proc/PID/stat utime+stime over the load window) and the busy % of both cores.
# logoutd runs pinned to SERVER_CPU, the Python driver (bench/outbox_driver.py) and the receiver
# to DRIVER_CPU (a PostgreSQL server, STORES=postgresql, is not pinned). Prints markdown tables and writes $OUT_DIR/outbox-results.json (per-second
# figures, metrics and CPU included). Figures are reported, never asserted; the targets are
# printed at the end for reference. Other load on the machine skews everything: the busy % of
# both cores just before the run is printed (and kept in the JSON).
#
#   bash bench/outbox.sh
#   DURATION=10 N=500 bash bench/outbox.sh
#   STORES="sqlite postgresql" bash bench/outbox.sh
#   SKIP_BUILD=1 LOGOUTD=/path/to/logoutd bash bench/outbox.sh   # no cmake --build
#
# Environment: STORES ("sqlite"; "postgresql" starts a throw-away server), N (2000), WARMUP
# (200), CONCURRENCY ("1 16"), RATE (plans/s, 1000), DURATION (s, 30), GRACE (s, 30),
# LOAD_PROCS (open-loop driver processes sharing RATE, 1), ORIGINS (receiver ports, 8),
# CLIENTS (policy clients spread over the origins, 64), OUTBOX_WORKERS (8, logoutd's default),
# ORIGIN_CONCURRENCY (2, logoutd's default; ORIGINS × ORIGIN_CONCURRENCY ≥ OUTBOX_WORKERS lets
# every worker send), ALG (RS256 with an RSA-2048 key; ES256 for a P-256 key), BUILD_DIR
# (build-bench), LOGOUTD ($BUILD_DIR/service/logoutd; setting it skips the build), SKIP_BUILD,
# OUT_DIR ($BUILD_DIR/outbox-run), SERVER_CPU (0), DRIVER_CPU (1), CELL_TIMEOUT (s per store,
# 1800), PG_BINDIR (newest /usr/lib/postgresql/*/bin), PG_OPTS (extra postgres -c settings), PY
# (/usr/bin/python3: Debian's, with python3-grpcio and python3-protobuf), NODE (node).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/bench_lib.sh
source bench/bench_lib.sh

BUILD_DIR=${BUILD_DIR:-build-bench}
STORES=${STORES:-sqlite}
N=${N:-2000}
WARMUP=${WARMUP:-200}
CONCURRENCY=${CONCURRENCY:-1 16}
RATE=${RATE:-1000}
DURATION=${DURATION:-30}
GRACE=${GRACE:-30}
LOAD_PROCS=${LOAD_PROCS:-1}
ORIGINS=${ORIGINS:-8}
CLIENTS=${CLIENTS:-64}
OUTBOX_WORKERS=${OUTBOX_WORKERS:-8}
ORIGIN_CONCURRENCY=${ORIGIN_CONCURRENCY:-2}
ALG=${ALG:-RS256}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/outbox-run}
SERVER_CPU=${SERVER_CPU:-0}
DRIVER_CPU=${DRIVER_CPU:-1}
CELL_TIMEOUT=${CELL_TIMEOUT:-1800}
PG_OPTS=${PG_OPTS:-}
PY=${PY:-/usr/bin/python3}
NODE=${NODE:-node}
DRIVER=bench/outbox_driver.py

# --- Build (skipped when LOGOUTD is given or SKIP_BUILD is set) ---------------------------------
build_logoutd outbox
if ! "$PY" -c 'import grpc, grpc.aio, google.protobuf' 2>/dev/null; then
  echo "outbox: $PY lacks grpc/protobuf (Debian python3-grpcio python3-protobuf)" >&2
  exit 1
fi
command -v "$NODE" >/dev/null || { echo "outbox: no node (the receiver is bench/outbox_receiver.js)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "outbox: no openssl (to generate the signing key)" >&2; exit 1; }
if ! "$LOGOUTD" --help 2>&1 | grep -q -- --outbox_workers; then
  echo "outbox: $LOGOUTD has no --outbox_workers (a build from before the outbox? rebuild it)" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
LOGOUTD=$(cd "$(dirname "$LOGOUTD")" && pwd)/$(basename "$LOGOUTD")
pid_file=$OUT_DIR/pids # the driver lists every process it starts here, for the trap
: >"$pid_file"

# Pinning: logoutd on SERVER_CPU, the driver and the receiver on DRIVER_CPU (not on 1 CPU).
server_pin='' driver_pin=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  server_pin="taskset -c $SERVER_CPU"
  driver_pin=(taskset -c "$DRIVER_CPU")
else
  echo "warning: fewer than 2 CPUs or no taskset: logoutd and the driver are not pinned" >&2
  SERVER_CPU='' DRIVER_CPU=''
fi

# --- Cleanup: the driver, every process it started, the PostgreSQL server ----------------------
driver_pid=''
cleanup() {
  stop_driver_and_pids 'logoutd|outbox_receiver|outbox_driver'
  pg_stop
}
trap cleanup EXIT
trap 'echo "outbox: interrupted" >&2; cleanup; exit 130' INT TERM


# labels: the databases one store needs (one fresh database per logoutd start).
labels=()
for c in $CONCURRENCY; do
  [[ $c =~ ^[0-9]+$ && $c -gt 0 ]] || { echo "outbox: bad concurrency '$c'" >&2; exit 64; }
  labels+=("off_c$c" "on_c$c")
done
labels+=(delivery)

# --- PostgreSQL (optional): one throw-away server for the whole run ----------------------------
if [[ " $STORES " == *" postgresql "* ]]; then pg_start outbox "PostgreSQL skipped"; fi

# busy_pct CPU SECONDS: how busy one core is (from /proc/stat), before anything is started.
busy_pct() {
  local cpu=$1 a b
  a=$(awk -v c="cpu$1" '$1==c {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  sleep "$2"
  b=$(awk -v c="cpu$1" '$1==c {print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {split(a, x, " "); split(b, y, " ");
    d = (y[1] - x[1]) + (y[2] - x[2]); printf "%.0f", d ? 100 * (y[1] - x[1]) / d : 0}'
}

echo "== outbox: stores [$STORES], enqueue $WARMUP+$N calls at concurrency [$CONCURRENCY]," \
     "delivery $RATE plans/s for ${DURATION}s (grace ${GRACE}s), $ORIGINS origins, $CLIENTS clients," \
     "$OUTBOX_WORKERS workers × origin concurrency $ORIGIN_CONCURRENCY, $ALG"
echo "   logoutd $LOGOUTD ($("$LOGOUTD" --version 2>&1 | head -n1)), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
quiet=''
if [[ -n $SERVER_CPU ]]; then
  quiet="cpu$SERVER_CPU $(busy_pct "$SERVER_CPU" 1)% busy, cpu$DRIVER_CPU $(busy_pct "$DRIVER_CPU" 1)% busy"
  echo "   before the run: $quiet (other load on these cores skews every figure)"
fi
echo "   output in $OUT_DIR"

key_file=$OUT_DIR/signing-key.pem
case $ALG in
  RS256) (umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key_file" 2>/dev/null) ;;
  ES256) (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key_file" 2>/dev/null) ;;
  *) echo "outbox: ALG must be RS256 or ES256" >&2; exit 64 ;;
esac

cells=()
for store in $STORES; do
  run_dir=$OUT_DIR/$store
  rm -rf "$run_dir"
  mkdir -p "$run_dir"
  case $store in
    sqlite) template="sqlite:$run_dir/{label}.db" ;;
    postgresql)
      if [[ -n $pg_skip ]]; then continue; fi
      for l in "${labels[@]}"; do
        "${as_pg[@]}" "$pg_bin/dropdb" -h 127.0.0.1 -p "$pg_port" -U postgres --if-exists "outbox_$l" 2>/dev/null
        "${as_pg[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "outbox_$l"
      done
      template="postgresql://postgres@127.0.0.1:$pg_port/outbox_{label}" ;;
    *) echo "outbox: unknown store '$store' (sqlite, postgresql)" >&2; exit 64 ;;
  esac
  echo
  echo "== $store (timeout ${CELL_TIMEOUT}s; logs in $run_dir)"
  SECONDS=0
  # In the background, so that a signal runs the trap at once (bash defers traps while it waits
  # for a foreground command).
  "${driver_pin[@]}" timeout --kill-after=60 "$CELL_TIMEOUT" \
    "$PY" "$DRIVER" cell --store="$store" --store_url_template="$template" \
    --logoutd="$LOGOUTD" --pin="$server_pin" --server_cpu="$SERVER_CPU" --driver_cpu="$DRIVER_CPU" \
    --key_file="$key_file" --alg="$ALG" --run_dir="$run_dir" --pid_file="$pid_file" \
    --json_out="$run_dir/cell.json" --n="$N" --warmup="$WARMUP" --concurrency="$CONCURRENCY" \
    --rate="$RATE" --duration="$DURATION" --grace="$GRACE" --load_procs="$LOAD_PROCS" \
    --origins="$ORIGINS" --clients="$CLIENTS" --outbox_workers="$OUTBOX_WORKERS" \
    --origin_concurrency="$ORIGIN_CONCURRENCY" --machine_before="$quiet" &
  driver_pid=$!
  status=0
  wait "$driver_pid" || status=$?
  driver_pid=''
  if ((status == 124 || status == 137)); then
    echo "   TIMED OUT after ${CELL_TIMEOUT}s (CELL_TIMEOUT)" >&2
  elif ((status != 0)); then
    echo "   the store's run failed (exit $status); see $run_dir/*.log" >&2
  fi
  echo "   ${SECONDS}s"
  if [[ ! -s $run_dir/cell.json ]]; then
    printf '{"store":"%s","error":"no result: driver exit %s"}\n' "$store" "$status" >"$run_dir/cell.json"
  fi
  cells+=("$run_dir/cell.json")
done

echo
echo "== results"
[[ -n $pg_skip ]] && echo "$pg_skip"
"$PY" "$DRIVER" report --out="$OUT_DIR/outbox-results.json" "${cells[@]}"
echo
echo "results: $OUT_DIR/outbox-results.json (logoutd logs, metrics and per-store JSON in $OUT_DIR/<store>/)"
