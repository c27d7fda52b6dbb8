#!/bin/sh
# Inside the enclave: the vault listens on 127.0.0.1:8443; socat bridges the
# enclave's vsock port 8443 to it (TLS passes through untouched, so the TLS
# session ends inside the enclave). The state store is reached the other way:
# a vsock connection to the parent (CID 3) port 5432 for PostgreSQL.
set -eu
ip link set lo up 2>/dev/null || true
socat VSOCK-LISTEN:8443,fork,reuseaddr TCP:127.0.0.1:8443 &
socat TCP-LISTEN:5432,bind=127.0.0.1,fork,reuseaddr VSOCK-CONNECT:3:5432 &
exec node /app/bin/ebak vault serve --mode nitro --listen 127.0.0.1:8443 \
  --state "postgres://vault@127.0.0.1:5432/vault" --nsm-helper /usr/local/bin/nsm-attest
