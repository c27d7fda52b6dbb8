#!/bin/sh
# Prune beside restic (bench/prune.ts, issue 15): builds the history, forgets, times both prunes.
# Sizes come from BENCH_PRUNE_* (see bench/prune.ts; the issue's size is
# BENCH_PRUNE_SNAPSHOTS=10000 BENCH_PRUNE_ROUNDS=100 BENCH_PRUNE_FILES=10000). Runs niced,
# so a shared machine keeps its other work; the log goes to $BENCH_DIR/prune.log.
set -eu
cd "$(dirname "$0")/.."
npx tsc -p .
dir=${BENCH_DIR:-/tmp/ebak-bench}
mkdir -p "$dir"
nice -n 10 node dist/bench/prune.js 2>&1 | tee "$dir/prune.log"
