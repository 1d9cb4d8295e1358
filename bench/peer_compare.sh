#!/usr/bin/env bash
# The peer, side by side in one run: node-oidc-provider's end_session and logoutd's
# ValidateLogout, each alone on the same core, driven by h2load on another core with the same
# RS256 id_token_hint, and their rates per core-second compared.
#
#   bash bench/peer_compare.sh
#   DURATION=3 WARMUP=1 bash bench/peer_compare.sh          # a short run
#
# 1. bench/peer/ (npm: oidc-provider 9.13.3 and jose, pinned in its package-lock.json; `npm ci`
#    is run there when node_modules is missing) makes a fresh RSA-2048 key, the logoutd policy of
#    the same shape (bench/peer/shape.mjs: 1,000 clients c0000..c0999 with 20 exact post-logout
#    URIs each, RS256) and one hint: iss = the provider's issuer (also the logoutd tenant's
#    issuer, so both systems get the very same token), aud = c0500, sid, sub, iat, exp.
# 2. The provider (bench/peer/provider.mjs, one node process) runs pinned to SERVER_CPU. With
#    SESSION=1 (the default) it stores a signed-in session (the hint's sub and sid) and every
#    request carries its signed cookie, as from the browser that is logging out; SESSION=0 sends
#    no cookie (the provider then makes and stores a new session per request). Checked with curl
#    first: the benchmark GET answers 200 with the logout confirmation page (SESSION=0: the
#    auto-submitting form), an unregistered post_logout_redirect_uri and a hint with one
#    signature character changed answer 400. Then h2load --h1 drives
#      GET /session/end?id_token_hint=H&post_logout_redirect_uri=https://app-500.example.com/bye/19&client_id=c0500
#    over CONNECTIONS HTTP/1.1 keep-alive connections (one request in flight on each). Every
#    response must be 2xx, or the run is INVALID.
# 3. The provider is stopped; logoutd (--store=file, read-only policy) runs pinned to the same
#    CPU. Checked with curl first: ValidateLogout (tenant "peer", ENDPOINT_OIDC_LOGOUT, raw query
#    id_token_hint=H&post_logout_redirect_uri=...&client_id=c0500, with SESSION=1 session_id =
#    the hint's sid, the web tier's current session) answers grpc-status 0 and DECISION_ALLOW
#    with the client taken from the hint, and the same two bad requests DECISION_DENY. Then
#    h2load sends that framed request over GRPC_CONNECTIONS HTTP/2 connections with STREAMS in
#    flight (h2load cannot see grpc-status; the check above is what makes the 200s meaningful).
#
# Measured for each system over a window inside h2load's timed phase (after WARMUP): the
# server's CPU time (utime + stime of all its threads, /proc/PID/stat), h2load's own CPU time,
# how busy SERVER_CPU was, and so how much of it went to anything but the server (other load on a
# shared machine; irq/softirq time lands in the server's stime when it interrupted the server, as
# without CONFIG_IRQ_TIME_ACCOUNTING, and in "other" when it interrupted something else).
# Server CPU µs per request = server CPU utilisation / requests per second; requests per
# core-second = 1e6 / that. The ratio logoutd / provider per core is what the performance issue
# targets (>= 7x); a run whose generator used more than MAX_GENERATOR_CPU % of its core is
# INVALID (a saturated generator measures itself).
#
# Environment: DURATION (s, default 10), WARMUP (s, 2), CONNECTIONS (provider HTTP/1.1
# connections, 16), GRPC_CONNECTIONS (logoutd HTTP/2 connections, 1), STREAMS (gRPC streams in
# flight per connection, 64), SERVER_CPU (0), GEN_CPU (1), MAX_GENERATOR_CPU (85), SESSION (1),
# MATCHING (logoutd tenant redirect_matching: REDIRECT_MATCHING_EXACT, the default, compares
# bytes like oidc-provider; REDIRECT_MATCHING_AUTH0 parses the target), LOGOUTD
# (build-bench/service/logoutd), OUT_DIR (build-bench/peer-run: keys, policy, hint, requests,
# h2load output, server logs and peer_compare.json).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-10}
duration=${duration%s}
warmup=${WARMUP:-2}
warmup=${warmup%s}
connections=${CONNECTIONS:-16}
grpc_connections=${GRPC_CONNECTIONS:-1}
streams=${STREAMS:-64}
server_cpu=${SERVER_CPU:-0}
gen_cpu=${GEN_CPU:-1}
max_gen=${MAX_GENERATOR_CPU:-85}
matching=${MATCHING:-REDIRECT_MATCHING_EXACT}
session=${SESSION:-1}
logoutd=${LOGOUTD:-build-bench/service/logoutd}
out=${OUT_DIR:-build-bench/peer-run}
peer=bench/peer

