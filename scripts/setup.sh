#!/usr/bin/env bash
# Installs npm dependencies (only when package-lock.json changed) and builds dist/.
# Shared by demo.sh, test.sh and bench.sh so that each works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
# `npm install`, not `npm ci`: cbor-x's optional native helper lists per-platform packages
# that this registry does not carry (404), so the lock file cannot name them and `npm ci`
# refuses it as out of sync. `npm install` follows the lock file and skips them (cbor-x
# works without them; ebak only uses its encoder).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund
fi
npx tsc -p .
