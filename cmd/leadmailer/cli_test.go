package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/store"
)

// These tests run commands in-process through run(), with their own streams and environment,
// against real SQLite databases in t.TempDir(), and check what a user would see: the exit
// status, the output, and what is left on disk.

// result is what one command did.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs one command with vars as its whole environment and stdin as its input.
func runCLI(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(stdin),
		stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return vars[k] },
	}
	code := run(t.Context(), args, e)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// lm runs a command against the data directory data (given as LEADMAILER_DATA) and fails the
// test unless it succeeds.
func lm(t *testing.T, data string, args ...string) result {
	t.Helper()
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", args...)
	if r.code != exitOK {
		t.Fatalf("leadmailer %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// lmJSON runs a command that prints JSON and decodes its output into v, failing unless the
// output is exactly one JSON value.
func lmJSON(t *testing.T, data string, v any, args ...string) {
	t.Helper()
	r := lm(t, data, args...)
	decodeOne(t, r.stdout, v)
}

func decodeOne(t *testing.T, out string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode JSON output: %v\noutput:\n%s", err, out)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		t.Fatalf("output holds more than one JSON value (next: %s, err %v)\noutput:\n%s", extra, err, out)
	}
}

// squash collapses runs of white space to one space, so that tabwriter's column padding does
// not make assertions depend on the widths of other columns.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got, want) {
			t.Errorf("%s does not contain %q; got:\n%s", what, want, got)
		}
	}
}

// fixture returns the absolute path of a file in testdata, as commands may run elsewhere.
func fixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func exists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// importResult mirrors the JSON "import --json" prints.
type importResult struct {
	Run          leadmailer.ImportRun     `json:"run"`
	DryRun       bool                     `json:"dry_run"`
	Encoding     string                   `json:"encoding"`
	Delimiter    string                   `json:"delimiter"`
	RejectsFile  string                   `json:"rejects_file"`
	FirstRejects []leadmailer.RejectedRow `json:"first_rejects"`
	Error        string                   `json:"error"`
}

// leadShow mirrors the JSON "leads show --json" prints.
type leadShow struct {
	Lead       leadmailer.Lead          `json:"lead"`
	Fields     []fieldOrigin            `json:"fields"`
	Provenance []leadmailer.Observation `json:"provenance"`
}

func leadEmails(t *testing.T, data string, args ...string) []string {
	t.Helper()
	var leads []leadmailer.Lead
	lmJSON(t, data, &leads, append([]string{"leads", "list", "--json"}, args...)...)
	emails := []string{}
	for _, l := range leads {
		emails = append(emails, l.Email)
	}
	return emails
}

// importFixtures imports contacts.csv as source crm (run 1) and partners.csv as the public
// source partners (run 2) into a fresh data directory.
func importFixtures(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm")
	lm(t, data, "import", fixture(t, "partners.csv"), "--source", "partners", "--kind", "public")
	return data
}

