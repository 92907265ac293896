package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/BurntSushi/toml"
)

// DefaultImportWriters is [database] import_writers left out; MaxImportWriters bounds it,
// as each writer holds a connection and a server backend for an import's whole run.
const (
	DefaultImportWriters = 2
	MaxImportWriters     = 8
)

// DatabaseURLEnv overrides [database] url, so that the password can stay out of the file.
const DatabaseURLEnv = "LEADMAILER_DATABASE_URL"

// Database says where leadmailer keeps its data: the SQLite file leadmailer.db in the data
// directory unless URL names a PostgreSQL database. The secret key and the outbox stay in the
// data directory either way.
type Database struct {
	// URL is postgres://user:pass@host:5432/db?sslmode=verify-full (any libpq parameter, such
	// as host=/run/postgresql for a Unix socket). Empty: SQLite. LEADMAILER_DATABASE_URL
	// overrides it where the database is opened (LoadDatabase); Load reports the file's value.
	URL string `toml:"url"`
	// MaxConns bounds the PostgreSQL connection pool of each leadmailer process; 0: 10.
	MaxConns int `toml:"max_conns"`
	// StatementTimeout ends any PostgreSQL statement that runs longer; 0: one minute.
	StatementTimeout Duration `toml:"statement_timeout"`
	// ImportWriters is how many PostgreSQL connections an import writes each batch over at
	// once, so that the server spends that many cores on it; 0: 2, 1: one connection.
	// SQLite has one writer and ignores it.
	ImportWriters int `toml:"import_writers"`
	// URLSetting names where URL came from, for messages about it: LEADMAILER_DATABASE_URL,
	// or "FILE: database.url". Set by LoadDatabase.
	URLSetting string `toml:"-"`
}

func (d *Database) validate() []error {
	return d.validateURL("database.url")
}

// validateURL checks the fields, naming the URL's setting as setting: database.url, or the
// environment variable that overrode it.
func (d *Database) validateURL(setting string) []error {
	var errs []error
	if d.URL != "" {
		u, err := url.Parse(d.URL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			// Not the URL itself, nor url.Parse's message, which quotes it: it may hold a
			// password.
			errs = append(errs, fmt.Errorf("%s: give a postgres://user:password@host:5432/database URL (percent-encode any of :/@?#%% in the password), or leave it out for the SQLite file in the data directory", setting))
		}
	}
	if d.MaxConns < 0 || d.MaxConns > 1000 {
		errs = append(errs, fmt.Errorf("database.max_conns = %d: give a number of connections from 1 to 1000, or 0 for 10", d.MaxConns))
	}
	if d.ImportWriters < 0 || d.ImportWriters > MaxImportWriters {
		errs = append(errs, fmt.Errorf("database.import_writers = %d: give a number of connections from 1 to %d, or 0 for %d", d.ImportWriters, MaxImportWriters, DefaultImportWriters))
	} else if maxConns := cmp.Or(d.MaxConns, 10); d.ImportWriters > maxConns {
		errs = append(errs, fmt.Errorf("database.import_writers = %d: an import cannot write over more connections than database.max_conns (%d) allows", d.ImportWriters, maxConns))
	}
	if d.StatementTimeout < 0 {
		errs = append(errs, fmt.Errorf("database.statement_timeout must not be negative"))
	}
	return errs
}

// LoadDatabase reads only the [database] table of the configuration file at path, with the
// environment's override: every command opens the database, and one that needs nothing else
// from the configuration must not fail on a mistake elsewhere in the file. A missing file
// means SQLite, unless mustExist (a file the user named, as with --config).
func LoadDatabase(path string, mustExist bool, getenv func(string) string) (Database, error) {
	var file struct {
		Database Database `toml:"database"`
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !mustExist:
	case err != nil:
		return Database{}, fmt.Errorf("read configuration: %w", err)
	default:
		if _, err := toml.Decode(string(data), &file); err != nil {
			return Database{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	d := file.Database
	d.URLSetting = path + ": database.url"
	if getenv != nil {
		if u := strings.TrimSpace(getenv(DatabaseURLEnv)); u != "" {
			d.URL, d.URLSetting = u, DatabaseURLEnv
			if errs := d.validateURL(DatabaseURLEnv); len(errs) > 0 {
				return Database{}, errors.Join(errs...)
			}
		}
	}
	if errs := d.validate(); len(errs) > 0 {
		return Database{}, fmt.Errorf("%s: %w", path, errors.Join(errs...))
	}
	return d, nil
}
