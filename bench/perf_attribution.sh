#!/usr/bin/env bash
# Where logoutd's server CPU goes per RPC, by perf sampling under h2load load. Three scenarios,
# the same requests as bench/h2load_grpc.sh: the gRPC health Check (the empty-RPC baseline),
# ValidateLogout without an id_token_hint, and ValidateLogout with an RS256 id_token_hint.
# logoutd (Release, build-bench/) runs pinned to SERVER_CPU, h2load to LOADGEN_CPU (one
# connection, STREAMS in flight). For each scenario:
#   1. an unprofiled h2load run: QPS and server CPU µs per RPC (utime + stime of logoutd over the
#      timed window, /proc/PID/stat, divided by the requests h2load counted), as h2load_grpc.sh;
#   2. a second h2load run with `perf record -p PID -e cpu-clock -F FREQ --call-graph dwarf`
#      attached to logoutd for PERF_WINDOW seconds inside the timed window (its µs per RPC is
#      printed too: the difference is perf's own overhead charged to the server);
#   3. every sample is put in one bucket by its leaf frame (the function on the CPU): gRPC/HTTP/2
#      transport and completion queues (libgrpc, libgrpc++, gpr, upb, absl, grpc:: code in
#      logoutd), protobuf (libprotobuf and the generated logout::v1 / grpc::health::v1 messages),
#      logoutd decision code (logout::policy, url, common), logoutd handler glue (logout::rpc,
#      server, metrics), JWT (logout::jwt, libcrypto, nlohmann JSON), malloc/free (libc's
#      allocator, operator new/delete), kernel ([kernel.kallsyms]: syscalls, epoll, TCP), other
#      (the rest of libc: memcpy, locks, ...; libstdc++ except new/delete). A second "caller"
#      attribution charges malloc/free, kernel and other samples to the nearest bucket up the
#      call chain (DWARF unwinding through .eh_frame: stacks that do not unwind stay where they
#      are). Kernel samples are further split by syscall (sendmsg, recvmsg, epoll_wait, futex, the
#      rest), and `perf stat` counts logoutd's syscall entries and context switches over the same
#      window, printed per RPC.
# Buckets are printed as % of the sampled server CPU and as µs per RPC (the share times the
# unprofiled µs per RPC), then the extra µs per RPC of each ValidateLogout scenario over the
# health Check. Figures are reported, never asserted. Inlined functions are charged to the
# function they were inlined into (no debug info in the Release build), and the sample counts
# (about FREQ × PERF_WINDOW per scenario) bound the precision to roughly ±1 % of server CPU.
#
#   bash bench/perf_attribution.sh
#   DURATION=15 PERF_WINDOW=12 FREQ=1999 bash bench/perf_attribution.sh
#   SKIP_BUILD=1 bash bench/perf_attribution.sh          # no cmake --build
#
# Environment: BUILD_DIR (build-bench), LOGOUTD ($BUILD_DIR/service/logoutd; setting it skips the
# build), SKIP_BUILD, OUT_DIR ($BUILD_DIR/perf-run), DURATION (s of each h2load timed window, 10),
# WARMUP (s, 2), PERF_WINDOW (s of perf record inside the timed window, 8), FREQ (samples/s, 999),
# CALL_GRAPH (dwarf,16384; "none" records leaf frames only), STREAMS (64), CONNECTIONS (1),
# ENTRIES (allow-list entries of the minted policy, 1000), SERVER_CPU (0), LOADGEN_CPU (1),
# TOP (leaf symbols listed per scenario, 15). Needs root or kernel.perf_event_paranoid <= 1.
# Writes $OUT_DIR/attribution.md (the tables), attribution.json and, per scenario, perf.data,
# the h2load output and the top leaf symbols (SCENARIO.top.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/bench_lib.sh
source bench/bench_lib.sh

BUILD_DIR=${BUILD_DIR:-build-bench}
OUT_DIR=${OUT_DIR:-$BUILD_DIR/perf-run}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
PERF_WINDOW=${PERF_WINDOW:-8}
FREQ=${FREQ:-999}
CALL_GRAPH=${CALL_GRAPH:-dwarf,16384}
STREAMS=${STREAMS:-64}
CONNECTIONS=${CONNECTIONS:-1}
ENTRIES=${ENTRIES:-1000}
SERVER_CPU=${SERVER_CPU:-0}
LOADGEN_CPU=${LOADGEN_CPU:-1}
TOP=${TOP:-15}
if ((PERF_WINDOW >= DURATION)); then
  echo "perf_attribution: PERF_WINDOW ($PERF_WINDOW) must be shorter than DURATION ($DURATION)" >&2
  exit 1
