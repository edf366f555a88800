#!/usr/bin/env bash
# bench-index-backends.sh [CORPUS_DIR]
# Full-index throughput and records size per source MB, Postgres next to the embedded SQLite, in
# one run: `kotadb index CORPUS` into a fresh data directory (SQLite) and into a fresh database of
# a throwaway Postgres cluster (DATABASE_URL), alternated, RUNS times each; prints a markdown table
# of median (min-max) wall seconds, MB/s, the ratio Postgres/SQLite and the database size: the
# SQLite file + WAL vs pg_total_relation_size of KotaDB's record tables (indexed_files, symbols,
# "references", dependencies, with their indexes and TOAST), and pg_database_size for reference.
# CORPUS_DIR: a git repository (default /tmp/kotadb-corpus/usr-include, made by
#   ../shared/bench/make-corpus.sh usr-include).
# Env: RUNS (default 3), KOTADB (binary, default target/release/kotadb), KOTADB_PEER (a second
#   binary, e.g. the previous commit's, also run against Postgres in the same rounds), PG_FAST=1
#   (Postgres without fsync; default: durable settings, see scripts/pg-cluster.sh), KOTADB_PG_BIN,
#   KEEP=1.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd -P); repo_root=$(cd "$here/.." && pwd -P)
source "$here/pg-cluster.sh"
corpus=$(cd "${1:-/tmp/kotadb-corpus/usr-include}" && pwd -P)
runs=${RUNS:-3}; kotadb=${KOTADB:-$repo_root/target/release/kotadb}; peer=${KOTADB_PEER:-}
log() { echo "[bench-index-backends] $*" >&2; }
work=$(mktemp -d /tmp/bench-index-backends.XXXXXX)
cleanup() { pg_stop; if [ "${KEEP:-}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT
chmod 755 "$work"   # the postgres user must reach its cluster inside
pg_start "$work/pg"
files=$(git -C "$corpus" ls-files | wc -l)
bytes=$(git -C "$corpus" ls-files -z | (cd "$corpus" && xargs -0 stat -c %s) | awk '{s+=$1} END{print s}')
mb=$(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1048576}')
log "corpus $corpus: $files files, $mb MB; Postgres $PG_VERSION ($PG_SETTINGS)"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
compilers=$(ps -eo comm= | grep -cxE 'rustc|cargo|cc1|cc1plus|ld' || true)
declare -A T; declare -A SIZE
one() {  # LABEL BINARY postgres|sqlite
  local label=$1 bin=$2 backend=$3 s e
  rm -rf "$work/data"
  if [ "$backend" = postgres ]; then
    pg_recreate_db
    DATABASE_URL=$PG_URL "$bin" --data-dir "$work/data" keys list >/dev/null   # migrations, not timed
    s=$(date +%s.%N)
    DATABASE_URL=$PG_URL "$bin" --data-dir "$work/data" index "$corpus" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    e=$(date +%s.%N)
    SIZE[$label]=$("${PG_PSQL[@]}" -d kotadb -Atc "select sum(pg_total_relation_size(c)) || ' ' || pg_database_size('kotadb') from unnest(array['indexed_files','symbols','\"references\"','dependencies']::regclass[]) c")
  else
    s=$(date +%s.%N)
    env -u DATABASE_URL "$bin" --data-dir "$work/data" index "$corpus" >"$work/out" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    e=$(date +%s.%N)
    SIZE[$label]=$(du -cb "$work/data"/kotadb.db* | tail -1 | cut -f1)
  fi
  T[$label]="${T[$label]:-} $(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b-a}')"
  log "$label: $(tail -1 "$work/out" | sed 's/; id .*//') wall $(awk -v a="$s" -v b="$e" 'BEGIN{printf "%.2f", b-a}') s"
}
for r in $(seq 1 "$runs"); do
  one sqlite "$kotadb" sqlite
  one postgres "$kotadb" postgres
  [ -n "$peer" ] && one postgres-peer "$peer" postgres
done
med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f (%.2f–%.2f)", m, a[1], a[NR]}'; }
medv() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
sq=$(medv "${T[sqlite]}")
echo "| backend | binary | full index wall s, median (min–max), $runs runs | MB/s | throughput vs SQLite | records size bytes | bytes per source MB | × source |"
echo "|---|---|---|---:|---:|---:|---:|---:|"
for label in sqlite postgres postgres-peer; do
  [ -n "${T[$label]:-}" ] || continue
  m=$(medv "${T[$label]}"); size=${SIZE[$label]%% *}
  bin=$kotadb; [ "$label" = postgres-peer ] && bin=$peer
  extra=""; [ "$label" != sqlite ] && extra=" (pg_database_size ${SIZE[$label]##* })"
  echo "| ${label%-peer} | $(basename "$bin") ($("$bin" --version | cut -d' ' -f2-)) | $(med "${T[$label]}") | $(awk -v b="$bytes" -v t="$m" 'BEGIN{printf "%.1f", b/1048576/t}') | $(awk -v a="$sq" -v b="$m" 'BEGIN{printf "%.2f×", a/b}') | $size$extra | $(awk -v s="$size" -v b="$bytes" 'BEGIN{printf "%.0f", s/(b/1048576)}') | $(awk -v s="$size" -v b="$bytes" 'BEGIN{printf "%.2f", s/b}') |"
done
echo
echo "Corpus $corpus: $files files, $mb MB. SQLite size: kotadb.db + WAL; Postgres size: pg_total_relation_size of indexed_files, symbols, references, dependencies (with indexes and TOAST). Postgres $PG_VERSION on the same machine ($PG_SETTINGS). Runs alternate backends. Machine: $(nproc) CPUs, load before $load_before, compiler processes then $compilers. Commit $(git -C "$repo_root" rev-parse --short HEAD)$([ -n "$(git -C "$repo_root" status --porcelain -- src)" ] && echo ' (uncommitted src changes)'). Command: \`$(printf '%q ' "$0" "$@")\`$([ -n "$peer" ] && echo " with KOTADB_PEER=$peer")."
