#!/usr/bin/env bash
# Campaign send throughput and peak memory: builds leadmailer, imports N synthetic leads
# (default 100,000) into a fresh data directory, starts Postfix's smtp-sink on 127.0.0.1,
# sends one personalised campaign to all of them and prints messages/s, CPU seconds and
# peak RSS of the send (from /usr/bin/time -v).
#
#   bash bench/send.sh                     # 100,000 leads, 8 connections, no rate limit
#   N=20000 CONCURRENCY=4 bash bench/send.sh
#   PROCESSES=1 bash bench/send.sh         # sent by one "serve" process instead of "campaigns send"
#   BACKEND=postgres PROCESSES=2 bash bench/send.sh
#                                          # two serve processes, each with its own data directory
#                                          # and CONCURRENCY connections, on a private PostgreSQL
#                                          # cluster the script starts (see bench/pgcluster.sh)
#   LEADMAILER_DATABASE_URL=postgres://... PROCESSES=2 bash bench/send.sh   # on that (empty) database
#
# With PROCESSES the campaign is scheduled a minute in the past, the serve processes start it
# at once, and the rate is of the campaign's own start and finish times.
#
# Needs /usr/sbin/smtp-sink (Debian package postfix) and /usr/bin/time (package time).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-100000}
concurrency=${CONCURRENCY:-8}
sink=${SMTP_SINK:-/usr/sbin/smtp-sink}
port=${PORT:-25925}
processes=${PROCESSES:-0}
work=$(mktemp -d)
. bench/pgcluster.sh
sinkpid=
servepids=()
# stop_serving sends SIGTERM to each serve process, which runs under /usr/bin/time: to serve
# itself, so that time outlives it and writes its report.
stop_serving() {
	for p in "${servepids[@]}"; do
		kill -TERM $(ps -o pid= --ppid "$p") 2>/dev/null || kill "$p" 2>/dev/null || true
	done
}
cleanup() {
	stop_serving
	if [ -n "$sinkpid" ]; then kill "$sinkpid" 2>/dev/null || true; fi
	stop_private_postgres
	rm -rf "$work"
}
trap cleanup EXIT
if [ "${BACKEND:-sqlite}" = postgres ]; then
	start_private_postgres "$work/pg"
fi
if [ "$processes" -gt 1 ] && [ -z "${LEADMAILER_DATABASE_URL:-}" ]; then
	echo "PROCESSES=$processes needs LEADMAILER_DATABASE_URL: several processes share a PostgreSQL database" >&2
	exit 2
fi

go build -o "$work/leadmailer" ./cmd/leadmailer
lm() { "$work/leadmailer" "$@" --data "$work/data"; }

awk -v n="$n" 'BEGIN {
	print "email,name,company,country,city,job_title"
	for (i = 0; i < n; i++)
		printf "lead%d@example%d.fi,Lead Number%d,Company %d Oy,FI,Espoo,Head of Marketing\n", i, i % 997, i, i % 5000
}' > "$work/leads.csv"

mkdir -p "$work/data"
cat > "$work/data/leadmailer.toml" <<TOML
public_url = "https://leads.example.com"

[sender]
from = "Focus Marketing <marketing@focus.example>"
company = "Focus Oy"
postal_address = "Mannerheimintie 1, 00100 Helsinki, Finland"
privacy_policy_url = "https://focus.example/privacy"

[smtp]
url = "smtp://127.0.0.1:$port?starttls=none"

[sending]
concurrency = $concurrency
rate = 0
TOML

cat > "$work/body.html" <<'HTML'
<h1>Hello {{default "there" .Lead.FirstName}},</h1>
<p>We help companies like {{.Lead.Company}} in {{.Lead.City}} send mail that people want to
read. As {{.Lead.JobTitle}}, you know how much a good newsletter is worth, and how much a bad
one costs.</p>
<p>Our spring offer: the first three months free, setup included, and a named person to call
when something does not work. No contract, cancel any month.</p>
<ul><li>Templates that work in every mail client</li><li>Lists that clean themselves</li>
<li>Reports your board will read</li></ul>
<p>Reply to this message and we will book a 20-minute call at a time that suits you.</p>
<p>Best regards,<br>Maija from Focus</p>
HTML

