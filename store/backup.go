package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/leadmailer/leadmailer"
)

// Backup writes a consistent copy of the database to path with VACUUM INTO: one read
// transaction, so the copy is the database as of one moment even while imports and sends
// write, and those writes are not held up. The copy is compact, has no WAL beside it, and is
// opened like any database file. path must not exist; the copy is written under a temporary
// name in the same directory and renamed, so path never holds half a backup. It returns the
// copy's size in bytes.
func (db *DB) Backup(ctx context.Context, path string) (int64, error) {
	if _, err := os.Stat(path); err == nil {
		return 0, errorExists(path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("backup: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	os.Remove(tmpPath) // VACUUM INTO wants to create the file itself
	defer os.Remove(tmpPath)
	if _, err := db.sql.ExecContext(ctx, `VACUUM INTO ?`, tmpPath); err != nil {
		return 0, fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	if err := syncFile(tmpPath); err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	// Link rather than rename: it fails when path appeared meanwhile instead of replacing it.
	if err := os.Link(tmpPath, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return 0, errorExists(path)
		}
		// Some file systems have no hard links; a rename is the next best thing.
		if err := os.Rename(tmpPath, path); err != nil {
			return 0, fmt.Errorf("backup: %w", err)
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	return st.Size(), nil
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
