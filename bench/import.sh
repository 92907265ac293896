#!/usr/bin/env bash
# Import throughput and peak memory: builds leadmailer, generates a CSV of ROWS synthetic
# leads (default 1,000,000), imports it into a fresh data directory and again on top of it,
# and prints rows/s, CPU time and peak RSS for each run.
#
#   bash bench/import.sh            # 1,000,000 rows
#   ROWS=200000 bash bench/import.sh
#   LEADMAILER_DATABASE_URL=postgres://... bash bench/import.sh   # into that (empty) PostgreSQL database
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/leadmailer" ./cmd/leadmailer
go run ./bench/importbench -bin "$work/leadmailer" -rows "${ROWS:-1000000}" -dir "$work"
