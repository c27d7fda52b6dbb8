#!/usr/bin/env bash
# `npm run bench`: ebak, restic and borg side by side on a reproducible ~1 GiB
# corpus (first backup, unchanged re-backup, restore). Installs restic, borg and
# GNU time if missing (as root), builds, then runs bench/run.ts. See docs/benchmarks.md.
#   BENCH_DIR=/tmp/ebak-bench  BENCH_SCALE=1  BENCH_SEED=ebak-bench-1
#   BENCH_TOOLS=ebak,restic,borg  BENCH_KEEP=1 (keep repositories)
# Results: $BENCH_DIR/results.md and results.json (the markdown is also printed).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v restic >/dev/null || need_apt+=(restic)
command -v borg >/dev/null || need_apt+=(borgbackup)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "bench.sh: missing Debian packages: ${need_apt[*]} (run as root or install them)" >&2
    exit 1
  fi
fi

[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -p . || echo "bench.sh: tsc reported type errors (output was still emitted); continuing" >&2
exec node dist/bench/run.js
