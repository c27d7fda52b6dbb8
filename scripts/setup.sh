#!/usr/bin/env bash
# Installs npm dependencies (only when package-lock.json changed) and builds dist/.
# Shared by demo.sh, test.sh and bench.sh so that each works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p .
