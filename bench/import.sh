#!/usr/bin/env bash
# Import throughput and peak memory: builds leadmailer, generates a CSV of ROWS synthetic
# leads (default 1,000,000), imports it into a fresh database and again on top of it, and
# prints rows/s, CPU time and peak RSS for each run.
#
#   bash bench/import.sh                        # 1,000,000 rows into SQLite
#   ROWS=200000 bash bench/import.sh
#   BACKEND=postgres bash bench/import.sh       # into a private PostgreSQL cluster it starts
#   LEADMAILER_DATABASE_URL=postgres://... bash bench/import.sh   # into that (empty) database
#   BACKEND=postgres WRITERS=1 bash bench/import.sh   # [database] import_writers = 1 (default 2)
#
# BACKEND=postgres runs initdb and pg_ctl (PATH, or the newest /usr/lib/postgresql/N/bin) in a
# temporary directory, listening on a Unix socket there only, with PostgreSQL's default
# settings (fsync on) and the ones the README's "Running on PostgreSQL" asks of an operator.
# As root the server runs as the user nobody. For PostgreSQL the peak RSS of the server's
# backends that serve the database is printed too, read from /proc while the import runs.
# The private cluster is warmed up first with two imports into a scratch database, dropped
# again (their figures are printed, marked as such): a new cluster's first imports zero-fill
# its WAL files and fault in its shared memory, which an operator's running server does
# not. WARMUP=0 measures the new cluster as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/pgcluster.sh
bench_workdir

warmup=false
if [ "${BACKEND:-sqlite}" = postgres ]; then
	start_private_postgres "$work/pg"
	[ "${WARMUP:-1}" = 0 ] || warmup=true
fi
if [ -n "${WRITERS:-}" ]; then
	mkdir -m 700 "$work/data"
	printf '[database]\nimport_writers = %s\n' "$WRITERS" >"$work/data/leadmailer.toml"
fi
go build -o "$work/leadmailer" ./cmd/leadmailer
go run ./bench/importbench -bin "$work/leadmailer" -rows "${ROWS:-1000000}" -dir "$work" -warmup="$warmup"
