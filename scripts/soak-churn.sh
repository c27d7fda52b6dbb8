#!/usr/bin/env bash
# Backs up a tree that a churner keeps changing (growing, shrinking, deleting,
# renaming, files replaced by directories, symlinks and FIFOs) for minutes,
# then restores and verifies every snapshot (issue #14). Prints its seed.
#   EBAK_SOAK_SECONDS=300  EBAK_CHURN_SEED=<replay a failure>
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node dist/test/cli/churn-soak.js
