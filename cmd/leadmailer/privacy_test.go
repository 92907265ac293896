package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// TestSuppressCommands adds each kind of entry, checks addresses against them, lists them
// without any address, and re-imports a file to see the suppressed rows stay out.
func TestSuppressCommands(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", "--source", "crm", fixture(t, "contacts.csv"))

	r := lm(t, data, "suppress", "add", "Erik@Example.se", "--reason", "asked by phone")
	mustContain(t, "suppress add", r.stdout, "Address suppressed", "1 existing lead made inactive")
	r = lm(t, data, "suppress", "add", "@example.fi")
	mustContain(t, "suppress add @domain", r.stdout, "Domain suppressed", "1 existing lead made inactive")
	lm(t, data, "suppress", "add", "--business-id", "FI 7654321-0")

	mustContain(t, "check", lm(t, data, "suppress", "check", "someone@sub.example.fi").stdout, "domain", "admin")
	mustContain(t, "check", lm(t, data, "suppress", "check", "x@other.example", "--business-id", "fi7654321-0").stdout, "business_id")
	mustContain(t, "check", lm(t, data, "suppress", "check", "x@other.example").stdout, "Not suppressed.")

	list := lm(t, data, "suppress", "list").stdout
	mustContain(t, "list", squash(list), "address admin", "asked by phone", "3 entries")
	var entries []store.Suppression
	lmJSON(t, data, &entries, "suppress", "list", "--json")
	if len(entries) != 3 || len(entries[0].Hash) != 64 {
		t.Errorf("list --json = %+v, want 3 entries with full hashes", entries)
	}
	for _, out := range []string{list, lm(t, data, "suppress", "list", "--json").stdout} {
		if strings.Contains(out, "erik") || strings.Contains(out, "example") || strings.Contains(out, "7654321") {
			t.Errorf("suppress list reveals what it suppresses:\n%s", out)
		}
	}

	r = lm(t, data, "import", "--source", "crm", fixture(t, "contacts.csv"))
	mustContain(t, "re-import", squash(r.stdout), "suppressed 3") // erik, and anna twice

	for _, args := range [][]string{
		{"suppress", "add"},
		{"suppress", "add", "a@b.example", "--business-id", "X"},
		{"suppress", "check"},
		{"suppress", "frobnicate"},
	} {
		if got := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", args...); got.code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, got.code, exitUsage)
		}
	}
	if got := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "suppress", "add", "@nodot"); got.code != exitError ||
		!strings.Contains(got.stderr, "not a valid domain") {
		t.Errorf("bad domain: exit %d, stderr %q", got.code, got.stderr)
	}
}