func TestInitCreatesDataDirAndIsIdempotent(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "not", "yet", "there")
	first := lm(t, data, "init")

	info, err := os.Stat(filepath.Join(data, secretFile))
	if err != nil {
		t.Fatalf("secret key: %v", err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("secret.key mode = %v, want 0600: it keys the suppression list", got)
	}
	key, err := os.ReadFile(filepath.Join(data, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 {
		t.Errorf("secret.key holds %d bytes, want 32", len(key))
	}
	db, err := store.Open(t.Context(), filepath.Join(data, dbFile), store.Options{})
	if err != nil {
		t.Fatalf("open the database init created: %v", err)
	}
	version, err := db.SchemaVersion(t.Context())
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if version < 1 {
		t.Errorf("schema version = %d after init, want >= 1", version)
	}
	abs, _ := filepath.Abs(data)
	mustContain(t, "init output", first.stdout, abs, "schema version "+strconv.Itoa(version))

	mustContain(t, "init output", first.stdout, "leadmailer.toml", "CHANGE-ME")
	cfgPath := filepath.Join(data, config.FileName)
	if err := os.WriteFile(cfgPath, []byte("# edited by hand\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	second := lm(t, data, "init")
	if want, _, _ := strings.Cut(first.stdout, "\n"); second.stdout != want+"\n" {
		t.Errorf("second init printed %q, want only the first line of the first, %q", second.stdout, want)
	}
	if cfg, _ := os.ReadFile(cfgPath); string(cfg) != "# edited by hand\n" {
		t.Errorf("second init replaced the configuration file with:\n%s", cfg)
	}
	again, err := os.ReadFile(filepath.Join(data, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, key) {
		t.Error("second init replaced secret.key; it must be written once and never replaced")
	}
}

func TestConfigCheckNamesPlaceholders(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	before := lm(t, data, "config", "check")
	mustContain(t, "config check before init", before.stdout, "No configuration file", `"leadmailer init" writes one`, "public_url and [sender]")
	if n := strings.Count(before.stdout, "\n"); n > 2 || strings.Count(before.stdout, "leadmailer init") != 1 {
		t.Errorf("config check without a file says it in %d lines, want one hint in at most two:\n%s", n, before.stdout)
	}
	lm(t, data, "init")
	after := lm(t, data, "config", "check")
	mustContain(t, "config check after init", after.stdout, "valid, 0 sources.",
		"sender.company in "+filepath.Join(data, config.FileName)+" is still a placeholder")

	bad := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(bad, []byte("[sending]\nconcurency = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "config", "check", "--config", bad)
	if r.code != exitError {
		t.Errorf("config check of a misspelt key: exit %d, want %d", r.code, exitError)
	}
	mustContain(t, "stderr", r.stderr, "unknown key sending.concurency")
}

func TestEveryCommandCreatesMissingDataDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string // in stdout
	}{
		{[]string{"init"}, "is ready"},
		{[]string{"leads", "list"}, "0 leads"},
		{[]string{"leads", "list", "--json"}, "[\n]"},
		{[]string{"imports", "list"}, "RUN"},
		{[]string{"imports", "list", "--json"}, "[]"},
		{[]string{"import", "--source", "s", fixture(t, "partners.csv")}, "inserted"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:min(len(tt.args), 3)], " "), func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "fresh")
			r := lm(t, data, tt.args...)
			mustContain(t, "stdout", r.stdout, tt.want)
			for _, f := range []string{dbFile, secretFile} {
				if !exists(t, filepath.Join(data, f)) {
					t.Errorf("%s did not create %s in the missing data directory", strings.Join(tt.args, " "), f)
				}
			}
		})
	}
}

func TestDataDirFromFlagEnvAndDefault(t *testing.T) {
	// Not parallel: the default case changes the working directory.
	tests := []struct {
		name    string
		env     bool // set LEADMAILER_DATA to dir/env
		flag    bool // pass --data dir/flag
		wantDir string
	}{
		{"env only", true, false, "env"},
		{"flag only", false, true, "flag"},
		{"flag wins over env", true, true, "flag"},
		{"neither: ./leadmailer-data", false, false, "leadmailer-data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			vars := map[string]string{}
			if tt.env {
				vars["LEADMAILER_DATA"] = filepath.Join(dir, "env")
			}
			args := []string{"leads", "list"}
			if tt.flag {
				args = append(args, "--data", filepath.Join(dir, "flag"))
			}
			r := runCLI(t, vars, "", args...)
			if r.code != exitOK {
				t.Fatalf("exit %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			for _, d := range []string{"env", "flag", "leadmailer-data"} {
				got := exists(t, filepath.Join(dir, d, dbFile))
				if want := d == tt.wantDir; got != want {
					t.Errorf("database in %s exists = %v, want %v", d, got, want)
				}
			}
		})
	}
}

func TestImportPrintsReport(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	r := lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm")
	mustContain(t, "report", squash(r.stdout),
		`Imported contacts.csv as source "crm": run 1 completed`,
		"Encoding utf-8, delimiter ,",
		"Columns: E-mail -> email, Name -> name, Company -> company, Country -> country, City -> city",
		"Not stored (no matching field): Notes",
		"rows read 5", "inserted 3", "updated 0", "unchanged 0", "duplicates in file 1",
		"suppressed 0", "rejected 1",
		"1 row rejected:", `row 4: column 1 "E-mail": e-mail "not-an-address" has no @`,
		"Get all rejected rows, with the reason for each: leadmailer imports rejects 1",
	)
}

func TestImportDetectsEncodingAndDelimiter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file          string
		wantEncoding  string
		wantDelimiter string
		email         string
		wantName      string // proves the text was decoded, not just split
		wantCountry   string
	}{
		{"contacts.csv", "utf-8", ",", "hans@example.de", "Hans Müller", "DE"},
		{"excel-fi-windows1252.csv", "windows-1252", ";", "jorg@example.de", "Jörg Müller", "DE"},
		{"excel-fi-windows1252.csv", "windows-1252", ";", "marta@example.fi", "Märta Åberg", "FI"},
		{"utf16le-tab.csv", "utf-16le", "tab", "zoe@example.fr", "Zoë Élise", "FR"},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.email, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			r := lm(t, data, "import", fixture(t, tt.file), "--source", "s")
			mustContain(t, "report", r.stdout, "Encoding "+tt.wantEncoding+", delimiter "+tt.wantDelimiter+"\n")

			var got leadShow
			lmJSON(t, data, &got, "leads", "show", tt.email, "--json")
			if got.Lead.Name != tt.wantName || got.Lead.Country != tt.wantCountry {
				t.Errorf("lead %s has name %q, country %q; want %q, %q", tt.email, got.Lead.Name, got.Lead.Country,
					tt.wantName, tt.wantCountry)
			}
		})
	}
}

