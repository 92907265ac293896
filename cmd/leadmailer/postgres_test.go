package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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

// [database] url is read from wherever the configuration is: the data directory's
// leadmailer.toml, the file LEADMAILER_CONFIG names, the file given with --config, or
// LEADMAILER_DATABASE_URL. Each way the command works on PostgreSQL (its schema is
// migrated there) and leaves no SQLite file in the data directory.
func TestDatabaseURLFromEveryConfigPlace(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, data, url string) (env map[string]string, args []string)
	}{
		{"data directory's leadmailer.toml", func(t *testing.T, data, url string) (map[string]string, []string) {
			writeDatabaseConfig(t, filepath.Join(data, "leadmailer.toml"), url)
			return nil, []string{"leads", "list"}
		}},
		{"LEADMAILER_CONFIG", func(t *testing.T, data, url string) (map[string]string, []string) {
			path := filepath.Join(t.TempDir(), "etc.toml")
			writeDatabaseConfig(t, path, url)
			return map[string]string{"LEADMAILER_CONFIG": path}, []string{"leads", "list"}
		}},
		{"--config", func(t *testing.T, data, url string) (map[string]string, []string) {
			path := filepath.Join(t.TempDir(), "etc.toml")
			writeDatabaseConfig(t, path, url)
			return nil, []string{"sources", "list", "--config", path}
		}},
		{"LEADMAILER_DATABASE_URL", func(t *testing.T, data, url string) (map[string]string, []string) {
			// The file's URL is overridden: it names a server that is not there.
			writeDatabaseConfig(t, filepath.Join(data, "leadmailer.toml"), "postgres://nobody:pw@127.0.0.1:1/none")
			return map[string]string{"LEADMAILER_DATABASE_URL": url}, []string{"leads", "list"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := storetest.NewPostgresDatabase(t)
			data := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			env, args := tt.setup(t, data, url)
			// Commands without --config read the process's environment, as a real run does.
			for k, v := range env {
				t.Setenv(k, v)
			}
			vars := map[string]string{"LEADMAILER_DATA": data}
			for k, v := range env {
				vars[k] = v
			}
			if r := runCLI(t, vars, "", args...); r.code != exitOK {
				t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(data, dbFile)); !os.IsNotExist(err) {
				t.Errorf("an SQLite file is in the data directory (%v): the command did not use PostgreSQL", err)
			}
			var version int
			if err := pgQueryRow(t, url, `SELECT coalesce(max(version), 0) FROM schema_migrations`, &version); err != nil || version < 24 {
				t.Errorf("PostgreSQL schema version %d, %v: the command did not migrate it", version, err)
			}
		})
	}
}

// A wrong database URL is refused with the setting to fix named, and never with its password.
func TestDatabaseURLErrorsNameSettingNotPassword(t *testing.T) {
	tests := []struct {
		name     string
		fileURL  string // [database] url of the data directory's file
		envURL   string // LEADMAILER_DATABASE_URL
		wantName string
	}{
		{"not postgres, in the file", "mysql://lm:s3cret@db.example/leads", "", "leadmailer.toml: database.url"},
		{"not postgres, in the environment", "", "mysql://lm:s3cret@db.example/leads", "LEADMAILER_DATABASE_URL"},
		{"bad port", "postgres://lm:s3cret@db.example:port/leads", "", "leadmailer.toml: database.url"},
		{"unescaped # in the password", "postgres://lm:s3#cret@db.example/leads", "", "leadmailer.toml: database.url"},
		{"bad parameter", "postgres://lm:s3cret@db.example/leads?sslmode=sometimes", "", "leadmailer.toml: database.url"},
		{"password parameter", "postgres://db.example/leads?password=s3cret&sslmode=sometimes", "", "leadmailer.toml: database.url"},
		{"bad parameter, in the environment", "", "postgres://lm:s3cret@db.example/leads?sslmode=sometimes", "LEADMAILER_DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.fileURL != "" {
				writeDatabaseConfig(t, filepath.Join(data, "leadmailer.toml"), tt.fileURL)
			}
			t.Setenv("LEADMAILER_DATABASE_URL", tt.envURL)
			r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "leads", "list")
			if r.code == exitOK {
				t.Fatalf("leads list with database URL %q/%q succeeded", tt.fileURL, tt.envURL)
			}
			if !strings.Contains(r.stderr, tt.wantName) {
				t.Errorf("stderr %q does not name %s", r.stderr, tt.wantName)
			}
			if strings.Contains(r.stderr, "s3cret") || strings.Contains(r.stderr, "s3#cret") {
				t.Errorf("stderr %q shows the password", r.stderr)
			}
		})
	}
}

func writeDatabaseConfig(t *testing.T, path, url string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("[database]\nurl = \""+url+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pgQueryRow reads one row from the PostgreSQL database at url.
func pgQueryRow(t *testing.T, url, query string, dest ...any) error {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		return err
	}
	defer conn.Close(t.Context())
	return conn.QueryRow(t.Context(), query).Scan(dest...)
}
