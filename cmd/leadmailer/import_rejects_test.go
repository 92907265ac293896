package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// badRowsCSV has two rows an import rejects (lines 3 and 5) among good ones.
const badRowsCSV = "Email,Name,Company,Country\n" +
	"anna@example.fi,Anna,Virtanen Oy,FI\n" +
	"not-an-address,Bad Row,Nowhere Ltd,FI\n" +
	"erik@example.se,Erik,Svensson AB,SE\n" +
	"atlantis@example.com,Atlantean,Atlantis Ltd,Atlantis\n"

// An import's rejected rows are in the database, not in a file of the data directory: the
// report says how many, shows the first with their reasons and names the command that
// writes them all, and "imports rejects" writes them as the rejects file used to be, with
// each read recorded in the audit log. A dry run stores nothing, so its report shows the
// rows; --rejects still writes the file the user names.
func TestImportRejectsCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		flags      []string
		reportHas  []string
		stored     bool // imports rejects 1 gives the rows
		rejectFile bool // --rejects names a file that must hold the rows
	}{
		{
			name: "import",
			reportHas: []string{"2 rows rejected", "row 3: ", `"not-an-address" has no @`, "row 5: ", "Atlantis",
				"leadmailer imports rejects 1 --output rejects.csv"},
			stored: true,
		},
		{
			name:       "import with --rejects",
			flags:      []string{"--rejects", "REJECTS"},
			reportHas:  []string{"2 rows rejected", "row 3: ", "are in REJECTS", "leadmailer imports rejects 1"},
			stored:     true,
			rejectFile: true,
		},
		{
			name:      "dry run",
			flags:     []string{"--dry-run"},
			reportHas: []string{"2 rows rejected", "row 3: ", `"not-an-address" has no @`, "row 5: ", "give --rejects FILE"},
		},
		{
			name:       "dry run with --rejects",
			flags:      []string{"--dry-run", "--rejects", "REJECTS"},
			reportHas:  []string{"2 rows rejected", "row 3: ", "are in REJECTS"},
			rejectFile: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			file := writeFile(t, dir, "fair.csv", badRowsCSV)
			rejectsPath := filepath.Join(dir, "mine", "rejects.csv")
			args := []string{"import", file, "--source", "fair"}
			for _, f := range tt.flags {
				args = append(args, strings.ReplaceAll(f, "REJECTS", rejectsPath))
			}
			report := lm(t, data, args...).stdout
			for _, want := range tt.reportHas {
				mustContain(t, "report", report, strings.ReplaceAll(want, "REJECTS", rejectsPath))
			}
			if entries, err := os.ReadDir(filepath.Join(data, "rejects")); err == nil || !os.IsNotExist(err) {
				t.Errorf("the data directory has a rejects folder (%d files, %v): the rejects belong in the database", len(entries), err)
			}
			if tt.rejectFile {
				b, err := os.ReadFile(rejectsPath)
				if err != nil {
					t.Fatalf("--rejects file: %v", err)
				}
				checkRejectsCSV(t, "--rejects file", string(b))
			}
			if !tt.stored {
				r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "imports", "rejects", "1")
				if r.code != exitError || !strings.Contains(r.stderr, "no import run 1") {
					t.Errorf("imports rejects 1 after a dry run: exit %d, stderr %q; want %d and no import run 1", r.code, r.stderr, exitError)
				}
				return
			}
			checkRejectsCSV(t, "imports rejects", lm(t, data, "imports", "rejects", "1").stdout)
			out := filepath.Join(dir, "out.csv")
			r := lm(t, data, "imports", "rejects", "1", "--output", out)
			mustContain(t, "imports rejects --output", r.stderr, "Wrote 2 rejected rows of run 1 to "+out)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			checkRejectsCSV(t, "--output file", string(b))
			if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("--output file mode %v (%v), want 0600: it holds personal data", info.Mode().Perm(), err)
			}
			audit := lm(t, data, "audit", "--action", "import.rejects").stdout
			if n := strings.Count(audit, "import.rejects"); n != 2 {
				t.Errorf("audit log has %d import.rejects entries, want 2 (one per read):\n%s", n, audit)
			}
			mustContain(t, "audit log", audit, "to "+out)
		})
	}
}

// checkRejectsCSV checks a rejects file of badRowsCSV: the old file's columns, the two
// rejected rows with their reasons and values.
func checkRejectsCSV(t *testing.T, what, out string) {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("%s is not CSV: %v\n%s", what, err, out)
	}
	want := [][]string{
		{"row", "reason", "email", "name", "company", "country", "business_id", "job_title", "website", "phone", "city"},
		{"3", "", "not-an-address", "Bad Row", "Nowhere Ltd", "FI", "", "", "", "", ""},
		{"5", "", "atlantis@example.com", "Atlantean", "Atlantis Ltd", "Atlantis", "", "", "", "", ""},
	}
	if len(recs) != len(want) {
		t.Fatalf("%s has %d lines, want %d:\n%s", what, len(recs), len(want), out)
	}
	for i := range want {
		got := recs[i]
		reason := ""
		if i > 0 {
			reason, got[1] = got[1], ""
			if reason == "" {
				t.Errorf("%s: row %s has no reason", what, got[0])
			}
		}
		if strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("%s line %d = %q, want %q (reason %q)", what, i+1, got, want[i], reason)
		}
	}
}

// "imports rejects" of a run that does not exist says so.
func TestImportRejectsUnknownRun(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "init")
	for _, tt := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"imports", "rejects", "7"}, exitError, "no import run 7"},
		{[]string{"imports", "rejects"}, exitUsage, "give one run ID"},
		{[]string{"imports", "rejects", "x"}, exitUsage, `run ID "x" is not a number`},
	} {
		r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("leadmailer %s: exit %d, stderr %q; want %d and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.code, tt.stderr)
		}
	}
}
