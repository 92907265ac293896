//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// smallDisk mounts a 16 MiB tmpfs for the test and returns its directory. Mounting needs
// root (as CI runs); elsewhere the test is skipped.
func smallDisk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16m"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// runPrefix is how an import's errors name their run.
var runPrefix = regexp.MustCompile(`import run \d+:`)

// TestDiskFullThenFreedSpace fills a small disk during an import: the import must fail with
// a clear error naming its run once, leave only whole batches and a run marked failed, and
// once space is freed, import, send and backup must all work again on the same data
// directory.
func TestDiskFullThenFreedSpace(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a tmpfs")
	}
	disk := smallDisk(t)
	srv := smtptest.New(t)
	data := filepath.Join(disk, "data")
	writeConfig(t, data, senderConfig(srv.URL(), "\n[sending]\nconcurrency = 2\nrate = 0\n"))
	bulkLeads(t, data, 100) // source "crm"

	// Ballast takes all but 3 MiB of what is left, so that the import stores some batches
	// before the disk fills however large the empty schema is, and freeing the ballast later
	// gives the data directory room.
	var fs syscall.Statfs_t
	if err := syscall.Statfs(disk, &fs); err != nil {
		t.Fatal(err)
	}
	free := int64(fs.Bavail) * int64(fs.Bsize)
	if free < 8<<20 {
		t.Fatalf("%d bytes free on the small disk after 100 leads, want room for 5 MiB of ballast and 3 MiB of import", free)
	}
	ballast := filepath.Join(disk, "ballast")
	if err := os.WriteFile(ballast, make([]byte, free-3<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	csvPath, _ := writeBulkCSV(t, t.TempDir(), 100_000) // far more than the disk holds
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "import", csvPath, "--source", "big")
	if r.code == exitOK {
		t.Fatalf("import onto a full disk succeeded:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "disk is full") {
		t.Errorf("import onto a full disk: stderr %q, want it to say the disk is full", r.stderr)
	}
	if n := len(runPrefix.FindAllString(r.stderr, -1)); n != 1 {
		t.Errorf("the error names its run %d times, want once: %q", n, r.stderr)
	}

	db, raw := openDataForInspection(t, data)
	if err := db.IntegrityCheck(t.Context()); err != nil {
		t.Errorf("after the disk filled: %v", err)
	}
	runs, err := db.FindImportRuns(t.Context(), "big", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("%d import runs of source big recorded, want 1", len(runs))
	}
	run := runs[0]
	if run.Status != leadmailer.RunFailed || !strings.Contains(run.Error, "disk is full") || runPrefix.MatchString(run.Error) {
		t.Errorf("run %d: status %s, error %q; want failed, saying the disk is full, without naming the run again",
			run.ID, run.Status, run.Error)
	}
	t.Logf("import onto the full disk: %s(run counts %+v)", r.stderr, run.Counts)
	if run.Counts.Read == 0 || run.Counts.Read >= 100_000 {
		t.Errorf("run %d read %d rows, want some batches stored before the disk filled", run.ID, run.Counts.Read)
	}
	// Whole batches only: the run's counts are what the database holds.
	if got, want := count(t, raw, `SELECT count(*) FROM leads`), 100+run.Counts.Inserted; got != want {
		t.Errorf("%d leads stored, want %d (100 before and the run's inserted count)", got, want)
	}
	if got, want := count(t, raw, `SELECT count(*) FROM observations WHERE run_id = ?`, run.ID), run.Counts.Read-run.Counts.Rejected-run.Counts.Suppressed; got != want {
		t.Errorf("run %d has %d observations, want %d", run.ID, got, want)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "after")
	id := fmt.Sprint(createCampaign(t, data, "--source", "crm"))
	lm(t, data, "campaigns", "send", id)
	var v campaignView
	lmJSON(t, data, &v, "campaigns", "show", id, "--json")
	if v.State != leadmailer.CampaignFinished || v.Report.Sent != 100 {
		t.Errorf("campaign after freeing space: %s with %+v, want finished with 100 sent", v.State, v.Report)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	lm(t, data, "backup", backup)
	if st, err := os.Stat(backup); err != nil || st.Size() == 0 {
		t.Errorf("backup after freeing space: %v", err)
	}
}
