package retention_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/retention"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// A run deletes the rejected rows and rejects files older than retention.rejects and keeps
// the newer ones; a dry run counts the same and deletes nothing.
func TestRejectsExpire(t *testing.T) {
	for _, c := range []struct {
		name      string
		dryRun    bool
		wantRows  []string // e-mail fields of the rows left
		wantFiles []string
	}{
		{"run", false, []string{"new@x.fi"}, []string{"new.csv", "notes.txt"}},
		{"dry run", true, []string{"old@x.fi", "new@x.fi"}, []string{"new.csv", "notes.txt", "old.csv"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, retention.Policy{Default: retention.Periods{InactiveAfter: 730 * day, DeleteAfter: 365 * day}, Rejects: 30 * day})
			f.observe(t, "crm", "anna@x.fi")
			raw := storetest.Raw(t, f.db)
			for i, r := range []struct {
				email string
				age   time.Duration
			}{{"old@x.fi", 31 * day}, {"new@x.fi", 29 * day}} {
				if _, err := raw.Exec(`INSERT INTO import_rejects (run_id, row_no, reason, email, created_at)
					VALUES ((SELECT max(id) FROM import_runs), ?, 'bad', ?, ?)`, i+2, r.email,
					f.now.Add(-r.age).UTC().Format("2006-01-02T15:04:05.000000Z")); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			f.runner.RejectsDir = dir
			for name, age := range map[string]time.Duration{"old.csv": 31 * day, "new.csv": 29 * day, "notes.txt": 90 * day} {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte("row,reason,email\n2,bad,x@x.fi\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, f.now.Add(-age), f.now.Add(-age)); err != nil {
					t.Fatal(err)
				}
			}

			rep := f.apply(t, c.dryRun)
			if want := (retention.RejectsRemoved{Rows: 1, Files: 1}); rep.Rejects != want {
				t.Errorf("report of rejects = %+v, want %+v", rep.Rejects, want)
			}
			var left []string
			rows, err := raw.Query(`SELECT email FROM import_rejects ORDER BY row_no`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var e string
				rows.Scan(&e)
				left = append(left, e)
			}
			rows.Close()
			if !slices.Equal(left, c.wantRows) {
				t.Errorf("rejected rows left: %q, want %q", left, c.wantRows)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var files []string
			for _, e := range entries {
				files = append(files, e.Name())
			}
			if !slices.Equal(files, c.wantFiles) {
				t.Errorf("files left: %q, want %q", files, c.wantFiles)
			}
			if _, ok := f.states(t)["anna@x.fi"]; !ok {
				t.Error("the lead went with the rejects")
			}
		})
	}
}

// A scheduled run hands its report to Record, which serve writes to the audit trail.
func TestRunRecordsItsReport(t *testing.T) {
	f := newFixture(t, retention.Policy{Default: retention.Periods{InactiveAfter: 730 * day, DeleteAfter: 365 * day}, Rejects: 30 * day})
	dir := t.TempDir()
	old := filepath.Join(dir, "old.csv")
	if err := os.WriteFile(old, []byte("row,reason,email\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(old, f.now.Add(-31*day), f.now.Add(-31*day)); err != nil {
		t.Fatal(err)
	}
	f.runner.RejectsDir = dir
	var got []*retention.Report
	f.runner.Record = func(_ context.Context, rep *retention.Report) error {
		got = append(got, rep)
		return nil
	}
	if err := f.runner.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].DryRun || got[0].Rejects.Files != 1 {
		t.Errorf("recorded reports %+v, want one of a real run that deleted 1 rejects file", got)
	}
}
