#!/usr/bin/env bash
# Proves ebak's memory stays flat: peak RSS of `ebak backup` of a single 256 MiB
# file vs a single 4 GiB file (incompressible AES-CTR data), restic for reference.
# Exits 1 when ebak's peak grows with the input (or ebak fails). See docs/benchmarks.md.
#   BENCH_DIR=/tmp/ebak-bench (inputs in $BENCH_DIR/memory, ~4.3 GiB, kept for reruns)
#   BENCH_MEMORY_SIZES=256,4096 (MiB)  BENCH_TOOLS=ebak,restic
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v restic >/dev/null || need_apt+=(restic)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "bench-memory.sh: missing Debian packages: ${need_apt[*]} (run as root or install them)" >&2
    exit 1
  fi
fi

[ -d node_modules ] || npm ci --no-audit --no-fund
npx tsc -p . || echo "bench-memory.sh: tsc reported type errors (output was still emitted); continuing" >&2
exec node dist/bench/memory.js
