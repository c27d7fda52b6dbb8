#!/usr/bin/env bash
# Installs npm dependencies (only when package-lock.json changed) and builds dist/.
# Shared by demo.sh, test.sh and bench.sh so that each works on a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."
# `npm install`, not `npm ci`: cbor-x's optional native helper lists per-platform packages
# that this registry does not carry (404), so the lock file cannot name them and `npm ci`
# refuses it as out of sync. `npm install` follows the lock file and skips them (cbor-x
# works without them; ebak only uses its encoder).
# Installed for exactly this lock file? (By content, not mtime: a fresh checkout or git
# worktree has a lock file newer than an install that matches it.)
stamp=node_modules/.ebak-package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.package-lock.json ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  npm install --no-audit --no-fund
  echo "$want" > "$stamp"
fi
npx tsc -p .