func TestImportFromStdin(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	in, err := os.ReadFile(fixture(t, "partners.csv"))
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, string(in), "import", "-", "--source", "pipe")
	if r.code != exitOK {
		t.Fatalf("import -: exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	mustContain(t, "report", squash(r.stdout), `Imported stdin as source "pipe"`, "inserted 2")
	if got, want := leadEmails(t, data), []string{"erik@example.se", "liisa@example.fi"}; !slices.Equal(got, want) {
		t.Errorf("leads after import from stdin = %q, want %q", got, want)
	}
}

func TestImportJSONIsOneObject(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	var got importResult
	lmJSON(t, data, &got, "import", fixture(t, "contacts.csv"), "--source", "crm", "--json")

	want := leadmailer.ImportCounts{Read: 5, Inserted: 3, Duplicates: 1, Rejected: 1}
	if got.Run.Counts != want {
		t.Errorf("run.counts = %+v, want %+v", got.Run.Counts, want)
	}
	if got.Run.Status != leadmailer.RunCompleted || got.DryRun || got.Error != "" {
		t.Errorf("status %q, dry_run %v, error %q; want completed, false, no error", got.Run.Status, got.DryRun, got.Error)
	}
	if got.Encoding != "utf-8" || got.Delimiter != "," {
		t.Errorf("encoding %q, delimiter %q; want utf-8, ,", got.Encoding, got.Delimiter)
	}
	if got.RejectsFile != "" || len(got.FirstRejects) != 1 || got.FirstRejects[0].Row != 4 {
		t.Errorf("rejects_file = %q, first_rejects = %+v; want no file (the rejects are stored) and row 4", got.RejectsFile, got.FirstRejects)
	}
	if sum := fileSHA256(t, fixture(t, "contacts.csv")); got.Run.FileSHA256 != sum {
		t.Errorf("run.file_sha256 = %q, want %q", got.Run.FileSHA256, sum)
	}
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// The checksum is what lets an operator prove which file a run imported, so it must be stored
// with the run, not only printed in the import's own report.
func TestImportRecordsFileChecksum(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm")
	var got leadmailer.ImportRun
	lmJSON(t, data, &got, "imports", "show", "1", "--json")
	if want := fileSHA256(t, fixture(t, "contacts.csv")); got.FileSHA256 != want {
		t.Errorf("imports show 1: file_sha256 = %q, want %q", got.FileSHA256, want)
	}
}

func TestImportDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	r := lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm", "--dry-run")
	mustContain(t, "report", squash(r.stdout), "Dry run (nothing was changed) of contacts.csv", "inserted 3")

	if got := lm(t, data, "leads", "list").stdout; !strings.HasSuffix(got, "0 leads\n") {
		t.Errorf("leads list after a dry run:\n%s\nwant 0 leads", got)
	}
	var runs []leadmailer.ImportRun
	lmJSON(t, data, &runs, "imports", "list", "--json")
	if len(runs) != 0 {
		t.Errorf("imports list after a dry run holds %d runs, want none: %+v", len(runs), runs)
	}
	// A dry run's counts must say what the real import then does.
	var real importResult
	lmJSON(t, data, &real, "import", fixture(t, "contacts.csv"), "--source", "crm", "--json")
	if real.Run.Counts.Inserted != 3 || real.Run.ID != 1 {
		t.Errorf("import after the dry run: run %d inserted %d, want run 1 inserting 3", real.Run.ID, real.Run.Counts.Inserted)
	}
}

func TestImportRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		file        string
		rejectsFlag bool
		wantRows    []string // row numbers of rejected rows; nil: no rejects file anywhere
	}{
		{"to --rejects file", "contacts.csv", true, []string{"4"}},
		{"none rejected, no file", "partners.csv", false, nil},
		{"none rejected, --rejects file not created", "partners.csv", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			args := []string{"import", fixture(t, tt.file), "--source", "s"}
			flagPath := filepath.Join(dir, "out", "rejected.csv")
			if tt.rejectsFlag {
				args = append(args, "--rejects", flagPath)
			}
			r := lm(t, data, args...)

			inData, err := filepath.Glob(filepath.Join(data, "rejects", "*.csv"))
			if err != nil {
				t.Fatal(err)
			}
			var written []string
			if tt.rejectsFlag && exists(t, flagPath) {
				written = append(written, flagPath)
			}
			written = append(written, inData...)
			if tt.wantRows == nil {
				if len(written) > 0 {
					t.Errorf("rejects files %q written, want none when no row was rejected", written)
				}
				if strings.Contains(r.stdout, "Rejected rows") {
					t.Errorf("report mentions a rejects file though none was written:\n%s", r.stdout)
				}
				return
			}
			want := filepath.Join(data, "rejects")
			if tt.rejectsFlag {
				want = flagPath
			}
			if len(written) != 1 || !strings.HasPrefix(written[0], want) {
				t.Fatalf("rejects files written: %q, want one at %s", written, want)
			}
			mustContain(t, "report", r.stdout, "are in "+written[0])

			rows := readCSV(t, written[0])
			if got := rows[0]; !slices.Contains(got, "row") || !slices.Contains(got, "reason") || !slices.Contains(got, "email") {
				t.Errorf("rejects header = %q, want row, reason and the field names", got)
			}
			var gotRows []string
			for _, rec := range rows[1:] {
				gotRows = append(gotRows, rec[slices.Index(rows[0], "row")])
				if reason := rec[slices.Index(rows[0], "reason")]; reason == "" {
					t.Errorf("rejected row %q has no reason", rec)
				}
				if email := rec[slices.Index(rows[0], "email")]; email != "not-an-address" {
					t.Errorf("rejected row's email = %q, want the value as received, %q", email, "not-an-address")
				}
			}
			if !slices.Equal(gotRows, tt.wantRows) {
				t.Errorf("rejected rows = %q, want %q", gotRows, tt.wantRows)
			}
		})
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return rows
}

func TestImportSameFileTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm")
	var second importResult
	lmJSON(t, data, &second, "import", fixture(t, "contacts.csv"), "--source", "crm", "--json")
	want := leadmailer.ImportCounts{Read: 5, Unchanged: 3, Duplicates: 1, Rejected: 1}
	if second.Run.Counts != want {
		t.Errorf("second import's counts = %+v, want %+v", second.Run.Counts, want)
	}
	if got := leadEmails(t, data); len(got) != 3 {
		t.Errorf("leads after two imports = %q, want 3", got)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	contacts := fixture(t, "contacts.csv")
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"import without --source", []string{"import", contacts}, "--source is required"},
		{"import with blank --source", []string{"import", contacts, "--source", " "}, "--source is required"},
		{"import without FILE", []string{"import", "--source", "s"}, "give exactly one FILE"},
		{"import with two FILEs", []string{"import", contacts, contacts, "--source", "s"}, "give exactly one FILE"},
		{"import unknown --kind", []string{"import", contacts, "--source", "s", "--kind", "scraped"}, `--kind "scraped": use upload or public`},
		{"import --map without =", []string{"import", contacts, "--source", "s", "--map", "Sposti"}, `--map "Sposti": write it as 'Header=field'`},
		{"import --map unknown field", []string{"import", contacts, "--source", "s", "--map", "Notes=shoe_size"}, `unknown field "shoe_size"`},
		{"import unknown flag", []string{"import", contacts, "--source", "s", "--frobnicate"}, "-frobnicate"},
		{"unknown command", []string{"frobnicate"}, `no command "frobnicate"`},
		{"help for unknown command", []string{"help", "frobnicate"}, `no command "frobnicate"`},
		{"leads without subcommand", []string{"leads"}, "say list or show"},
		{"leads unknown subcommand", []string{"leads", "delete"}, `unknown leads command "delete"`},
		{"leads show without address", []string{"leads", "show"}, "give one e-mail address"},
		{"leads list unknown --country", []string{"leads", "list", "--country", "Narnia"}, `--country "Narnia" is not a country`},
		{"leads list unknown --state", []string{"leads", "list", "--state", "asleep"}, `--state "asleep"`},
		{"imports without subcommand", []string{"imports"}, "say list, show or rejects"},
		{"imports unknown subcommand", []string{"imports", "purge"}, `unknown imports command "purge"`},
		{"imports show non-number", []string{"imports", "show", "latest"}, `run ID "latest" is not a number`},
		{"imports show without ID", []string{"imports", "show"}, "give one run ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", tt.args...)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d (usage)", r.code, exitUsage)
			}
			mustContain(t, "stderr", r.stderr, tt.want)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing: errors and usage go to stderr", r.stdout)
			}
			if exists(t, data) {
				t.Error("a usage error created the data directory; it should change nothing")
			}
		})
	}
}

