#!/usr/bin/env bash
# Correctness under load (issue 19): 3 `vault serve` processes on one
# PostgreSQL behind one address, 200 concurrent clients guessing wrong until
# each attacked account locks, then the same with one replica killed -9
# (test/vault/load.test.ts, also in the suite): this repeats it, since a race
# shows only in some runs.
#   SOAK_RUNS=<how many runs, default 3>
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
for i in $(seq "${SOAK_RUNS:-3}"); do
  echo "run $i"
  node --test dist/test/vault/load.test.js
done
