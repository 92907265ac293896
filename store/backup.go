package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/leadmailer/leadmailer"
)

// Backup writes a consistent copy of the database to path with VACUUM INTO: one read
// transaction, so the copy is the database as of one moment even while imports and sends
// write, and those writes are not held up. The copy is compact, has no WAL beside it, and is
// opened like any database file. path must not exist; the copy is written under a temporary
// name in the same directory and renamed, so path never holds half a backup. Its memory does
// not grow with the database: the copy is made on a connection of its own with a small page
// cache and its temporary data on disk.
func (db *DB) Backup(ctx context.Context, path string) (*BackupInfo, error) {
	if db.pg {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "backup copies an SQLite file: back up the PostgreSQL database %s with pg_dump", db.where)
	}
	if _, err := os.Stat(path); err == nil {
		return nil, errorExists(path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("backup: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	// VACUUM INTO writes into an empty file as well as a new one: this one, created 0600, so
	// that the copy is never readable by others, not even while it is being written.
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	if err := db.vacuumInto(ctx, tmpPath); err != nil {
		return nil, fmt.Errorf("backup to %s: %w", path, err)
	}
	// The copy's own count, not the live database's, which goes on changing meanwhile.
	leads, err := countLeads(ctx, tmpPath)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := syncFile(tmpPath); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	// Link rather than rename: it fails when path appeared meanwhile instead of replacing it.
	if err := os.Link(tmpPath, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, errorExists(path)
		}
		// Some file systems have no hard links; a rename is the next best thing.
		if err := os.Rename(tmpPath, path); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &BackupInfo{Size: st.Size(), Leads: leads}, nil
}

// BackupInfo describes a backup written.
type BackupInfo struct {
	Size  int64 // bytes
	Leads int64 // leads in the copy
}

// vacuumInto runs VACUUM INTO on a connection of its own. With temp_store=MEMORY and a
// 64 MiB cache, a copy of a 301 MB database took 338 MB of memory.
func (db *DB) vacuumInto(ctx context.Context, path string) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, p := range []string{"PRAGMA temp_store = FILE", "PRAGMA cache_size = -2048"} {
		if _, err := conn.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	_, err = conn.ExecContext(ctx, `VACUUM INTO ?`, path)
	// The connection goes back to the pool: give it back its usual settings.
	for _, p := range []string{"PRAGMA temp_store = MEMORY", fmt.Sprintf("PRAGMA cache_size = -%d", db.cacheKiB)} {
		if _, rerr := conn.ExecContext(context.Background(), p); rerr != nil && err == nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
			err = fmt.Errorf("%s: %w", p, rerr)
		}
	}
	return err
}

// countLeads counts the leads of the database file at path, read only.
func countLeads(ctx context.Context, path string) (int64, error) {
	// The plain driver: the connect hook would switch the read-only file to WAL.
	c, err := sql.Open("sqlite3", "file:"+uriEscaper.Replace(path)+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var n int64
	if err := c.QueryRowContext(ctx, `SELECT count(*) FROM leads`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the copy's leads: %w", err)
	}
	return n, nil
}

func errorExists(path string) error {
	return leadmailer.Errorf(leadmailer.ECONFLICT, "%s already exists: choose a new file name, e.g. one with the date", path)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ErrWrongKey means a database was not written with the suppression key it was opened with.
var ErrWrongKey = errors.New("the database's suppression hashes were made with another secret key")

// RestoreCheck is what PrepareRestored found and changed in a restored database.
type RestoreCheck struct {
	Leads int64
	// KeyChecked says whether the database held a sent message to check the key against.
	KeyChecked bool
	// Paused are the campaigns that were running or scheduled in the backup.
	Paused []int64
}

// PrepareRestored readies a database restored from a backup for use: it checks the file's
// integrity and that it was written with this database's suppression key, and pauses every
// campaign that was running or scheduled, with reason, queueing each pause's
// campaign.paused webhook event, in one transaction. A backup taken
// during a send does not know of the messages sent after it: resuming such a campaign on
// its own would send them again.
func (db *DB) PrepareRestored(ctx context.Context, reason string) (*RestoreCheck, error) {
	integrity := "ok" // PostgreSQL has no check to run: pg_restore fails on a damaged dump
	if !db.pg {
		if err := db.sql.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&integrity); err != nil {
			return nil, fmt.Errorf("check the backup's integrity: %w", err)
		}
	}
	if integrity != "ok" {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "the backup is damaged (%s): restore another one", integrity)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("prepare the restored database: %w", err)
	}
	defer tx.Rollback()
	rc := &RestoreCheck{}
	// Every sent message recorded its recipient's keyed hash: a few of them tell whether the
	// key is the one the backup was made with.
	rows, err := tx.QueryContext(ctx, `SELECT l.email, cr.recipient_hash FROM campaign_recipients cr
		JOIN leads l ON l.id = cr.lead_id WHERE cr.recipient_hash != '' AND l.email != '' LIMIT 10`)
	if err != nil {
		return nil, fmt.Errorf("check the secret key: %w", err)
	}
	for rows.Next() {
		var email, hash string
		if err := rows.Scan(&email, &hash); err != nil {
			rows.Close()
			return nil, fmt.Errorf("check the secret key: %w", err)
		}
		if db.SuppressionHash(email) != hash {
			rows.Close()
			return nil, ErrWrongKey
		}
		rc.KeyChecked = true
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("check the secret key: %w", err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM leads`).Scan(&rc.Leads); err != nil {
		return nil, fmt.Errorf("count the backup's leads: %w", err)
	}
	ids, err := tx.QueryContext(ctx, `UPDATE campaigns SET state = 'paused', reason = ?
		WHERE state IN ('running', 'scheduled') RETURNING id, name`, reason)
	if err != nil {
		return nil, fmt.Errorf("pause the restored campaigns: %w", err)
	}
	var paused []*leadmailer.Campaign
	for ids.Next() {
		c := &leadmailer.Campaign{State: leadmailer.CampaignPaused, Reason: reason}
		if err := ids.Scan(&c.ID, &c.Name); err != nil {
			ids.Close()
			return nil, fmt.Errorf("pause the restored campaigns: %w", err)
		}
		paused = append(paused, c)
	}
	if err := ids.Close(); err != nil {
		return nil, fmt.Errorf("pause the restored campaigns: %w", err)
	}
	// RETURNING promises no order; the events are queued, and the ids listed, in id order.
	slices.SortFunc(paused, func(a, b *leadmailer.Campaign) int { return cmp.Compare(a.ID, b.ID) })
	// A pause by the restore is reported as every other pause is, queued in the restored
	// database itself (to the endpoints it was subscribing), so that the next serve delivers it.
	now := db.now().UTC()
	for _, c := range paused {
		if err := db.enqueueCampaignEvent(ctx, tx, c, now); err != nil {
			return nil, fmt.Errorf("pause the restored campaigns: %w", err)
		}
		rc.Paused = append(rc.Paused, c.ID)
	}
	return rc, tx.Commit()
}

// FoldWAL writes the committed transactions of the SQLite database file at path that are
// still in its write-ahead log into the file itself and closes it, so that the file alone
// is the whole database and its -wal file is gone: what a restore needs before it keeps the
// replaced database under another name. It fails if the file does not open as a database
// or another connection keeps the log in use.
func FoldWAL(ctx context.Context, path string) error {
	// The plain driver and no migrations: the file may be from another version, or damaged.
	c, err := sql.Open("sqlite3", "file:"+uriEscaper.Replace(path)+"?mode=rw")
	if err != nil {
		return err
	}
	defer c.Close()
	var busy, logFrames, folded int
	if err := c.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &folded); err != nil {
		return fmt.Errorf("fold the write-ahead log into %s: %w", path, err)
	}
	if busy != 0 {
		return fmt.Errorf("fold the write-ahead log into %s: another connection is using it", path)
	}
	// Closing the last connection deletes the emptied log.
	if err := c.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}
