#!/bin/sh
# Prune beside restic (bench/prune.ts, issue 15): builds the history, forgets, times both prunes,
# checks both repositories. By default the issue's size: 10,000 snapshots, 1,000,000 file blobs
# (about 25 min to build on 2 loaded cores, 1.5 GB of disk under $BENCH_DIR, the file window on
# /dev/shm). BENCH_SCALE=small runs the earlier 200-snapshot shape in a couple of minutes;
# BENCH_PRUNE_* set each part (see bench/prune.ts). Runs niced, so a shared machine keeps its
# other work; the log goes to $BENCH_DIR/prune.log.
set -eu
cd "$(dirname "$0")/.."
npx tsc -p .
dir=${BENCH_DIR:-/tmp/ebak-bench}
mkdir -p "$dir"
nice -n 10 node dist/bench/prune.js 2>&1 | tee "$dir/prune.log"
