#!/usr/bin/env bash
# `npm run bench`: ebak, restic and borg side by side on a reproducible ~1 GiB
# corpus (first backup, unchanged re-backup, restore). Installs restic, borg and
# GNU time if missing (as root), builds, then runs bench/run.ts. See docs/benchmarks.md.
#   BENCH_DIR=/tmp/ebak-bench  BENCH_SCALE=1  BENCH_SEED=ebak-bench-1
#   BENCH_TOOLS=ebak,restic,borg  BENCH_KEEP=1 (keep repositories)
# Results: $BENCH_DIR/results.md and results.json (the markdown is also printed).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
need_debian restic:restic borg:borgbackup /usr/bin/time:time
scripts/setup.sh
exec node dist/bench/run.js
