package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

func migrateDataCommand() *command {
	return &command{
		name:    "migrate-data",
		summary: "copy the database into an empty PostgreSQL database, or into a new SQLite file",
		usage: `Usage: leadmailer migrate-data --to DATABASE [--from DATABASE] [--data DIR]

Copies every table of one leadmailer database into another that is empty, keeping every id,
and then verifies the copy: each table must hold as many rows in the target as in the
source, and the audit trail must verify on the target. A DATABASE is one of
  postgres://USER:PASSWORD@HOST:5432/NAME?sslmode=...   a PostgreSQL database
  sqlite:PATH                                           an SQLite file
The source is the data directory's database (its SQLite file, or the PostgreSQL database
that its leadmailer.toml names) unless --from names another.

Flags:
  --to DATABASE     where to copy to: an empty PostgreSQL database (leadmailer creates its
                    tables), or an SQLite file that does not exist yet
  --from DATABASE   where to copy from, instead of the data directory's database
  --data DIR        the data directory (default ./leadmailer-data, or LEADMAILER_DATA)

Stop serve first: migrate-data refuses to run while serve holds the data directory, and
while it copies no other command can write to the source. A target that holds any row is
refused, naming the table. Both databases are brought to this version's schema first.

The data directory's secret.key must be the installation's own: the audit chain and the
suppression list's hashes are keyed with it, and it stays in the data directory whichever
database is used. A copy that fails part way leaves a partial target: drop and create the
PostgreSQL database again (or delete the SQLite file) before trying again. The source is
never changed.

Nothing switches over by itself: after the copy, set [database] url in the data
directory's leadmailer.toml to the new PostgreSQL database (or remove it, to use
leadmailer.db in the data directory again), and start serve.

Examples:
  leadmailer migrate-data --to postgres://leadmailer:PASSWORD@db.example.com:5432/leadmailer
  leadmailer migrate-data --from postgres://leadmailer:PASSWORD@db.example.com/leadmailer \
      --to sqlite:leadmailer-data/leadmailer.db
`,
		run: runMigrateData,
	}
}

// sqlitePrefix marks a DATABASE that is an SQLite file.
const sqlitePrefix = "sqlite:"

func runMigrateData(ctx context.Context, e *env, args []string) error {
	flags, dataDir := newFlags("migrate-data", e)
	to := flags.String("to", "", "target database")
	from := flags.String("from", "", "source database")
	rest, err := parseFlags(flags, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q: name the databases with --to and --from", rest[0])
	}
	if *to == "" {
		return usagef("give the database to copy to with --to postgres://... or --to sqlite:PATH")
	}
	for _, spec := range []string{*to, *from} {
		if spec != "" && !store.IsPostgresURL(spec) && !strings.HasPrefix(spec, sqlitePrefix) {
			return usagef("%q is not a database: give postgres://... or sqlite:PATH", spec)
		}
	}
	if *from != "" && *from == *to {
		return usagef("--from and --to name the same database")
	}
	release, err := lockDataDir(*dataDir, "migrating its data")
	if err != nil {
		return err
	}
	defer release()
	// The key must be the installation's: a new one, made here, would leave the copied audit
	// chain unverifiable and the suppression list unrecognisable.
	keyPath := filepath.Join(*dataDir, secretFile)
	if _, err := os.Stat(keyPath); errors.Is(err, fs.ErrNotExist) {
		return leadmailer.Errorf(leadmailer.EINVALID, "%s is missing: put the secret.key of the installation the data comes from there first", keyPath)
	}
	key, err := loadSecret(keyPath)
	if err != nil {
		return err
	}
	if path, ok := strings.CutPrefix(*to, sqlitePrefix); ok {
		if err := refuseExistingFile(path); err != nil {
			return err
		}
	}
	if path, ok := strings.CutPrefix(*from, sqlitePrefix); ok {
		// Opening a missing file would create an empty database, and copy nothing.
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("the source %s: %w", path, err)
		}
	}

	var src *store.DB
	if *from == "" {
		if err := refuseMissingData(*dataDir); err != nil {
			return err
		}
		src, err = openData(ctx, *dataDir)
	} else {
		src, err = openDatabase(ctx, *from, *dataDir, store.Options{SuppressionKey: key, AuditKey: auditKey(key)})
	}
	if err != nil {
		return err
	}
	defer src.Close()
	if target := strings.TrimPrefix(*to, sqlitePrefix); src.Path() != "" && sameFile(src.Path(), target) {
		return usagef("the target %s is the source database", target)
	}
	// Opened without the audit key: opening with it would write the target's own record of
	// where its chain is keyed, and the copy brings the source's.
	dst, err := openDatabase(ctx, *to, *dataDir, store.Options{SuppressionKey: key})
	if err != nil {
		return err
	}
	defer dst.Close()
	if src.Postgres() && dst.Postgres() && src.String() == dst.String() {
		// The copy would wait on its own writer lock, held by the reading side.
		return usagef("the target %s is the source database", dst)
	}

	// Recorded in the source before the copy, so that both trails hold it and stay equal:
	// whoever reads either can tell that the data was copied, where to and by whom.
	if err := recordAudit(ctx, e, src, leadmailer.AuditMigrateData, dst.String(), "copy of the whole database into "+dst.String()); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Copying %s into %s.\n", src, dst)
	report, err := src.CopyTo(ctx, dst, store.CopyOptions{Progress: copyProgress(e)})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Copied %s in %s in %.1f s: every table holds as many rows as in the source.\n",
		plural(report.Rows, "row", "rows"), plural(len(report.Tables), "table", "tables"), report.Elapsed.Seconds())
	if err := dst.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dst, err)
	}

	// The audit chain is verified as "audit verify" does, on the target opened as it will be
	// used: with the data directory's key.
	dst, err = openDatabase(ctx, *to, *dataDir, store.Options{SuppressionKey: key, AuditKey: auditKey(key)})
	if err != nil {
		return err
	}
	defer dst.Close()
	sum, brk, err := dst.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if brk != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "the copied audit trail is broken at entry %d: %s", brk.ID, brk.Reason)
	}
	fmt.Fprintf(e.stdout, "The audit trail is intact on the target: %s; the last is %d with hash %s\n",
		plural(sum.Entries, "entry", "entries"), sum.LastID, sum.LastHash)
	if dst.Postgres() {
		fmt.Fprintf(e.stdout, "To use it, set [database] url in %s to the target's URL.\n", filepath.Join(*dataDir, "leadmailer.toml"))
	} else {
		fmt.Fprintf(e.stdout, "To use it, make it %s and remove [database] url from %s.\n",
			filepath.Join(*dataDir, dbFile), filepath.Join(*dataDir, "leadmailer.toml"))
	}
	return nil
}

