#!/usr/bin/env bash
# supabase-generate.sh NAME
# Creates an empty migration YYYYMMDDHHMMSS_NAME.sql (UTC) in migrations/postgres (which
# sqlx embeds in the server) and the identical copy in supabase/migrations (which the
# Supabase CLI applies; tests/supabase_mirror.rs keeps the two byte-identical). Edit one
# and copy it over the other: cp migrations/postgres/*.sql supabase/migrations/.
# NAME: lowercase letters, digits and underscores. Prints both paths.
set -euo pipefail
usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h | --help) usage; exit 0 ;; "") usage >&2; exit 2 ;; esac
[ $# -eq 1 ] || { usage >&2; exit 2; }
name=$1
[[ "$name" =~ ^[a-z0-9_]+$ ]] || { echo "name must match [a-z0-9_]+: $name" >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(date -u +%Y%m%d%H%M%S)"
latest="$(ls "$root/migrations/postgres" | sed -n 's/^\([0-9]*\)_.*\.sql$/\1/p' | sort | tail -1)"
# Versions must grow: the committed ones may be dated ahead of the clock.
if [ -n "$latest" ] && [ "$version" -le "$latest" ]; then version=$((latest + 1)); fi
file="${version}_${name}.sql"
for dir in migrations/postgres supabase/migrations; do
  [ ! -e "$root/$dir/$file" ] || { echo "$dir/$file exists" >&2; exit 1; }
done
printf -- '-- %s: what this migration changes, and why.\n' "$name" >"$root/migrations/postgres/$file"
cp "$root/migrations/postgres/$file" "$root/supabase/migrations/$file"
echo "migrations/postgres/$file"
echo "supabase/migrations/$file"
