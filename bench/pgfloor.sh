#!/usr/bin/env bash
# The fastest PostgreSQL itself stores the rows an import writes, on this machine: imports
# ROWS synthetic leads (default 200,000) into a private PostgreSQL cluster as
# bench/import.sh does, copies the leads and their observations out in COPY's binary
# format, and times a bare COPY of them back into empty tables with the same columns,
# indexes and constraints, one connection each, as an import's one writing connection
# does. No staging, matching, merging or reference checks: what it prints is a ceiling for
# the import, not a rate leadmailer could reach. WRITERS=N splits the rows by lead id into N
# shares and copies them over N connections at once: the ceiling of an import that wrote in
# parallel, which the store's writer lock does not allow today.
#
#   bash bench/pgfloor.sh
#   ROWS=1000000 bash bench/pgfloor.sh
#   ROWS=1000000 WRITERS=2 bash bench/pgfloor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/pgcluster.sh
bench_workdir

rows=${ROWS:-200000}
start_private_postgres "$work/pg"
go build -o "$work/leadmailer" ./cmd/leadmailer
go run ./bench/importbench -bin "$work/leadmailer" -rows "$rows" -dir "$work" | sed -n '1p;/^fresh/p'

writers=${WRITERS:-1}
# The server writes and reads the copies itself: they go in its own directory.
psql -qAt "$LEADMAILER_DATABASE_URL" <<SQL
CREATE TABLE floor_leads (LIKE leads INCLUDING ALL);
CREATE TABLE floor_observations (LIKE observations INCLUDING ALL);
SQL
for ((k = 0; k < writers; k++)); do
	psql -qAt "$LEADMAILER_DATABASE_URL" \
		-c "COPY (SELECT * FROM leads WHERE id % $writers = $k) TO '$work/pg/leads.$k.copy' (FORMAT binary)" \
		-c "COPY (SELECT * FROM observations WHERE run_id = (SELECT min(id) FROM import_runs) AND lead_id % $writers = $k) TO '$work/pg/observations.$k.copy' (FORMAT binary)"
done

# copy_ms TABLE NAME prints the milliseconds the COPYs of NAME's shares into TABLE took, one
# connection a share, all at once, commits included.
copy_ms() {
	psql -qAt "$LEADMAILER_DATABASE_URL" -c "TRUNCATE $1" -c "CHECKPOINT" >/dev/null
	local start end k
	start=$(date +%s%N)
	for ((k = 0; k < writers; k++)); do
		psql -qAt "$LEADMAILER_DATABASE_URL" -c "COPY $1 FROM '$work/pg/$2.$k.copy' (FORMAT binary)" >/dev/null &
	done
	wait
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}
for try in 1 2; do
	l=$(copy_ms floor_leads leads)
	o=$(copy_ms floor_observations observations)
	echo "bare COPY, $writers writer(s), try $try: leads $l ms ($((rows * 1000 / l)) rows/s), observations $o ms ($((rows * 1000 / o)) rows/s), both $((l + o)) ms: at most $((rows * 1000 / (l + o))) rows/s"
done
