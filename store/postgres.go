package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/leadmailer/leadmailer"
)

// Advisory lock keys. Both are arbitrary constants: what matters is that every leadmailer
// process uses the same ones, and nothing else on the database uses them.
const (
	// writerLockKey serialises write transactions, as SQLite's one writer does (see pgConn.BeginTx).
	writerLockKey int64 = 0x6c6d_0001
	// migrationLockKey is held, for the session, while a process brings the schema up to date.
	migrationLockKey int64 = 0x6c6d_0002
	// importLockKey is held, for the session, by an import writing one batch over several
	// connections, whose transactions share the writer lock (see ImportWriter.writeParts):
	// it keeps a second import's batch from sharing it too. It is always taken before the
	// writer lock, never while holding it.
	importLockKey int64 = 0x6c6d_0003
)

// Defaults of a PostgreSQL connection pool and its sessions, when Options leave them zero.
const (
	// defaultMaxConns: serve's web requests, a send and a scheduled import at once need a few
	// connections each; more than that only queues on the writer lock inside the server.
	defaultMaxConns = 10
	// defaultImportWriters: two connections let the server spend two cores on an import
	// batch (see ImportWriter.writeParts), where one kept a single backend busy.
	defaultImportWriters = 2
	// defaultStatementTimeout ends a statement that runs away (or waits that long for the
	// writer lock) rather than holding a connection for ever. An import batch of 10,000 rows
	// takes well under a second.
	defaultStatementTimeout = 60 * time.Second
)

// IsPostgresURL reports whether url names a PostgreSQL database rather than an SQLite file.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// OpenURL opens the PostgreSQL database that url names (postgres://user:pass@host:5432/db)
// and brings its schema up to date, as Open does for an SQLite file. The URL may carry any
// parameter libpq knows (sslmode, host=/path/to/socket/dir...).
func OpenURL(ctx context.Context, url string, opts Options) (*DB, error) {
	if !IsPostgresURL(url) {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "database URL %q: only postgres:// URLs are supported", redactURL(url))
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message, and the url.Parse error it wraps, may quote the URL, password and all.
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "database URL %s: cannot be parsed: check the host, port and parameters (sslmode and the like), and percent-encode any of :/@?#%% in the password", redactURL(url))
	}
	where := describeConfig(cfg)
	timeout := opts.StatementTimeout
	if timeout <= 0 {
		timeout = defaultStatementTimeout
	}
	// The URL's own statement_timeout (options=-cstatement_timeout=...) comes in as a runtime
	// parameter too, and wins.
	if _, set := cfg.RuntimeParams["statement_timeout"]; !set {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(timeout.Milliseconds(), 10)
	}
	if _, set := cfg.RuntimeParams["application_name"]; !set {
		cfg.RuntimeParams["application_name"] = "leadmailer"
	}
	// Stored times are text in UTC; a session time zone only matters to the server's own
	// date functions, which the store does not use, but a fixed one keeps the logs readable.
	cfg.RuntimeParams["timezone"] = "UTC"
	sqlDB := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = defaultMaxConns
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	// A connection idle this long is closed, so that a server restart or a failover is met
	// with fresh connections rather than dead ones.
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	importWriters := opts.ImportWriters
	if importWriters <= 0 {
		importWriters = defaultImportWriters
	}
	db := &DB{sql: sqlDB, where: where, pg: true, dataDir: opts.DataDir, now: opts.Now, suppressionKey: opts.SuppressionKey, auditKey: opts.AuditKey,
		importWriters: min(importWriters, maxConns)}
	if db.now == nil {
		db.now = time.Now
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("connect to PostgreSQL %s: %w", where, unreachable(err))
	}
	if err := db.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("migrate database %s: %w", where, err)
	}
	if err := db.startKeyedAudit(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open database %s: %w", where, err)
	}
	return db, nil
}

