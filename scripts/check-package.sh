#!/usr/bin/env bash
# The package as a user installs it (issue 17): npm pack, then npm install -g
# of the tarball into a scratch prefix, native addons built from source as on
# a fresh machine (minutes), then the installed `ebak --help`, and an init,
# backup and restore with it. The suite's test/cli/package.test.ts does the
# same install without the native builds.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
work="$(mktemp -d /tmp/ebak-package-XXXXXX)"
trap 'rm -rf "$work"' EXIT
npm pack --ignore-scripts --silent --pack-destination "$work" >/dev/null
npm install -g --prefix "$work/prefix" "$work"/ebak-*.tgz --no-audit --no-fund
ebak="$work/prefix/bin/ebak"
"$ebak" --help | head -3
export EBAK_REPOSITORY="$work/repo" EBAK_PASSWORD="package check"
mkdir -p "$work/src" && echo "installed from the tarball" > "$work/src/a.txt"
"$ebak" init >/dev/null
"$ebak" backup "$work/src" >/dev/null
"$ebak" restore latest --target "$work/out" >/dev/null
cmp "$work/src/a.txt" "$work/out$work/src/a.txt"
echo "check-package: the installed ebak starts, backs up and restores"
