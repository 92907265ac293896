package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for Raw
	_ "github.com/mattn/go-sqlite3"    // the "sqlite3" driver, for Raw

	"github.com/leadmailer/leadmailer/store"
)

// DatabaseURLEnv names a PostgreSQL server the tests use instead of starting their own: a URL
// whose user may create databases (postgres://user:pass@host/postgres). Each test gets a
// database of its own there, dropped when the test ends.
const DatabaseURLEnv = "LEADMAILER_TEST_DATABASE_URL"

// MissingPostgres is why PostgreSQL tests skip on a machine without it.
const MissingPostgres = "install the Debian package postgresql to run the PostgreSQL tests (or set " + DatabaseURLEnv + ")"

// Backend is a database the store's tests run against.
type Backend struct {
	Name string // "sqlite" or "postgres", for subtest names
	open func(t testing.TB, now func() time.Time) *store.DB
}

// Open returns a fresh, migrated database of the backend, closed (and on PostgreSQL dropped)
// when the test ends. A PostgreSQL backend the machine cannot run skips the test.
func (b Backend) Open(t testing.TB, now func() time.Time) *store.DB {
	t.Helper()
	return b.open(t, now)
}

// Backends are the databases a table-driven store test runs over: SQLite, then PostgreSQL.
// A package whose tests use the PostgreSQL one must call Main from its TestMain, which stops
// the cluster the first such test started.
func Backends() []Backend {
	return []Backend{{Name: "sqlite", open: Open}, {Name: "postgres", open: OpenPostgres}}
}

// ParityBackends are Backends and a third: PostgreSQL on a database whose default collation
// is ICU's en-US, as a server set up with the operating system's locale has, rather than the
// byte order ("C") of the test databases. A store call must answer alike on all three; tests
// of text order, case and comparisons run over these.
func ParityBackends() []Backend {
	return append(Backends(), Backend{Name: "postgres-icu", open: OpenPostgresICU})
}

// OpenPostgres returns a fresh, migrated PostgreSQL database, closed and dropped when the test
// ends. The server is the one DatabaseURLEnv names, or else a private cluster this test binary
// starts on its first call (see Main); without PostgreSQL installed the test is skipped.
func OpenPostgres(t testing.TB, now func() time.Time) *store.DB {
	t.Helper()
	return openPostgresURL(t, now, NewPostgresDatabase(t), t.TempDir())
}

// OpenPostgresOptions is OpenPostgres with opts, for tests of a setting (ImportWriters,
// StatementTimeout). The keys are the test keys, and the data directory a temporary one
// unless opts name one.
func OpenPostgresOptions(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	return openPostgresOptions(t, NewPostgresDatabase(t), opts)
}

// OpenPostgresICU is OpenPostgres on a database whose default collation is ICU's en-US: text
// sorts as people read it ("alpha" before "Zeta"), and lower() and ILIKE fold every letter.
// A server without ICU skips the test.
func OpenPostgresICU(t testing.TB, now func() time.Time) *store.DB {
	t.Helper()
	return openPostgresURL(t, now, newPostgresDatabase(t, `LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LC_COLLATE 'C' LC_CTYPE 'C'`), t.TempDir())
}

// openPostgresURL opens url with dataDir as the data directory: one of its own for each
// database, as each installation has, so that the files kept beside the database (the audit
// chain's keying record) are there as in production.
func openPostgresURL(t testing.TB, now func() time.Time, url, dataDir string) *store.DB {
	t.Helper()
	return openPostgresOptions(t, url, store.Options{Now: now, DataDir: dataDir})
}

