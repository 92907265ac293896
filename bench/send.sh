#!/usr/bin/env bash
# Campaign send throughput and peak memory: builds leadmailer, imports N synthetic leads
# (default 100,000) into a fresh data directory, starts Postfix's smtp-sink on 127.0.0.1,
# sends one personalised campaign to all of them and prints messages/s, CPU seconds and
# peak RSS of the send (from /usr/bin/time -v).
#
#   bash bench/send.sh                     # 100,000 leads, 8 connections, no rate limit
#   N=20000 CONCURRENCY=4 bash bench/send.sh
#
# Needs /usr/sbin/smtp-sink (Debian package postfix) and /usr/bin/time (package time).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-100000}
concurrency=${CONCURRENCY:-8}
sink=${SMTP_SINK:-/usr/sbin/smtp-sink}
port=${PORT:-25925}
work=$(mktemp -d)
sinkpid=
cleanup() {
	if [ -n "$sinkpid" ]; then kill "$sinkpid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

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
lm campaigns create --name bench --subject 'Spring offer for {{.Lead.Company}}' --html "$work/body.html" > /dev/null

sinkargs=("127.0.0.1:$port" 256)
if [ "$(id -u)" = 0 ]; then sinkargs=(-u nobody "${sinkargs[@]}"); fi
"$sink" "${sinkargs[@]}" &
sinkpid=$!
sleep 0.3

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
