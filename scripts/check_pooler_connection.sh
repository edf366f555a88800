#!/usr/bin/env bash
# check_pooler_connection.sh [--env-file FILE]
# Checks the DATABASE_URL KotaDB will use: connects with psql (`select 1`, 10 s timeout)
# and says which kind of Supabase endpoint it is:
#   port 6543            the transaction pooler (Supavisor transaction mode): fine for
#                        queries, but it cannot carry LISTEN/NOTIFY or session state, so
#                        key revocations reach other instances only after
#                        KOTADB_KEY_CACHE_TTL_SECS and the job workers fall back to polling;
#   *.pooler.supabase.com:5432  the session pooler: LISTEN/NOTIFY works;
#   anything else        a direct connection (what migrations should use).
# DATABASE_URL comes from the environment, else from the env file (default .env; only the
# DATABASE_URL= line is read, nothing is executed). The URL is never printed: only the
# host, port and database. Exits 0 when the connection works.
set -euo pipefail
usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
env_file=".env"
while [ $# -gt 0 ]; do
  case "$1" in
    --env-file) env_file=${2:?--env-file needs a file}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

url="${DATABASE_URL:-}"
if [ -z "$url" ] && [ -f "$env_file" ]; then
  url="$(sed -nE 's/^(export +)?DATABASE_URL=//p' "$env_file" | tail -1)"
  url="${url%\"}"; url="${url#\"}"; url="${url%\'}"; url="${url#\'}"
fi
[ -n "$url" ] || { echo "DATABASE_URL is not set (environment or $env_file)" >&2; exit 2; }
command -v psql >/dev/null || { echo "psql is missing (apt-get install postgresql-client)" >&2; exit 1; }

hostport="$(printf '%s' "$url" | sed -E 's#^[a-z]+://([^@/]*@)?([^/?]*).*#\2#')"
database="$(printf '%s' "$url" | sed -nE 's#^[a-z]+://[^/]*/([^?]*).*#\1#p')"
host="${hostport%:*}"; port="${hostport##*:}"
[ "$port" = "$hostport" ] && port=5432
echo "DATABASE_URL: host $host, port $port, database ${database:-postgres}"

case "$port" in
  6543) kind="transaction pooler (port 6543): no LISTEN/NOTIFY; revocations wait for KOTADB_KEY_CACHE_TTL_SECS, job workers poll; run migrations on a direct URL" ;;
  *) case "$host" in
       *.pooler.supabase.com) kind="session pooler (port $port): LISTEN/NOTIFY works" ;;
       *) kind="direct connection (port $port): LISTEN/NOTIFY works" ;;
     esac ;;
esac

if answer="$(PGCONNECT_TIMEOUT=10 psql "$url" -X -qAt -c 'select 1' 2>&1)" && [ "$answer" = 1 ]; then
  echo "ok: select 1 answered; $kind"
else
  # psql's error may quote the URL's password: print only its first line, masked.
  echo "FAIL: could not run select 1: $(printf '%s' "$answer" | head -1 | sed -E 's#://[^@ ]*@#://***@#g')" >&2
  echo "endpoint: $kind" >&2
  exit 1
fi
