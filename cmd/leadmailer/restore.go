package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/filelock"
	"github.com/leadmailer/leadmailer/store"
)

// dataLockFile is locked by serve and restore: restore must not replace a database that
// serve has open, and serve must not start on one being replaced.
const dataLockFile = "data.lock"

// locksDir is the folder of the data directory dir that holds the lock files: the data
// directory's own, each campaign's (campaign-ID.lock) and each source's
// (source-NAME.lock). They stay after the commands end, out of the way of the files a user
// reads there.
func locksDir(dir string) string { return filepath.Join(dir, "locks") }

// lockDataDir takes the data directory's lock for what, or fails naming who holds it.
func lockDataDir(dir, what string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dir, err)
	}
	release, err = filelock.Acquire(filepath.Join(locksDir(dir), dataLockFile))
	if errors.Is(err, filelock.ErrLocked) {
		return nil, leadmailer.Errorf(leadmailer.ECONFLICT,
			"the data directory %s is in use by leadmailer serve or restore: stop it before %s", dir, what)
	}
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	return release, nil
}

func restoreCommand() *command {
	return &command{
		name:    "restore",
		summary: "put a backup in place of the database, pausing its campaigns",
		usage: `Usage: leadmailer restore FILE [--data DIR]

Replaces the data directory's database with FILE, a copy written by "leadmailer backup".
Stop serve first: restore refuses to run while serve holds the data directory.

It checks that FILE is an intact database and that it was written with the data
directory's secret.key (the key from the same installation must be in place: without it,
suppressed addresses are no longer recognised). The database it replaces is not deleted: it
is kept beside it as leadmailer.db.before-restore-TIME, with its -wal file if it had one.

Every campaign that was running or scheduled in the backup is left paused. The backup does
not know of the messages sent after it was taken: resuming such a campaign sends to those
recipients again, so they may get a second message. Check what was sent after the backup's
time (the mail server's log, or the replaced database) before resuming or cancelling each
campaign with "leadmailer campaigns".

The restore is recorded in the audit trail of the restored database as restore.

Examples:
  leadmailer restore /srv/backup/leadmailer-2026-03-01.db
`,
		run: runRestore,
	}
}

