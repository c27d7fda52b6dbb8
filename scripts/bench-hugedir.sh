#!/usr/bin/env bash
# One directory of N empty files (issue #14, item 14; docs/format.md, "Split
# directories"): backup, ls, restore and check through the CLI, each with its
# wall time and peak RSS (/usr/bin/time -v), and the machine's load before and
# after (the figures mean little beside another run under a different load).
# Exits 1 when a command fails or the restore or ls does not hold N entries.
#   scripts/bench-hugedir.sh [N]      N defaults to 2000000
#   BENCH_DIR=/tmp (the work directory goes under it, removed at the end)
#   BENCH_EBAK=<another checkout>/bin/ebak (the same run with another build, side by side)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_debian /usr/bin/time:time
[ -f dist/src/cli/main.js ] || scripts/setup.sh

N=${1:-2000000}
WORK=$(mktemp -d "${BENCH_DIR:-/tmp}/ebak-hugedir.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export EBAK_REPOSITORY=$WORK/repo EBAK_PASSWORD=bench
EBAK=(node "${BENCH_EBAK:-$PWD/bin/ebak}")
BIG=$WORK/src/big

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
mkdir -p "$BIG"
started=$(date +%s)
(cd "$BIG" && seq -f 'f%07.0f' 1 "$N" | xargs touch)
echo "created $N empty files in $(( $(date +%s) - started )) s"
"${EBAK[@]}" init --quiet >/dev/null 2>&1

# measure LABEL COMMAND...: runs it, its stdout to $WORK/LABEL.out; prints time and peak RSS.
measure() {
  local label=$1
  shift
  if ! /usr/bin/time -v "$@" >"$WORK/$label.out" 2>"$WORK/$label.err"; then
    tail -30 "$WORK/$label.err" >&2
    echo "$label failed" >&2
    exit 1
  fi
  local wall rss
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$WORK/$label.err")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$WORK/$label.err")
  printf '%-8s %10s wall  %6d MB peak RSS\n' "$label" "$wall" $(( rss / 1024 ))
}

measure backup "${EBAK[@]}" backup --quiet "$WORK/src"
measure ls "${EBAK[@]}" ls latest "$BIG"
measure restore "${EBAK[@]}" restore latest --quiet --target "$WORK/out"
measure check "${EBAK[@]}" check --quiet

listed=$(grep -c "^$BIG/" "$WORK/ls.out" || true)
restored=$(find "$WORK/out$BIG" -maxdepth 1 -type f | wc -l)
echo "ls listed $listed entries, restore wrote $restored files (of $N)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$listed" -eq "$N" ] && [ "$restored" -eq "$N" ]