// unreachable rewords the errors of a database that is down or refuses the login: the
// driver's ErrBadConn after a failed ping says nothing.
func unreachable(err error) error {
	if errors.Is(err, driver.ErrBadConn) {
		return errors.New("the server does not answer: is it running, and does the URL name its host and port?")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "28P01" {
		return errors.New("the server refused the user name or password")
	}
	return err
}

// describeConfig names the database a config connects to, without its password: for error
// messages and logs.
func describeConfig(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		host = "socket " + host
	} else {
		host = net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	}
	return fmt.Sprintf("%q at %s as %q", cfg.Database, host, cfg.User)
}

// redactURL drops everything after the scheme's "//" up to the host, password included, and
// the value of a password parameter (postgres://host/db?password=...).
func redactURL(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return "(not a URL)"
	}
	// Parameters first: an "@" in the query would otherwise be taken for the end of the user
	// part, and the query kept whole. Any piece after a "?" or "&" may be a parameter, since a
	// password with an unescaped "?" puts one in the user part.
	pieces := strings.FieldsFunc(rest, func(r rune) bool { return r == '?' || r == '&' })
	for _, p := range pieces {
		if k, _, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "password") {
			rest = strings.Replace(rest, p, k+"=…", 1)
		}
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "…@" + rest[at+1:]
	}
	return scheme + "://" + rest
}

// pgConnector makes pgConns.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{dc.(*stdlib.Conn)}, nil
}

// pgConn is a connection of pgx's database/sql driver that takes the store's SQL as SQLite
// does: it numbers "?" placeholders $1, $2... (see rebind), and every transaction it begins
// takes the writer lock first. That lock gives PostgreSQL SQLite's rule of one writer at a
// time (the store's DSN begins SQLite transactions IMMEDIATE), so that every read-then-write
// in a transaction sees what it would on SQLite, and the audit chain, the send ledger and
// the import's id allocation stay correct with several processes on one database.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) { return c.Conn.Prepare(rebind(query)) }

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.Conn.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`,
		[]driver.NamedValue{{Ordinal: 1, Value: writerLockKey}}); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("take the writer lock: %w", err)
	}
	return tx, nil
}

// beginWrite is the statement that begins a write transaction on a connection by hand (the
// import and the send ledger do, see ImportWriter): BEGIN IMMEDIATE on SQLite; on
// PostgreSQL a BEGIN followed by the writer lock that pgConn.BeginTx takes.
func (db *DB) beginWrite() string {
	if db.pg {
		return `BEGIN; SELECT pg_advisory_xact_lock(` + strconv.FormatInt(writerLockKey, 10) + `)`
	}
	return `BEGIN IMMEDIATE`
}

// rebind rewrites SQLite's placeholders into PostgreSQL's: "?" becomes $n, numbered as
// SQLite numbers it (one more than the highest number used so far), and "?NNN" becomes
// $NNN. Question marks inside string literals, quoted identifiers and comments are left.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	highest := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(query[i+1:], c)
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			// A doubled quote inside a literal ends one literal and starts the next: copying
			// them one after another gives the same text.
			b.WriteString(query[i : i+end+2])
			i += end + 1
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+1])
			i += end
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end := strings.Index(query[i+2:], "*/")
			if end < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+end+4])
			i += end + 3
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				// The number as written: SQLite and PostgreSQL read it alike.
				n, _ := strconv.Atoi(query[i+1 : j])
				highest = max(highest, n)
				b.WriteString(query[i+1 : j])
			} else {
				highest++
				b.WriteString(strconv.Itoa(highest))
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pgUniqueViolation reports whether err is PostgreSQL's unique constraint violation.
func pgUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// pgRetryable reports whether err is PostgreSQL aborting a transaction that did nothing wrong
// but lost a race with another one: a deadlock it broke (40P01) or a serialization failure
// (40001). The same transaction run again succeeds.
func pgRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// greatest is the SQL of the larger of two values: SQLite's max with two arguments is
// PostgreSQL's GREATEST (PostgreSQL's max is only the aggregate).
func (db *DB) greatest(a, b string) string {
	if db.pg {
		return "GREATEST(" + a + ", " + b + ")"
	}
	return "max(" + a + ", " + b + ")"
}

// boolInt is a flag as the integer both databases store it as: PostgreSQL will not put a
// boolean into an integer column, which SQLite's driver does as 0 or 1.
func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
