#!/usr/bin/env bash
# Scale benchmark: how logoutd behaves as the policy grows. For each tenant count (each tenant:
# an issuer, 10 tenant-level allowed logout URLs and 5 clients with 10 URLs each, 60 entries)
# and each store (SQLite, PostgreSQL) it measures
#   - start→SERVING: from exec until grpc.health.v1 Check(logout.v1.LogoutPolicy) is SERVING,
#     on a store that already holds the policy (it is seeded first with --policy, timed apart);
#   - RSS (VmRSS) at rest after the start and after the writes;
#   - ack latency (p50/p99) of WRITES small writes: UpdateClient adding ONE allowed logout URL to
#     one client of a random tenant (GetClient first for the etag and the list), WRITE_GAP apart;
#   - PostgreSQL only: a second replica on the same database: time from each ack on replica 1
#     until replica 2 decides ALLOW for the new URL (ValidateLogout polled), and replica 2's CPU
#     (utime+stime) per write, with its idle CPU over the same wall time for comparison.
# logoutd runs pinned to SERVER_CPU, the Python driver (bench/scale_driver.py) to DRIVER_CPU.
# Prints one markdown table row per tenant count and store and writes
# $OUT_DIR/scale-results.json (per-write samples included). Figures are reported, never asserted;
# the targets are printed at the end for reference.
#
#   bash bench/scale.sh
#   TENANTS="100 2000" bash bench/scale.sh
#   TENANTS=10000 STORES=postgresql WRITES=20 WRITE_GAP=0.2 bash bench/scale.sh
#   SKIP_BUILD=1 LOGOUTD=/path/to/logoutd bash bench/scale.sh   # no cmake --build
#
# Environment: TENANTS ("100 2000 10000 50000"), STORES ("sqlite postgresql"), WRITES (50),
# WRITE_GAP (seconds, 0.1), BUILD_DIR (build-bench), LOGOUTD ($BUILD_DIR/service/logoutd; setting
# it skips the build), SKIP_BUILD, OUT_DIR ($BUILD_DIR/scale-run), SERVER_CPU (0), DRIVER_CPU (1),
# START_TIMEOUT (s until SERVING, 1800), WRITE_TIMEOUT (s per write RPC, 600), VISIBLE_TIMEOUT
# (s until replica 2 allows a write, 600), CELL_TIMEOUT (s per row, 14400), IDLE_WINDOW (s of
# replica 2 idle CPU, 6), SEED (1: which tenants/clients are written), PG_BINDIR (newest
# /usr/lib/postgresql/*/bin), PG_OPTS (extra postgres -c settings, e.g. "-c fsync=off"), PY
# (/usr/bin/python3: Debian's, with python3-grpcio and python3-protobuf).
# Large counts are slow with a whole-document store (every write rewrites and recompiles the
# whole policy): each phase has a timeout, progress is printed, and a row that fails or times
# out says so in the table.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/bench_lib.sh
source bench/bench_lib.sh

BUILD_DIR=${BUILD_DIR:-build-bench}
TENANTS=${TENANTS:-100 2000 10000 50000}
STORES=${STORES:-sqlite postgresql}
WRITES=${WRITES:-50}
WRITE_GAP=${WRITE_GAP:-0.1}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/scale-run}
SERVER_CPU=${SERVER_CPU:-0}
DRIVER_CPU=${DRIVER_CPU:-1}
START_TIMEOUT=${START_TIMEOUT:-1800}
WRITE_TIMEOUT=${WRITE_TIMEOUT:-600}
VISIBLE_TIMEOUT=${VISIBLE_TIMEOUT:-600}
CELL_TIMEOUT=${CELL_TIMEOUT:-14400}
IDLE_WINDOW=${IDLE_WINDOW:-6}
SEED=${SEED:-1}
PG_OPTS=${PG_OPTS:-}
PY=${PY:-/usr/bin/python3}
DRIVER=bench/scale_driver.py

# --- Build (skipped when LOGOUTD is given or SKIP_BUILD is set) ---------------------------------
build_logoutd scale
if ! "$PY" -c 'import grpc, google.protobuf' 2>/dev/null; then
  echo "scale: $PY lacks grpc/protobuf (Debian python3-grpcio python3-protobuf)" >&2
  exit 1
fi

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
LOGOUTD=$(cd "$(dirname "$LOGOUTD")" && pwd)/$(basename "$LOGOUTD")
pid_file=$OUT_DIR/pids # the driver lists every logoutd it starts here, for the trap
: >"$pid_file"

# Pinning: logoutd on SERVER_CPU, the driver on DRIVER_CPU (not on a 1-CPU machine).
server_pin='' driver_pin=()
if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
  server_pin="taskset -c $SERVER_CPU"
  driver_pin=(taskset -c "$DRIVER_CPU")
