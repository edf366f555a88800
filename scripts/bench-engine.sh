#!/usr/bin/env bash
# bench-engine.sh CORPUS_NAME_OR_DIR [QUERIES_TSV]
# The engine benchmark: on a corpus no one here wrote, prints side by side in one run (markdown
# on stdout, for BENCHMARKS.md; progress on stderr):
#   - kotadb index time, MB/s, peak RSS, index size on disk as a ratio of source size
#     (search index D/index and SQLite records D/kotadb.db* separately), cindex as a peer;
#   - search latency p50/p99 of literal, case-insensitive and regex queries, kotadb (whole process
#     and the engine's own took_ms) next to rg over the same checkout, with both match counts and
#     the (path, line) sets compared. Exits 1 (after printing everything) if any set differs.
# CORPUS: usr-include | python-stdlib | cargo-registry (built by shared/bench/make-corpus.sh), or
#   the path of a git repository.
# QUERIES_TSV: one "KIND<TAB>PATTERN" a line, KIND = lit | ci (case-insensitive literal) | re;
#   default: the C or Python set of shared/bench/peers.sh, chosen by counting *.h vs *.py files.
# Env: RUNS (timed runs per query, default 30; 2 warm-ups), IDX_RUNS (index builds, default 3),
#   TOOK_RUNS (runs for the in-engine took_ms median, default 10), KEEP=1 keeps the work dir,
#   KOTADB (binary, default target/release/kotadb of this checkout),
#   KOTADB_SHARED (the shared folder, if not at ../shared beside this repository).
set -euo pipefail
export LC_ALL=C
usage="usage: bench-engine.sh CORPUS_NAME_OR_DIR [QUERIES_TSV]"
here=$(cd "$(dirname "$0")" && pwd -P)
repo_root=$(cd "$here/.." && pwd -P)
runs=${RUNS:-30}; idx_runs=${IDX_RUNS:-3}; took_runs=${TOOK_RUNS:-10}
kotadb=${KOTADB:-$repo_root/target/release/kotadb}
limit=100000    # the CLI's maximum --limit
cmdline="$(printf '%q ' "$0" "$@")"; cmdline=${cmdline% }
for v in RUNS IDX_RUNS TOOK_RUNS KEEP KOTADB; do
  [ -n "${!v:-}" ] && cmdline="$v=$(printf '%q' "${!v}") $cmdline"; done
krev=$(git -C "$repo_root" describe --always --dirty 2>/dev/null || echo unknown)   # checkout at start
log() { echo "[bench-engine] $*" >&2; }

for t in rg hyperfine jq git /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "missing $t: apt-get update && apt-get install -y ripgrep hyperfine jq time git" >&2; exit 1; }; done
[ -x "$kotadb" ] || { echo "no kotadb binary at $kotadb (cargo build --release, or set KOTADB)" >&2; exit 1; }

# --- corpus -----------------------------------------------------------------------------
arg=${1:?$usage}
if [ -d "$arg" ]; then
  corpus=$(cd "$arg" && pwd -P)
else
  mk="$here/../../shared/bench/make-corpus.sh"
  [ -f "$mk" ] || mk="${KOTADB_SHARED:-}/bench/make-corpus.sh"
  [ -f "$mk" ] || { echo "$arg is not a directory and make-corpus.sh was found neither at ../shared/bench nor under \$KOTADB_SHARED" >&2; exit 2; }
  log "corpus $arg via $mk"
  corpus=$(bash "$mk" "$arg" | tail -1)
  corpus=$(cd "$corpus" && pwd -P)
fi
[ "$(git -C "$corpus" rev-parse --show-toplevel 2>/dev/null)" = "$corpus" ] || { echo "$corpus is not the top of a git repository" >&2; exit 2; }

work=$(mktemp -d /tmp/bench-engine.XXXXXX)
if [ -n "${KEEP:-}" ]; then log "work dir: $work"; else trap 'rm -rf "$work"' EXIT; fi

