#!/usr/bin/env bash
# The README's test command. On a fresh Debian machine (run as root) it
# installs everything the tests need, builds, and runs every test file.
# Usage: scripts/test.sh [test-file-pattern]   e.g. scripts/test.sh hsm
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v softhsm2-util >/dev/null || need_apt+=(softhsm2)
command -v socat >/dev/null || need_apt+=(socat)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "test.sh: missing Debian packages: ${need_apt[*]} (run as root or install them)" >&2
    exit 1
  fi
fi

scripts/setup.sh

pattern="${1:-}"
mapfile -t files < <(find dist/test -name '*.test.js' | sort | grep -- "$pattern")
if [ ${#files[@]} -eq 0 ]; then echo "test.sh: no test files match '$pattern'" >&2; exit 1; fi
echo "running ${#files[@]} test files"
exec node --test --test-concurrency=2 "${files[@]}"