fi
for tool in perf h2load curl protoc perl jq python3 taskset; do
  command -v "$tool" >/dev/null || { echo "perf_attribution: $tool is missing" >&2; exit 1; }
done

# --- Build (skipped when LOGOUTD is given or SKIP_BUILD is set) ---------------------------------
if [[ -z ${LOGOUTD:-} && -z ${SKIP_BUILD:-} ]]; then
  echo "== build ($BUILD_DIR, Release)"
  if [[ ! -f $BUILD_DIR/build.ninja ]]; then
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j2 --target logoutd mint_bench_policy
fi
LOGOUTD=${LOGOUTD:-$BUILD_DIR/service/logoutd}

rm -rf "$OUT_DIR"
mkdir -p "$OUT_DIR"
"$BUILD_DIR/bench/mint_bench_policy" --out_dir="$OUT_DIR" --entries="$ENTRIES" >/dev/null

server_pin=(taskset -c "$SERVER_CPU")
gen_pin=(taskset -c "$LOADGEN_CPU")
server_pid=
trap stop_server EXIT INT TERM

"${server_pin[@]}" "$LOGOUTD" --listen=127.0.0.1:0 --store=file --policy="$OUT_DIR/policy.json" \
  --drain_delay=0s 2>"$OUT_DIR/server.log" &
server_pid=$!
wait_server_port "$OUT_DIR/server.log"

# --- Requests: the same encoding and checks as bench/h2load_grpc.sh -----------------------------
bench_requests "$OUT_DIR" "$port" "$OUT_DIR/policy.json" "$OUT_DIR/hint_rs256.txt"

STAT_EVENTS=syscalls:sys_enter_sendmsg,syscalls:sys_enter_recvmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_write,context-switches
ticks=$(getconf CLK_TCK)
server_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# load NAME PATH TAG [perf]: one h2load run; prints "QPS US_PER_RPC GEN_CPU FAILED".
load() {
  local out="$OUT_DIR/$1.$3"
  TIMEFORMAT='%R %U %S'
  { time "${gen_pin[@]}" h2load -D "$DURATION" --warm-up-time="$WARMUP" -c "$CONNECTIONS" \
      -m "$STREAMS" -t 1 --data="$OUT_DIR/$1.bin" -H 'content-type: application/grpc' \
      -H 'te: trailers' "http://127.0.0.1:$port$2" >"$out.h2load" 2>&1; } 2>"$out.time" &
  local job=$!
  sleep "$WARMUP"
  local before after
  before=$(server_ticks)
  if [[ ${4:-} == perf ]]; then
    sleep 0.5
    local cg=(--call-graph "$CALL_GRAPH")
    [[ $CALL_GRAPH == none ]] && cg=()
    # Syscall and context-switch counts over the same window (tracepoints: cheap, counted only).
    perf stat -x, -o "$OUT_DIR/$1.stat.csv" -e "$STAT_EVENTS" -p "$server_pid" -- sleep "$PERF_WINDOW" \
      >/dev/null 2>&1 &
    local stat_job=$!
    perf record -q -e cpu-clock -F "$FREQ" "${cg[@]}" -p "$server_pid" -o "$OUT_DIR/$1.perf.data" \
      -- sleep "$PERF_WINDOW" >"$OUT_DIR/$1.perf.log" 2>&1
    wait "$stat_job" || true
  fi
  wait "$job"
  after=$(server_ticks)
  local wall user sys
  read -r wall user sys < <(tail -n1 "$out.time")
  local total failed
  total=$(awk '/^requests:/ {print $2}' "$out.h2load")
  failed=$(awk '/^requests:/ {print $10 + $12 + $14}' "$out.h2load")
  awk -v d="$((after - before))" -v t="$ticks" -v n="$total" -v w="$DURATION" -v u="$user" \
    -v s="$sys" -v wl="$wall" -v f="$failed" \
    'BEGIN {printf "%.0f %.1f %.0f %d\n", n / w, (n > 0 ? d / t * 1e6 / n : 0), (u + s) / wl * 100, f}'
}

