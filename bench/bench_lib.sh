# Shell pieces shared by the benchmark scripts (sourced, not run): a free port, and one
# throw-away PostgreSQL server per run (Debian's postgresql; as user `postgres` when root).
#
#   source bench/bench_lib.sh
#   port=$(pick_port)
#   pg_start scale "PostgreSQL rows skipped"   # sets pg_port / pg_bin / as_pg, or pg_skip
#   ... "${as_pg[@]}" "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres db ...
#   pg_stop                                     # in the script's cleanup
#
# pg_start reads PG_BINDIR (newest /usr/lib/postgresql/*/bin), PG_OPTS (extra -c settings) and
# OUT_DIR (initdb.log and postgres.log go there).

# pick_port: a port in 20000-30000 nothing listens on.
pick_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 10001))
    if [[ -z $(ss -ltnH "sport = :$p") ]]; then echo "$p"; return 0; fi
  done
  return 1
}

pg_port='' pg_skip='' pg_bin='' pg_dir='' pg_ctl='' as_pg=()

# pg_start NAME WHAT: starts the server (data, socket and log in a fresh directory under /tmp,
# which the postgres user can reach and where the socket path stays short); on failure sets
# pg_skip to "WHAT: why" and prints it.
pg_start() {
  local name=$1 what=$2
  pg_bin=${PG_BINDIR:-$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n1)}
  if [[ -z $pg_bin || ! -x $pg_bin/initdb || ! -x $pg_bin/pg_ctl ]]; then
    pg_skip="$what: no initdb/pg_ctl under ${pg_bin:-/usr/lib/postgresql/*/bin} (Debian package postgresql; scripts/setup.sh)"
  elif [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
    pg_skip="$what: running as root and there is no 'postgres' user to run the server"
  else
    [[ $(id -u) -eq 0 ]] && as_pg=(runuser -u postgres --)
    pg_ctl=$pg_bin/pg_ctl
    pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/logoutd-$name-pg.XXXXXX")
    [[ $(id -u) -eq 0 ]] && chown postgres "$pg_dir"
    chmod 700 "$pg_dir"
    pg_port=$(pick_port)
    echo "== PostgreSQL ($pg_bin) on 127.0.0.1:$pg_port, data in $pg_dir"
    if ! "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 \
           --locale=C >"$OUT_DIR/initdb.log" 2>&1; then
      pg_skip="$what: initdb failed (see $OUT_DIR/initdb.log)"
    elif ! "${as_pg[@]}" "$pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -t 60 \
             -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 ${PG_OPTS:-}" start >/dev/null; then
      cp "$pg_dir/log" "$OUT_DIR/postgres.log" 2>/dev/null || true
      pg_skip="$what: the server did not start (see $OUT_DIR/postgres.log)"
    fi
  fi
  [[ -n $pg_skip ]] && echo "$pg_skip" >&2
  return 0
}

# pg_stop: stops the server pg_start started (if any), keeps its log in OUT_DIR, removes it.
pg_stop() {
  if [[ -n $pg_dir ]]; then
    "${as_pg[@]}" "$pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    cp "$pg_dir/log" "$OUT_DIR/postgres.log" 2>/dev/null || true
    rm -rf "$pg_dir"
    pg_dir=''
  fi
}

