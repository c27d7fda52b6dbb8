#!/usr/bin/env bash
# The main job: ebak's reason to exist, end to end on this machine.
#  1. a key vault runs in a simulated Nitro enclave (attested TLS, sealed state in
#     SQLite, keys in a SoftHSM2 token), 2. a user signs up with OPAQUE (the vault
#     never sees the password), 3. backs up, 4. restores on a "new device" that has
#     only the password and the repository location, 5. revokes the old device and
#     verifies the vault's signed audit log. (scripts/demo-local.sh: no vault.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
need_debian softhsm2-util:softhsm2
scripts/setup.sh >/dev/null
work=$(mktemp -d /tmp/ebak-demo.XXXXXX)
ebak() { "$PWD/bin/ebak" "$@"; }
step() { printf '\n== %s\n' "$*"; }

step "an HSM token for the vault (SoftHSM2 here, CloudHSM in production)"
mkdir -p "$work/hsm/tokens"
printf 'directories.tokendir = %s/hsm/tokens\n' "$work" > "$work/hsm/softhsm2.conf"
export SOFTHSM2_CONF="$work/hsm/softhsm2.conf" EBAK_HSM_TOKEN=vault EBAK_HSM_PIN=1234
softhsm2-util --init-token --free --label vault --pin 1234 --so-pin 5678 >/dev/null

step "ebak vault serve: the vault in a simulated Nitro enclave"
ebak vault measure
# Started directly, not through the ebak() function, so that $! is the server itself.
"$PWD/bin/ebak" vault serve --dir "$work/vault" --listen 127.0.0.1:0 > "$work/vault.log" 2>&1 &
vault_pid=$!
trap 'kill $vault_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q 'listening on' "$work/vault.log" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'https://[^ ]*' "$work/vault.log" | head -1)
[ -n "$url" ] || { cat "$work/vault.log" >&2; exit 1; }
echo "vault listening on $url"
export EBAK_VAULT_ROOT="$work/vault/devca/root.pem" EBAK_REPOSITORY="$work/repo"

step "sample data"
mkdir -p "$work/data/docs"
for i in $(seq 1 100); do printf 'note %d: the quick brown fox jumps over the lazy dog\n%.0s' $(seq 1 $((i * 5))) > "$work/data/docs/note-$i.txt"; done
head -c 10000000 /dev/urandom > "$work/data/photo.raw"

step "laptop: ebak init --vault (OPAQUE sign-up; the key envelope is held by the vault)"
EBAK_CONFIG_DIR="$work/laptop" EBAK_PASSWORD='correct horse battery' ebak init --vault "$url"
step "laptop: ebak backup (no password needed: the device session opens the repository)"
EBAK_CONFIG_DIR="$work/laptop" ebak backup "$work/data"

step "new device, wrong password: the vault counts the guess before answering"
EBAK_CONFIG_DIR="$work/new-device" EBAK_PASSWORD='wrong guess' ebak login --vault "$url" || true
step "new device: ebak login with only the password and the repository location"
EBAK_CONFIG_DIR="$work/new-device" EBAK_PASSWORD='correct horse battery' ebak login --vault "$url" --device new-device
step "new device: ebak restore latest"
EBAK_CONFIG_DIR="$work/new-device" ebak restore latest --target "$work/restore"
diff -r "$work/data" "$work/restore/data" && echo "restore is byte-identical to the source"

step "new device: list devices, revoke the laptop (takes effect at once)"
EBAK_CONFIG_DIR="$work/new-device" ebak device list
laptop=$(EBAK_CONFIG_DIR="$work/new-device" ebak device list --json | node -e 'const d=JSON.parse(require("fs").readFileSync(0)).devices;console.log(d.find((x)=>!x.current).id)')
EBAK_CONFIG_DIR="$work/new-device" ebak device revoke "$laptop"
EBAK_CONFIG_DIR="$work/laptop" ebak snapshots || echo "(the revoked laptop is refused)"

step "the vault's audit log: hash-chained, every entry signed by the attested key"
kill $vault_pid; wait $vault_pid 2>/dev/null || true
ebak vault audit verify --dir "$work/vault"
echo
echo "demo finished; files are in $work"