// TestExportEraseExport: an access export in both formats, an erasure, and an export after
// it that holds nothing personal.
func TestExportEraseExport(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", "--source", "crm", fixture(t, "contacts.csv"))
	lm(t, data, "import", "--source", "partners", fixture(t, "partners.csv"))

	var x store.LeadExport
	lmJSON(t, data, &x, "leads", "export", "erik@example.se")
	if x.Lead == nil || x.Lead.Name != "Erik Svensson" || len(x.Sources) != 2 || x.Sources[1].Source != "partners" {
		t.Fatalf("export = %+v", x)
	}
	rows, err := csv.NewReader(strings.NewReader(lm(t, data, "leads", "export", "erik@example.se", "--format", "csv").stdout)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range rows {
		if row[0] == "field" && row[1] == "job_title" && row[2] == "CEO" && row[3] == "partners" {
			found = true
		}
	}
	if !found {
		t.Errorf("CSV export has no row saying partners supplied job_title CEO:\n%v", rows)
	}

	r := lm(t, data, "leads", "erase", "erik@example.se", "--reason", "request 2026-03-02")
	mustContain(t, "erase", r.stdout, "Erased lead", "2 provenance rows")
	for _, format := range []string{"json", "csv"} {
		out := lm(t, data, "leads", "export", "erik@example.se", "--format", format).stdout
		for _, personal := range []string{"erik", "Erik", "Svensson", "CEO", "Stockholm"} {
			if strings.Contains(out, personal) {
				t.Errorf("%s export after erasure holds %q:\n%s", format, personal, out)
			}
		}
		mustContain(t, format+" export after erasure", out, "erasure")
	}
	r = lm(t, data, "import", "--source", "partners", fixture(t, "partners.csv"))
	mustContain(t, "re-import after erasure", squash(r.stdout), "suppressed 1")
}

// TestEndRelationshipReactivateRetention: ending a relationship makes the lead inactive, a
// retention run with a short delete_after deletes it, and reactivation undoes the end.
func TestEndRelationshipReactivateRetention(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", "--source", "partners", fixture(t, "partners.csv"))
	mustContain(t, "end", lm(t, data, "leads", "end-relationship", "liisa@example.fi").stdout, "is inactive")
	mustContain(t, "list", squash(lm(t, data, "leads", "list", "--state", "inactive").stdout), "liisa@example.fi", "1 lead\n")
	mustContain(t, "reactivate", lm(t, data, "leads", "reactivate", "liisa@example.fi").stdout, "active again")
	lm(t, data, "leads", "end-relationship", "liisa@example.fi")

	cfg := filepath.Join(t.TempDir(), "short.toml")
	if err := os.WriteFile(cfg, []byte("[retention]\ninactive_after = \"730d\"\ndelete_after = \"1ns\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := lm(t, data, "retention", "run", "--dry-run", "--config", cfg)
	mustContain(t, "dry run", r.stdout, "1 would be deleted", "nothing was changed")
	var rep struct {
		Checked int64   `json:"checked"`
		Deleted []int64 `json:"deleted"`
		Removed struct {
			Leads, Observations int64
		} `json:"removed"`
	}
	lmJSON(t, data, &rep, "retention", "run", "--json", "--config", cfg)
	if rep.Checked < 2 || len(rep.Deleted) != 1 || rep.Removed.Leads != 1 || rep.Removed.Observations != 1 {
		t.Errorf("retention report = %+v, want liisa deleted with her one observation", rep)
	}
	mustContain(t, "list", squash(lm(t, data, "leads", "list").stdout), "erik@example.se")
	if got := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "leads", "reactivate", "liisa@example.fi"); got.code != exitError {
		t.Errorf("reactivating a deleted lead: exit %d, want 1", got.code)
	}
}

// TestBackupRestores restores a CLI backup into a fresh data directory and lists every lead.
func TestBackupRestores(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", "--source", "crm", fixture(t, "contacts.csv"))
	lm(t, data, "import", "--source", "partners", fixture(t, "partners.csv"))
	lm(t, data, "suppress", "add", "gone@example.com")
	before := lm(t, data, "leads", "list").stdout

	file := filepath.Join(t.TempDir(), "backup.db")
	mustContain(t, "backup", lm(t, data, "backup", file).stdout, "Backup written to", "secret.key")
	if got := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "backup", file); got.code != exitError ||
		!strings.Contains(got.stderr, "already exists") {
		t.Errorf("backup over an existing file: exit %d, stderr %q", got.code, got.stderr)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, file, filepath.Join(restored, dbFile))
	copyFile(t, filepath.Join(data, secretFile), filepath.Join(restored, secretFile))
	if after := lm(t, restored, "leads", "list").stdout; after != before {
		t.Errorf("restored leads differ:\n%s\nwant:\n%s", after, before)
	}
	mustContain(t, "restored suppression", lm(t, restored, "suppress", "check", "gone@example.com").stdout, "address")
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRegister prints the records of processing from a configuration with a source and an
// SMTP relay whose password must not appear.
func TestRegister(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	cfg := filepath.Join(t.TempDir(), "leadmailer.toml")
	if err := os.WriteFile(cfg, []byte(`
[sender]
company = "Focus Oy"
postal_address = "Street 1, Helsinki"
[smtp]
url = "smtp://mailer:s3cret-pass@relay.example.net:587"
[retention]
inactive_after = "730d"
[retention.sources.prh]
inactive_after = "365d"
[[sources]]
name = "prh"
title = "Finnish Trade Register open data"
kind = "http"
url = "https://avoindata.prh.fi/opendata-ytj-api/v3/companies"
format = "json"
licence = "CC BY 4.0, Finnish Patent and Registration Office"
[sources.fields]
company = "name"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	out := lm(t, data, "register", "--config", cfg).stdout
	mustContain(t, "register", out, "# Records of processing", "Focus Oy",
		"| prh | Finnish Trade Register open data | public database |", "CC BY 4.0", "legitimate interest, Art. 6(1)(f) | 365d | 365d |",
		"SMTP relay at relay.example.net:587", "**not set: sender.privacy_policy_url**")
	if strings.Contains(out, "s3cret") || strings.Contains(out, "mailer:") {
		t.Errorf("register prints the relay's credentials:\n%s", out)
	}
}

// TestBackupWhileAnotherProcessImports runs "leadmailer backup" while a separate leadmailer
// process imports: the copy must be one consistent moment of the import (its leads match the
// run's committed counts), and a copy taken after it restores every lead.
func TestBackupWhileAnotherProcessImports(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 100,000 rows")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	lm(t, data, "init")
	csvPath, distinct := writeBulkCSV(t, dir, 100_000)
	c := startLeadmailer(t, "import", csvPath, "--source", "bulk", "--data", data)
	db, _ := openDataForInspection(t, data)
	waitForCommitted(t, db, c, 10_000)

	during := filepath.Join(dir, "during.db")
	duringOut := lm(t, data, "backup", during).stdout
	if code := c.wait(t, 120*time.Second); code != exitOK {
		t.Fatalf("import: exit %d\n%s", code, c.stderr.String())
	}
	after := filepath.Join(dir, "after.db")
	lm(t, data, "backup", after)

	for _, path := range []string{during, after} {
		restored := filepath.Join(dir, strings.TrimSuffix(filepath.Base(path), ".db")+"-restored")
		if err := os.MkdirAll(restored, 0o700); err != nil {
			t.Fatal(err)
		}
		copyFile(t, path, filepath.Join(restored, dbFile))
		copyDB, raw := openDataForInspection(t, restored)
		if err := copyDB.IntegrityCheck(t.Context()); err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
		runs, err := copyDB.FindImportRuns(t.Context(), "bulk", 1)
		if err != nil || len(runs) != 1 {
			t.Fatalf("%s: runs %v, %v", filepath.Base(path), runs, err)
		}
		leads := count(t, raw, `SELECT count(*) FROM leads`)
		if run := runs[0]; leads != run.Counts.Inserted || run.Counts.Inserted+run.Counts.Duplicates != run.Counts.Read {
			t.Errorf("%s: %d leads, run counts %+v: the copy is not one consistent moment", filepath.Base(path), leads, run.Counts)
		}
		// The import goes on while the copy is counted: only the copy's own count matches it.
		if path == during && !strings.Contains(duringOut, fmt.Sprintf(" %d leads)", leads)) {
			t.Errorf("backup during the import printed %q; want the copy's %d leads", duringOut, leads)
		}
		switch path {
		case during:
			if runs[0].Status != leadmailer.RunRunning || leads == 0 || leads >= int64(distinct) {
				t.Errorf("backup during the import: run %s with %d of %d leads, want a running run caught midway",
					runs[0].Status, leads, distinct)
			}
		case after:
			if leads != int64(distinct) {
				t.Errorf("backup after the import restores %d leads, want %d", leads, distinct)
			}
		}
	}
}

func TestPrivacyCommandsHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help", "suppress"}, "leadmailer suppress add --business-id ID"},
		{[]string{"suppress", "add", "--help"}, "never an address"},
		{[]string{"help", "retention"}, "leadmailer retention run [--dry-run] [--json]"},
		{[]string{"retention", "run", "-h"}, "--dry-run"},
		{[]string{"help", "backup"}, "To restore: stop serve"},
		{[]string{"backup", "--help"}, "secret.key"},
		{[]string{"help", "register"}, "records of processing"},
		{[]string{"leads", "erase", "--help"}, "leadmailer leads erase EMAIL [--reason R]"},
		{[]string{"leads", "export", "-h"}, "--format json|csv"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", tt.args...)
			if r.code != exitOK {
				t.Errorf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			mustContain(t, "stdout", r.stdout, tt.want)
			if exists(t, data) {
				t.Error("help created the data directory")
			}
		})
	}
}
