package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

func auditCommand() *command {
	return &command{
		name:    "audit",
		summary: "read the audit trail of who saw and changed what, or verify it is intact",
		usage: `Usage:
  leadmailer audit [--user U] [--action A] [--since T] [--until T] [--limit N] [--json]
  leadmailer audit verify [--head ID:HASH] [--json]
  leadmailer audit head

Every login, every view, search and listing of leads, every import, user change and other
action on personal data leaves an entry saying who did it, what, when and from which IP address.
Web users appear as user:NAME; commands run here appear as os:NAME, the operating system user;
programs calling the JSON API appear as token:NAME.
Entries are printed newest first.

Entries are hash-chained: each entry's hash covers the one before it, keyed (HMAC-SHA256) with
a key derived from secret.key, so that someone who can change the database but not read
secret.key cannot rewrite an entry and recompute the hashes after it. Entries recorded before
keying began (by an older version) keep their plain SHA-256 hashes and verify as such. Where
keying begins is recorded in the database and, authenticated with the key, in the data
directory's audit-keying file, so that deleting the database's record and rehashing every
entry unkeyed is found too.
"audit verify" checks the whole chain and names the first entry that was altered, removed or
moved; it exits with status 1 if it finds one.

Entries cut from the end leave a shorter chain that is still whole, and so does a rewrite by
someone who could also delete audit-keying from the data directory. "audit head" prints the
newest entry as ID:HASH: keep it somewhere else (a ticket, a backup log, a mail to yourself),
and "audit verify --head ID:HASH" later fails unless the trail still holds that entry with that
hash, i.e. unless nothing up to it was rewritten and nothing after it cut.

Flags:
  --user U     only this user: a web user name, os:NAME for the command line, token:NAME for the API
  --action A   only this action (login, login.failed, lead.view, lead.search, lead.list,
               import.upload, import.run, user.create, ...), or a prefix ending in "." (lead.)
  --since T    entries at or after T: a date (2026-11-01), a time (2026-11-01T09:30:00Z),
               or a duration back from now (24h)
  --until T    entries before T, same forms
  --limit N    at most N entries (default 100; 0 for all)
  --json       one JSON array
  --head H     with verify: also check that the trail holds entry ID:HASH, as audit head printed it

Examples:
  leadmailer audit --user anna --since 24h
  leadmailer audit --action lead. --since 2026-11-01 --json
  leadmailer audit head >> /srv/backup/audit-heads.txt
  leadmailer audit verify --head 4711:3f7a...
`,
		run: runAudit,
	}
}

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		return flag.ErrHelp
	}
	verify := len(args) > 0 && args[0] == "verify"
	head := len(args) > 0 && args[0] == "head"
	if verify || head {
		args = args[1:]
	}
	fs, dataDir := newFlags("audit", e)
	userName := fs.String("user", "", "")
	action := fs.String("action", "", "")
	since := fs.String("since", "", "")
	until := fs.String("until", "", "")
	limit := fs.Int("limit", 100, "")
	asJSON := fs.Bool("json", false, "")
	keptHead := fs.String("head", "", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected %q: say verify or head, or give only flags", rest)
	}
	var want *store.AuditHead
	if *keptHead != "" {
		if !verify {
			return usagef("--head goes with audit verify")
		}
		h, err := store.ParseAuditHead(*keptHead)
		if err != nil {
			return usagef("--head: %v", err)
		}
		want = &h
	}
	now := time.Now()
	filter := store.AuditFilter{Actor: actorName(*userName), Action: *action, Limit: *limit}
	if filter.Since, err = parseWhen(*since, now); err != nil {
		return usagef("--since: %v", err)
	}
	if filter.Until, err = parseWhen(*until, now); err != nil {
		return usagef("--until: %v", err)
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	if verify {
		return runAuditVerify(ctx, e, db, want, *asJSON)
	}
	if head {
		// Not recorded: it shows no personal data, and an entry of its own would make the
		// head it prints out of date at once.
		h, err := db.FindAuditHead(ctx)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(e.stdout, h)
		return err
	}
	detail := strings.TrimSpace(strings.Join([]string{flagDetail("user", *userName), flagDetail("action", *action),
		flagDetail("since", *since), flagDetail("until", *until)}, " "))
	if err := recordAudit(ctx, e, db, leadmailer.AuditAuditView, "", detail); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONArray(e.stdout, func(emit func(any) error) error {
			return db.FindAuditEntries(ctx, filter, func(a *leadmailer.AuditEntry) error { return emit(a) })
		})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME (UTC)\tWHO\tACTION\tTARGET\tIP\tDETAIL")
	err = db.FindAuditEntries(ctx, filter, func(a *leadmailer.AuditEntry) error {
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Time.UTC().Format(time.DateTime),
			a.Actor, a.Action, a.Target, a.IP, a.Detail)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func runAuditVerify(ctx context.Context, e *env, db *store.DB, head *store.AuditHead, asJSON bool) error {
	var sum *store.AuditSummary
	var brk *store.AuditBreak
	var err error
	if head != nil {
		sum, brk, err = db.VerifyAuditHead(ctx, *head)
	} else {
		sum, brk, err = db.VerifyAudit(ctx)
	}
	if err != nil {
		return err
	}
	if brk != nil {
		if asJSON {
			json.NewEncoder(e.stdout).Encode(map[string]any{"ok": false, "entry": brk.ID, "problem": brk.Reason})
		}
		return leadmailer.Errorf(leadmailer.EINVALID, "the audit trail is broken at entry %d: %s", brk.ID, brk.Reason)
	}
	detail := plural(sum.Entries, "entry", "entries") + " intact"
	if head != nil {
		detail += ", holding " + head.String()
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditAuditVerify, "", detail); err != nil {
		return err
	}
	if asJSON {
		out := map[string]any{"ok": true, "entries": sum.Entries, "last_id": sum.LastID, "last_hash": sum.LastHash,
			"keyed_from": sum.KeyedFrom}
		if head != nil {
			out["head"] = head.String()
		}
		return json.NewEncoder(e.stdout).Encode(out)
	}
	fmt.Fprintf(e.stdout, "The audit trail is intact: %s; the last is %d with hash %s\n",
		plural(int(sum.Entries), "entry", "entries"), sum.LastID, sum.LastHash)
	if head != nil {
		fmt.Fprintf(e.stdout, "It holds entry %d with the hash kept.\n", head.ID)
	}
	if sum.KeyedFrom > 1 {
		fmt.Fprintf(e.stdout, "Entries before %d were recorded before the chain was keyed: their hashes are plain SHA-256.\n", sum.KeyedFrom)
	}
	return nil
}

// actorName turns --user into an actor: a bare name is a web user.
func actorName(u string) string {
	if u == "" || strings.Contains(u, ":") {
		return u
	}
	return "user:" + u
}

func flagDetail(name, value string) string {
	if value == "" {
		return ""
	}
	return fmt.Sprintf("--%s=%q", name, value)
}

// parseWhen reads a date, an RFC 3339 time, or a duration back from now; "" is the zero time.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02 15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-11-01), a time (2026-11-01T09:30:00Z) or a duration (24h)", s)
}

// recordAudit records an action done from the command line, attributed to the operating
// system user. Commands that show personal data record it before showing anything, and fail
// if it cannot be recorded.
func recordAudit(ctx context.Context, e *env, db *store.DB, action, target, detail string) error {
	return db.RecordAudit(ctx, &leadmailer.AuditEntry{Actor: actor(e), Action: action, Target: target,
		Detail: detail, IP: "local"})
}

// importAuditDetail sums up an import run for its audit entry.
func importAuditDetail(r *leadmailer.ImportRun) string {
	c := r.Counts
	return fmt.Sprintf("source %q file %q: %s, %d read, %d inserted, %d updated, %d rejected", r.Source, r.FileName,
		r.Status, c.Read, c.Inserted, c.Updated, c.Rejected)
}
