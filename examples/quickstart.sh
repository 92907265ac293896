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
cd -P "$(dirname "$0")/.."
export LEADMAILER_DATA=${LEADMAILER_DATA:-leadmailer-data}
export LEADMAILER_CONFIG=examples/leadmailer.toml
# Where to build the binary; the README's commands expect ./leadmailer.
lm=${LEADMAILER_BIN:-./leadmailer}

go build -o "$lm" ./cmd/leadmailer
# The commands are shown in bold on a terminal; piped into a file or a CI log, no escape
# sequences clutter the text (NO_COLOR turns them off too).
bold='' plain=''
if [[ -t 1 && -z ${NO_COLOR:-} && ${TERM:-dumb} != dumb ]]; then
	bold=$'\033[1m' plain=$'\033[0m'
fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }

step "$lm" import examples/leads.csv --source crm-export
step "$lm" sources run company-register
id=$("$lm" campaigns create --name "Spring offer" --subject 'Pallets for {{default "you" .Lead.Company}}' \
	--html examples/spring.html --body-language en --json | sed -n 's/^ *"id": *\([0-9]*\).*/\1/p' | head -1)
step "$lm" campaigns send "$id"
step "$lm" campaigns recipients "$id"

cat <<MSG

The messages are in $LEADMAILER_DATA/outbox/ as .eml files: open one in a mail program, or read
the text. Anna's mail names the public register her city came from; Jürgen, in Germany, is
skipped until he consents, as B2B cold mail there needs.

Next (the example configuration holds the sender and the register):
  export LEADMAILER_CONFIG=$LEADMAILER_CONFIG
  ./leadmailer leads show anna.virtanen@example.fi   # every value with the run that supplied it
  ./leadmailer campaigns preview $id --lead anna.virtanen@example.fi --text
  ./leadmailer init --admin admin                     # the first web user; asks for a password
  ./leadmailer serve                                  # the web app on http://127.0.0.1:8080
MSG
