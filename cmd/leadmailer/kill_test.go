package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
	_ "github.com/mattn/go-sqlite3" // plain "sqlite3" driver, to count rows no store method exposes
)

// mainEnv makes the test binary behave as the leadmailer command, so that tests can kill a
// real leadmailer process: no separate build step, and the child runs exactly this package's
// code.
const mainEnv = "LEADMAILER_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		trustTestSNS()
		killRestoreAt()
		main() // exits
	}
	// The tests choose their databases themselves: a developer's own database URL must not
	// send them to the developer's database.
	os.Unsetenv(config.DatabaseURLEnv)
	// Main stops the PostgreSQL cluster the PostgreSQL tests start.
	storetest.Main(m)
}

// bulkRows is how many rows the crash tests import: enough for the import to run a few
// seconds (about 30 batches), so that it can be stopped in the middle.
const bulkRows = 300_000

// writeBulkCSV writes rows leads to a CSV file in dir. About one row in ten repeats an earlier
// address in upper case with the same values, as a merged export would. It returns the path and
// the number of distinct normalised addresses.
func writeBulkCSV(t *testing.T, dir string, rows int) (string, int) {
	t.Helper()
	path := filepath.Join(dir, "bulk.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "Email,Name,Company,Country,City")
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same file every run
	distinct := map[string]struct{}{}
	next := 0
	for range rows {
		i, email := next, ""
		if next > 0 && rng.IntN(10) == 0 {
			i = rng.IntN(next)
			email = strings.ToUpper(fmt.Sprintf("lead%d@example%d.com", i, i%97))
		} else {
			next++
			email = fmt.Sprintf("lead%d@example%d.com", i, i%97)
		}
		norm, err := leadmailer.NormalizeEmail(email)
		if err != nil {
			t.Fatalf("generated address %q: %v", email, err)
		}
		distinct[norm] = struct{}{}
		fmt.Fprintf(w, "%s,Lead %d,Company %d Oy,FI,Espoo\n", email, i, i%5000)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, len(distinct)
}

// child is a leadmailer process started from the test binary.
type child struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{} // closed when the process has exited
	err            error         // from Wait, valid once done is closed
}

func startLeadmailer(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), mainEnv+"=1")
	c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start leadmailer: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// wait waits for the process to exit and returns its exit status.
func (c *child) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		t.Fatalf("leadmailer %s still running after %v\nstderr:\n%s", strings.Join(c.cmd.Args[1:], " "), timeout, c.stderr.String())
	}
	var ee *exec.ExitError
	if c.err != nil && !errors.As(c.err, &ee) {
		t.Fatalf("wait for leadmailer: %v", c.err)
	}
	return c.cmd.ProcessState.ExitCode()
}

