#!/usr/bin/env bash
# kill -9 during `key rotate-master --rewrite` at many seeded points (issue #20):
# every key step and EBAK_TEST_ROTATE_POINTS of the rewrite's writes and deletes
# (default here 40; the test suite takes a sample of 4 key-step points and 1 of
# the rewrite's). Prints its seed.
#   EBAK_TEST_ROTATE_POINTS=40  EBAK_TEST_ROTATE_KEY_POINTS=0 (every key step)  EBAK_TEST_SEED=<replay a failure>
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Then the vault-mode rotation at every key step (EBAK_TEST_ROTATE_VAULT_POINTS=0; the suite takes 1).
EBAK_TEST_ROTATE_POINTS="${EBAK_TEST_ROTATE_POINTS:-40}" EBAK_TEST_ROTATE_KEY_POINTS="${EBAK_TEST_ROTATE_KEY_POINTS:-0}" node --test dist/test/cli/rotate-crash.test.js
EBAK_TEST_ROTATE_VAULT_POINTS="${EBAK_TEST_ROTATE_VAULT_POINTS:-0}" exec node --test --test-name-pattern='killed' dist/test/cli/rotate-vault.test.js
