#!/usr/bin/env bash
# The README's test command. On a fresh Debian machine (run as root) it
# installs everything the tests need, builds, and runs the test files.
# Usage: scripts/test.sh [test-file-pattern]          every test file (CI), or those matching, e.g. scripts/test.sh hsm
#        scripts/test.sh --unit [test-file-pattern]   the fast tier only (test/structure/unit-tier.txt; under 30 s)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib.sh
need_debian softhsm2-util:softhsm2 socat:socat /usr/lib/postgresql/15/bin/initdb:postgresql restic:restic openssl:openssl zsh:zsh fish:fish groff:groff

scripts/setup.sh

tier=all
if [ "${1:-}" = "--unit" ]; then tier=unit; shift; fi
pattern="${1:-}"
if [ "$tier" = unit ]; then
  # test/x/y.test.ts in the list -> dist/test/x/y.test.js
  mapfile -t files < <(grep -v '^#' test/structure/unit-tier.txt | grep . | sed 's#^test/#dist/test/#; s#\.ts$#.js#' | sort | grep -- "$pattern")
else
  mapfile -t files < <(find dist/test -name '*.test.js' | sort | grep -- "$pattern")
fi
if [ ${#files[@]} -eq 0 ]; then echo "test.sh: no $tier-tier test files match '$pattern'" >&2; exit 1; fi
echo "running ${#files[@]} test files ($tier tier)"
# Three files at a time on two cores: many tests wait on child processes and servers,
# and at two the cores were busy ~85 % of the time.
exec node --test --test-concurrency=3 "${files[@]}"
