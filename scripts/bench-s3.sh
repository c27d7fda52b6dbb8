#!/usr/bin/env bash
# The ebak CLI against a local directory and against S3 (s3rver over HTTPS on
# this machine) on the same corpus: backup, unchanged re-backup and restore
# throughput, requests per GiB. See docs/storage.md, "Throughput and requests".
#   BENCH_DIR=/tmp/ebak-bench-s3  BENCH_SCALE=0.5 (~512 MiB)  BENCH_SEED=ebak-bench-1
# Results: $BENCH_DIR/results-s3.md and results-s3.json (the markdown is also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node dist/bench/s3-repo.js
