#!/usr/bin/env bash
# The main job end to end on the embedded defaults: a SQLite database in ./leadmailer-data and
# mail written to ./leadmailer-data/outbox, since no SMTP server is configured.
#
#   1. import examples/leads.csv, as marketing would upload it;
#   2. run the public company register declared in examples/leadmailer.toml;
#   3. create a campaign from examples/spring.html and send it.
#
# Run it again to see that re-importing changes nothing and a new campaign mails nobody twice.
set -euo pipefail
cd "$(dirname "$0")/.."
export LEADMAILER_DATA=${LEADMAILER_DATA:-leadmailer-data}
export LEADMAILER_CONFIG=examples/leadmailer.toml

go build -o leadmailer ./cmd/leadmailer
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step ./leadmailer import examples/leads.csv --source crm-export
step ./leadmailer sources run company-register
id=$(./leadmailer campaigns create --name "Spring offer" --subject 'Pallets for {{default "you" .Lead.Company}}' \
	--html examples/spring.html --json | sed -n 's/^ *"id": *\([0-9]*\).*/\1/p' | head -1)
step ./leadmailer campaigns send "$id"
step ./leadmailer campaigns recipients "$id"

cat <<MSG

The messages are in $LEADMAILER_DATA/outbox/ as .eml files: open one in a mail program, or read
the text. Anna's mail names the public register her city came from; Jürgen, in Germany, is
skipped until he consents, as B2B cold mail there needs.

Next (the example configuration holds the sender and the register):
  export LEADMAILER_CONFIG=$LEADMAILER_CONFIG
  ./leadmailer leads show anna.virtanen@example.fi   # every value with the run that supplied it
  ./leadmailer campaigns preview $id --lead anna.virtanen@example.fi --text
  ./leadmailer init --admin admin && ./leadmailer serve   # the web app on http://127.0.0.1:8080
MSG
