// Package store keeps leadmailer's data, in SQLite (the default: one file in the data
// directory) or in PostgreSQL (Open for a file, OpenURL for a postgres:// URL). It is the only
// package that knows which database runs: every other package sees the methods of *DB and
// the root package's types.
//
// # One implementation, two dialects
//
// There is one *DB and one set of methods over database/sql, not an implementation per
// database: the two agree on almost all the SQL the store runs (joins, ON CONFLICT,
// RETURNING, FILTER, partial indexes, UPDATE ... FROM), and two copies of every method would
// drift apart in exactly the guarantees that matter (the ledger's exactly-once rule,
// never-blank imports, suppression, the audit chain). So:
//
//   - The SQL lives next to the method that runs it, written once where the dialects agree.
//     Placeholders are SQLite's "?" and "?N"; on PostgreSQL the driver wrapper (pgConn)
//     renumbers them $1..$n, so a query's text serves both.
//   - Where the dialects differ, the method holds both texts side by side and picks by
//     db.pg: PRAGMAs, the import's staging (SQLite's C function
//     leadmailer_stage against PostgreSQL's COPY), integer arithmetic on booleans.
//   - Migrations are per dialect, with the same version numbers: migrations/ for SQLite,
//     migrations_pg/ for PostgreSQL. A schema change lands in both.
//   - Times stay TEXT in one format (see timeFormat) on both, so that ordering and comparing
//     them is text order everywhere and no query converts dates.
//
// # Concurrency
//
// A *DB is safe for concurrent use. SQLite allows one writer at a time: write transactions
// take the write lock when they begin (_txlock=immediate) and wait up to the busy timeout for
// it, so two processes (say, serve and a CLI import) queue rather than fail. PostgreSQL
// keeps that rule on purpose: every transaction takes one advisory lock (writerLockKey) when
// it begins, so that code written for one writer stays correct with several processes on one
// database. The one exception is an import batch, written in shares over several connections
// whose transactions share that lock, under an import lock of its own (see
// ImportWriter.writeParts). Migrations run under a further advisory lock, so two processes
// starting at once do not both apply them.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// migrations holds both dialects' schema changes: migrations/ for SQLite, migrations_pg/ for
// PostgreSQL, numbered alike.
//
//go:embed migrations/*.sql migrations_pg/*.sql
var migrations embed.FS

// pragmas are run on every new connection; the page cache's size is set by the DSN, per DB
// (see Options.CacheKiB). page_size takes effect only when it runs before
// a new database's first write: 16 KiB pages, against the default 4 KiB, cut the writes
// and system calls of an import's commits by three quarters and its CPU time by about a tenth.
// WAL lets readers work while an import writes; synchronous=NORMAL in WAL mode never corrupts
// the database on a crash, it can only lose the last transactions on a power loss, which an
// import re-run repairs.
var pragmas = []string{
	"PRAGMA page_size = 16384",
	"PRAGMA journal_mode = WAL",
	"PRAGMA synchronous = NORMAL",
	"PRAGMA foreign_keys = ON",
	"PRAGMA busy_timeout = 10000",
	"PRAGMA temp_store = MEMORY",
	// A checkpoint every 512 pages (8 MiB) and a WAL truncated back to 16 MiB after one:
	// 4,096 pages let the WAL reach 64 MiB beside a 9.5 MB database within half a second of
	// a send, enough to fill a small disk.
	"PRAGMA wal_autocheckpoint = 512",
	"PRAGMA journal_size_limit = 16777216",
}

const driverName = "leadmailer_sqlite3"

// resetCacheSize sets the connection's page cache size again, to the value the DSN gave it.
// SQLite turns a size in KiB into pages when it is set, and when the page size changes it
// keeps that number of pages: on a brand-new file the DSN's 16 MiB became 4,000 pages of the
// default 4 KiB, and "PRAGMA page_size = 16384" made them 64 MiB. The connection that created
// a data directory, which is the one a first import writes through, peaked 50 MB higher
// (132 against 82 MB for 1,000,000 rows). Setting the size again counts it in the pages now
// in use.
func resetCacheSize(conn *sqlite3.SQLiteConn) error {
	rows, err := conn.Query("PRAGMA cache_size", nil)
	if err != nil {
		return fmt.Errorf("PRAGMA cache_size: %w", err)
	}
	v := make([]driver.Value, 1)
	err = rows.Next(v)
	rows.Close()
	if err != nil {
		return fmt.Errorf("PRAGMA cache_size: %w", err)
	}
	p := fmt.Sprintf("PRAGMA cache_size = %d", v[0])
	if _, err := conn.Exec(p, nil); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

var registerDriver = sync.OnceValue(func() error {
	if err := registerStageFunc(); err != nil {
		return err
	}
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(conn *sqlite3.SQLiteConn) error {
			for _, p := range pragmas {
				if _, err := conn.Exec(p, nil); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
			}
			return resetCacheSize(conn)
		},
	})
	return nil
})

