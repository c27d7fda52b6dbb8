#!/usr/bin/env bash
# Two ebak builds and restic side by side on one prepared work directory: restore (target on
# $3), unchanged re-backup and `snapshots` (start-up), each under GNU time with the 1-minute load
# read as it starts; every restore compared with the corpus (same.sh). docs/benchmarks.md (rperf4).
# Usage: EBAK_A=/path/to/main/bin/ebak EBAK_B=/path/to/branch/bin/ebak \
#          scripts/bench-side/side.sh <workdir> <rounds> <target base dir>
#   <workdir> holds corpus/, repo-ebak/ (made by ebak init + backup corpus) and repo-restic/
#   (restic init + backup corpus), both with the password "benchpw". Run it under
#   `flock /work/bench.lock` when other benchmarks may run. SCHED=1 adds a per-thread
#   schedstat breakdown of one restore per tool (sched.py).
set -u
W=$1; ROUNDS=$2; T=$3
HERE=$(cd "$(dirname "$0")" && pwd)
: "${EBAK_A:?EBAK_A=<bin/ebak of the first build>}" "${EBAK_B:?EBAK_B=<bin/ebak of the second build>}"
export EBAK_REPOSITORY=$W/repo-ebak EBAK_PASSWORD=benchpw RESTIC_PASSWORD=benchpw RESTIC_REPOSITORY=$W/repo-restic XDG_CACHE_HOME=$W/cache
times=$(mktemp); errs=$(mktemp); trap 'rm -f "$times" "$errs"' EXIT
timed() { # label, then command
  local label=$1; shift
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%e %U %S %M" -o "$times" "$@" >/dev/null 2>"$errs" || { echo "$label FAILED"; tail -3 "$errs"; }
  read -r wall u s m < "$times"
  printf '%-24s load %5s  wall %6.2f s  user %5.2f  sys %5.2f  rss %4d MiB\n' "$label" "$load" "$wall" "$u" "$s" $((m / 1024))
}
restore_argv() { # tool: sets argv to its restore command
  case $1 in
    A) argv=("$EBAK_A" restore latest --target "$T/out") ;;
    B) argv=("$EBAK_B" restore latest --target "$T/out") ;;
    restic) argv=(restic restore latest --target "$T/out" -q) ;;
  esac
}
cd "$W"
for r in $(seq 1 "$ROUNDS"); do
  echo "--- round $r"
  for tool in A B restic; do
    rm -rf "$T/out"; mkdir -p "$T/out"
    restore_argv "$tool"; timed "restore $tool" "${argv[@]}"
    got=$T/out$W/corpus; [ -d "$got" ] || got=$T/out/corpus # an absolute or a relative source path
    "$HERE/same.sh" "$W/corpus" "$got" >/dev/null && echo "  restore check: identical" || echo "  restore check: DIFFERS"
  done
  rm -rf "$T/out"
  timed "re-backup A" "$EBAK_A" backup corpus --json
  timed "re-backup B" "$EBAK_B" backup corpus --json
  timed "re-backup restic" restic backup -q corpus
  timed "snapshots A" "$EBAK_A" snapshots
  timed "snapshots B" "$EBAK_B" snapshots
  timed "snapshots restic" restic snapshots -q
done
if [ "${SCHED:-0}" = 1 ]; then
  echo "--- where the restore's thread-time goes (schedstat; summed over threads)"
  for tool in A B restic; do
    rm -rf "$T/out"; mkdir -p "$T/out"
    echo -n "restore $tool (load $(cut -d' ' -f1 /proc/loadavg)): "
    restore_argv "$tool"; "$HERE/sched.py" "${argv[@]}"
  done
  rm -rf "$T/out"
fi
