package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer/store/storetest"
)

// [database] url in the data directory's configuration moves the leads into PostgreSQL: an
// import lands there, later commands read it back, and no SQLite file appears beside the
// secret key, which stays in the data directory.
func TestDatabaseURLSelectsPostgres(t *testing.T) {
	url := storetest.NewPostgresDatabase(t)
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := "[database]\nurl = \"" + url + "\"\nmax_conns = 4\nstatement_timeout = \"30s\"\n"
	if err := os.WriteFile(filepath.Join(data, "leadmailer.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r := lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm")
	mustContain(t, "report", squash(r.stdout), "run 1 completed", "inserted 3")
	r = lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm")
	mustContain(t, "re-import report", squash(r.stdout), "run 2 completed", "inserted 0", "unchanged 3")
	var leads []map[string]any
	lmJSON(t, data, &leads, "leads", "list", "--json")
	if len(leads) != 3 {
		t.Errorf("leads list shows %d leads, want the 3 imported", len(leads))
	}
	if _, err := os.Stat(filepath.Join(data, dbFile)); !os.IsNotExist(err) {
		t.Errorf("an SQLite file is in the data directory (%v): the import did not go to PostgreSQL", err)
	}
	if _, err := os.Stat(filepath.Join(data, secretFile)); err != nil {
		t.Errorf("secret key: %v", err)
	}
}

// A database that is down is reported with its host, so that the operator knows which
// server to look at.
func TestDatabaseDownNamesHost(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "leads", "list")
	if r.code != exitOK {
		t.Fatalf("leads list on SQLite: exit %d\n%s", r.code, r.stderr)
	}
	conf := "[database]\nurl = \"postgres://lm:pw@127.0.0.1:1/leads?connect_timeout=5\"\n"
	if err := os.WriteFile(filepath.Join(data, "leadmailer.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "leads", "list")
	if r.code == exitOK || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Errorf("leads list with the database down: exit %d, stderr %q; want a failure naming 127.0.0.1:1", r.code, r.stderr)
	}
}
