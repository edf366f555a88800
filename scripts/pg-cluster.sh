# pg-cluster.sh: a throwaway PostgreSQL cluster for the benchmark scripts (sourced, not run).
#   source scripts/pg-cluster.sh; pg_start DIR; ... "$PG_URL" ...; pg_stop
# pg_start DIR: initdb into DIR/data (as the `postgres` OS user when we are root: Postgres refuses
#   root), starts `postgres` on a free loopback port with its socket in DIR, creates the database
#   `kotadb` and sets PG_URL=postgres://postgres@127.0.0.1:PORT/kotadb, PG_ADMIN_URL (database
#   postgres), PG_PSQL (psql with the right binary) and PG_SETTINGS (what differs from the defaults).
# Durability: the defaults (fsync on, synchronous_commit on, full_page_writes on), as a real
#   deployment runs; PG_FAST=1 turns fsync, synchronous_commit and full_page_writes off (as the
#   tests' cluster does): publish such numbers only labelled as such.
# Env: KOTADB_PG_BIN (directory of initdb/postgres/psql; default /usr/lib/postgresql/15/bin, else
#   the newest /usr/lib/postgresql/*/bin), PG_SHARED_BUFFERS (default 128MB, Postgres's default).
pg_start() {
  local dir=$1 bin=${KOTADB_PG_BIN:-}
  if [ -z "$bin" ]; then
    bin=/usr/lib/postgresql/15/bin
    [ -x "$bin/initdb" ] || bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  fi
  [ -x "$bin/initdb" ] && [ -x "$bin/postgres" ] || { echo "pg-cluster: no initdb/postgres (install postgresql-15 or set KOTADB_PG_BIN)" >&2; return 1; }
  PG_BIN=$bin; PG_DIR=$dir
  mkdir -p "$dir"; chmod 700 "$dir"
  local as=()
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; as=(runuser -u postgres --); fi
  PG_AS=("${as[@]}")
  (cd "$dir" && HOME=$dir "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1) \
    || { cat "$dir/initdb.log" >&2; return 1; }
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local opts=(-c listen_addresses=127.0.0.1 -c max_connections=200 -c "shared_buffers=${PG_SHARED_BUFFERS:-128MB}" -c log_min_messages=warning)
  PG_SETTINGS="shared_buffers=${PG_SHARED_BUFFERS:-128MB}, max_connections=200, durability defaults (fsync, synchronous_commit, full_page_writes on)"
  if [ "${PG_FAST:-}" = 1 ]; then
    opts+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
    PG_SETTINGS="shared_buffers=${PG_SHARED_BUFFERS:-128MB}, max_connections=200, fsync=off, synchronous_commit=off, full_page_writes=off (NOT durable)"
  fi
  (cd "$dir" && HOME=$dir "${as[@]}" "$bin/postgres" -D "$dir/data" -p "$PG_PORT" -k "$dir" "${opts[@]}" \
     </dev/null >"$dir/postgres.log" 2>&1 & echo $! >"$dir/pid")
  PG_PID=$(cat "$dir/pid")   # runuser's, until the postmaster has written its own
  PG_PSQL=("$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres)
  for _ in $(seq 1 300); do
    "${PG_PSQL[@]}" -d postgres -c 'select 1' >/dev/null 2>&1 && break
    kill -0 "$PG_PID" 2>/dev/null || { cat "$dir/postgres.log" >&2; return 1; }
    sleep 0.1
  done
  PG_PID=$(head -1 "$dir/data/postmaster.pid")
  "${PG_PSQL[@]}" -d postgres -c 'CREATE DATABASE kotadb' >/dev/null
  PG_ADMIN_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/kotadb"
  PG_VERSION=$("$bin/postgres" --version | awk '{print $3}')
}

# pg_recreate_db: drops and creates the database `kotadb` (a fresh, empty database at PG_URL).
pg_recreate_db() {
  "${PG_PSQL[@]}" -d postgres -c 'DROP DATABASE IF EXISTS kotadb WITH (FORCE)' -c 'CREATE DATABASE kotadb' >/dev/null
}

pg_stop() {
  [ -n "${PG_PID:-}" ] || return 0
  if kill -0 "$PG_PID" 2>/dev/null; then
    kill -INT "$PG_PID" 2>/dev/null || true   # fast shutdown
    for _ in $(seq 1 100); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  PG_PID=
}
