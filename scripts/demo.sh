#!/usr/bin/env bash
# The main job: ebak's reason to exist, end to end on this machine.
#  1. a key vault runs in a simulated Nitro enclave (attested TLS, sealed state in
#     SQLite, keys in a SoftHSM2 token, its secrets released by an attestation-gated
#     key service: the simulated AWS KMS), 2. a user signs up with OPAQUE (the vault
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

wait_listening() { # <log file>: prints the URL the server announces
  for _ in $(seq 1 150); do grep -q 'listening on' "$1" 2>/dev/null && break; sleep 0.1; done
  grep -o 'https://[^ ]*' "$1" | head -1
}

step "the platform (simulated): a dev CA for the Nitro hypervisor, a key service for AWS KMS"
ebak vault devca --devca "$work/devca"
export AWS_ACCESS_KEY_ID=AKIAEBAKDEMO00000001 AWS_SECRET_ACCESS_KEY=demo-key-service-secret
ebak vault measure --key-policy > "$work/key-policy.json"   # releases the vault's secrets to this build's PCRs only
key_id=$(ebak keyservice create-key --dir "$work/kms" --policy "$work/key-policy.json")
"$PWD/bin/ebak" keyservice serve --dir "$work/kms" --listen 127.0.0.1:0 --root "$work/devca/root.pem" > "$work/kms.log" 2>&1 &
kms_pid=$!
trap 'kill $kms_pid 2>/dev/null || true' EXIT
kms_url=$(wait_listening "$work/kms.log")
[ -n "$kms_url" ] || { cat "$work/kms.log" >&2; exit 1; }
kms=(--kms-endpoint "$kms_url" --kms-key-id "$key_id" --kms-ca "$work/kms/tls/cert.pem")
echo "key service on $kms_url, key $key_id"

step "an HSM token for the vault (SoftHSM2 here, CloudHSM in production); its PIN goes to the enclave only"
mkdir -p "$work/hsm/tokens"
printf 'directories.tokendir = %s/hsm/tokens\n' "$work" > "$work/hsm/softhsm2.conf"
export SOFTHSM2_CONF="$work/hsm/softhsm2.conf" EBAK_HSM_TOKEN=vault
pin=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
softhsm2-util --init-token --free --label vault --pin "$pin" --so-pin "$(head -c 24 /dev/urandom | base64)" >/dev/null
printf '%s\n' "$pin" > "$work/pin"
ebak vault provision-pin --pin-file "$work/pin" --out "$work/hsm-pin.kms" "${kms[@]}"
rm -f "$work/pin"; unset pin   # from here on the host holds only the encrypted PIN

step "ebak vault serve: the vault in a simulated Nitro enclave (registration by the operator's invitation)"
ebak vault measure
ebak vault operator-key --out "$work/operator.pem"
# Started directly, not through the ebak() function, so that $! is the server itself.
"$PWD/bin/ebak" vault serve --dir "$work/vault" --devca "$work/devca" --listen 127.0.0.1:0 "${kms[@]}" \
  --hsm-pin-kms "$work/hsm-pin.kms" --operator-key "$work/operator.pem.pub" > "$work/vault.log" 2>&1 &
vault_pid=$!
trap 'kill $vault_pid $kms_pid 2>/dev/null || true' EXIT
url=$(wait_listening "$work/vault.log")
[ -n "$url" ] || { cat "$work/vault.log" >&2; exit 1; }
echo "vault listening on $url"
export EBAK_VAULT_ROOT="$work/devca/root.pem" EBAK_REPOSITORY="$work/repo"
invite=$(ebak vault invite --operator-key-file "$work/operator.pem")

step "sample data"
mkdir -p "$work/data/docs"
for i in $(seq 1 100); do printf 'note %d: the quick brown fox jumps over the lazy dog\n%.0s' $(seq 1 $((i * 5))) > "$work/data/docs/note-$i.txt"; done
head -c 10000000 /dev/urandom > "$work/data/photo.raw"

step "laptop: ebak init --vault (OPAQUE sign-up; the key envelope is held by the vault)"
EBAK_CONFIG_DIR="$work/laptop" EBAK_PASSWORD='correct horse battery' ebak init --vault "$url" --vault-invite "$invite"
step "laptop: ebak backup (no password needed: the device session opens the repository)"
EBAK_CONFIG_DIR="$work/laptop" ebak backup "$work/data"

step "new device, wrong password: the vault counts the guess before answering"
EBAK_CONFIG_DIR="$work/new-device" EBAK_PASSWORD='wrong guess' ebak login --vault "$url" || true
step "new device: ebak login with only the password and the repository location"
EBAK_CONFIG_DIR="$work/new-device" EBAK_PASSWORD='correct horse battery' ebak login --vault "$url" --device new-device
step "new device: ebak restore latest"
EBAK_CONFIG_DIR="$work/new-device" ebak restore latest --target "$work/restore"
diff -r "$work/data" "$work/restore/data" && echo "restore is byte-identical to the source"

step "new device: list devices, revoke the laptop (a dangerous change: it needs the password again; takes effect at once)"
EBAK_CONFIG_DIR="$work/new-device" ebak device list
laptop=$(EBAK_CONFIG_DIR="$work/new-device" ebak device list --json | node -e 'const d=JSON.parse(require("fs").readFileSync(0)).devices;console.log(d.find((x)=>!x.current).id)')
EBAK_CONFIG_DIR="$work/new-device" EBAK_PASSWORD='correct horse battery' ebak device revoke "$laptop"
EBAK_CONFIG_DIR="$work/laptop" ebak snapshots || echo "(the revoked laptop is refused)"

step "the vault's audit log: hash-chained, every entry signed by an attested key, ending at the enclave's own head"
ebak vault audit verify --dir "$work/vault" --vault "$url" --operator-key-file "$work/operator.pem"
kill $vault_pid $kms_pid; wait $vault_pid $kms_pid 2>/dev/null || true
echo
echo "demo finished; files are in $work"