die() { echo "peer_compare: $*" >&2; exit 1; }
for tool in node npm h2load curl protoc perl taskset awk; do
  command -v "$tool" >/dev/null || die "$tool is missing"
done
[[ -x $logoutd ]] || die "$logoutd is missing (a Release build: scripts/bench.sh builds build-bench/)"
[[ $duration =~ ^[0-9]+$ && $duration -ge 2 ]] || die "DURATION must be whole seconds >= 2"
[[ $warmup =~ ^[0-9]+$ && $warmup -ge 1 ]] || die "WARMUP must be whole seconds >= 1"
(($(nproc) >= 2)) || die "needs two cores (server and generator each on its own)"
[[ $server_cpu != "$gen_cpu" ]] || die "SERVER_CPU and GEN_CPU must differ"
[[ $session == 0 || $session == 1 ]] || die "SESSION must be 0 or 1"

if [[ ! -d $peer/node_modules/oidc-provider || ! -d $peer/node_modules/jose ]]; then
  echo "peer_compare: installing $peer's pinned dependencies (npm ci)" >&2
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
run=$(mktemp -d "$out/run.XXXXXX")

server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port below the ephemeral range (no race with outgoing connections), never the
# same one twice in this run.
used_ports=" "
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    [[ $used_ports == *" $p "* ]] && continue
    if ! ss -Htln "sport = :$p" | grep -q .; then
      used_ports+="$p "
      echo "$p"
      return
    fi
  done
  die "no free port"
}
wait_port() {  # PORT PID: until something listens on 127.0.0.1:PORT (10 s), or PID died
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || return 1
    ss -Htln "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

ticks=$(getconf CLK_TCK)
proc_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Busy ticks of one CPU: user nice system irq softirq steal (idle and iowait excluded).
cpu_busy() { awk -v c="cpu$1" '$1 == c {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }
now_ns() { date +%s%N; }

# encode NAME TEXTPROTO: $run/NAME.bin, a framed logout.v1.ValidateLogoutRequest.
encode() {
  printf '%s' "$2" | protoc -I proto --encode=logout.v1.ValidateLogoutRequest \
    proto/logout/v1/logout.proto >"$run/$1.body"
  perl -e 'open my $f, "<", $ARGV[0] or die; binmode $f; local $/; my $b = <$f>;
           binmode STDOUT; print pack("CN", 0, length $b), $b' "$run/$1.body" >"$run/$1.bin"
}
# grpc_check NAME PORT EXPECT: one ValidateLogout with curl; grpc-status 0 and EXPECT in the
# decoded answer.
grpc_check() {
  curl -s --http2-prior-knowledge --max-time 5 -D "$run/$1.headers" -o "$run/$1.response" \
    --data-binary @"$run/$1.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$2/logout.v1.LogoutPolicy/ValidateLogout" || true
  grep -q '^grpc-status: 0' "$run/$1.headers" || {
    cat "$run/$1.headers" >&2
    die "logoutd: $1: not grpc-status 0"
  }
  tail -c +6 "$run/$1.response" | protoc -I proto --decode=logout.v1.ValidateLogoutResponse \
    proto/logout/v1/logout.proto >"$run/$1.decoded"
  grep -q "$3" "$run/$1.decoded" || {
    cat "$run/$1.decoded" >&2
    die "logoutd: $1: the answer lacks '$3'"
  }
}
# http_check NAME URL STATUS [BODY_PATTERN]: one GET with curl (and the session cookie).
http_check() {
  local code
  code=$(curl -s --max-time 5 "${cookie_header[@]}" -o "$run/$1.response" -w '%{http_code}' "$2" || true)
  [[ $code == "$3" ]] || {
    head -c 600 "$run/$1.response" >&2
    echo >&2
    die "provider: $1: HTTP $code, expected $3"
  }
  if [[ -n ${4:-} ]] && ! grep -q "$4" "$run/$1.response"; then
    head -c 600 "$run/$1.response" >&2
    echo >&2
    die "provider: $1: the page lacks '$4'"
  fi
}

# measure NAME H2LOAD_ARGS...: runs h2load on GEN_CPU against $server_pid and writes
# $run/NAME.result: "rps cpu_us gen_pct server_pct core_busy_pct other_pct done non2xx failed".
measure() {
  local name=$1
  shift
  taskset -c "$gen_cpu" h2load -D "$duration" --warm-up-time="$warmup" -t 1 "$@" \
    >"$run/$name.h2load" 2>&1 &
  local gen_pid=$!
  # The window: from a quarter second after the warm-up to a quarter second before the end,
  # inside h2load's timed phase (connection setup takes milliseconds on loopback).
  sleep "$warmup.25"
  local s0 g0 c0 t0 s1 g1 c1 t1
  s0=$(proc_ticks "$server_pid") g0=$(proc_ticks "$gen_pid") c0=$(cpu_busy "$server_cpu") t0=$(now_ns)
  sleep "$(awk -v d="$duration" 'BEGIN {print d - 0.5}')"
  s1=$(proc_ticks "$server_pid") g1=$(proc_ticks "$gen_pid") c1=$(cpu_busy "$server_cpu") t1=$(now_ns)
  wait "$gen_pid" || die "$name: h2load failed: $(tail -n 5 "$run/$name.h2load")"
  awk -v s="$((s1 - s0))" -v g="$((g1 - g0))" -v c="$((c1 - c0))" -v w="$((t1 - t0))" \
    -v hz="$ticks" '
    /^finished in/ { gsub(",", "", $4); rps = $4 }
    /^requests:/ { done = $6; failed = $10 + $12 + $14 }
    /^status codes:/ { ok = $3 }
    END {
      sec = w / 1e9
      server = s / hz / sec; gen = g / hz / sec; busy = c / hz / sec; other = (c - s) / hz / sec
      if (other < 0) other = 0
      printf "%.1f %.1f %.0f %.0f %.0f %.0f %d %d %d\n", rps, (rps > 0 ? server * 1e6 / rps : 0),
        gen * 100, server * 100, busy * 100, other * 100, done, done - ok, failed
    }' "$run/$name.h2load" >"$run/$name.result"
}

provider_port=$(free_port)
logoutd_port=$(free_port)
health_port=$(free_port)
issuer="http://127.0.0.1:$provider_port"
client=c0500
target=https://app-500.example.com/bye/19
bad_target=https://app-500.example.com/bye/20
enc() { node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$1"; }
target_q=$(enc "$target")
bad_target_q=$(enc "$bad_target")

node "$peer/keygen.mjs" --out="$run"
node "$peer/logoutd_policy.mjs" --jwks="$run/jwks.json" --issuer="$issuer" \
  --out="$run/policy.json" --tenant=peer --matching="$matching"
node "$peer/mint_hint.mjs" --key="$run/private.jwk.json" --iss="$issuer" --aud="$client" \
  >"$run/hint.txt"
hint=$(<"$run/hint.txt")
sid=$(node -e 'const p = process.argv[1].split(".")[1];
  process.stdout.write(JSON.parse(Buffer.from(p, "base64url")).sid)' "$hint")
# One character in the middle of the signature changed (not the last one, whose low bits a
# lenient base64url decoder may ignore).
tampered=$(node -e 'const [h, p, s] = process.argv[1].split("."); const i = s.length >> 1;
  process.stdout.write([h, p, s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1)].join("."))' "$hint")

echo "peer_compare: run directory $run" >&2

# --- node-oidc-provider -----------------------------------------------------------------------
provider_flags=(--key="$run/private.jwk.json" --port="$provider_port")
page='Yes, sign me out'  # provider.mjs's logoutSource, the confirmation page of a signed-in session
if ((session)); then
  provider_flags+=(--session_cookie="$run/cookie.txt")
else
  page='session/end/confirm'  # the auto-submitting form
fi
taskset -c "$server_cpu" node "$peer/provider.mjs" "${provider_flags[@]}" >"$run/provider.log" 2>&1 &
server_pid=$!
wait_port "$provider_port" "$server_pid" || { cat "$run/provider.log" >&2; die "the provider did not start"; }
cookie_header=()
if ((session)); then cookie_header=(-H "cookie: $(<"$run/cookie.txt")"); fi
provider_version=$(node -p 'require("./'"$peer"'/node_modules/oidc-provider/package.json").version')
url="$issuer/session/end?id_token_hint=$hint&post_logout_redirect_uri=$target_q&client_id=$client"
http_check provider_allow "$url" 200 "$page"
http_check provider_bad_uri \
  "$issuer/session/end?id_token_hint=$hint&post_logout_redirect_uri=$bad_target_q&client_id=$client" 400 \
  'post_logout_redirect_uri not registered'
http_check provider_tampered \
  "$issuer/session/end?id_token_hint=$tampered&post_logout_redirect_uri=$target_q&client_id=$client" 400 \
  'could not validate id_token_hint'
measure provider --h1 -c "$connections" "${cookie_header[@]}" "$url"
provider_rss=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
cleanup
server_pid=

# --- logoutd ----------------------------------------------------------------------------------
flags=(--store=file --policy="$run/policy.json" --listen="127.0.0.1:$logoutd_port"
  --health_listen="127.0.0.1:$health_port" --drain_delay=0s --shutdown_grace=1s)
if "$logoutd" --help 2>&1 | grep -q -- '--decision_log_sample_rate'; then
  flags+=(--decision_log_sample_rate=0)
fi
taskset -c "$server_cpu" "$logoutd" "${flags[@]}" >"$run/logoutd.log" 2>&1 &
server_pid=$!
wait_port "$logoutd_port" "$server_pid" || { cat "$run/logoutd.log" >&2; die "logoutd did not start"; }
session_field=
if ((session)); then session_field="session_id: \"$sid\" "; fi
request() {  # raw query -> textproto of the benchmark's ValidateLogoutRequest
  printf 'tenant: "peer" endpoint: ENDPOINT_OIDC_LOGOUT http_method: HTTP_METHOD_GET %sraw_query: "%s"' \
    "$session_field" "$1"
}
encode allow "$(request "id_token_hint=$hint&post_logout_redirect_uri=$target_q&client_id=$client")"
encode bad_uri "$(request "id_token_hint=$hint&post_logout_redirect_uri=$bad_target_q&client_id=$client")"
encode tampered "$(request "id_token_hint=$tampered&post_logout_redirect_uri=$target_q&client_id=$client")"
# A fresh server may answer UNAVAILABLE until its policy is loaded: retry the first check.
for _ in $(seq 50); do
  (grpc_check allow "$logoutd_port" 'decision: DECISION_ALLOW' 2>/dev/null) && break
  sleep 0.1
done
grpc_check allow "$logoutd_port" 'decision: DECISION_ALLOW'
grep -q 'client_source: CLIENT_SOURCE_ID_TOKEN_HINT' "$run/allow.decoded" ||
  die "logoutd: the client did not come from the verified hint: $(cat "$run/allow.decoded")"
grpc_check bad_uri "$logoutd_port" 'decision: DECISION_DENY'
grpc_check tampered "$logoutd_port" 'reason_code: "id_token_hint_invalid"'
measure logoutd -c "$grpc_connections" -m "$streams" --data="$run/allow.bin" \
  -H 'content-type: application/grpc' -H 'te: trailers' \
  "http://127.0.0.1:$logoutd_port/logout.v1.LogoutPolicy/ValidateLogout"
logoutd_rss=$(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status")
cleanup
server_pid=

# --- report -----------------------------------------------------------------------------------
read -r p_rps p_us p_gen p_srv p_busy p_other p_done p_bad p_failed <"$run/provider.result"
read -r l_rps l_us l_gen l_srv l_busy l_other l_done l_bad l_failed <"$run/logoutd.result"
verdict() {  # GEN_PCT NON2XX FAILED DONE
  if (($4 == 0)); then echo "INVALID: no request completed"
  elif (($1 > max_gen)); then echo "INVALID: generator at $1% of its core (> $max_gen%)"
  elif (($2 + $3 > 0)); then echo "INVALID: $2 non-2xx and $3 failed responses"
  else echo ok; fi
}
p_verdict=$(verdict "$p_gen" "$p_bad" "$p_failed" "$p_done")
l_verdict=$(verdict "$l_gen" "$l_bad" "$l_failed" "$l_done")
per_core() { awk -v u="$1" 'BEGIN {printf "%.0f", (u > 0 ? 1e6 / u : 0)}'; }
p_core=$(per_core "$p_us")
l_core=$(per_core "$l_us")
ratio=$(awk -v a="$l_core" -v b="$p_core" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
rate_ratio=$(awk -v a="$l_rps" -v b="$p_rps" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
if [[ $p_verdict != ok || $l_verdict != ok ]]; then
  goal="INVALID run"
else
  goal=$(awk -v r="$ratio" 'BEGIN {print (r >= 7 ? "target >= 7x: MET" : "target >= 7x: NOT MET")}')
fi

printf '\n== peer comparison: %ss after %ss warm-up, servers on CPU %s, h2load %s on CPU %s\n' \
  "$duration" "$warmup" "$server_cpu" "$(h2load --version | sed -n '1s/^h2load //p')" "$gen_cpu"
printf 'request: RS256 id_token_hint (aud %s, kid %s), post_logout_redirect_uri %s (20th of 20), client_id; 1,000 clients x 20 URIs\n' \
  "$client" "$(node -p 'require(process.argv[1]).kid' "$run/private.jwk.json")" "$target"
printf '%-22s %8s %13s %12s %10s %9s %6s %10s  %s\n' system 'req/s' 'server µs/req' \
  'req/core-s' 'server CPU' 'core busy' 'other' 'h2load CPU' verdict
row() { printf '%-22s %8.0f %13s %12s %9s%% %8s%% %5s%% %9s%%  %s\n' "$@"; }
row "oidc-provider $provider_version" "$p_rps" "$p_us" "$p_core" "$p_srv" "$p_busy" "$p_other" "$p_gen" "$p_verdict"
row "logoutd" "$l_rps" "$l_us" "$l_core" "$l_srv" "$l_busy" "$l_other" "$l_gen" "$l_verdict"
printf 'logoutd / oidc-provider: %sx per core (%sx in req/s) — %s\n' "$ratio" "$rate_ratio" "$goal"
printf 'session: %s; provider: node %s, HTTP/1.1, %s connections; logoutd: HTTP/2 gRPC, %s connection(s) x %s streams; peak RSS provider %s KiB, logoutd %s KiB\n' \
  "$([[ $session == 1 ]] && echo "signed in (provider cookie, logoutd session_id)" || echo none)" \
  "$(node --version)" "$connections" "$grpc_connections" "$streams" "$provider_rss" "$logoutd_rss"
echo "server CPU: the server's threads' time on CPU $server_cpu in the timed window; core busy: all of that core's busy time; other: busy minus server (other load on a shared machine); logoutd's tenant uses $matching"

cat >"$out/peer_compare.json" <<JSON
{"duration_s":$duration,"warmup_s":$warmup,"session":$session,"run_dir":"$run",
 "provider":{"version":"$provider_version","rps":$p_rps,"server_cpu_us_per_request":$p_us,"requests_per_core_second":$p_core,"server_cpu_percent":$p_srv,"core_busy_percent":$p_busy,"other_cpu_percent":$p_other,"generator_cpu_percent":$p_gen,"done":$p_done,"non_2xx":$p_bad,"failed":$p_failed,"verdict":"$p_verdict"},
 "logoutd":{"matching":"$matching","rps":$l_rps,"server_cpu_us_per_request":$l_us,"requests_per_core_second":$l_core,"server_cpu_percent":$l_srv,"core_busy_percent":$l_busy,"other_cpu_percent":$l_other,"generator_cpu_percent":$l_gen,"done":$l_done,"non_2xx":$l_bad,"failed":$l_failed,"verdict":"$l_verdict"},
 "ratio_per_core":$ratio,"ratio_rps":$rate_ratio,"target":"$goal"}
JSON
echo "peer_compare: $out/peer_compare.json (requests, h2load output and server logs in $run/)"
