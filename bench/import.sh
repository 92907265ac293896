#!/usr/bin/env bash
# Import throughput and peak memory: builds leadmailer, generates a CSV of ROWS synthetic
# leads (default 1,000,000), imports it into a fresh database and again on top of it, and
# prints rows/s, CPU time and peak RSS for each run.
#
#   bash bench/import.sh                        # 1,000,000 rows into SQLite
#   ROWS=200000 bash bench/import.sh
#   BACKEND=postgres bash bench/import.sh       # into a private PostgreSQL cluster it starts
#   LEADMAILER_DATABASE_URL=postgres://... bash bench/import.sh   # into that (empty) database
#
# BACKEND=postgres runs initdb and pg_ctl (PATH, or the newest /usr/lib/postgresql/N/bin) in a
# temporary directory, listening on a Unix socket there only, with PostgreSQL's default
# settings (fsync on) and the ones the README's "Running on PostgreSQL" asks of an operator.
# As root the server runs as the user nobody. For PostgreSQL the peak RSS of the server's
# backends that serve the database is printed too, read from /proc while the import runs.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pgdata=""
cleanup() {
	if [ -n "$pgdata" ]; then
		as_pg "$pgbin/pg_ctl" stop -D "$pgdata" -m fast -w >/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

if [ "${BACKEND:-sqlite}" = postgres ]; then
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		pgbin=$(dirname "$(readlink -f "$(command -v initdb)")")
	else
		pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -t/ -k4 -n | tail -1)
	fi
	chmod 755 "$work"
	mkdir "$work/pg"
	[ "$(id -u)" = 0 ] && chown nobody "$work/pg"
	pgdata="$work/pg/data"
	as_pg "$pgbin/initdb" -D "$pgdata" -U leadmailer --auth=trust --encoding=UTF8 --locale=C >/dev/null
	# The README's settings for an operator, nothing else changed.
	cat bench/postgres.conf >>"$pgdata/postgresql.conf"
	as_pg "$pgbin/pg_ctl" start -D "$pgdata" -w -l "$work/pg/server.log" \
		-o "-c listen_addresses='' -c unix_socket_directories=$work/pg" >/dev/null
	as_pg "$pgbin/createdb" -h "$work/pg" -U leadmailer --encoding UTF8 --locale C --template template0 bench
	export LEADMAILER_DATABASE_URL="postgres://leadmailer@/bench?host=$work/pg"
	echo "PostgreSQL: $("$pgbin/postgres" --version), private cluster on a Unix socket"
fi
go build -o "$work/leadmailer" ./cmd/leadmailer
go run ./bench/importbench -bin "$work/leadmailer" -rows "${ROWS:-1000000}" -dir "$work"
