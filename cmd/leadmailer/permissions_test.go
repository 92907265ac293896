//go:build unix

package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/leadmailer/leadmailer/store"
)

// TestDataFilesArePrivate: in a data directory that already exists open to everyone (0755,
// umask 022, as mkdir leaves it), every file leadmailer writes there is readable by its
// owner only: the database and, while it is open, its -wal and -shm files, the secret key,
// the configuration, the lock file, rejects files, a backup and the database a restore set
// aside. A database left 0644 by an older version is
// tightened when it is opened.
func TestDataFilesArePrivate(t *testing.T) {
	// The umask is the process's: this test does not run in parallel with others.
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	lm(t, data, "init")
	lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm") // rejects a row
	lm(t, data, "backup", filepath.Join(data, "backups", "first.db"))
	// A restore takes the data directory's lock file and sets the replaced database aside.
	lm(t, data, "restore", filepath.Join(data, "backups", "first.db"))

	// The -wal and -shm files exist only while a connection is open.
	db, err := store.Open(t.Context(), filepath.Join(data, dbFile), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.FindImportRuns(t.Context(), "", 1); err != nil {
		t.Fatal(err)
	}
	want := []string{dbFile, dbFile + "-wal", dbFile + "-shm", secretFile, "backups/first.db", filepath.Join("locks", dataLockFile), "leadmailer.toml"}
	seen := map[string]bool{}
	err = filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == data {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		seen[rel] = true
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s is %v, want no access for group and others", rel, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range want {
		if !seen[name] {
			t.Errorf("%s was not written: the test checks nothing of it (files: %v)", name, seen)
		}
	}
	for _, pattern := range []string{dbFile + ".before-restore-*"} {
		if m, _ := filepath.Glob(filepath.Join(data, pattern)); len(m) == 0 {
			t.Errorf("no %s was written: the test checks nothing of it", pattern)
		}
	}

	// An older version created the database 0644.
	legacy := filepath.Join(t.TempDir(), "legacy")
	if err := os.Mkdir(legacy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(legacy, dbFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	lm(t, legacy, "leads", "list")
	info, err := os.Stat(filepath.Join(legacy, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("a database created 0644 is %v after opening, want -rw-------", perm)
	}
}
