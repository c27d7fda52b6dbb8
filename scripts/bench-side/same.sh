#!/bin/sh
# Compares a restored tree with its source: contents, and type/mode/owner/mtime/size of every entry.
# Usage: same.sh <source dir> <restored dir>   (exit 0 and "identical", or 1 and the first differences)
set -u
src=$1; out=$2
meta() { (cd "$1" && find . -printf '%p %y %m %U %G %T@ %s\n' | sed -E 's/([0-9]+\.[0-9]{5})[0-9]*/\1/' | sort); }
diff -r --no-dereference "$src" "$out" || exit 1
a=$(mktemp); b=$(mktemp); trap 'rm -f "$a" "$b"' EXIT
meta "$src" > "$a"; meta "$out" > "$b"
cmp -s "$a" "$b" || { diff "$a" "$b" | head; exit 1; }
echo identical
