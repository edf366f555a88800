#!/usr/bin/env bash
# supabase-reset.sh [URL]
# Drops and re-creates a LOCAL development database, then applies supabase/migrations with
# scripts/supabase-apply-remote.sh (the Supabase CLI, both migration ledgers in step) and
# supabase/seed.sql. The Supabase CLI's own `db reset` needs Docker; this needs only a
# Postgres you can create databases on. URL defaults to KOTADB_LOCAL_DATABASE_URL, else
# postgres://postgres@127.0.0.1:5432/kotadb_dev. Refuses any host but localhost,
# 127.0.0.1, ::1 or a socket directory: it never touches staging or production.
set -euo pipefail
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -le 1 ] || { usage >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
url="${1:-${KOTADB_LOCAL_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kotadb_dev}}"
command -v psql >/dev/null || { echo "psql is missing (apt-get install postgresql-client)" >&2; exit 1; }

base="${url%%\?*}"
query=""; [ "$base" != "$url" ] && query="?${url#*\?}"
hostport="$(printf '%s' "$base" | sed -E 's#^[a-z]+://([^@/]*@)?([^/]*).*#\2#')"
host="${hostport%:*}"
case "$host" in
  localhost | 127.0.0.1 | "[::1]" | "") ;;
  *) echo "refusing to reset a database on $host: only a local one (see --help)" >&2; exit 2 ;;
esac
database="${base##*/}"
[ -n "$database" ] && [ "$database" != "$base" ] || { echo "the URL names no database" >&2; exit 2; }
case "$database" in postgres | template0 | template1) echo "refusing to drop $database" >&2; exit 2 ;; esac
admin="${base%/*}/postgres$query"

echo "resetting $database on ${hostport:-the local socket}"
psql "$admin" -X -q -v ON_ERROR_STOP=1 \
  -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" \
  -c "CREATE DATABASE \"$database\""
sslmode=""; case "$query" in *sslmode=*) ;; "") sslmode="?sslmode=disable" ;; *) sslmode="&sslmode=disable" ;; esac
SUPABASE_DB_URL="$url$sslmode" "$root/scripts/supabase-apply-remote.sh"
psql "$url" -X -q -v ON_ERROR_STOP=1 -f "$root/supabase/seed.sql"
echo "reset: $database has every migration and the seed"
