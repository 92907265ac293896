package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// migratedData builds a data directory that has been used: users, leads from a CSV import,
// a campaign sent through the SMTP server, a hard bounce, suppressions, and the audit entries
// all of that records. It returns the directory, the campaign's id and the bounced address.
func migratedData(t *testing.T) (data string, campaign int64) {
	t.Helper()
	srv := smtptest.New(t)
	data = filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig(srv.URL(), bounceConfig))
	lmIn(t, data, "first admin password\n", "init", "--admin", "anna", "--password-stdin")
	lmIn(t, data, "marketer password 1\n", "users", "add", "bert", "--role", "marketer", "--password-stdin")
	csv := writeFile(t, t.TempDir(), "people.csv", "Email,Name,Company,Country\n"+
		"anna@example.fi,Anna,A Oy,FI\nbert@example.fi,Bert,B Oy,FI\ncarl@example.fi,Carl,,FI\ndora@example.fi,Dora,D Oy,FI\n")
	lm(t, data, "import", csv, "--source", "fair")
	campaign = createCampaign(t, data)
	lm(t, data, "campaigns", "send", fmt.Sprint(campaign))
	sent := sentTo(t, srv)
	anna := sent["anna@example.fi"]
	if r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, dsnMessage("b1", anna[0], "anna@example.fi", "5.1.1", anna[1]),
		"bounces", "ingest", "--to", anna[0], "-"); r.code != exitOK || !strings.Contains(r.stdout, "1 recipient recorded") {
		t.Fatalf("ingest DSN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	lm(t, data, "suppress", "add", "dora@example.fi", "--reason", "asked by phone")
	lm(t, data, "suppress", "add", "@competitor.example")
	return data, campaign
}

// answers are what a user sees of a data directory, asked in the same order of every copy.
// The audit trail is verified first: every command after it records reads in the trail.
func answers(t *testing.T, data string, campaign int64) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, args := range [][]string{
		{"audit", "verify"},
		{"leads", "show", "anna@example.fi"},
		{"leads", "show", "carl@example.fi"},
		{"leads", "list"},
		{"campaigns", "show", fmt.Sprint(campaign)},
		{"campaigns", "recipients", fmt.Sprint(campaign)},
		{"users", "list"},
		{"suppress", "list"},
		{"suppress", "check", "dora@example.fi"},
	} {
		got[strings.Join(args, " ")] = lm(t, data, args...).stdout
	}
	return got
}

// sameAnswers fails the test where two data directories answer differently.
func sameAnswers(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		if got[k] != want[k] {
			t.Errorf("%s: leadmailer %s answers\n%s\nwant, as before the copy:\n%s", what, k, got[k], want[k])
		}
	}
}