func TestUsageErrorPrintsCommandUsage(t *testing.T) {
	t.Parallel()
	r := runCLI(t, nil, "", "import", fixture(t, "contacts.csv"))
	mustContain(t, "stderr", r.stderr, "leadmailer import: --source is required", "Usage: leadmailer import FILE --source NAME")
}

func TestMissingFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-leads.csv")
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": filepath.Join(dir, "data")}, "", "import", missing, "--source", "s")
	if r.code != exitError {
		t.Errorf("exit %d, want %d", r.code, exitError)
	}
	mustContain(t, "stderr", r.stderr, missing)
}

func TestHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Commands:"},
		{[]string{"help"}, "Commands:"},
		{[]string{"--help"}, "Commands:"},
		{[]string{"-h"}, "Commands:"},
		{[]string{"help", "import"}, "Usage: leadmailer import FILE --source NAME"},
		{[]string{"import", "--help"}, "Usage: leadmailer import FILE --source NAME"},
		{[]string{"import", "-h"}, "Usage: leadmailer import FILE --source NAME"},
		{[]string{"help", "init"}, "Usage: leadmailer init"},
		{[]string{"init", "--help"}, "Usage: leadmailer init"},
		{[]string{"help", "leads"}, "leadmailer leads show EMAIL"},
		{[]string{"leads", "--help"}, "leadmailer leads show EMAIL"},
		{[]string{"leads", "list", "--help"}, "leadmailer leads show EMAIL"},
		{[]string{"help", "imports"}, "leadmailer imports show ID"},
		{[]string{"imports", "--help"}, "leadmailer imports show ID"},
		{[]string{"imports", "show", "-h"}, "leadmailer imports show ID"},
		{[]string{"help", "config"}, "leadmailer config check"},
		{[]string{"config", "--help"}, "leadmailer config check"},
		{[]string{"config", "example"}, "[[sources]]"},
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