else
  echo "warning: fewer than 2 CPUs or no taskset: logoutd and the driver are not pinned" >&2
fi

# --- Cleanup: the driver, every logoutd it started, the PostgreSQL server ----------------------
driver_pid=''
cleanup() {
  stop_driver_and_pids 'logoutd'
  pg_stop
}
trap cleanup EXIT
trap 'echo "scale: interrupted" >&2; cleanup; exit 130' INT TERM


# --- PostgreSQL: one throw-away server for the whole run ----------------------------------------
if [[ " $STORES " == *" postgresql "* ]]; then pg_start scale "PostgreSQL rows skipped"; fi

echo "== scale: tenants [$TENANTS], stores [$STORES], $WRITES writes ${WRITE_GAP}s apart"
echo "   logoutd $LOGOUTD ($("$LOGOUTD" --version 2>&1 | head -n1)), git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   output in $OUT_DIR"

token_file=$OUT_DIR/admin-token
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$token_file")

cells=()
for n in $TENANTS; do
  [[ $n =~ ^[0-9]+$ && $n -gt 0 ]] || { echo "scale: bad tenant count '$n'" >&2; exit 64; }
  policy=$OUT_DIR/policy-$n.json
  if [[ ! -s $policy || $DRIVER -nt $policy ]]; then
    echo
    echo "== policy: $n tenants × 60 entries"
    SECONDS=0
    "$PY" "$DRIVER" gen-policy --tenants "$n" --out "$policy"
    echo "   $policy: $(($(stat -c %s "$policy") / 1024)) KiB in ${SECONDS}s"
  fi
  for store in $STORES; do
    run_dir=$OUT_DIR/$n/$store
    rm -rf "$run_dir"
    mkdir -p "$run_dir"
    case $store in
      sqlite) store_url=sqlite:$run_dir/logoutd.db ;;
      postgresql)
        if [[ -n $pg_skip ]]; then continue; fi
        db=bench_$n
        "${as_pg[@]}" "$pg_bin/dropdb" -h 127.0.0.1 -p "$pg_port" -U postgres --if-exists "$db" 2>/dev/null
        "${as_pg[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres "$db"
        store_url=postgresql://postgres@127.0.0.1:$pg_port/$db ;;
      *) echo "scale: unknown store '$store' (sqlite, postgresql)" >&2; exit 64 ;;
    esac
    echo
    echo "== $n tenants, $store (timeout ${CELL_TIMEOUT}s; logs in $run_dir)"
    SECONDS=0
    # In the background, so that a signal runs the trap at once (bash defers traps while it
    # waits for a foreground command).
    "${driver_pin[@]}" timeout --kill-after=60 "$CELL_TIMEOUT" \
      "$PY" "$DRIVER" cell --store="$store" --store_url="$store_url" --tenants="$n" \
      --policy="$policy" --logoutd="$LOGOUTD" --pin="$server_pin" --token_file="$token_file" \
      --run_dir="$run_dir" --pid_file="$pid_file" --json_out="$run_dir/cell.json" \
      --writes="$WRITES" --write_gap="$WRITE_GAP" --start_timeout="$START_TIMEOUT" \
      --write_timeout="$WRITE_TIMEOUT" --visible_timeout="$VISIBLE_TIMEOUT" \
      --idle_window="$IDLE_WINDOW" --seed="$SEED" &
    driver_pid=$!
    status=0
    wait "$driver_pid" || status=$?
    driver_pid=''
    if ((status == 124 || status == 137)); then
      echo "   TIMED OUT after ${CELL_TIMEOUT}s (CELL_TIMEOUT)" >&2
    elif ((status != 0)); then
      echo "   the row failed (exit $status); see $run_dir/*.log" >&2
    fi
    echo "   ${SECONDS}s"
    if [[ -s $run_dir/cell.json ]]; then
      cells+=("$run_dir/cell.json")
    else
      # No result at all (killed): a placeholder row says so.
      printf '{"tenants":%s,"entries":%s,"store":"%s","error":"no result: driver exit %s"}\n' \
        "$n" "$((n * 60))" "$store" "$status" >"$run_dir/cell.json"
      cells+=("$run_dir/cell.json")
    fi
  done
done

echo
echo "== results ($WRITES writes per row, ${WRITE_GAP}s apart)"
[[ -n $pg_skip ]] && echo "$pg_skip"
"$PY" "$DRIVER" report --out="$OUT_DIR/scale-results.json" "${cells[@]}"
echo
echo "results: $OUT_DIR/scale-results.json (logoutd logs and per-row JSON in $OUT_DIR/<tenants>/<store>/)"
