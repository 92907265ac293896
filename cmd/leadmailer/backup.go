package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/leadmailer/leadmailer"
)

func backupCommand() *command {
	return &command{
		name:    "backup",
		summary: "write a consistent copy of the database, safe while serve or an import runs",
		usage: `Usage: leadmailer backup FILE [--data DIR]

Writes a copy of the database to FILE (which must not exist) as it was at one moment, while
serve, imports and sends go on writing: SQLite's VACUUM INTO reads the database in one
transaction. The copy is compact and complete in one file.

The copy does not include the data directory's secret.key, which signs unsubscribe links and
keys the suppression list: without it, suppressed addresses can no longer be recognised. It
never changes, so copy it once to the same safe place.

To restore: stop serve, then run "leadmailer restore FILE". It keeps the replaced database
aside and leaves every campaign that was running or scheduled in the copy paused: recipients
sent to after the copy was taken may get a second message if such a campaign is resumed.

Each backup is recorded in the audit trail as backup, with the file it was written to.

Examples:
  leadmailer backup /srv/backup/leadmailer-$(date +%F).db
`,
		run: runBackup,
	}
}

func runBackup(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("backup", e)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("give the file to write the backup to")
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	info, err := db.Backup(ctx, rest[0])
	if err != nil {
		return err
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditBackup, rest[0], fmt.Sprintf("%d bytes, %s", info.Size, plural(info.Leads, "lead", "leads"))); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Backup written to %s (%.1f MiB, %s).\n", rest[0], float64(info.Size)/(1<<20), plural(info.Leads, "lead", "leads"))
	fmt.Fprintf(e.stdout, "Keep a copy of %s with it: without the key the suppression list cannot be used.\n",
		filepath.Join(*dataDir, secretFile))
	return nil
}
