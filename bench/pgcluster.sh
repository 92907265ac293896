# Sourced by the bench scripts: start_private_postgres DIR starts a private PostgreSQL cluster
# in DIR (initdb and pg_ctl from PATH, or the newest /usr/lib/postgresql/N/bin), listening on
# a Unix socket there only, with PostgreSQL's default settings (fsync on) plus the ones the
# README's "Running on PostgreSQL" asks of an operator (bench/postgres.conf), creates the
# database bench and exports LEADMAILER_DATABASE_URL for it. As root the server runs as the
# user nobody. stop_private_postgres stops it again. bench_workdir makes the temporary
# directory $work that the script's exit removes, after stopping the cluster if one started.
pgdata=""

bench_workdir() {
	work=$(mktemp -d)
	trap 'stop_private_postgres; rm -rf "$work"' EXIT
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

start_private_postgres() {
	local dir=$1
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		pgbin=$(dirname "$(readlink -f "$(command -v initdb)")")
	else
		pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -t/ -k4 -n | tail -1)
	fi
	chmod 755 "$(dirname "$dir")"
	mkdir "$dir"
	if [ "$(id -u)" = 0 ]; then chown nobody "$dir"; fi
	pgdata="$dir/data"
	as_pg "$pgbin/initdb" -D "$pgdata" -U leadmailer --auth=trust --encoding=UTF8 --locale=C >/dev/null
	cat bench/postgres.conf >>"$pgdata/postgresql.conf"
	as_pg "$pgbin/pg_ctl" start -D "$pgdata" -w -l "$dir/server.log" \
		-o "-c listen_addresses='' -c unix_socket_directories=$dir" >/dev/null
	as_pg "$pgbin/createdb" -h "$dir" -U leadmailer --encoding UTF8 --locale C --template template0 bench
	export LEADMAILER_DATABASE_URL="postgres://leadmailer@/bench?host=$dir"
	echo "PostgreSQL: $("$pgbin/postgres" --version), private cluster on a Unix socket"
}

stop_private_postgres() {
	if [ -n "$pgdata" ]; then
		as_pg "$pgbin/pg_ctl" stop -D "$pgdata" -m fast -w >/dev/null || true
	fi
}