// countRows opens a database as the data directory's commands do and counts its tables.
func countRows(t *testing.T, spec, data string) []store.TableCount {
	t.Helper()
	key, err := loadSecret(filepath.Join(data, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDatabase(t.Context(), spec, data, store.Options{SuppressionKey: key, AuditKey: auditKey(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts, err := db.CountRows(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// dataDirFor makes a data directory that uses database: the secret key of from, its
// configuration, and [database] url when database is PostgreSQL.
func dataDirFor(t *testing.T, from, database string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{secretFile, "leadmailer.toml"} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil && !(name == "leadmailer.toml" && os.IsNotExist(err)) {
			t.Fatal(err)
		}
		if name == "leadmailer.toml" && store.IsPostgresURL(database) {
			b = fmt.Appendf(b, "\n[database]\nurl = %q\n", database)
		}
		writeFile(t, dir, name, string(b))
	}
	return dir
}

// A used SQLite data directory copied into PostgreSQL answers every question as before,
// and copied back from PostgreSQL into a new SQLite file, again; the copies' tables hold as
// many rows as the originals, and each keeps working for new rows.
func TestMigrateDataToPostgresAndBack(t *testing.T) {
	pgURL := storetest.NewPostgresDatabase(t)
	data, campaign := migratedData(t)
	sqliteSpec := sqlitePrefix + filepath.Join(data, dbFile)

	r := lm(t, data, "migrate-data", "--to", pgURL)
	mustContain(t, "migrate-data to PostgreSQL", r.stdout, "every table holds as many rows as in the source",
		"The audit trail is intact on the target", "rows/s", "set [database] url")
	before := countRows(t, sqliteSpec, data)
	if got := countRows(t, pgURL, data); !slices.Equal(got, before) {
		t.Errorf("PostgreSQL holds rows %v, the SQLite source %v", got, before)
	}
	for _, table := range []string{"leads", "campaign_recipients", "bounces", "suppressions", "users", "audit_log", "audit_keying", "observations"} {
		i := slices.IndexFunc(before, func(c store.TableCount) bool { return c.Table == table })
		if i < 0 || before[i].Rows == 0 {
			t.Errorf("the source's table %s is missing or empty (%v): the test does not exercise it", table, before)
		}
	}

	pgData := dataDirFor(t, data, pgURL)
	want := answers(t, data, campaign)
	sameAnswers(t, "on PostgreSQL", want, answers(t, pgData, campaign))

	// Back from PostgreSQL into a new SQLite file, the data directory's database.
	backData := dataDirFor(t, data, "")
	back := filepath.Join(backData, dbFile)
	r = lm(t, pgData, "migrate-data", "--from", pgURL, "--to", sqlitePrefix+back)
	mustContain(t, "migrate-data back to SQLite", r.stdout, "every table holds as many rows as in the source",
		"The audit trail is intact on the target")
	if got, pg := countRows(t, sqlitePrefix+back, backData), countRows(t, pgURL, pgData); !slices.Equal(got, pg) {
		t.Errorf("the SQLite copy holds rows %v, PostgreSQL %v", got, pg)
	}
	want = answers(t, pgData, campaign)
	sameAnswers(t, "back on SQLite", want, answers(t, backData, campaign))

	// Ids given by the databases themselves do not collide with the copied ones: the
	// sequences were moved past them.
	for _, d := range []string{pgData, backData} {
		lmIn(t, d, "marketer password 2\n", "users", "add", "cleo", "--role", "marketer", "--password-stdin")
		lm(t, d, "import", writeFile(t, t.TempDir(), "more.csv", "Email,Name\neve@example.fi,Eve\n"), "--source", "fair")
		mustContain(t, "leads list after the copy", lm(t, d, "leads", "list").stdout, "eve@example.fi", "anna@example.fi")
		lm(t, d, "audit", "verify")
	}
}

// A target that holds data is refused, naming a table with rows, and left as it was; so is
// an SQLite file that exists, and a data directory that serve holds.
func TestMigrateDataRefuses(t *testing.T) {
	pgURL := storetest.NewPostgresDatabase(t)
	data := filepath.Join(t.TempDir(), "data")
	lm(t, data, "import", fixture(t, "contacts.csv"), "--source", "crm")
	lm(t, data, "migrate-data", "--to", pgURL)
	pgData := dataDirFor(t, data, pgURL)
	before := countRows(t, pgURL, pgData)

	nonEmpty := regexp.MustCompile(`is not empty: table (\w+) holds \d+ rows`)
	for _, tt := range []struct {
		name string
		args []string
		want *regexp.Regexp
	}{
		{"a PostgreSQL database with rows", []string{"migrate-data", "--to", pgURL}, nonEmpty},
		{"an existing SQLite file", []string{"migrate-data", "--from", pgURL, "--to", sqlitePrefix + filepath.Join(data, dbFile)},
			regexp.MustCompile(`exists: copy only into a new file`)},
		{"the source itself", []string{"migrate-data", "--from", pgURL, "--to", pgURL + "&connect_timeout=5"},
			regexp.MustCompile(`is the source database`)},
		{"no target", []string{"migrate-data"}, regexp.MustCompile(`--to`)},
		{"not a database", []string{"migrate-data", "--to", "mysql://x"}, regexp.MustCompile(`is not a database`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", tt.args...)
			if r.code == exitOK || !tt.want.MatchString(r.stderr) {
				t.Errorf("exit %d, stderr %q; want a failure matching %q", r.code, r.stderr, tt.want)
			}
		})
	}
	if got := countRows(t, pgURL, pgData); !slices.Equal(got, before) {
		t.Errorf("a refused copy changed the target: %v, before %v", got, before)
	}

	// A data directory without a database (--data mistyped) is not copied as an empty one.
	empty := filepath.Join(t.TempDir(), "typo")
	if err := os.MkdirAll(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, secretFile), []byte(strings.Repeat("k", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": empty}, "", "migrate-data", "--to", storetest.NewPostgresDatabase(t))
	if r.code == exitOK || !strings.Contains(r.stderr, "holds no database to copy") || exists(t, filepath.Join(empty, dbFile)) {
		t.Errorf("from a data directory without a database: exit %d, stderr %q", r.code, r.stderr)
	}

	release, err := lockDataDir(data, "the test")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	r = runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "migrate-data", "--to", storetest.NewPostgresDatabase(t))
	if r.code == exitOK || !strings.Contains(r.stderr, "in use by leadmailer serve") {
		t.Errorf("with the data directory held: exit %d, stderr %q", r.code, r.stderr)
	}
}
