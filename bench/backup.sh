#!/usr/bin/env bash
# Backup memory against database size: builds leadmailer, fills two data directories with
# synthetic leads (each imported twice by bench/importbench, so that every lead has two
# observations), one with a tenth of ROWS and one with ROWS (default 520,000: about 300 MB),
# then runs "leadmailer backup" on each and prints the database size, the backup's time and
# its peak RSS as the kernel counts it for the process (GNU time's %M, from getrusage). The
# peak must not grow with the database.
#
#   bash bench/backup.sh
#   ROWS=1000000 bash bench/backup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/time ]; then
	echo "bench/backup.sh needs GNU time (/usr/bin/time; Debian package time)" >&2
	exit 1
fi
rows=${ROWS:-520000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/leadmailer" ./cmd/leadmailer
for n in $((rows / 10)) "$rows"; do
	dir="$work/$n"
	mkdir -p "$dir"
	go run ./bench/importbench -bin "$work/leadmailer" -rows "$n" -dir "$dir" >/dev/null
	db="$dir/data/leadmailer.db"
	/usr/bin/time -o "$dir/time" -f '%M %e %U %S' \
		"$work/leadmailer" backup "$dir/backup.db" --data "$dir/data" >/dev/null
	read -r kb wall user sys <"$dir/time"
	printf '%8d leads: database %6.1f MB, backup %6.1f MB in %5.2f s wall (%5.2f s user, %5.2f s sys), peak RSS %4d MB\n' \
		"$n" "$(($(stat -c %s "$db") / 1000))e-3" "$(($(stat -c %s "$dir/backup.db") / 1000))e-3" \
		"$wall" "$user" "$sys" $((kb / 1024))
	rm -rf "$dir"
done