func runRestore(ctx context.Context, e *env, args []string) error {
	flags, dataDir := newFlags("restore", e)
	rest, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("give the backup file to restore")
	}
	backup := rest[0]
	release, err := lockDataDir(*dataDir, "restoring a backup")
	if err != nil {
		return err
	}
	defer release()
	keyPath := filepath.Join(*dataDir, secretFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return leadmailer.Errorf(leadmailer.EINVALID, "%s is missing: put the secret.key of the installation the backup comes from there first", keyPath)
	}
	key, err := loadSecret(keyPath)
	if err != nil {
		return err
	}
	live := filepath.Join(*dataDir, dbFile)
	// The backup is checked in a directory of its own: opening it there reads and writes
	// that directory's audit-keying, not the live one's, so that the check neither compares
	// the backup's keying with the replaced database's nor leaves a copy of the backup's
	// record beside the database a refused restore keeps.
	checkDir := live + ".restoring"
	if err := os.RemoveAll(checkDir); err != nil { // left by a restore that was stopped
		return fmt.Errorf("copy the backup: %w", err)
	}
	if err := os.Mkdir(checkDir, 0o700); err != nil {
		return fmt.Errorf("copy the backup: %w", err)
	}
	defer os.RemoveAll(checkDir)
	tmp := filepath.Join(checkDir, dbFile)
	if err := copyBackup(backup, tmp); err != nil {
		return err
	}
	now := time.Now().UTC()
	reason := fmt.Sprintf("paused by the restore of %s on %s: recipients sent to after the backup was taken may get a second message if it is resumed",
		filepath.Base(backup), now.Format(time.DateTime+" UTC"))
	db, err := store.Open(ctx, tmp, store.Options{SuppressionKey: key, AuditKey: auditKey(key), DataDir: checkDir})
	if err != nil {
		return fmt.Errorf("open the backup %s: %w", backup, err)
	}
	check, err := db.PrepareRestored(ctx, reason)
	if errors.Is(err, store.ErrWrongKey) {
		err = leadmailer.Errorf(leadmailer.EINVALID, "%s was not written with %s: put the secret.key of the installation the backup comes from there, then restore again", backup, keyPath)
	}
	// Closing the last connection folds the WAL into the file, which is then complete alone.
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	restoreStep("checked")
	// The data directory's copy of where the audit chain is keyed is the replaced database's.
	// It goes first, durably: a restore stopped at any step after leaves a database without
	// a copy beside it, whose next opening writes it again from the database's own record
	// (the restored one's, which the check gave one if the backup was older than keying),
	// never the restored database beside the replaced one's copy, which verification would
	// report as a replaced database.
	if err := os.Remove(filepath.Join(*dataDir, store.AuditKeyingFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("put the backup in place: %w", err)
	}
	if err := syncDir(*dataDir); err != nil {
		return fmt.Errorf("put the backup in place: %w", err)
	}
	restoreStep("keying removed")
	aside, err := setAside(ctx, live, now)
	if err != nil {
		return err
	}
	restoreStep("set aside")
	if err := os.Rename(tmp, live); err != nil {
		return fmt.Errorf("put the backup in place: %w", err)
	}
	if err := syncDir(*dataDir); err != nil {
		return fmt.Errorf("put the backup in place: %w", err)
	}
	restoreStep("renamed")
	db, err = openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	detail := fmt.Sprintf("from %s, %s, paused campaigns %v", backup, plural(check.Leads, "lead", "leads"), check.Paused)
	if aside != "" {
		detail += ", replaced database kept as " + filepath.Base(aside)
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditRestore, backup, detail); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Restored %s: %s.\n", backup, plural(int(check.Leads), "lead", "leads"))
	if aside != "" {
		fmt.Fprintf(e.stdout, "The replaced database is kept as %s.\n", aside)
	}
	if !check.KeyChecked {
		fmt.Fprintf(e.stdout, "The backup holds no sent message to check %s against: make sure it is the installation's own.\n", keyPath)
	}
	if len(check.Paused) > 0 {
		ids := make([]string, len(check.Paused))
		for i, id := range check.Paused {
			ids[i] = fmt.Sprint(id)
		}
		fmt.Fprintf(e.stdout, "Paused campaigns %s: recipients sent to after the backup was taken may get a second message if they are resumed.\n",
			strings.Join(ids, ", "))
	}
	return nil
}

// restoreTestHook, when not nil, is called by restore after each step that changes what a
// restore stopped there leaves behind. Only this package's tests set it, in a restore
// process they start from the test binary and kill at a step; no configuration key or
// environment variable of the leadmailer command can set it.
var restoreTestHook func(step string)

func restoreStep(step string) {
	if restoreTestHook != nil {
		restoreTestHook(step)
	}
}

// syncDir makes the renames and removals in dir so far durable, before the next one.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// copyBackup copies src to a new file dst, synced, in constant memory.
func copyBackup(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open the backup: %w", err)
	}
	defer in.Close()
	os.Remove(dst) // left by a restore that was stopped
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("copy the backup: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy the backup: %w", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("copy the backup: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy the backup: %w", err)
	}
	return nil
}

// setAside keeps the database at path under a name with the time, so that it can still be
// opened, and returns that name ("" when there was none). The live name is not emptied on
// the way: the database's write-ahead log is folded into the file first, and the file is
// then given its second name as a hard link, so that the rename of the restored database
// over the live name replaces it in one step, and a restore stopped at any point leaves a
// whole database in place, the replaced one or the restored one. A database that cannot be
// opened to fold its log (damaged, say: a reason to restore) is renamed aside with its
// -wal and -shm files instead, as is one on a file system without hard links.
func setAside(ctx context.Context, path string, now time.Time) (string, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	aside := path + ".before-restore-" + now.Format("20060102T150405Z")
	if store.FoldWAL(ctx, path) == nil && !fileExists(path+"-wal") {
		os.Remove(path + "-shm") // an index of the log just deleted; SQLite makes a new one
		if err := os.Link(path, aside); err == nil {
			return aside, nil
		}
	}
	for _, suffix := range []string{"-wal", "-shm", ""} {
		err := os.Rename(path+suffix, aside+suffix)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("keep the replaced database aside: %w", err)
		}
	}
	return aside, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
