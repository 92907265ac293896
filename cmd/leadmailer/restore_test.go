package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
	// The subscriptions a serve with [[webhooks]] wrote when it started.
	const hook = "https://ops.example.com/hooks"
	if db, err := openData(t.Context(), data); err != nil {
		t.Fatal(err)
	} else {
		err := db.SetWebhookSubscriptions(t.Context(), map[string][]string{hook: {leadmailer.EventCampaignPaused}})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
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
	// Each pause is queued for the webhook endpoint, with its reason, for the next serve.
	ds, err := db.FindWebhookDeliveries(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	queued := map[int64]bool{}
	for _, d := range ds {
		var data struct {
			Campaign int64  `json:"campaign_id"`
			Reason   string `json:"reason"`
		}
		if err := json.Unmarshal([]byte(d.Payload), &data); err != nil {
			t.Fatalf("payload %s: %v", d.Payload, err)
		}
		if d.EventType != leadmailer.EventCampaignPaused || d.Endpoint != hook || d.Status != store.DeliveryPending || !strings.Contains(data.Reason, "second message") {
			t.Errorf("queued %s to %s (%s): %s; want campaign.paused, pending, with the restore's reason", d.EventType, d.Endpoint, d.Status, d.Payload)
		}
		queued[data.Campaign] = true
	}
	if len(ds) != 2 || !queued[sending] || !queued[scheduled] {
		t.Errorf("%d deliveries queued, for campaigns %v; want campaign.paused for %d and %d", len(ds), queued, sending, scheduled)
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

// restoreKillEnv names the step after which a restore process started from the test binary
// kills itself (see killRestoreAt).
const restoreKillEnv = "LEADMAILER_TEST_RESTORE_KILL"

// killRestoreAt makes the restore process the test binary is about to become kill itself
// with SIGKILL right after the step restoreKillEnv names, through the hook only tests can
// set: the state a crash or a power cut at that point leaves.
func killRestoreAt() {
	step := os.Getenv(restoreKillEnv)
	if step == "" {
		return
	}
	restoreTestHook = func(s string) {
		if s == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
}

// killRestore runs restore of backup into data as a process of its own and kills it after
// step; it fails unless the process died there.
func killRestore(t *testing.T, data, backup, step string) {
	t.Helper()
	t.Setenv(restoreKillEnv, step)
	c := startLeadmailer(t, "restore", backup, "--data", data)
	if code := c.wait(t, 60*time.Second); code != -1 {
		t.Fatalf("restore to be killed after %q: exit %d, want killed\nstdout:\n%s\nstderr:\n%s", step, code, c.stdout.String(), c.stderr.String())
	}
}

// readKeying returns the data directory's audit-keying file, nil when there is none.
func readKeying(t *testing.T, data string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, store.AuditKeyingFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// olderBackupOf makes a backup older than keying, four entries chained with plain SHA-256,
// written with the secret.key of the data directory data, and returns its path.
func olderBackupOf(t *testing.T, data string) string {
	t.Helper()
	from := t.TempDir()
	copyFile(t, filepath.Join(data, secretFile), filepath.Join(from, secretFile))
	for range 4 {
		lm(t, from, "leads", "list")
	}
	unkeyAsBeforeTheUpgrade(t, from)
	backup := filepath.Join(t.TempDir(), "old.db")
	copyFile(t, filepath.Join(from, dbFile), backup)
	return backup
}

// TestRestoreKilledAtEachStep kills restore after each step that changes the data directory,
// as a crash or a power cut would, and checks that audit verify then passes, whichever
// database is in place, and that the restore run again goes through and verifies. The data
// directory's audit trail is keyed from entry 5 and the backup older than keying, so that a
// database left beside the other one's audit-keying is reported as replaced. A database is in
// place after every step.
func TestRestoreKilledAtEachStep(t *testing.T) {
	for _, step := range []string{"checked", "keying removed", "set aside", "renamed"} {
		t.Run(step, func(t *testing.T) {
			data := auditTrail(t) // keyed from entry 1
			backup := olderBackupOf(t, data)
			keying := readKeying(t, data)

			killRestore(t, data, backup, step)
			// A database must be in place, the replaced one or the restored one: without
			// one the next command would start an empty database, which verifies too.
			if !exists(t, filepath.Join(data, dbFile)) {
				t.Fatalf("restore killed after %q left no %s in the data directory", step, dbFile)
			}
			if step == "checked" {
				if got := readKeying(t, data); !bytes.Equal(got, keying) {
					t.Errorf("after the check alone, %s is %q, want it untouched: %q", store.AuditKeyingFile, got, keying)
				}
			}
			mustContain(t, "audit verify after restore was killed", lm(t, data, "audit", "verify").stdout, "The audit trail is intact")
			mustContain(t, "restore run again", lm(t, data, "restore", backup).stdout, "Restored")
			mustContain(t, "audit verify after the restore", lm(t, data, "audit", "verify").stdout,
				"The audit trail is intact", "Entries before 5 were recorded before the chain was keyed")
		})
	}
}

// TestRestoreIntoDataDirWithoutAuditKeying restores into a data directory whose audit-keying
// is missing (copied without it, say): the check of the backup writes none there from the
// backup's record, which would pair the kept database with the backup's keying if the restore
// stopped there; the restore then goes through, and the restored directory verifies.
func TestRestoreIntoDataDirWithoutAuditKeying(t *testing.T) {
	data := auditTrail(t) // keyed from entry 1
	backup := olderBackupOf(t, data)
	if err := os.Remove(filepath.Join(data, store.AuditKeyingFile)); err != nil {
		t.Fatal(err)
	}

	killRestore(t, data, backup, "checked")
	if got := readKeying(t, data); got != nil {
		t.Errorf("the check of the backup wrote %s into the data directory: %q", store.AuditKeyingFile, got)
	}
	mustContain(t, "audit verify after the check", lm(t, data, "audit", "verify").stdout, "The audit trail is intact")

	if err := os.Remove(filepath.Join(data, store.AuditKeyingFile)); err != nil { // written by verify
		t.Fatal(err)
	}
	mustContain(t, "restore", lm(t, data, "restore", backup).stdout, "Restored")
	mustContain(t, "audit verify after the restore", lm(t, data, "audit", "verify").stdout,
		"The audit trail is intact", "Entries before 5 were recorded before the chain was keyed")
	if got := readKeying(t, data); !bytes.HasPrefix(got, []byte("5 ")) {
		t.Errorf("%s after the restore: %q, want the restored database's keying from entry 5", store.AuditKeyingFile, got)
	}
}

// TestRestoreRefusedLeavesAuditKeying: a restore refused for the wrong key leaves the data
// directory's audit-keying as it was, byte for byte, or missing when it was, and its audit
// trail verifies. The backup is older than keying, so that its check starts keying it.
func TestRestoreRefusedLeavesAuditKeying(t *testing.T) {
	from := importFixtures(t)
	writeConfig(t, from, senderConfig("", ""))
	lm(t, from, "campaigns", "send", fmt.Sprint(createCampaign(t, from))) // the recipients' hashes tell the key
	unkeyAsBeforeTheUpgrade(t, from)
	backup := filepath.Join(t.TempDir(), "backup.db")
	copyFile(t, filepath.Join(from, dbFile), backup)

	for _, missing := range []bool{false, true} {
		t.Run(fmt.Sprintf("missing=%v", missing), func(t *testing.T) {
			data := auditTrail(t) // another installation, with a key of its own
			if missing {
				if err := os.Remove(filepath.Join(data, store.AuditKeyingFile)); err != nil {
					t.Fatal(err)
				}
			}
			keying := readKeying(t, data)
			r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "restore", backup)
			if r.code != exitError || !strings.Contains(r.stderr, "was not written with") {
				t.Fatalf("restore with another key: exit %d, stderr %q; want it refused for the key", r.code, r.stderr)
			}
			if got := readKeying(t, data); !bytes.Equal(got, keying) {
				t.Errorf("after the refused restore %s is %q, want %q", store.AuditKeyingFile, got, keying)
			}
			mustContain(t, "audit verify after the refused restore", lm(t, data, "audit", "verify").stdout, "The audit trail is intact")
		})
	}
}