// openDatabase opens a DATABASE of migrate-data: a postgres:// URL or sqlite:PATH.
func openDatabase(ctx context.Context, spec, dataDir string, opts store.Options) (*store.DB, error) {
	opts.DataDir = dataDir
	if path, ok := strings.CutPrefix(spec, sqlitePrefix); ok {
		return store.Open(ctx, path, opts)
	}
	return store.OpenURL(ctx, spec, opts)
}

// refuseExistingFile refuses an SQLite target that exists and is not empty: opening it would
// bring its schema up to date, changing a file that may be someone's only copy, before the
// copy refuses it for the rows it holds.
func refuseExistingFile(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check the target %s: %w", path, err)
	}
	if st.Size() > 0 {
		return leadmailer.Errorf(leadmailer.ECONFLICT, "the target %s exists: copy only into a new file (move the old one aside first)", path)
	}
	return nil
}

// refuseMissingData refuses a data directory without a database: opening it would create
// an empty one, and the copy would move nothing, say, when --data names the wrong directory.
func refuseMissingData(dir string) error {
	d, err := loadDatabaseConfig(dir, os.Getenv(configEnv), os.Getenv)
	if err != nil {
		return err
	}
	if d.URL != "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, dbFile)); errors.Is(err, fs.ErrNotExist) {
		return leadmailer.Errorf(leadmailer.EINVALID, "%s holds no database to copy: give the data directory with --data", dir)
	}
	return nil
}

// sameFile reports whether two paths name one file, the second of which may not exist.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// copyProgress prints a line for each table copied, and on a terminal the rows of a large
// table as they go.
func copyProgress(e *env) func(store.CopyProgress) {
	var last time.Time
	return func(p store.CopyProgress) {
		if !p.Done {
			if e.stderrIsTerminal && time.Since(last) >= 200*time.Millisecond {
				last = time.Now()
				fmt.Fprintf(e.stderr, "\r  %s: %d of %s, %.0f rows/s ", p.Table, p.Rows, plural(p.Total, "row", "rows"), p.RowsPerSecond())
			}
			return
		}
		if e.stderrIsTerminal && !last.IsZero() {
			fmt.Fprintf(e.stderr, "\r%s\r", strings.Repeat(" ", 70))
			last = time.Time{}
		}
		fmt.Fprintf(e.stdout, "  %-24s %10d rows  %8.0f rows/s\n", p.Table, p.Rows, p.RowsPerSecond())
	}
}