// Options tune a DB. The zero value is what production uses.
type Options struct {
	// Now is the clock; tests fix it. Default: time.Now.
	Now func() time.Time
	// SuppressionKey keys the hashes of suppressed addresses (see SuppressionHash).
	SuppressionKey []byte
	// AuditKey keys the audit chain's hashes (HMAC-SHA256). It must live outside the
	// database: the data directory's secret key is where it comes from. A database opened
	// with it once records keyed entries from then on, and must be opened with it to record
	// or verify audit entries.
	AuditKey []byte
	// CacheKiB bounds SQLite's page cache of each connection, in KiB; zero: 16 MiB. SQLite
	// only: PostgreSQL's cache is the server's.
	CacheKiB int
	// Statements is how many prepared statements each connection keeps for reuse; zero:
	// none, each statement is prepared where it runs. A command that runs the same few
	// statements thousands of times (the audit entry of every bounce of an ingest) saves
	// their preparing with a few dozen. SQLite only.
	Statements int
	// DataDir is the directory of the files that live beside the database (rejects, lock
	// files). Default: the SQLite file's directory; on PostgreSQL, none.
	DataDir string
	// MaxConns bounds a PostgreSQL database's connection pool; zero: 10. SQLite opens
	// connections as it needs them.
	MaxConns int
	// StatementTimeout ends a PostgreSQL statement that runs longer, waiting for a lock
	// included; zero: a minute. A URL's own statement_timeout wins.
	StatementTimeout time.Duration
	// ImportWriters is how many connections an import writes each batch over on PostgreSQL
	// (see ImportWriter.WriteBatch); zero: 2, one: a single connection. It is capped at
	// MaxConns. SQLite has one writer and ignores it.
	ImportWriters int
}

// defaultCacheKiB is the page cache of a connection when Options.CacheKiB is zero: 16 MiB.
// The cache is per connection, and serve holds several, so it is the term of peak memory
// that multiplies: at 64 MiB a 1,000,000-row import peaked at 133 MB (180 MB in another
// measurement) against 80 MB at 16 MiB. The CPU cost, measured alternately on one machine:
// a fresh import the same (9.3 against 9.7 s), a re-import, which looks up every address in
// the index, 8 % more (7.7 against 7.1 s). Pages the cache drops are re-read from the
// operating system's file cache, not the disk.
const defaultCacheKiB = 16 << 10

// DB is an open leadmailer database.
type DB struct {
	sql            *sql.DB
	path           string // the SQLite file; empty on PostgreSQL
	where          string // which database, for messages: the path, or PostgreSQL's host and database
	pg             bool   // PostgreSQL, not SQLite: see the package comment
	dataDir        string // see Options.DataDir
	now            func() time.Time
	suppressionKey []byte
	auditKey       []byte
	cacheKiB       int       // each connection's page cache, for backup to restore
	importWriters  int       // connections an import batch writes over on PostgreSQL (see Options)
	sent           sentCache // see sentCount
}

