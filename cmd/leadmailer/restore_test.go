package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// setCampaignState moves campaign id of the data directory's database to state.
func setCampaignState(t *testing.T, data string, id int64, state leadmailer.CampaignState) {
	t.Helper()
	db, err := openData(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SetCampaignState(t.Context(), id, state, ""); err != nil {
		t.Fatal(err)
	}
}

// TestRestorePausesCampaigns restores a backup taken while one campaign was sending and
// another was scheduled, and checks that both come back paused with a reason warning of
// second messages, so that serve does not resume them on its own; that the replaced
// database is kept; and that the restore is in the audit trail.
func TestRestorePausesCampaigns(t *testing.T) {
	data := importFixtures(t)
	writeConfig(t, data, senderConfig("", ""))
	sending := createCampaign(t, data)
	scheduled := createCampaign(t, data)
	draft := createCampaign(t, data)
	setCampaignState(t, data, sending, leadmailer.CampaignRunning)
	setCampaignState(t, data, scheduled, leadmailer.CampaignScheduled)
	backup := filepath.Join(t.TempDir(), "backup.db")
	lm(t, data, "backup", backup)
	// After the backup the send goes on and finishes: the live database knows, the backup not.
	setCampaignState(t, data, sending, leadmailer.CampaignFinished)

	r := lm(t, data, "restore", backup)
	mustContain(t, "restore", r.stdout, "Restored", "second message", "before-restore-")

	db, err := openData(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[int64]leadmailer.CampaignState{sending: leadmailer.CampaignPaused, scheduled: leadmailer.CampaignPaused, draft: leadmailer.CampaignDraft}
	for id, state := range want {
		c, err := db.FindCampaign(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if c.State != state {
			t.Errorf("campaign %d is %s after the restore, want %s", id, c.State, state)
		}
		if state == leadmailer.CampaignPaused && !strings.Contains(c.Reason, "second message") {
			t.Errorf("campaign %d paused with reason %q, want one warning of a second message", id, c.Reason)
		}
	}
	aside, _ := filepath.Glob(filepath.Join(data, dbFile+".before-restore-*"))
	var kept bool
	for _, p := range aside {
		if !strings.HasSuffix(p, "-wal") && !strings.HasSuffix(p, "-shm") {
			old, err := store.Open(t.Context(), p, store.Options{})
			if err != nil {
				t.Fatalf("open the replaced database: %v", err)
			}
			c, err := old.FindCampaign(t.Context(), sending)
			old.Close()
			kept = err == nil && c.State == leadmailer.CampaignFinished
		}
	}
	if !kept {
		t.Errorf("the replaced database, with the finished campaign, is not kept aside (found %q)", aside)
	}
	mustContain(t, "audit", lm(t, data, "audit", "--action", "restore").stdout, "restore", "backup.db")
}

// TestRestoreRefusedWhileServeRuns checks that restore does not replace the database while
// serve holds the data directory, and that a damaged backup is refused before anything
// is replaced.
func TestRestoreRefusedWhileServeRuns(t *testing.T) {
	data := importFixtures(t)
	backup := filepath.Join(t.TempDir(), "backup.db")
	lm(t, data, "backup", backup)

	release, err := lockDataDir(data, "serve") // as serve does at start
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "restore", backup)
	release()
	if r.code == exitOK || !strings.Contains(r.stderr, "stop it") {
		t.Errorf("restore while serve runs: exit %d, stderr %q; want a refusal saying to stop serve", r.code, r.stderr)
	}

	damaged := filepath.Join(t.TempDir(), "damaged.db")
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite the b-tree page header of every page after the first, wherever the
	// schema's and the tables' rows happen to lie, so that the damage cannot fall into
	// free space whatever the migrations add.
	pageSize := int(b[16])<<8 | int(b[17])
	if pageSize == 1 {
		pageSize = 65536
	}
	for p := pageSize; p+16 <= len(b); p += pageSize {
		for i := p; i < p+16; i++ {
			b[i] = 0xff
		}
	}
	if err := os.WriteFile(damaged, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "restore", damaged)
	if r.code == exitOK {
		t.Errorf("restore of a damaged backup: exit 0, want a refusal\n%s", r.stdout)
	}
	if aside, _ := filepath.Glob(filepath.Join(data, dbFile+".before-restore-*")); len(aside) != 0 {
		t.Errorf("a refused restore set the database aside: %q", aside)
	}
	lm(t, data, "leads", "list") // the database still works
}

// TestRestoreRefusedWithAnotherKey restores a backup into a data directory whose secret.key
// is not the one the backup was written with: the restore is refused, saying which key to
// put in place, and the directory's database is left as it was. With the backup's own key
// the same restore goes through, so the key is what was refused.
func TestRestoreRefusedWithAnotherKey(t *testing.T) {
	from := importFixtures(t)
	writeConfig(t, from, senderConfig("", ""))
	lm(t, from, "campaigns", "send", fmt.Sprint(createCampaign(t, from))) // sent messages keep keyed hashes
	backup := filepath.Join(t.TempDir(), "backup.db")
	lm(t, from, "backup", backup)

	data := filepath.Join(t.TempDir(), "data") // another installation, with a key of its own
	lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "other")
	live := filepath.Join(data, dbFile)
	sum := func() [sha256.Size]byte {
		t.Helper()
		b, err := os.ReadFile(live)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := sum()

	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "restore", backup)
	if r.code != exitError {
		t.Errorf("restore with another key: exit %d, want %d\n%s", r.code, exitError, r.stdout)
	}
	mustContain(t, "stderr", r.stderr, backup+" was not written with "+filepath.Join(data, secretFile),
		"put the secret.key of the installation the backup comes from there")
	if sum() != before {
		t.Error("the refused restore changed the database file")
	}
	for _, pattern := range []string{dbFile + ".before-restore-*", dbFile + ".restoring*"} {
		if left, _ := filepath.Glob(filepath.Join(data, pattern)); len(left) != 0 {
			t.Errorf("the refused restore left %q", left)
		}
	}
	if list := lm(t, data, "imports", "list").stdout; !strings.Contains(list, "other") || strings.Contains(list, "crm") {
		t.Errorf("after the refused restore, imports list is not the directory's own:\n%s", list)
	}

	key, err := os.ReadFile(filepath.Join(from, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, secretFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "restore with the backup's key", lm(t, data, "restore", backup).stdout, "Restored")
	if list := lm(t, data, "imports", "list").stdout; !strings.Contains(list, "crm") {
		t.Errorf("after the restore with the backup's key, imports list lacks the backup's runs:\n%s", list)
	}
}
