#!/usr/bin/env bash
# kill -9 during prune at every one of its writes and deletes (issue #15):
# the suite kills at a seeded sample of 6 of them; this kills at all
# (EBAK_TEST_PRUNE_POINTS=0), for a new seed each run. Prints its seed.
#   EBAK_TEST_SEED=<replay a failure>  EBAK_TEST_PRUNE_POINTS=<a sample size>
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
EBAK_TEST_PRUNE_POINTS="${EBAK_TEST_PRUNE_POINTS:-0}" exec node --test dist/test/cli/prune-crash.test.js