echo "== logoutd pid $server_pid on CPU $SERVER_CPU, h2load on CPU $LOADGEN_CPU ($CONNECTIONS connection(s), $STREAMS streams)"
echo "== perf record -e cpu-clock -F $FREQ --call-graph $CALL_GRAPH -p PID, ${PERF_WINDOW}s per scenario"
for i in "${!scenarios[@]}"; do
  s=${scenarios[$i]}
  read -r qps us gen failed < <(load "$s" "${paths[$i]}" plain)
  read -r pqps pus _ pfailed < <(load "$s" "${paths[$i]}" profiled perf)
  printf '%-7s unprofiled: %6s QPS %6s µs/RPC (h2load %s%%, %s failed) | under perf: %6s QPS %6s µs/RPC (%s failed)\n' \
    "$s" "$qps" "$us" "$gen" "$failed" "$pqps" "$pus" "$pfailed"
  printf '{"qps":%s,"us_per_rpc":%s,"generator_cpu_percent":%s,"failed":%s,"perf_qps":%s,"perf_us_per_rpc":%s,"perf_failed":%s}\n' \
    "$qps" "$us" "$gen" "$failed" "$pqps" "$pus" "$pfailed" >"$OUT_DIR/$s.load.json"
  perf script -i "$OUT_DIR/$s.perf.data" -F period,ip,sym,dso --no-inline \
    >"$OUT_DIR/$s.script" 2>"$OUT_DIR/$s.script.err"
done
stop_server

# --- Attribution --------------------------------------------------------------------------------
python3 - "$OUT_DIR" "$TOP" "$PERF_WINDOW" "${scenarios[@]}" <<'EOF'
import collections, json, re, sys
out_dir, top_n, window, scenarios = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
BUCKETS = ["transport", "protobuf", "decision", "glue", "jwt", "malloc", "kernel", "other"]
LABEL = {
    "transport": "gRPC/HTTP/2 transport, completion queues, epoll (user space)",
    "protobuf": "protobuf parse/serialize (libprotobuf, generated messages)",
    "decision": "logoutd decision code (policy, URL, allow list)",
    "glue": "logoutd handler glue (logout::rpc, server, metrics)",
    "jwt": "JWT verification (libcrypto, base64, JSON)",
    "malloc": "malloc/free, operator new/delete",
    "kernel": "kernel (syscalls, epoll, TCP, scheduler)",
    "other": "other (rest of libc: memcpy, locks; libstdc++; unresolved)",
}
MALLOC = re.compile(r"^(malloc|free|cfree|__libc_(malloc|free|calloc|realloc)|_int_(malloc|free|realloc)|"
                    r"malloc_consolidate|tcache_\w+|calloc|realloc|unlink_chunk|operator new|operator delete|"
                    r"__GI___libc_free|__GI___libc_malloc|_int_free_merge_chunk|_int_free_create_chunk|"
                    r"_int_free_maybe_consolidate|sysmalloc|arena_get2|__default_morecore)")
PB_METHOD = re.compile(r"(_InternalParse|_InternalSerialize|ByteSizeLong|MergeFrom|MergeImpl|CopyFrom|"
                       r"Clear|SharedCtor|SharedDtor|ArenaDtor|IsInitialized|GetMetadata|GetClassData|"
                       r"::~|New\(|InternalSwap|_InternalParse)")

def bucket(sym, dso):
    base = dso.rsplit("/", 1)[-1]
    if base.startswith("[kernel") or base in ("[vdso]",):
        return "kernel"
    if base.startswith(("libgrpc", "libgpr", "libupb", "libabsl", "libaddress_sorting", "libre2", "libcares")):
        return "transport"
    if base.startswith("libprotobuf"):
        return "protobuf"
    if base.startswith(("libcrypto", "libssl")):
        return "jwt"
    if MALLOC.match(sym):
        return "malloc"
    if base.startswith(("libc.so", "libc-", "libstdc++", "libm.", "libgcc", "ld-linux")):
        return "other"
    # logoutd's own text (generated code and templates included)
    s = sym
    if s.startswith(("logout::jwt", "nlohmann")) or "logout::jwt" in s[:80]:
        return "jwt"
    if s.startswith(("logout::v1::", "grpc::health::v1::", "google::protobuf")):
        if "Service" in s or "Stub" in s:
            return "transport"
        return "protobuf"
    if s.startswith(("logout::policy", "logout::url", "logout::common")) or \
       re.search(r"logout::(policy|url|common)", s[:120]):
        return "decision"
    if s.startswith(("logout::rpc", "logout::server", "logout::metrics", "logout::slo", "logout::")) or \
       "logout::rpc" in s[:120]:
        return "glue"
    if "grpc::" in s[:120] or "grpc_" in s[:40]:
        return "transport"
    if s.startswith(("absl::",)):
        return "transport"
    if base.startswith("logoutd"):
        return "other"
    return "other"

