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
  leadmailer audit verify [--json]

Every login, every view, search and listing of leads, every import, user change and other
action on personal data leaves an entry saying who did it, what, when and from which IP address.
Web users appear as user:NAME; commands run here appear as os:NAME, the operating system user;
programs calling the JSON API appear as token:NAME.
Entries are printed newest first.

Entries are hash-chained: each entry's hash covers the one before it. "audit verify" checks the
whole chain and names the first entry that was altered, removed or moved; it exits with status
1 if it finds one. Keep the last entry number and hash it prints somewhere else (a ticket, a
backup log): a later check that finds the same entry with the same hash proves nothing before it
changed, including entries cut from the end.

Flags:
  --user U     only this user: a web user name, os:NAME for the command line, token:NAME for the API
  --action A   only this action (login, login.failed, lead.view, lead.search, lead.list,
               import.upload, import.run, user.create, ...), or a prefix ending in "." (lead.)
  --since T    entries at or after T: a date (2026-11-01), a time (2026-11-01T09:30:00Z),
               or a duration back from now (24h)
  --until T    entries before T, same forms
  --limit N    at most N entries (default 100; 0 for all)
  --json       one JSON array

Examples:
  leadmailer audit --user anna --since 24h
  leadmailer audit --action lead. --since 2026-11-01 --json
  leadmailer audit verify
`,
		run: runAudit,
	}
}

func runAudit(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && isHelp(args[0]) {
		return flag.ErrHelp
	}
	verify := len(args) > 0 && args[0] == "verify"
	if verify {
		args = args[1:]
	}
	fs, dataDir := newFlags("audit", e)
	userName := fs.String("user", "", "")
	action := fs.String("action", "", "")
	since := fs.String("since", "", "")
	until := fs.String("until", "", "")
	limit := fs.Int("limit", 100, "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected %q: say verify, or give only flags", rest)
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
		return runAuditVerify(ctx, e, db, *asJSON)
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

func runAuditVerify(ctx context.Context, e *env, db *store.DB, asJSON bool) error {
	sum, brk, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if brk != nil {
		if asJSON {
			json.NewEncoder(e.stdout).Encode(map[string]any{"ok": false, "entry": brk.ID, "problem": brk.Reason})
		}
		return leadmailer.Errorf(leadmailer.EINVALID, "the audit trail is broken at entry %d: %s", brk.ID, brk.Reason)
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditAuditVerify, "", fmt.Sprintf("%d entries intact", sum.Entries)); err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"ok": true, "entries": sum.Entries,
			"last_id": sum.LastID, "last_hash": sum.LastHash})
	}
	fmt.Fprintf(e.stdout, "The audit trail is intact: %d entries; the last is %d with hash %s\n",
		sum.Entries, sum.LastID, sum.LastHash)
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