// runLeadmailer runs a leadmailer process to completion and fails unless it succeeds.
func runLeadmailer(t *testing.T, args ...string) *child {
	t.Helper()
	c := startLeadmailer(t, args...)
	if code := c.wait(t, 60*time.Second); code != exitOK {
		t.Fatalf("leadmailer %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, c.stdout.String(), c.stderr.String())
	}
	return c
}

// waitForCommitted polls the database, as a second process would, until the newest run has
// committed batches holding at least minRead rows, and fails if the run or the process
// finishes first.
func waitForCommitted(t *testing.T, db *store.DB, c *child, minRead int64) *leadmailer.ImportRun {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			t.Fatalf("leadmailer exited before it could be stopped: %v\nstdout:\n%s\nstderr:\n%s", c.err, c.stdout.String(), c.stderr.String())
		default:
		}
		runs, err := db.FindImportRuns(t.Context(), "", 1)
		if err != nil {
			t.Fatalf("poll import runs: %v", err)
		}
		if len(runs) == 1 && runs[0].Counts.Read >= minRead {
			if runs[0].Status != leadmailer.RunRunning {
				t.Fatalf("the import finished (%s) before it could be stopped; make the file bigger", runs[0].Status)
			}
			return runs[0]
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%d rows not committed within 30s", minRead)
	return nil
}

// openDataForInspection opens the data directory's database from the test process while a
// child writes to it: WAL lets it read without blocking the writer. The store is for its
// methods; raw is for the counts no store method exposes.
func openDataForInspection(t *testing.T, data string) (*store.DB, *sql.DB) {
	t.Helper()
	path := filepath.Join(data, dbFile)
	db, err := store.Open(t.Context(), path, store.Options{})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return db, raw
}

// openPostgresForInspection is openDataForInspection for a data directory whose
// configuration names the PostgreSQL database at url.
func openPostgresForInspection(t *testing.T, url string) (*store.DB, *sql.DB) {
	t.Helper()
	db, err := store.OpenURL(t.Context(), url, store.Options{})
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return db, raw
}

func count(t *testing.T, raw *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := raw.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// checkStoppedRun checks what must hold however an import into an empty database stopped: the
// file is sound, and the run's counts describe exactly the batches that were stored, so no
// batch was half written.
func checkStoppedRun(t *testing.T, db *store.DB, raw *sql.DB, run *leadmailer.ImportRun) {
	t.Helper()
	if err := db.IntegrityCheck(t.Context()); err != nil {
		t.Errorf("after the import stopped: %v", err)
	}
	c := run.Counts
	if c.Read == 0 || c.Read >= bulkRows {
		t.Errorf("run %d read %d rows, want some but not all %d: it was stopped in the middle", run.ID, c.Read, bulkRows)
	}
	if got := c.Inserted + c.Duplicates; got != c.Read {
		t.Errorf("run %d: inserted %d + duplicates %d = %d, want rows read %d (counts %+v)", run.ID, c.Inserted, c.Duplicates, got, c.Read, c)
	}
	if got := count(t, raw, `SELECT count(*) FROM leads`); got != c.Inserted {
		t.Errorf("%d leads stored, want %d, the run's inserted count", got, c.Inserted)
	}
	// $1: both databases read it as the first argument.
	// Every accepted row leaves one observation in the batch's transaction, so the run's read
	// count and its observations move together or not at all.
	if got, want := count(t, raw, `SELECT count(*) FROM observations WHERE run_id = $1`, run.ID), c.Read-c.Rejected-c.Suppressed; got != want {
		t.Errorf("run %d has %d observations, want %d (rows read less rejected and suppressed)", run.ID, got, want)
	}
	if got := count(t, raw, `SELECT count(*) FROM leads l WHERE NOT EXISTS (SELECT 1 FROM observations o WHERE o.lead_id = l.id)`); got != 0 {
		t.Errorf("%d leads have no observation: a batch was half written", got)
	}
	// IntegrityCheck checks references on SQLite only.
	if got := count(t, raw, `SELECT count(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = o.lead_id)`); got != 0 {
		t.Errorf("%d observations name a lead that does not exist", got)
	}
}

// A kill -9 in the middle of an import leaves whole batches only, on either database: the
// counts, the leads and the provenance agree, and importing the file again completes it.
func TestImportKilledMidwayResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a large file in subprocesses")
	}
	dir := t.TempDir()
	bulk, distinct := writeBulkCSV(t, dir, bulkRows)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			pgURL := ""
			if backend == "postgres" {
				pgURL = usePostgres(t, data)
			}
			lm(t, data, "init") // so the test can open the database before the import starts
			var db *store.DB
			var raw *sql.DB
			if pgURL != "" {
				db, raw = openPostgresForInspection(t, pgURL)
			} else {
				db, raw = openDataForInspection(t, data)
			}
			importKilledMidwayResumes(t, bulk, distinct, data, db, raw)
			if _, err := os.Stat(filepath.Join(data, dbFile)); pgURL != "" && !os.IsNotExist(err) {
				t.Errorf("an SQLite file is in the data directory (%v): the imports did not go to PostgreSQL", err)
			}
		})
	}
}

// usePostgres creates a PostgreSQL database for the test and names it in the data
// directory's configuration. It returns the database's URL.
func usePostgres(t *testing.T, data string) string {
	t.Helper()
	url := storetest.NewPostgresDatabase(t)
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "leadmailer.toml"), []byte("[database]\nurl = \""+url+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return url
}