if [ -n "${2:-}" ]; then cp "$2" "$work/q.tsv"
elif [ "$(find "$corpus" -name '*.py' | wc -l)" -gt "$(find "$corpus" -name '*.h' | wc -l)" ]; then
  printf 'lit\t%s\n' SimpleXMLRPCDispatcher 'def __repr__' kotadb_absent_zqx >"$work/q.tsv"
  printf 'ci\t%s\n' simplexmlrpcdispatcher 'IMPORT OS' >>"$work/q.tsv"
  printf 're\t%s\n' 'def\s+_\w+\(self' 'self\.[a-z]+_[a-z]+\(' 'raise\s+\w+Error\(' >>"$work/q.tsv"
else
  printf 'lit\t%s\n' EVP_EncryptInit_ex 'static inline' kotadb_absent_zqx >"$work/q.tsv"
  printf 'ci\t%s\n' evp_encryptinit_ex 'STATIC INLINE' >>"$work/q.tsv"
  printf 're\t%s\n' 'static\s+inline\s+\w+_lock' '\w+_lock\(' '0x[0-9A-F]{8}' '#define\s+\w+_H\b' >>"$work/q.tsv"
fi

med() { sort -g | awk '{a[NR]=$1} END{m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s %s %s\n", m, a[1], a[NR]}'; }
# p50 and p99 (nearest rank) of numbers in seconds, one a line, printed in ms
pct() { sort -g | awk '{a[NR]=$1*1000} END{i=int(NR*0.99); if (i<NR*0.99) i++; m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f %.1f\n", m, a[i]}'; }
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }    # single-quote for hyperfine -N (shell-words)
mb() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
sumsize() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END{print s+0}'; }

find "$corpus" -path "$corpus/.git" -prune -o -type f -printf '%P\t%s\n' | sort >"$work/files"
nfiles=$(wc -l <"$work/files"); bytes=$(awk -F'\t' '{s+=$2} END{print s+0}' "$work/files")
echo "## kotadb engine benchmark: $corpus"
echo
dirty=$(git -C "$corpus" status --porcelain --ignored --untracked-files=all | wc -l)
[ "$dirty" -eq 0 ] || echo "**Note:** the checkout differs from HEAD in $dirty paths (kotadb indexes HEAD, rg reads the folder): counts may differ for that reason."
echo "corpus: $(git -C "$corpus" log -1 --format='%s (%h)'); $nfiles files, $bytes bytes ($(mb "$bytes") MB), excluding .git"
echo

# --- index ------------------------------------------------------------------------------
for i in $(seq "$idx_runs"); do
  d="$work/data.$i"; rm -rf "$d"; mkdir -p "$d"
  log "kotadb index run $i/$idx_runs"
  /usr/bin/time -f '%e %M' -o "$work/ktime.$i" "$kotadb" --data-dir "$d" index "$corpus" >"$work/index.out.$i" 2>"$work/index.err.$i" \
    || { echo "kotadb index failed:" >&2; tail -20 "$work/index.err.$i" >&2; exit 1; }
  if [ "$i" -lt "$idx_runs" ]; then rm -rf "$d"; fi
done
data="$work/data.$idx_runs"
summary=$(tail -1 "$work/index.out.$idx_runs")
read -r wmed wmin wmax < <(cat "$work"/ktime.* | cut -d' ' -f1 | med)
read -r rmed rmin rmax < <(cat "$work"/ktime.* | cut -d' ' -f2 | med)
isize=$(sumsize "$data/index")
dbsize=$(sumsize "$data"/kotadb.db*)

have_cindex=
if command -v cindex >/dev/null; then
  have_cindex=1
  log "cindex (peer) once"
  export CSEARCHINDEX="$work/csearchindex"      # never touches ~/.csearchindex
  /usr/bin/time -f '%e %M' -o "$work/ctime" cindex "$corpus" >/dev/null 2>"$work/cindex.log"
  read -r cw cr <"$work/ctime"
  csize=$(stat -c %s "$CSEARCHINDEX")
fi

