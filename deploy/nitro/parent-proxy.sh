#!/bin/sh
# On the parent instance: public TCP 443 → enclave vsock 8443 (bytes only; the
# parent never sees TLS plaintext), and the enclave's state connection
# (vsock 5432 on the parent) → the PostgreSQL server. ENCLAVE_CID from
# `nitro-cli describe-enclaves`. UNTESTED here (no vsock device on this VM).
set -eu
: "${ENCLAVE_CID:?set ENCLAVE_CID}"
socat TCP-LISTEN:443,fork,reuseaddr VSOCK-CONNECT:"$ENCLAVE_CID":8443 &
socat VSOCK-LISTEN:5432,fork,reuseaddr TCP:"${PGHOST:-127.0.0.1}":"${PGPORT:-5432}" &
wait