echo "importing $n leads..." >&2
lm import "$work/leads.csv" --source bench > /dev/null
at=()
if [ "$processes" -gt 0 ]; then at=(--at "$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%SZ)"); fi
lm campaigns create --name bench --subject 'Spring offer for {{.Lead.Company}}' --html "$work/body.html" "${at[@]}" > /dev/null

sinkargs=("127.0.0.1:$port" 256)
if [ "$(id -u)" = 0 ]; then sinkargs=(-u nobody "${sinkargs[@]}"); fi
"$sink" "${sinkargs[@]}" &
sinkpid=$!
sleep 0.3

if [ "$processes" -gt 0 ]; then
	echo "sending to $n leads from $processes serve processes, $concurrency connections each..." >&2
	for i in $(seq 1 "$processes"); do
		dir="$work/data"
		if [ "$i" -gt 1 ]; then
			# Every process on the database needs the same key, in a data directory of its own.
			dir="$work/data$i"
			mkdir -p "$dir"
			cp "$work/data/leadmailer.toml" "$work/data/secret.key" "$dir/"
		fi
		/usr/bin/time -v -o "$work/time$i.txt" "$work/leadmailer" serve --listen 127.0.0.1:0 --data "$dir" \
			> "$work/serve$i.log" 2>&1 &
		servepids+=($!)
	done
	# The logs are watched rather than the database, which a poll would slow down. A
	# campaign that stops otherwise (paused by a relay fault, say), a serve that exits, or
	# TIMEOUT seconds (default 600) end the benchmark with the logs.
	deadline=$((SECONDS + ${TIMEOUT:-600}))
	until grep -qs 'campaign stopped.*state=finished' "$work"/serve*.log; do
		why=
		if grep -qs 'campaign stopped' "$work"/serve*.log; then
			why="the campaign stopped without finishing"
		elif [ "$SECONDS" -ge "$deadline" ]; then
			why="the campaign did not finish within ${TIMEOUT:-600} s (set TIMEOUT)"
		else
			for p in "${servepids[@]}"; do kill -0 "$p" 2>/dev/null || why="a serve process exited"; done
		fi
		if [ -n "$why" ]; then
			echo "send.sh: $why; the serve logs:" >&2
			cat "$work"/serve*.log >&2
			exit 1
		fi
		sleep 0.2
	done
	stop_serving
	wait "${servepids[@]}" || true
	servepids=()
	lm campaigns show 1 --json > "$work/show.json"
	sent=$(awk -F': ' '/"sent"/ { gsub(/[ ,]/, "", $2); print $2; exit }' "$work/show.json")
	started=$(awk -F'"' '/"started_at"/ { print $4; exit }' "$work/show.json")
	finished=$(awk -F'"' '/"finished_at"/ { print $4; exit }' "$work/show.json")
	awk -v n="$sent" -v s="$(date -d "$started" +%s.%N)" -v e="$(date -d "$finished" +%s.%N)" -v p="$processes" -v c="$concurrency" '
		/User time/ { user += $NF } /System time/ { sys += $NF } /Maximum resident/ { if ($NF > rss) rss = $NF }
		END {
			t = e - s
			printf "sent %d messages in %.2f s from %d processes over %d connections each: %.0f msgs/s\n", n, t, p, c, n / t
			printf "CPU of the serve processes, start-up included: %.2f s user + %.2f s system\n", user, sys
			printf "peak RSS of one process: %.1f MB\n", rss / 1024
		}' "$work"/time*.txt
	exit 0
fi

echo "sending to $n leads over $concurrency connections..." >&2
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "$work/leadmailer" campaigns send 1 --data "$work/data" > "$work/send.txt"
end=$(date +%s.%N)
cat "$work/send.txt"

sent=$(lm campaigns show 1 --json | awk -F': ' '/"sent"/ { gsub(/[ ,]/, "", $2); print $2; exit }')
awk -v n="$sent" -v s="$start" -v e="$end" -v c="$concurrency" '
	/User time/ { user = $NF } /System time/ { sys = $NF } /Maximum resident/ { rss = $NF } /Percent of CPU/ { pct = $NF }
	END {
		t = e - s
		printf "sent %d messages in %.2f s over %d connections: %.0f msgs/s\n", n, t, c, n / t
		printf "CPU: %.2f s user + %.2f s system = %.1f s (%.0f µs per message)\n", user, sys, user + sys, (user + sys) / n * 1e6
		printf "peak RSS: %.1f MB; CPU share of the send: %s\n", rss / 1024, pct
	}' "$work/time.txt"