// openPostgresOptions opens url with opts and the test keys.
func openPostgresOptions(t testing.TB, url string, opts store.Options) *store.DB {
	t.Helper()
	opts.SuppressionKey, opts.AuditKey = Key, AuditKey
	db, err := store.OpenURL(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	urls.Store(db, url)
	t.Cleanup(func() { urls.Delete(db) })
	return db
}

// urls remembers the URL of each database OpenPostgres opened, for Raw.
var urls sync.Map // *store.DB -> string

// Raw opens a second, plain handle on db's database, closed when the test ends, for tests
// that set up rows no store method writes or that damage what the store wrote. Its SQL is
// the database's own: PostgreSQL's placeholders are $1, $2...
func Raw(t testing.TB, db *store.DB) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite3", db.Path()
	if db.Postgres() {
		u, ok := urls.Load(db)
		if !ok {
			t.Fatal("storetest.Raw: the database was not opened by storetest")
		}
		driver, dsn = "pgx", u.(string)
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// Reopen opens a second store handle on db's database, with the same keys, closed when the
// test ends: what another leadmailer process on the same database would hold.
func Reopen(t testing.TB, db *store.DB, now func() time.Time) *store.DB {
	t.Helper()
	if !db.Postgres() {
		other, err := store.Open(context.Background(), db.Path(), store.Options{Now: now, SuppressionKey: Key, AuditKey: AuditKey})
		if err != nil {
			t.Fatalf("reopen test database: %v", err)
		}
		t.Cleanup(func() { other.Close() })
		return other
	}
	u, ok := urls.Load(db)
	if !ok {
		t.Fatal("storetest.Reopen: the database was not opened by storetest")
	}
	return openPostgresURL(t, now, u.(string), db.DataDir())
}

// NewPostgresDatabase creates an empty PostgreSQL database for the test and returns its URL.
// It is dropped when the test ends, after the test's own cleanups (which close what the
// test opened on it).
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	return newPostgresDatabase(t, `LC_COLLATE 'C' LC_CTYPE 'C'`)
}

// newPostgresDatabase is NewPostgresDatabase with the locale clauses of CREATE DATABASE.
func newPostgresDatabase(t testing.TB, locale string) string {
	t.Helper()
	admin := postgresServer(t)
	ctx := context.Background()
	name := fmt.Sprintf("leadmailer_test_%d_%d", os.Getpid(), databases.Add(1))
	if err := adminExec(ctx, admin, `CREATE DATABASE `+name+` TEMPLATE template0 ENCODING 'UTF8' `+locale); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "0A000" { // feature_not_supported: built without ICU
			t.Skipf("the PostgreSQL server cannot create this database: %v", err)
		}
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(ctx, admin, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("test database URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

var databases atomic.Int64

func adminExec(ctx context.Context, adminURL, query string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, query)
	return err
}

// cluster is the private PostgreSQL server of this test binary, started by the first test
// that needs one.
var cluster struct {
	once    sync.Once
	mainRan bool
	url     string // of its postgres database, as the admin user
	skip    string // why there is none: PostgreSQL is not installed
	err     error
	dir     string
	pgCtl   string
	runAs   *syscall.Credential
}

// Main runs the package's tests and then stops the PostgreSQL cluster that they started, if
// any. Call it from TestMain: func TestMain(m *testing.M) { storetest.Main(m) }.
func Main(m *testing.M) {
	cluster.mainRan = true
	code := m.Run()
	stopCluster()
	os.Exit(code)
}

// postgresServer returns the admin URL of the server to create test databases on.
func postgresServer(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(DatabaseURLEnv); u != "" {
		return u
	}
	if !cluster.mainRan {
		t.Fatal("a test package that opens PostgreSQL databases must call storetest.Main from TestMain, which stops the cluster")
	}
	cluster.once.Do(startCluster)
	if cluster.skip != "" {
		t.Skip(cluster.skip)
	}
	if cluster.err != nil {
		t.Fatalf("start PostgreSQL: %v", cluster.err)
	}
	return cluster.url
}

// startCluster creates a cluster in a new temporary directory with initdb and starts it
// with pg_ctl, listening on a Unix socket in that directory only: no TCP port, no system
// service, nothing left behind. PostgreSQL refuses to run as root, so as root (CI runs as
// root) initdb and the server run as the user nobody, who is given the directory.
func startCluster() {
	initdb, pgCtl, err := findPostgres()
	if err != nil {
		cluster.skip = MissingPostgres
		return
	}
	cluster.pgCtl = pgCtl
	dir, err := os.MkdirTemp("", "leadmailer-pg-")
	if err != nil {
		cluster.err = err
		return
	}
	cluster.dir = dir
	if os.Geteuid() == 0 {
		cred, err := nobody()
		if err != nil {
			cluster.err = fmt.Errorf("running as root, the cluster needs an unprivileged user: %w", err)
			return
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			cluster.err = err
			return
		}
		cluster.runAs = cred
	}
	data := filepath.Join(dir, "data")
	// Durability off: a test cluster lost in a crash is simply started again.
	if out, err := runPostgres(initdb, "-D", data, "-U", "leadmailer", "--auth=trust", "--no-sync",
		"--encoding=UTF8", "--locale=C", "--no-instructions"); err != nil {
		cluster.err = fmt.Errorf("initdb: %v\n%s", err, out)
		return
	}
	opts := "-c listen_addresses='' -c unix_socket_directories=" + dir +
		" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
	if out, err := runPostgres(pgCtl, "start", "-D", data, "-w", "-t", "60", "-l", filepath.Join(dir, "server.log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		cluster.err = fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
		return
	}
	cluster.url = "postgres://leadmailer@/postgres?host=" + url.QueryEscape(dir)
}

// runPostgres runs one of PostgreSQL's programs in the cluster's directory, as its user.
func runPostgres(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = cluster.dir
	if cluster.runAs != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cluster.runAs}
	}
	// pg_ctl start leaves the server running with the command's output: a file, not a pipe
	// the server would hold open, so that reading the output ends.
	out, err := os.CreateTemp("", "leadmailer-pg-out-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	text, _ := os.ReadFile(out.Name())
	return text, err
}

func stopCluster() {
	if cluster.dir == "" {
		return
	}
	if cluster.url != "" {
		runPostgres(cluster.pgCtl, "stop", "-D", filepath.Join(cluster.dir, "data"), "-m", "immediate", "-w")
	}
	os.RemoveAll(cluster.dir)
}

// findPostgres finds initdb and pg_ctl on PATH, or in Debian's versioned directories
// (/usr/lib/postgresql/N/bin, not on PATH), the newest version first.
func findPostgres() (initdb, pgCtl string, err error) {
	if initdb, err := exec.LookPath("initdb"); err == nil {
		if pgCtl, err := exec.LookPath("pg_ctl"); err == nil {
			return initdb, pgCtl, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		initdb, pgCtl := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isFile(initdb) && isFile(pgCtl) {
			return initdb, pgCtl, nil
		}
	}
	return "", "", errors.New("initdb and pg_ctl not found")
}

// version is N of /usr/lib/postgresql/N/bin.
func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// nobody is the credential of the user nobody.
func nobody() (*syscall.Credential, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, err
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}
