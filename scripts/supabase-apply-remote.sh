#!/usr/bin/env bash
# Apply supabase/migrations to a Postgres database with the Supabase CLI
# (`supabase migration up --db-url`), keeping the two migration ledgers in step.
#
# Why the ledgers: the Supabase CLI records what it applied in
# supabase_migrations.schema_migrations, while `kotadb migrate` (and `serve`, and Fly's
# release_command) record theirs in public._sqlx_migrations. Each ignores the other's, so
# a database migrated by one looks empty to the other, which then fails on
# "relation ... already exists". The files are byte-identical (tests/supabase_mirror.rs),
# so this script, around `migration up`:
#   1. marks in the CLI's ledger every version sqlx already applied
#      (`supabase migration repair --status applied`);
#   2. runs `supabase migration up`;
#   3. records in sqlx's ledger every version the CLI applied, with sqlx's checksum
#      (SHA-384 of the file) and description (the name with `_` as spaces).
# Afterwards `kotadb migrate` finds nothing to do, and so does the CLI
# (tests/supabase_cli.rs proves both orders).
#
# Usage: SUPABASE_DB_URL=postgres://... scripts/supabase-apply-remote.sh
# The URL must be a direct connection (port 5432), not the transaction pooler (6543).
# Against a local server without TLS append ?sslmode=disable (the CLI insists on TLS).
# The CLI is $SUPABASE_BIN, else `supabase` on PATH, else target/supabase-cli (npm
# install supabase@2.117.0 there), else `npx --yes supabase@2.117.0`. Needs psql.
# The URL (it holds the password) is never printed.
set -euo pipefail

usage() {
  sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
  -h | --help)
    usage
    exit 0
    ;;
  "") ;;
  *)
    echo "unknown argument: $1 (see --help)" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
: "${SUPABASE_DB_URL:?SUPABASE_DB_URL is not set (a direct postgres:// URL; see --help)}"
url="$SUPABASE_DB_URL"
command -v psql >/dev/null || {
  echo "psql is missing (apt-get install postgresql-client)" >&2
  exit 1
}

if [ -n "${SUPABASE_BIN:-}" ]; then
  supabase=("$SUPABASE_BIN")
elif command -v supabase >/dev/null; then
  supabase=(supabase)
elif [ -x "$root/target/supabase-cli/node_modules/.bin/supabase" ]; then
  supabase=("$root/target/supabase-cli/node_modules/.bin/supabase")
else
  supabase=(npx --yes supabase@2.117.0)
fi

# The host and database, for the log (no user, no password).
where="$(printf '%s' "$url" | sed -E 's#^[a-z]+://([^@/]*@)?([^/?]*)(/[^?]*)?.*#\2\3#')"
echo "applying supabase/migrations to $where"

q() { psql "$url" -X -v ON_ERROR_STOP=1 -qAt -c "$1"; }

sqlx_applied=""
if [ "$(q "select to_regclass('public._sqlx_migrations') is not null")" = t ]; then
  sqlx_applied="$(q "select coalesce(string_agg(version::text, ' ' order by version), '') from public._sqlx_migrations where success")"
fi
cli_table="$(q "select to_regclass('supabase_migrations.schema_migrations') is not null")"
cli_applied=""
if [ "$cli_table" = t ]; then
  cli_applied="$(q "select coalesce(string_agg(version, ' ' order by version), '') from supabase_migrations.schema_migrations")"
fi

# 1. What sqlx applied, the CLI must not apply again.
to_repair=()
for version in $sqlx_applied; do
  case " $cli_applied " in
    *" $version "*) ;;
    *) to_repair+=("$version") ;;
  esac
done
if [ ${#to_repair[@]} -gt 0 ]; then
  echo "already applied by kotadb migrate, marking for the CLI: ${to_repair[*]}"
  "${supabase[@]}" migration repair --workdir "$root" --db-url "$url" --status applied "${to_repair[@]}" --yes
fi

# 2. The CLI applies what is left.
"${supabase[@]}" migration up --workdir "$root" --db-url "$url" --yes

# 3. What the CLI applied, sqlx must not apply again.
q "CREATE TABLE IF NOT EXISTS public._sqlx_migrations (
    version BIGINT PRIMARY KEY,
    description TEXT NOT NULL,
    installed_on TIMESTAMPTZ NOT NULL DEFAULT now(),
    success BOOLEAN NOT NULL,
    checksum BYTEA NOT NULL,
    execution_time BIGINT NOT NULL
)"
cli_applied=" $(q "select string_agg(version, ' ') from supabase_migrations.schema_migrations") "
recorded=()
for file in "$root"/supabase/migrations/*.sql; do
  name="$(basename "$file" .sql)"
  version="${name%%_*}"
  case "$cli_applied" in *" $version "*) ;; *) continue ;; esac
  description="${name#*_}"
  description="${description//_/ }"
  checksum="$(sha384sum "$file" | cut -d' ' -f1)"
  inserted="$(q "INSERT INTO public._sqlx_migrations (version, description, success, checksum, execution_time)
    VALUES ($version, '${description//\'/\'\'}', true, decode('$checksum', 'hex'), 0)
    ON CONFLICT (version) DO NOTHING RETURNING version")"
  [ -n "$inserted" ] && recorded+=("$version")
done
if [ ${#recorded[@]} -gt 0 ]; then
  echo "recorded for kotadb migrate: ${recorded[*]}"
fi
echo "migrations up to date on $where"