func TestLeadsList(t *testing.T) {
	t.Parallel()
	data := importFixtures(t)
	tests := []struct {
		filter []string
		want   []string
	}{
		{nil, []string{"anna.virtanen@example.fi", "erik@example.se", "hans@example.de", "liisa@example.fi"}},
		{[]string{"--country", "Suomi"}, []string{"anna.virtanen@example.fi", "liisa@example.fi"}},
		{[]string{"--country", "fi"}, []string{"anna.virtanen@example.fi", "liisa@example.fi"}},
		{[]string{"--country", "DEU"}, []string{"hans@example.de"}},
		{[]string{"--country", "US"}, []string{}},
		{[]string{"--source", "partners"}, []string{"erik@example.se", "liisa@example.fi"}},
		{[]string{"--source", "crm"}, []string{"anna.virtanen@example.fi", "erik@example.se", "hans@example.de"}},
		{[]string{"--source", "crm", "--country", "SE"}, []string{"erik@example.se"}},
		{[]string{"--source", "nobody"}, []string{}},
		{[]string{"--state", "active"}, []string{"anna.virtanen@example.fi", "erik@example.se", "hans@example.de", "liisa@example.fi"}},
		{[]string{"--state", "inactive"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append([]string{"all"}, tt.filter...), " "), func(t *testing.T) {
			t.Parallel()
			if got := leadEmails(t, data, tt.filter...); !slices.Equal(got, tt.want) {
				t.Errorf("--json: %q, want %q", got, tt.want)
			}
			out := lm(t, data, append([]string{"leads", "list"}, tt.filter...)...).stdout
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if got := squash(lines[0]); got != "ID E-MAIL NAME COMPANY COUNTRY STATE" {
				t.Errorf("table header = %q", got)
			}
			want := strconv.Itoa(len(tt.want)) + " leads"
			if len(tt.want) == 1 {
				want = "1 lead"
			}
			if got := lines[len(lines)-1]; got != want {
				t.Errorf("table's last line = %q, want %q", got, want)
			}
			var got []string
			for _, l := range lines[1 : len(lines)-1] {
				got = append(got, strings.Fields(l)[1])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("table: %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLeadsShow(t *testing.T) {
	t.Parallel()
	data := importFixtures(t)

	// Looked up case-insensitively; anna's two rows in contacts.csv differ in case and city.
	out := squash(lm(t, data, "leads", "show", "Anna.Virtanen@EXAMPLE.fi").stdout)
	mustContain(t, "leads show", out,
		"Lead 1: anna.virtanen@example.fi (active;", "first imported by run 1)",
		"email anna.virtanen@example.fi run 1, crm (upload)",
		"city Espoo run 1, crm (upload)",
		"country FI run 1, crm (upload)",
		"Provenance (2 observations, oldest first):",
		"run 1, source crm (upload) contacts.csv row 2:",
		"run 1, source crm (upload) contacts.csv row 5:",
		`email: "ANNA.VIRTANEN@Example.fi"`, // as received, not as normalised
		`country: "Suomi"`,
		`city: "Helsinki"`,
	)

	// erik's name came from crm, his job title from the later public source.
	out = squash(lm(t, data, "leads", "show", "erik@example.se").stdout)
	mustContain(t, "leads show", out,
		"name Erik Svensson run 1, crm (upload)",
		"job_title CEO run 2, partners (public)",
		"company Svensson AB run 1, crm (upload)",
		"Provenance (2 observations, oldest first):",
		"run 2, source partners (public) partners.csv row 2:",
		`country: "Sweden"`,
	)
	if strings.Contains(out, "business_id run") {
		t.Errorf("a field nobody supplied names a run:\n%s", out)
	}
}

func TestLeadsShowJSON(t *testing.T) {
	t.Parallel()
	data := importFixtures(t)
	var got leadShow
	lmJSON(t, data, &got, "leads", "show", "ERIK@example.se", "--json")

	if got.Lead.Email != "erik@example.se" || got.Lead.JobTitle != "CEO" || got.Lead.FirstRunID != 1 {
		t.Errorf("lead = %+v, want erik@example.se, CEO, first run 1", got.Lead)
	}
	origins := map[string]fieldOrigin{}
	for _, f := range got.Fields {
		origins[f.Field] = f
	}
	tests := []fieldOrigin{
		{Field: "email", Value: "erik@example.se", RunID: 1, Source: "crm", Kind: "upload"},
		{Field: "name", Value: "Erik Svensson", RunID: 1, Source: "crm", Kind: "upload"},
		{Field: "company", Value: "Svensson AB", RunID: 1, Source: "crm", Kind: "upload"},
		{Field: "country", Value: "SE", RunID: 1, Source: "crm", Kind: "upload"},
		{Field: "city", Value: "Stockholm", RunID: 1, Source: "crm", Kind: "upload"},
		{Field: "job_title", Value: "CEO", RunID: 2, Source: "partners", Kind: "public"},
		{Field: "phone"},
	}
	for _, want := range tests {
		if got := origins[want.Field]; got != want {
			t.Errorf("field %s: %+v, want %+v", want.Field, got, want)
		}
	}
	if len(got.Provenance) != 2 {
		t.Fatalf("provenance has %d observations, want 2: %+v", len(got.Provenance), got.Provenance)
	}
	p := got.Provenance[1]
	wantReceived := map[string]string{"email": "erik@example.se", "company": "Svensson AB", "job_title": "CEO", "country": "Sweden"}
	if p.RunID != 2 || p.Source != "partners" || p.Kind != leadmailer.KindPublic || p.Row != 2 || p.FileName != "partners.csv" {
		t.Errorf("second observation = %+v, want run 2, partners (public), partners.csv row 2", p)
	}
	if !maps.Equal(p.Received, wantReceived) {
		t.Errorf("second observation received %q, want %q", p.Received, wantReceived)
	}
}

func TestLeadsShowUnknown(t *testing.T) {
	t.Parallel()
	data := importFixtures(t)
	tests := []struct {
		email string
		want  string
	}{
		{"nobody@example.fi", "no lead with e-mail nobody@example.fi"},
		{"Nobody@Example.FI", "no lead with e-mail nobody@example.fi"},
		{"not-an-address", "not-an-address"},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "leads", "show", tt.email)
			if r.code != exitError {
				t.Errorf("exit %d, want %d", r.code, exitError)
			}
			mustContain(t, "stderr", r.stderr, tt.want)
		})
	}
}

func TestImportsListAndShow(t *testing.T) {
	t.Parallel()
	data := importFixtures(t)

	out := lm(t, data, "imports", "list").stdout
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// The STARTED column (a date and a clock time) is left out of the comparison.
	wantLines := []string{
		"RUN SOURCE KIND FILE STATUS READ NEW UPDATED REJECTED",
		"2 partners public partners.csv completed 2 1 1 0",
		"1 crm upload contacts.csv completed 5 3 0 1",
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("imports list printed %d lines, want %d:\n%s", len(lines), len(wantLines), out)
	}
	for i, l := range lines {
		f := strings.Fields(l)
		skip := 2
		if i == 0 {
			skip = 1
		}
		if len(f) > skip {
			f = append(f[:1], f[1+skip:]...)
		}
		if got := strings.Join(f, " "); got != wantLines[i] {
			t.Errorf("imports list line %d = %q, want %q", i+1, got, wantLines[i])
		}
	}

	var runs []leadmailer.ImportRun
	lmJSON(t, data, &runs, "imports", "list", "--json")
	if len(runs) != 2 || runs[0].ID != 2 || runs[1].ID != 1 {
		t.Fatalf("imports list --json = %+v, want runs 2 and 1, newest first", runs)
	}
	lmJSON(t, data, &runs, "imports", "list", "--json", "--source", "crm")
	if len(runs) != 1 || runs[0].Source != "crm" {
		t.Errorf("imports list --source crm = %+v, want run 1 only", runs)
	}

	show := squash(lm(t, data, "imports", "show", "1").stdout)
	mustContain(t, "imports show 1", show,
		`Run 1: source "crm" (upload), completed`,
		"File: contacts.csv",
		"Finished:",
		"Rows: 5 read, 3 inserted, 0 updated, 0 unchanged, 1 duplicate in file, 0 suppressed, 1 rejected",
		"Columns not stored: Notes",
	)
	var run leadmailer.ImportRun
	lmJSON(t, data, &run, "imports", "show", "2", "--json")
	want := leadmailer.ImportCounts{Read: 2, Inserted: 1, Updated: 1}
	if run.ID != 2 || run.Source != "partners" || run.Kind != leadmailer.KindPublic || run.Status != leadmailer.RunCompleted ||
		run.Counts != want || run.FinishedAt == nil || run.Actor == "" {
		t.Errorf("imports show 2 --json = %+v, want completed public run 2 of partners with counts %+v", run, want)
	}
}

func TestImportsShowUnknown(t *testing.T) {
	t.Parallel()
	data := importFixtures(t)
	for _, args := range [][]string{{"imports", "show", "99"}, {"imports", "show", "99", "--json"}} {
		r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", args...)
		if r.code != exitError {
			t.Errorf("%s: exit %d, want %d", args, r.code, exitError)
		}
		mustContain(t, "stderr", r.stderr, "no import run 99")
	}
}

// TestImportsShowNamesSomeUnmapped: a file with 900 columns no field matches gives an
// imports show that names the first few and counts the rest, as the import's own report
// does; it once listed every name.
func TestImportsShowNamesSomeUnmapped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	lm(t, data, "init")
	cols := make([]string, 900)
	for i := range cols {
		cols[i] = fmt.Sprintf("extra%03d", i+1)
	}
	file := filepath.Join(dir, "wide.csv")
	body := "email," + strings.Join(cols, ",") + "\na@example.com" + strings.Repeat(",v", len(cols)) + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	lm(t, data, "import", file, "--source", "wide")

	out := lm(t, data, "imports", "show", "1").stdout
	mustContain(t, "imports show 1", squash(out),
		"Columns not stored: extra001, extra002, extra003, extra004, extra005, extra006, extra007, extra008, extra009, extra010 and 890 more (900 columns in all)")
	if strings.Contains(out, "extra011") || strings.Contains(out, "extra900") {
		t.Errorf("imports show names columns past the first 10:\n%s", out)
	}
	if len(out) > 2000 {
		t.Errorf("imports show printed %d bytes, want a short report:\n%s", len(out), out)
	}
	// The JSON is for programs, and keeps every name.
	var run leadmailer.ImportRun
	lmJSON(t, data, &run, "imports", "show", "1", "--json")
	if len(run.Unmapped) != 900 || run.Unmapped[899] != "extra900" {
		t.Errorf("imports show --json has %d unmapped columns, want all 900", len(run.Unmapped))
	}
}