KCATS = ["sendmsg", "recvmsg", "epoll_wait", "futex", "other syscalls, scheduler, interrupts", "vdso clock_gettime"]
def kcat(frames):
    """The kernel sample's syscall, from the libc wrapper or the frame under do_syscall_64."""
    if frames[0][1] == "[vdso]":
        return "vdso clock_gettime"
    names = [f[0] for f in frames]
    user = [f[0] for f in frames if "kernel" not in f[1]]
    ksyms = [f[0] for f in frames if "kernel" in f[1]]
    hay = " ".join(ksyms + user[:1])
    for k in ("sendmsg", "recvmsg", "epoll_wait", "futex"):
        if k in hay:
            return k
    return "other syscalls, scheduler, interrupts"

FRAME = re.compile(r"^\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$")
results = {}
md = []
for s in scenarios:
    load = json.load(open(f"{out_dir}/{s}.load.json"))
    leaf = collections.Counter(); caller = collections.Counter(); syms = collections.Counter()
    kern = collections.Counter()
    total = 0
    period = None; frames = []
    def flush():
        global total
        if period is None or not frames:
            return
        sym, dso = frames[0]
        b = bucket(sym, dso)
        leaf[b] += period
        if b == "kernel":
            kern[kcat(frames)] += period
        syms[(b, dso.rsplit("/", 1)[-1], sym)] += period
        cb = b
        if b in ("malloc", "kernel", "other"):
            for fs, fd in frames[1:]:
                fb = bucket(fs, fd)
                if fb not in ("malloc", "kernel", "other"):
                    cb = fb
                    break
        caller[cb] += period
        total += period
    for line in open(f"{out_dir}/{s}.script", errors="replace"):
        if not line.strip():
            flush(); period = None; frames = []
            continue
        m = FRAME.match(line)
        if line.startswith("\t") and m and period is not None:
            sym = re.sub(r"\+0x[0-9a-f]+$", "", m.group(2))
            frames.append((sym, m.group(3)))
        elif line.strip().split()[0].isdigit() and not line.startswith("\t"):
            flush()
            parts = line.split()
            period = int(parts[0]); frames = []
            if len(parts) > 1:  # no call graph: "PERIOD IP SYM (DSO)" on one line
                m2 = re.match(r"^\s*\d+\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$", line)
                if m2:
                    frames.append((re.sub(r"\+0x[0-9a-f]+$", "", m2.group(2)), m2.group(3)))
    flush()
    us = load["us_per_rpc"]
    res = {"load": load, "sampled_ms": total / 1e6,
           "leaf_percent": {b: 100.0 * leaf[b] / total for b in BUCKETS},
           "caller_percent": {b: 100.0 * caller[b] / total for b in BUCKETS}}
    res["leaf_us"] = {b: res["leaf_percent"][b] * us / 100 for b in BUCKETS}
    res["caller_us"] = {b: res["caller_percent"][b] * us / 100 for b in BUCKETS}
    res["kernel_us"] = {k: 100.0 * kern[k] / total * us / 100 for k in KCATS}
    # perf stat counts over the profiled window, per request (requests ~ profiled QPS x window).
    counts = {}
    try:
        for line in open(f"{out_dir}/{s}.stat.csv"):
            f = line.strip().split(",")
            if len(f) > 2 and f[0].replace(".", "").isdigit():
                counts[f[2].replace("syscalls:sys_enter_", "")] = float(f[0])
    except OSError:
        pass
    reqs = load["perf_qps"] * window
    res["per_rpc_counts"] = {k: (v / reqs if reqs else 0) for k, v in counts.items()}
    results[s] = res
    with open(f"{out_dir}/{s}.top.txt", "w") as f:
        for (b, dso, sym), p in syms.most_common(200):
            f.write(f"{100.0 * p / total:6.2f}%  {b:9s} {dso:28s} {sym[:140]}\n")
    print(f"\n== {s}: top {top_n} leaf symbols ({total / 1e6:.0f} ms sampled)")
    for (b, dso, sym), p in syms.most_common(top_n):
        print(f"{100.0 * p / total:6.2f}%  {b:9s} {dso[:26]:26s} {sym[:90]}")