echo "### Index"
echo
echo "kotadb's summary line: \`$summary\`"
echo
echo "| tool | index wall s, median (min–max) | MB/s | peak RSS MB, median (min–max) | index bytes / source bytes |"
echo "|---|---|---|---|---|"
echo "| kotadb ($idx_runs runs) | $wmed ($wmin–$wmax) | $(awk -v b="$bytes" -v s="$wmed" 'BEGIN{printf "%.1f", b/1e6/s}') | $((rmed/1024)) ($((rmin/1024))–$((rmax/1024))) | search index (index/): $isize = **$(ratio "$isize" "$bytes")**; SQLite records (kotadb.db*): $dbsize = **$(ratio "$dbsize" "$bytes")**; total $(ratio "$((isize+dbsize))" "$bytes") |"
if [ -n "$have_cindex" ]; then
  echo "| cindex (1 run) | $cw | $(awk -v b="$bytes" -v s="$cw" 'BEGIN{printf "%.1f", b/1e6/s}') | $((cr/1024)) | $csize = **$(ratio "$csize" "$bytes")** |"
fi
echo

# --- searches ---------------------------------------------------------------------------
time_cmd() {  # prints "p50 p99" in ms from hyperfine's times array
  hyperfine -N -i --output=pipe --warmup 2 --runs "$runs" --export-json "$work/h.json" "$1" >/dev/null 2>"$work/h.err" \
    || { echo "hyperfine failed on: $1" >&2; cat "$work/h.err" >&2; exit 1; }
  jq -r '.results[0].times[]' "$work/h.json" | pct
}
echo "### Search (whole process: start-up, opening the index, search, printing; $runs runs after 2 warm-ups; p99 = nearest rank, the max below 100 runs; took_ms: median of $took_runs separate runs)"
echo
echo "Warm = the engine in one process over the loaded index (\`examples/search_latency\`, $runs runs): \"no cache\" decompresses every candidate block on every search; \"cached\" keeps decompressed blocks in the service's default 256 MB text cache (KOTADB_TEXT_CACHE_MB), as \`kotadb serve\` runs: the figure for \"warm search\"."
echo
echo "| kind | pattern | kotadb p50 ms | kotadb p99 ms | in-engine took_ms p50 | warm no cache p50 ms | warm no cache p99 ms | warm cached p50 ms | warm cached p99 ms | rg p50 ms | rg p99 ms | rg p50 / kotadb p50 | rg p50 / warm no cache p50 | rg p50 / warm cached p50 | kotadb total | rg lines | kotadb vs rg (+extra/-missing) | equal |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
warm_bin="$repo_root/target/release/examples/search_latency"
[ -x "$warm_bin" ] || { echo "build the warm-latency example first: cargo build --release --example search_latency" >&2; exit 1; }
index_dir=$(ls -d "$data"/index/*/ | head -1)
n=0; fail=0
while IFS=$'\t' read -r kind pat; do
  [ -n "$kind" ] || continue
  n=$((n+1))
  case $kind in
    lit) kfl=; rfl=-F ;;
    ci)  kfl=-i; rfl='-F -i' ;;
    re)  kfl=--regex; rfl= ;;
    *) echo "bad kind $kind in queries" >&2; exit 2 ;;
  esac
  log "query $n: $kind $pat"
  kcmd="$(q "$kotadb") --data-dir $(q "$data") search --json --limit $limit $kfl -- $(q "$pat")"
  rcmd="rg -n --no-heading -uu -g '!.git' $rfl -e $(q "$pat") $(q "$corpus")"
  printf '%s\n%s\n' "$kcmd" "$rcmd" >>"$work/commands"
  # result sets: kotadb paths are repository-relative; rg's are made so (--null: paths may hold ':')
  eval "$kcmd" >"$work/q$n.json" 2>"$work/q$n.kerr" || { echo "kotadb search failed on $pat:" >&2; cat "$work/q$n.kerr" >&2; echo '{"results":[],"total":-1,"truncated":false,"took_ms":0}' >"$work/q$n.json"; }
  jq -r '.results[] | "\(.path):\(.line)"' "$work/q$n.json" | sort -u >"$work/q$n.kotadb"
  ktotal=$(jq -r '.total' "$work/q$n.json"); ktrunc=$(jq -r '.truncated' "$work/q$n.json")
  eval "$rcmd --null" 2>/dev/null | sed -E 's/\x00([0-9]+):.*$/\t\1/' \
    | awk -F'\t' -v pre="$corpus/" '{ p=$1; if (index(p, pre)==1) p=substr(p, length(pre)+1); print p ":" $2 }' | sort -u >"$work/q$n.rg" || true
  rlines=$(eval "$rcmd" 2>/dev/null | wc -l || true)
  extra=$(comm -13 "$work/q$n.rg" "$work/q$n.kotadb" | tee "$work/q$n.extra" | wc -l)
  missing=$(comm -23 "$work/q$n.rg" "$work/q$n.kotadb" | tee "$work/q$n.missing" | wc -l)
  eq=yes
  if [ "$extra" -ne 0 ] || [ "$missing" -ne 0 ] || [ "$ktotal" != "$rlines" ] || [ "$ktrunc" != false ]; then eq=**no**; fail=1; fi
  read -r kp50 kp99 < <(time_cmd "$kcmd")
  read -r rp50 rp99 < <(time_cmd "$rcmd")
  read -r wp50 wp99 _ < <(KOTADB_TEXT_CACHE_MB= "$warm_bin" "$index_dir" "$runs" $kfl "$pat")
  read -r cp50 cp99 _ < <(KOTADB_TEXT_CACHE_MB=256 "$warm_bin" "$index_dir" "$runs" $kfl "$pat")
  for i in $(seq "$took_runs"); do eval "$kcmd" 2>/dev/null | jq -r '.took_ms'; done >"$work/q$n.took"
  read -r took _ < <(med <"$work/q$n.took"); took=$(printf '%.1f' "$took")
  tr=; [ "$ktrunc" = false ] || tr=" (truncated)"
  echo "| $kind | \`$pat\` | $kp50 | $kp99 | $took | $wp50 | $wp99 | $cp50 | $cp99 | $rp50 | $rp99 | $(awk -v a="$rp50" -v b="$kp50" 'BEGIN{printf "%.2f", a/b}') | $(awk -v a="$rp50" -v b="$wp50" 'BEGIN{printf "%.1f", a/b}') | $(awk -v a="$rp50" -v b="$cp50" 'BEGIN{printf "%.1f", a/b}') | $ktotal$tr | $rlines | +$extra/-$missing | $eq |"
  if [ "$eq" != yes ]; then
    { echo "q$n $kind '$pat': kotadb total $ktotal (distinct lines $(wc -l <"$work/q$n.kotadb")), rg $rlines lines; +$extra/-$missing"
      head -3 "$work/q$n.extra" | sed 's/^/  extra   /'; head -3 "$work/q$n.missing" | sed 's/^/  missing /'; } >>"$work/mismatches"
  fi
done <"$work/q.tsv"
echo
if [ -s "$work/mismatches" ]; then
  echo "Mismatches against rg (examples as path:line):"
  echo
  echo '```'
  cat "$work/mismatches"
  echo '```'
  echo
fi

# --- environment ------------------------------------------------------------------------
echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/^MemTotal/{printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM (shared with other work). "
echo "Tools: $("$kotadb" --version) (git $krev), rg $(rg --version | sed -n 1p | cut -d' ' -f2), hyperfine $(hyperfine --version | cut -d' ' -f2) -N --output=pipe$([ -n "$have_cindex" ] && echo ", codesearch $(dpkg-query -W -f '${Version}' codesearch 2>/dev/null)"). "
echo "kotadb searched with \`--json --limit $limit\`; rg with \`-n --no-heading -uu -g '!.git'\` (+ \`-F\` / \`-F -i\`). "
echo "Command: \`$cmdline\`, $(date -u '+%Y-%m-%d %H:%M UTC')."
[ "$fail" -eq 0 ] || { log "match sets differ from rg (see table)"; exit 1; }
