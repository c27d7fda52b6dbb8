#!/usr/bin/env bash
# The README's test command. On a fresh Debian machine (run as root) it
# installs everything the tests need, builds, and runs every test file.
# Usage: scripts/test.sh [test-file-pattern]   e.g. scripts/test.sh hsm
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
need_debian softhsm2-util:softhsm2 socat:socat /usr/lib/postgresql/15/bin/initdb:postgresql restic:restic

scripts/setup.sh

pattern="${1:-}"
mapfile -t files < <(find dist/test -name '*.test.js' | sort | grep -- "$pattern")
if [ ${#files[@]} -eq 0 ]; then echo "test.sh: no test files match '$pattern'" >&2; exit 1; fi
echo "running ${#files[@]} test files"
exec node --test --test-concurrency=2 "${files[@]}"