// Open opens the database file at path, creating it and its directory if needed, and brings
// its schema up to date.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := registerDriver(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	if err := privateFiles(path); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	// _mutex=no: database/sql never uses one connection from two goroutines at once, so
	// SQLite's per-call mutexes are pure overhead.
	// The path goes into a URI: escaped, a data directory named "50% off" or "what?" opens.
	// _cache_size: a negative size is in KiB, whatever the page size.
	cacheKiB := opts.CacheKiB
	if cacheKiB <= 0 {
		cacheKiB = defaultCacheKiB
	}
	dsn := "file:" + uriEscaper.Replace(path) + "?_txlock=immediate&_mutex=no&_cache_size=-" + strconv.Itoa(cacheKiB)
	if opts.Statements > 0 {
		dsn += "&_stmt_cache_size=" + strconv.Itoa(opts.Statements)
	}
	sqlDB, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if opts.DataDir == "" {
		opts.DataDir = filepath.Dir(path)
	}
	db := &DB{sql: sqlDB, path: path, where: path, dataDir: opts.DataDir, now: opts.Now, suppressionKey: opts.SuppressionKey, auditKey: opts.AuditKey, cacheKiB: cacheKiB}
	if db.now == nil {
		db.now = time.Now
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate database %s: %w", path, err)
	}
	if err := db.startKeyedAudit(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// privateFiles creates the database file at path readable by its owner only, before SQLite
// does: SQLite would create it 0644 (less the umask), readable by anyone who can enter the
// directory, and an existing data directory may well be 0755. SQLite gives the -wal and -shm
// files the main file's permissions, so they follow. Files left looser by an older version
// are tightened; one that belongs to another user, which only its owner can chmod, is left.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrPermission) {
			return err
		}
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// Path is the database file's path; empty on PostgreSQL.
func (db *DB) Path() string { return db.path }

// DataDir is the directory of the files that live beside the database: see Options.DataDir.
func (db *DB) DataDir() string { return db.dataDir }

// Postgres reports whether the database is PostgreSQL rather than an SQLite file.
func (db *DB) Postgres() bool { return db.pg }

// String names the database for messages: the SQLite file's path, or the PostgreSQL
// database, host and user (never the password).
func (db *DB) String() string { return db.where }

// migrationsDir is the embedded directory of the database's dialect.
func (db *DB) migrationsDir() string {
	if db.pg {
		return "migrations_pg"
	}
	return "migrations"
}

// migrator is what migrations run on: the *sql.DB for SQLite, whose write lock keeps two
// processes from applying one migration twice, and for PostgreSQL the one connection that
// holds the migration lock.
type migrator interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// migrate applies, in order and each in its own transaction, the embedded migrations the
// database has not seen. Files are named NNNN_what.sql; NNNN is the schema version.
func (db *DB) migrate(ctx context.Context) error {
	if !db.pg {
		return db.migrateOn(ctx, db.sql)
	}
	// PostgreSQL: one connection holds the migration lock for the whole run, so that a second
	// process starting at the same moment waits and then finds everything applied. The lock
	// belongs to the session: it is released explicitly, or when the connection closes.
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, migrationLockKey); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, migrationLockKey)
	return db.migrateOn(ctx, conn)
}

func (db *DB) migrateOn(ctx context.Context, on migrator) error {
	if _, err := on.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, db.migrationsDir()+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	// Read what is applied first, without a transaction: when the schema is current, opening
	// takes no write lock, so a command such as backup opens at once while another process
	// imports, instead of queueing behind its batches.
	applied, err := appliedMigrations(ctx, on)
	if err != nil {
		return err
	}
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if applied[version] {
			continue
		}
		if err := db.applyMigration(ctx, on, version, name); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

func appliedMigrations(ctx context.Context, on migrator) (map[int]bool, error) {
	rows, err := on.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func (db *DB) applyMigration(ctx context.Context, on migrator, version int, name string) error {
	tx, err := on.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var applied int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&applied); err != nil {
		return err
	}
	if applied > 0 {
		return nil
	}
	if db.pg {
		// A migration that rebuilds an index on a large table may take longer than any
		// ordinary statement should.
		if _, err := tx.ExecContext(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		version, filepath.Base(name), formatTime(db.now())); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion returns the highest applied migration.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.sql.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// IntegrityCheck runs SQLite's full integrity and foreign key checks and returns an error
// describing the first problems found. PostgreSQL checks its pages and constraints itself as
// it goes and has no such check to run: there it only checks that the server answers.
func (db *DB) IntegrityCheck(ctx context.Context) error {
	if db.pg {
		return db.sql.PingContext(ctx)
	}
	var result string
	if err := db.sql.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&result); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("integrity check: %s", result)
	}
	rows, err := db.sql.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		return errors.New("foreign key check: the database has dangling references")
	}
	return rows.Err()
}

// timeFormat is the one format times are stored in: UTC, fixed width, so that text order is
// time order.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// uriEscaper escapes what SQLite's URI filenames give a meaning to.
var uriEscaper = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// nullTime parses a nullable stored time.
func nullTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := parseTime(s.String)
	return &t, err
}
