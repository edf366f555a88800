#!/usr/bin/env bash
# fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# Builds the cargo-fuzz targets in fuzz/ (nightly, AddressSanitizer, debug assertions) and
# runs each one after the other for SECONDS_PER_TARGET (default 600: a libFuzzer job uses
# one core, so 10 CPU-minutes per target when the machine is otherwise idle), at nice 19
# so that it does not starve other work. Not run in CI.
#
# The limit is libFuzzer's -max_total_time (wall clock); the CPU time each target really
# got is printed next to it (less than the wall time when other work holds the cores).
# Corpus: fuzz/corpus/TARGET (kept between runs, gitignored), crashes: fuzz/artifacts/TARGET,
# full log: fuzz/artifacts/TARGET.log. Prints per target: runs executed, exec/s, wall and
# CPU seconds, crashes found. Exits 1 if any target found a crash (libFuzzer stops a target
# at its first one; minimise it with the `cargo fuzz tmin` line printed).
# Env: FUZZ_ARGS (extra libFuzzer flags, e.g. "-only_ascii=1").
set -euo pipefail
usage="usage: fuzz.sh [SECONDS_PER_TARGET] [TARGET...]"
seconds=${1:-600}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "$usage" >&2; exit 2; }
shift $(( $# > 0 ? 1 : 0 ))

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
if ! cargo +nightly fuzz --help >/dev/null 2>&1; then
  echo "fuzz.sh: needs the nightly toolchain and cargo-fuzz:" >&2
  echo "  rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 2
fi

# The same flags for build and run: -a (debug assertions, overflow checks), default
# sanitizer (address), release profile.
echo "building fuzz targets (nice 19)..." >&2
nice -n 19 cargo +nightly fuzz build -a >&2
bin_dir=target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release

if (( $# > 0 )); then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

crashed=0
summary=()
for target in "${targets[@]}"; do
  [[ -x $bin_dir/$target ]] || { echo "fuzz.sh: no target $target" >&2; exit 2; }
  mkdir -p "corpus/$target" "artifacts/$target"
  log=artifacts/$target.log
  marker=$(mktemp)
  echo "== $target: ${seconds}s (corpus/$target, $(ls "corpus/$target" | wc -l) inputs)" >&2
  TIMEFORMAT='%R %U %S'
  set +e
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
  { time nice -n 19 "$bin_dir/$target" \
      -artifact_prefix="artifacts/$target/" \
      -max_total_time="$seconds" \
      -timeout=60 \
      -print_final_stats=1 \
      ${FUZZ_ARGS:-} \
      "corpus/$target" >"$log" 2>&1 ; } 2>"$marker.time"
  status=$?
  set -e
  read -r wall user sys <"$marker.time"
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  mapfile -t found < <(find "artifacts/$target" -maxdepth 1 -type f -newer "$marker" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  rm -f "$marker" "$marker.time"
  line=$(printf '%-16s runs %10s  exec/s %6s  wall %5.0fs  cpu %5ss  crashes %d' \
    "$target" "${runs:-?}" "${rate:-?}" "$wall" "$cpu" "${#found[@]}")
  if (( status != 0 )) && (( ${#found[@]} == 0 )); then
    line+="  (exit $status, see $log)"
    crashed=1
  fi
  summary+=("$line")
  echo "$line"
  for artifact in "${found[@]}"; do
    crashed=1
    echo "   $artifact" >&2
    grep -m1 -A4 -E 'panicked at|ERROR: (AddressSanitizer|libFuzzer)' "$log" | sed 's/^/     /' >&2 || true
    echo "   minimise: (cd fuzz && cargo +nightly fuzz tmin -a $target $artifact)" >&2
  done
done

echo
echo "summary (${seconds}s per target):"
printf '%s\n' "${summary[@]}"
exit "$crashed"
