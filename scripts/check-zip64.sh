#!/usr/bin/env bash
# `dump --archive zip` past ZIP's 32-bit limits (issue #17): a sparse file of
# EBAK_ZIP_GIB GiB (default 4.5, over 4 GiB) beside a small one is backed up
# and dumped as a zip; Info-ZIP's `unzip -t` checks every entry's CRC-32 and
# size through the ZIP64 records, and the listing must give the big entry's
# full size. Not in the suite: it streams gigabytes through the zip writer.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_debian unzip:unzip
scripts/setup.sh >/dev/null
gib="${EBAK_ZIP_GIB:-4.5}"
work=$(mktemp -d /var/tmp/ebak-zip64-XXXXXX)
trap 'rm -rf "$work"' EXIT
export EBAK_REPOSITORY="$work/repo" EBAK_PASSWORD=zip64
ebak() { node bin/ebak "$@"; }
mkdir -p "$work/src"
bytes=$(python3 -c "print(int($gib * 2**30))")
truncate -s "$bytes" "$work/src/big.bin"
printf 'tail bytes\n' | dd of="$work/src/big.bin" bs=1 seek=$((bytes - 11)) conv=notrunc status=none
echo small > "$work/src/small.txt"
ebak init -q >/dev/null
/usr/bin/time -f "backup: %e s, %M KB peak" node bin/ebak backup -q "$work/src"
/usr/bin/time -f "dump --archive zip: %e s, %M KB peak" node bin/ebak dump --archive zip latest "$work/src" > "$work/out.zip"
ls -l "$work/out.zip" | awk '{print "zip:", $5, "bytes"}'
unzip -tq "$work/out.zip"
listed=$(unzip -Zl "$work/out.zip" | awk '/big.bin/ {print $4}')
[ "$listed" = "$bytes" ] || { echo "check-zip64: the listing gives big.bin $listed bytes, not $bytes" >&2; exit 1; }
echo "check-zip64: ok (big.bin $bytes bytes, CRC-32 and sizes checked by unzip -t)"
