#!/usr/bin/env bash
# Proves ebak's memory stays flat: peak RSS of `ebak backup` of a single 256 MiB
# file vs a single 4 GiB file (incompressible AES-CTR data), restic for reference.
# Exits 1 when ebak's peak grows with the input (or ebak fails). See docs/benchmarks.md.
#   BENCH_DIR=/tmp/ebak-bench (inputs in $BENCH_DIR/memory, ~4.3 GiB, kept for reruns)
#   BENCH_MEMORY_SIZES=256,4096 (MiB)  BENCH_TOOLS=ebak,restic
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
need_debian restic:restic /usr/bin/time:time
scripts/setup.sh
exec node dist/bench/memory.js
