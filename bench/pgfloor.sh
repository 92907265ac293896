#!/usr/bin/env bash
# The fastest PostgreSQL itself stores the rows an import writes, on this machine: imports
# ROWS synthetic leads (default 200,000) into a private PostgreSQL cluster as
# bench/import.sh does, copies the leads and their observations out in COPY's binary
# format, and times a bare COPY of them back into empty tables with the same columns,
# indexes and constraints, one connection each, as an import's one writing connection
# does. No staging, matching, merging or reference checks: what it prints is a ceiling for
# the import, not a rate leadmailer could reach.
#
#   bash bench/pgfloor.sh
#   ROWS=1000000 bash bench/pgfloor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
. bench/pgcluster.sh
cleanup() {
	stop_private_postgres
	rm -rf "$work"
}
trap cleanup EXIT

rows=${ROWS:-200000}
start_private_postgres "$work/pg"
go build -o "$work/leadmailer" ./cmd/leadmailer
go run ./bench/importbench -bin "$work/leadmailer" -rows "$rows" -dir "$work" | sed -n '1p;/^fresh/p'

# The server writes and reads the copies itself: they go in its own directory.
psql -qAt "$LEADMAILER_DATABASE_URL" <<SQL
COPY leads TO '$work/pg/leads.copy' (FORMAT binary);
COPY (SELECT * FROM observations WHERE run_id = (SELECT min(id) FROM import_runs)) TO '$work/pg/observations.copy' (FORMAT binary);
CREATE TABLE floor_leads (LIKE leads INCLUDING ALL);
CREATE TABLE floor_observations (LIKE observations INCLUDING ALL);
SQL

# copy_ms TABLE FILE prints the milliseconds a COPY of FILE into TABLE took, commit included.
copy_ms() {
	psql -qAt "$LEADMAILER_DATABASE_URL" -c "TRUNCATE $1" -c "CHECKPOINT" >/dev/null
	local start end
	start=$(date +%s%N)
	psql -qAt "$LEADMAILER_DATABASE_URL" -c "COPY $1 FROM '$2' (FORMAT binary)" >/dev/null
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}
for try in 1 2; do
	l=$(copy_ms floor_leads "$work/pg/leads.copy")
	o=$(copy_ms floor_observations "$work/pg/observations.copy")
	echo "bare COPY, try $try: leads $l ms ($((rows * 1000 / l)) rows/s), observations $o ms ($((rows * 1000 / o)) rows/s), both $((l + o)) ms: at most $((rows * 1000 / (l + o))) rows/s"
done