names = {"health": "health `Check`", "nohint": "ValidateLogout, no hint", "rs256": "ValidateLogout, RS256 hint"}
def row(cells): return "| " + " | ".join(cells) + " |"
md.append("Server CPU by bucket, leaf frame (the function on the CPU): % of sampled server CPU, and µs per RPC (share × unprofiled µs/RPC)\n")
md.append(row(["bucket"] + [names[s] for s in scenarios]))
md.append(row(["---"] * (len(scenarios) + 1)))
md.append(row(["QPS (unprofiled / under perf)"] + [f"{results[s]['load']['qps']:,} / {results[s]['load']['perf_qps']:,}" for s in scenarios]))
md.append(row(["server µs/RPC (unprofiled / under perf)"] + [f"{results[s]['load']['us_per_rpc']} / {results[s]['load']['perf_us_per_rpc']}" for s in scenarios]))
for b in BUCKETS:
    md.append(row([LABEL[b]] + [f"{results[s]['leaf_percent'][b]:.1f} % · {results[s]['leaf_us'][b]:.1f} µs" for s in scenarios]))
md.append("")
md.append("Extra µs per RPC over the health Check, by bucket (leaf frame; in brackets: malloc, kernel and other charged to the nearest caller bucket)\n")
others = [s for s in scenarios if s != "health"]
md.append(row(["bucket"] + [names[s] for s in others]))
md.append(row(["---"] * (len(others) + 1)))
h = results["health"]
md.append(row(["total"] + [f"{results[s]['load']['us_per_rpc'] - h['load']['us_per_rpc']:+.1f} µs" for s in others]))
for b in BUCKETS:
    md.append(row([LABEL[b]] + [f"{results[s]['leaf_us'][b] - h['leaf_us'][b]:+.1f} µs (" + (f"{results[s]['caller_us'][b] - h['caller_us'][b]:+.1f}" if b in BUCKETS[:5] else "—") + ")" for s in others]))
md.append("")
md.append("Caller attribution (malloc/free, kernel and other charged to the nearest logoutd/gRPC/protobuf/JWT frame up the stack): µs per RPC\n")
md.append(row(["bucket"] + [names[s] for s in scenarios]))
md.append(row(["---"] * (len(scenarios) + 1)))
for b in BUCKETS[:5]:
    md.append(row([LABEL[b]] + [f"{results[s]['caller_percent'][b]:.1f} % · {results[s]['caller_us'][b]:.1f} µs" for s in scenarios]))
md.append(row(["left in malloc/kernel/other (no bucketed caller frame)"] + [
    f"{sum(results[s]['caller_percent'][b] for b in BUCKETS[5:]):.1f} % · {sum(results[s]['caller_us'][b] for b in BUCKETS[5:]):.1f} µs" for s in scenarios]))
md.append("")
md.append("Kernel time by syscall (leaf in the kernel; sendmsg on loopback includes delivering the bytes to h2load's socket), µs per RPC\n")
md.append(row(["kernel"] + [names[s] for s in scenarios]))
md.append(row(["---"] * (len(scenarios) + 1)))
for k in KCATS:
    md.append(row([k] + [f"{results[s]['kernel_us'][k]:.1f} µs" for s in scenarios]))
md.append("")
md.append("Per RPC, counted by `perf stat` over the profiled window (syscall entries and context switches of logoutd's threads)\n")
md.append(row(["per RPC"] + [names[s] for s in scenarios]))
md.append(row(["---"] * (len(scenarios) + 1)))
for k in ["sendmsg", "recvmsg", "epoll_wait", "futex", "write", "context-switches"]:
    md.append(row([k] + [f"{results[s]['per_rpc_counts'].get(k, 0):.3f}" for s in scenarios]))
text = "\n".join(md) + "\n"
open(f"{out_dir}/attribution.md", "w").write(text)
json.dump(results, open(f"{out_dir}/attribution.json", "w"), indent=1)
print("\n" + text)
print(f"attribution: {out_dir}/attribution.md, {out_dir}/attribution.json (perf.data and top symbols per scenario in {out_dir}/)")
EOF