# stop_server: stops the process in $server_pid (TERM, then KILL after 5 s) and clears it.
stop_server() {
  if [[ -n ${server_pid:-} ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}

# wait_server_port LOG: waits up to 10 s for the logoutd in $server_pid to log the port it
# listens on into LOG, and sets `port`; prints LOG and exits 1 when it does not.
wait_server_port() {
  port=
  for _ in $(seq 100); do
    port=$(grep -o '"port":[0-9]*' "$1" | head -n1 | cut -d: -f2 || true)
    [[ -n $port ]] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "logoutd did not start:" >&2
  cat "$1" >&2
  exit 1
}

# bench_requests DIR PORT POLICY_JSON [HINT_FILE]: the h2load benchmark requests as gRPC-framed
# bodies DIR/NAME.bin — health (grpc.health.v1 Check), nohint (ValidateLogout of client "app"
# to its first exact allowed URL in POLICY_JSON, tenant "bench") and, with HINT_FILE, rs256
# (ValidateLogout on the OIDC endpoint with that id_token_hint) — each sent once to the server
# on PORT with curl and its answer checked (returns 1, saying why, when one is wrong). Sets
# `scenarios` and `paths` (their gRPC methods), in that order.
bench_requests() {
  local dir=$1 port=$2 policy=$3 hint_file=${4:-}
  local entry encoded_entry
  entry=$(jq -r 'first(.tenants[0].clients[] | select(.clientId == "app") | .allowedLogoutUrls[]
                       | select(contains("*") | not))' "$policy")
  encoded_entry=$(jq -rn --arg u "$entry" '$u | @uri')
  _grpc_encode "$dir" health proto/grpc/health/v1/health.proto grpc.health.v1.HealthCheckRequest ''
  _grpc_check "$dir" "$port" health /grpc.health.v1.Health/Check \
    grpc.health.v1.HealthCheckResponse proto/grpc/health/v1/health.proto 'status: SERVING' || return 1
  _grpc_encode "$dir" nohint proto/logout/v1/logout.proto logout.v1.ValidateLogoutRequest \
    "tenant: \"bench\" endpoint: ENDPOINT_V2_LOGOUT http_method: HTTP_METHOD_GET raw_query: \"client_id=app&returnTo=$encoded_entry\""
  _grpc_check "$dir" "$port" nohint /logout.v1.LogoutPolicy/ValidateLogout \
    logout.v1.ValidateLogoutResponse proto/logout/v1/logout.proto 'decision: DECISION_ALLOW' || return 1
  scenarios=(health nohint)
  paths=(/grpc.health.v1.Health/Check /logout.v1.LogoutPolicy/ValidateLogout)
  if [[ -n $hint_file ]]; then
    _grpc_encode "$dir" rs256 proto/logout/v1/logout.proto logout.v1.ValidateLogoutRequest \
      "tenant: \"bench\" endpoint: ENDPOINT_OIDC_LOGOUT http_method: HTTP_METHOD_GET session_id: \"sid-bench-7yW9Fj3lXyQ0ch8u\" raw_query: \"id_token_hint=$(cat "$hint_file")&post_logout_redirect_uri=https%3A%2F%2Fapp.bench.example.com%2Fsigned-out&state=af0ifjsldkj\""
    _grpc_check "$dir" "$port" rs256 /logout.v1.LogoutPolicy/ValidateLogout \
      logout.v1.ValidateLogoutResponse proto/logout/v1/logout.proto 'decision: DECISION_ALLOW' || return 1
    scenarios+=(rs256)
    paths+=(/logout.v1.LogoutPolicy/ValidateLogout)
  fi
}

# _grpc_encode DIR NAME PROTO TYPE TEXT: TEXT (text format) as a gRPC-framed DIR/NAME.bin.
_grpc_encode() {
  printf '%s' "$5" | protoc -I proto --encode="$4" "$3" >"$1/$2.body"
  perl -e 'open my $f, "<", $ARGV[0] or die; binmode $f; local $/; my $b = <$f>;
           binmode STDOUT; print pack("CN", 0, length $b), $b' "$1/$2.body" >"$1/$2.bin"
}

# _grpc_check DIR PORT NAME PATH RESPONSE_TYPE PROTO EXPECT: posts DIR/NAME.bin to PATH and
# checks grpc-status 0 and that the decoded answer contains EXPECT.
_grpc_check() {
  local dir=$1 port=$2 name=$3
  curl -s --http2-prior-knowledge --max-time 5 -D "$dir/$name.headers" -o "$dir/$name.response" \
    --data-binary @"$dir/$name.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$port$4"
  if ! grep -q '^grpc-status: 0' "$dir/$name.headers"; then
    echo "bench: $name: not grpc-status 0:" >&2
    cat "$dir/$name.headers" >&2
    return 1
  fi
  tail -c +6 "$dir/$name.response" | protoc -I proto --decode="$5" "$6" >"$dir/$name.decoded"
  if ! grep -q "$7" "$dir/$name.decoded"; then
    echo "bench: $name: the answer lacks '$7':" >&2
    cat "$dir/$name.decoded" >&2
    return 1
  fi
}

# build_logoutd NAME: builds logoutd in BUILD_DIR (Release) unless LOGOUTD or SKIP_BUILD is set,
# then sets LOGOUTD (default BUILD_DIR/service/logoutd) and exits when it is not executable.
build_logoutd() {
  if [[ -z ${LOGOUTD:-} && -z ${SKIP_BUILD:-} ]]; then
    echo "== build logoutd ($BUILD_DIR, Release)"
    if [[ ! -f $BUILD_DIR/build.ninja ]]; then
      cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    cmake --build "$BUILD_DIR" -j "${JOBS:-2}" --target logoutd
  fi
  LOGOUTD=${LOGOUTD:-$BUILD_DIR/service/logoutd}
  [[ -x $LOGOUTD ]] || { echo "$1: $LOGOUTD is not an executable (build it or set LOGOUTD)" >&2; exit 1; }
}

# stop_driver_and_pids PATTERN: stops the process in $driver_pid (TERM, KILL after 10 s), then
# kills every pid listed in $pid_file whose command line still matches PATTERN (an extended
# regex: a pid may have been reused since) and empties the file.
stop_driver_and_pids() {
  if [[ -n ${driver_pid:-} ]] && kill -0 "$driver_pid" 2>/dev/null; then
    kill -TERM "$driver_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$driver_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$driver_pid" 2>/dev/null || true
  fi
  driver_pid=''
  if [[ -s $pid_file ]]; then
    while read -r pid; do
      if grep -qaE "$1" "/proc/$pid/cmdline" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    done <"$pid_file"
    : >"$pid_file"
  fi
}
