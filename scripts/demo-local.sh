#!/usr/bin/env bash
# The local-only demo (no vault, no server): create a
# repository, back up sample data, change it, back up again (incremental),
# restore to a new directory and prove the restore is byte-identical.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
work=$(mktemp -d /tmp/ebak-demo.XXXXXX)
ebak() { bin/ebak "$@"; }
export EBAK_REPOSITORY="$work/repo" EBAK_PASSWORD="demo password"

echo "== sample data in $work/data"
mkdir -p "$work/data/docs" "$work/data/bin"
for i in $(seq 1 200); do printf 'note %d: the quick brown fox jumps over the lazy dog\n%.0s' $(seq 1 $((i * 5))) > "$work/data/docs/note-$i.txt"; done
head -c 20000000 /dev/urandom > "$work/data/bin/random.bin"
ln -s docs/note-1.txt "$work/data/latest-note"

echo "== ebak init"
ebak init
echo "== ebak backup (first)"
ebak backup "$work/data" --tag demo
echo "== change one file, add a copy of another, back up again (only new data is stored)"
echo "changed" >> "$work/data/docs/note-7.txt"
cp "$work/data/bin/random.bin" "$work/data/bin/copy.bin"
ebak backup "$work/data" --tag demo
echo "== ebak snapshots"
ebak snapshots
echo "== ebak diff"
ebak diff "$(ebak snapshots --json | node -e 'const s=JSON.parse(require("fs").readFileSync(0));console.log(s[0].id)')" latest
echo "== ebak restore latest"
ebak restore latest --target "$work/restore"
diff -r "$work/data" "$work/restore/data" && echo "restore is byte-identical to the source"
echo "== ebak check --read-data"
ebak check --read-data
echo "demo finished; files are in $work"
