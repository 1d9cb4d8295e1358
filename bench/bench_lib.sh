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