func importKilledMidwayResumes(t *testing.T, bulk string, distinct int, data string, db *store.DB, raw *sql.DB) {
	importArgs := []string{"import", bulk, "--source", "bulk", "--data", data, "--json"}

	start := time.Now()
	c := startLeadmailer(t, importArgs...)
	// A sixth of the file is several batches in, so rows repeating an address from an
	// earlier batch are part of what the kill interrupts.
	waitForCommitted(t, db, c, bulkRows/6)
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	c.wait(t, 10*time.Second)
	if ws, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("leadmailer ended with %v, want killed by SIGKILL", c.cmd.ProcessState)
	}
	killedAt := time.Since(start)

	run, err := db.FindImportRun(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != leadmailer.RunRunning || run.FinishedAt != nil {
		t.Errorf("killed run: status %q, finished %v; want running and unfinished", run.Status, run.FinishedAt)
	}
	checkStoppedRun(t, db, raw, run)
	shown := lm(t, data, "imports", "show", "1").stdout
	if !strings.Contains(shown, ", running\n") && !strings.Contains(shown, ", interrupted\n") {
		t.Errorf("imports show of the killed run does not say running or interrupted:\n%s", shown)
	}
	leadsAtKill := run.Counts.Inserted

	resumeStart := time.Now()
	var resumed importResult
	decodeOne(t, runLeadmailer(t, importArgs...).stdout.String(), &resumed)
	resumeTook := time.Since(resumeStart)
	if got, want := resumed.Run.Counts.Inserted, int64(distinct)-leadsAtKill; got != want {
		t.Errorf("resumed run inserted %d, want %d (%d distinct addresses less %d stored before the kill)", got, want, distinct, leadsAtKill)
	}
	if resumed.Run.Counts.Updated != 0 || resumed.Run.Counts.Read != bulkRows {
		t.Errorf("resumed run: %+v, want all %d rows read and none updated", resumed.Run.Counts, bulkRows)
	}
	if err := db.IntegrityCheck(t.Context()); err != nil {
		t.Errorf("after the resumed import: %v", err)
	}
	if got := count(t, raw, `SELECT count(*) FROM leads`); got != int64(distinct) {
		t.Errorf("%d leads after the resumed import, want %d, the distinct addresses in the file", got, distinct)
	}
	if got := count(t, raw, `SELECT count(DISTINCT lower(email)) FROM leads`); got != int64(distinct) {
		t.Errorf("%d distinct lower-cased addresses among the leads, want %d: an address is stored twice", got, distinct)
	}

	var third importResult
	decodeOne(t, runLeadmailer(t, importArgs...).stdout.String(), &third)
	want := leadmailer.ImportCounts{Read: bulkRows, Unchanged: int64(distinct), Duplicates: int64(bulkRows - distinct)}
	if third.Run.Counts != want {
		t.Errorf("third import of the same file: %+v, want %+v", third.Run.Counts, want)
	}
	t.Logf("%d rows, %d distinct addresses; killed %v after start with %d rows read and %d leads committed; resume took %v; whole test %v",
		bulkRows, distinct, killedAt.Round(time.Millisecond), run.Counts.Read, leadsAtKill, resumeTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// Ctrl-C (SIGINT) and a service manager's stop (SIGTERM) must end an import promptly and leave
// it recorded as failed, with the batches committed so far intact.
func TestImportStoppedBySignal(t *testing.T) {
	if testing.Short() {
		t.Skip("imports a large file in subprocesses")
	}
	dir := t.TempDir()
	bulk, _ := writeBulkCSV(t, dir, bulkRows)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			lm(t, data, "init")
			db, raw := openDataForInspection(t, data)

			c := startLeadmailer(t, "import", bulk, "--source", "bulk", "--data", data)
			waitForCommitted(t, db, c, 1)
			sent := time.Now()
			if err := c.cmd.Process.Signal(sig); err != nil {
				t.Fatalf("signal: %v", err)
			}
			code := c.wait(t, 5*time.Second)
			took := time.Since(sent)
			if code != exitError {
				t.Errorf("exit %d after %v, want %d\nstderr:\n%s", code, sig, exitError, c.stderr.String())
			}
			mustContain(t, "stderr", c.stderr.String(), "cancelled")

			run, err := db.FindImportRun(t.Context(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != leadmailer.RunFailed || !strings.Contains(run.Error, "cancelled") || run.FinishedAt == nil {
				t.Errorf("stopped run: status %q, error %q, finished %v; want failed, cancelled, finished", run.Status, run.Error, run.FinishedAt)
			}
			checkStoppedRun(t, db, raw, run)
			t.Logf("exited %v after %v with %d rows read and %d leads committed", took.Round(time.Millisecond), sig,
				run.Counts.Read, run.Counts.Inserted)
		})
	}
}
