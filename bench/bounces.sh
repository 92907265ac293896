#!/usr/bin/env bash
# Bounce ingest throughput and peak memory: imports N synthetic leads (default 100,000),
# records a campaign as sent to all of them, and ingests one DSN per recipient from an mbox
# with "leadmailer bounces ingest"; prints bounces/s, CPU and peak RSS of the ingest.
#
#   bash bench/bounces.sh
#   N=20000 bash bench/bounces.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/leadmailer" ./cmd/leadmailer
go run ./bench/bouncebench -bin "$work/leadmailer" -n "${N:-100000}" -dir "$work"
