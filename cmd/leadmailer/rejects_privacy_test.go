package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/store"
)

// legacyRejects is a rejects file as older versions left them in DATA/rejects.
const legacyRejects = `"row","reason","email","name","company","country","business_id","job_title","website","phone","city"
"2","country: ""Narnia"" is not a country","anna.virtanen@example.fi","Anna Virtanen","Virtanen Oy","Narnia","","","","",""
"3","country: ""Narnia"" is not a country","bob@example.fi","Bob","Bob Oy","Narnia","","","","",""
"4","name is too long","  ANNA.Virtanen@example.FI","Anna V","","","","","","",""
`

// writeLegacyRejects puts legacyRejects in data's rejects folder, where an older version
// wrote its files, and returns its path.
func writeLegacyRejects(t *testing.T, data string) string {
	t.Helper()
	dir := filepath.Join(data, "rejects")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "old-20250101T000000.csv", legacyRejects)
}

// TestEraseReachesRejectsFiles: erasure removes the person's rows from the rejects files in
// the data directory, says how many went, and leaves everyone else's.
func TestEraseReachesRejectsFiles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		email, want, left string
	}{
		{"anna.virtanen@example.fi", "and 2 rejected import rows (2 of them in 1 rejects file).", "bob@example.fi"},
		{"Bob@example.fi", "No lead had this address; erased 1 rejected import row (1 of them in 1 rejects file) that had it.", "Anna Virtanen"},
	} {
		t.Run(c.email, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			lm(t, data, "import", "--source", "crm", fixture(t, "contacts.csv"))
			old := writeLegacyRejects(t, data)

			mustContain(t, "erase", lm(t, data, "leads", "erase", c.email).stdout, c.want)
			b, err := os.ReadFile(old)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); strings.Contains(strings.ToLower(got), strings.ToLower(strings.TrimSpace(c.email))) || !strings.Contains(got, c.left) {
				t.Errorf("rejects file after erasing %s:\n%s\nwant it without the address and still with %q", c.email, got, c.left)
			}
			mustContain(t, "audit", lm(t, data, "audit", "--action", "lead.erase").stdout, "rejected import row")
		})
	}
}

// TestRetentionDeletesOldRejectsFiles: a retention run deletes the rejects files older than
// retention.rejects, keeps the newer ones, says so, and records it in the audit trail; a dry
// run deletes nothing.
func TestRetentionDeletesOldRejectsFiles(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", "--source", "crm", fixture(t, "contacts.csv"))
	old := writeLegacyRejects(t, data)
	recent := writeFile(t, filepath.Join(data, "rejects"), "recent-20261201T000000.csv", legacyRejects)
	long := time.Now().Add(-40 * 24 * time.Hour)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, t.TempDir(), "r.toml", "[retention]\nrejects = \"30d\"\n")
	mustContain(t, "dry run", lm(t, data, "retention", "run", "--dry-run", "--config", cfg).stdout,
		"Rejected import rows older than 30d: 0 rows and 1 rejects file would be deleted.", "nothing was changed")
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("the dry run deleted %s: %v", old, err)
	}
	mustContain(t, "run", lm(t, data, "retention", "run", "--config", cfg).stdout,
		"Rejected import rows older than 30d: 0 rows and 1 rejects file deleted.")
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("%s after the run: %v, want it deleted", old, err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("%s, written within the period, after the run: %v, want it kept", recent, err)
	}
	mustContain(t, "audit", lm(t, data, "audit", "--action", "retention.run").stdout,
		"would delete 0 rejected import rows and 1 rejects file", "deleted 0 rejected import rows and 1 rejects file")
}

// TestExportAndEraseStoredRejects: a rejected row stored in the database shows in both
// export formats with its source, run, row and reason, and erasure removes it.
func TestExportAndEraseStoredRejects(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", "--source", "crm", fixture(t, "contacts.csv"))
	// The CLI's own handle has the data directory's suppression key, which the hash needs.
	db, err := openData(t.Context(), data)
	if err != nil {
		t.Fatal(err)
	}
	hash := db.SuppressionHash("anna.virtanen@example.fi")
	db.Close()
	_, raw := openDataForInspection(t, data)
	if _, err := raw.Exec(`INSERT INTO import_rejects (run_id, row_no, reason, email, name, email_hash, created_at)
		VALUES ((SELECT max(id) FROM import_runs), 9, 'country: "Narnia" is not a country', ' Anna.Virtanen@Example.fi', 'Anna from Narnia', ?, '2026-02-03T04:05:06.000000Z')`,
		hash); err != nil {
		t.Fatal(err)
	}
	var x store.LeadExport
	lmJSON(t, data, &x, "leads", "export", "anna.virtanen@example.fi")
	if len(x.Rejects) != 1 || x.Rejects[0].Name != "Anna from Narnia" || x.Rejects[0].Source != "crm" || x.Rejects[0].Row != 9 {
		t.Errorf("JSON export's rejects = %+v, want Anna's row 9 from crm", x.Rejects)
	}
	csvOut := lm(t, data, "leads", "export", "anna.virtanen@example.fi", "--format", "csv").stdout
	mustContain(t, "CSV export", csvOut, `"rejected_row","name","Anna from Narnia","crm","run `,
		`"rejected_row","reason","country: ""Narnia"" is not a country","crm"`, "row 9")
	mustContain(t, "audit", lm(t, data, "audit", "--action", "lead.export").stdout, "1 rejected import row")

	mustContain(t, "erase", lm(t, data, "leads", "erase", "anna.virtanen@example.fi").stdout, "and 1 rejected import row.")
	lmJSON(t, data, &x, "leads", "export", "anna.virtanen@example.fi")
	if len(x.Rejects) != 0 {
		t.Errorf("export after erasure still lists rejects %+v", x.Rejects)
	}
}

// TestImportedRejectsReachExportAndErasure: rows an import rejects are stored with the run,
// and an access request and an erasure find the person's among them by the address however
// it was written, while another person's stay.
func TestImportedRejectsReachExportAndErasure(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	file := writeFile(t, t.TempDir(), "narnia.csv", "email,name,company,country\n"+
		" Anna.Virtanen@Example.fi ,Anna from Narnia,Virtanen Oy,Narnia\n"+
		"bob@example.fi,Bob,Bob Oy,Narnia\n"+
		"carl@example.fi,Carl,Carl Oy,FI\n")
	lm(t, data, "import", "--source", "crm", file)
	mustContain(t, "stored rejects", lm(t, data, "imports", "rejects", "1").stdout, "Anna from Narnia", "bob@example.fi")

	var x store.LeadExport
	lmJSON(t, data, &x, "leads", "export", "anna.virtanen@example.fi")
	if len(x.Rejects) != 1 || x.Rejects[0].Name != "Anna from Narnia" || x.Rejects[0].Row != 2 {
		t.Errorf("export's rejects = %+v, want Anna's row 2", x.Rejects)
	}
	mustContain(t, "erase", lm(t, data, "leads", "erase", "anna.virtanen@example.fi").stdout, "1 rejected import row")
	left := lm(t, data, "imports", "rejects", "1").stdout
	if strings.Contains(left, "Anna") || !strings.Contains(left, "bob@example.fi") {
		t.Errorf("rejects after Anna's erasure:\n%s\nwant Bob's row only", left)
	}
}
