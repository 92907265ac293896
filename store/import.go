package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
)

// ImportWriter writes one import run's batches. It holds one connection for the run's whole
// life, because the staging table is a TEMP table, private to its connection.
//
// Transactions are begun and ended by hand on that connection rather than through *sql.Tx:
// database/sql would re-prepare every statement in every transaction.
type ImportWriter struct {
	db     *DB
	conn   *sql.Conn
	run    *leadmailer.ImportRun
	dryRun bool // dry runs do everything in one transaction and roll it back
	inDry  bool // the dry run's transaction is open
	stmts  map[string]*sql.Stmt
	// suppressed holds the suppression hashes, loaded when the run begins and topped up
	// before each batch: checking in memory is cheaper than a lookup per staged row.
	suppressed     map[string]struct{}
	suppressedSeen string // created_at of the newest suppression loaded
	// orgSuppressed is set once a domain or business-ID suppression is loaded; see
	// rowSuppressed, which keeps its per-run state in org.
	orgSuppressed bool
	org           *orgCheck
	stageBuf      []byte // the batch as leadmailer_stage reads it, reused
	outcomes      []byte // on PostgreSQL, the staged rows' outcomes, reused
	fkOff         bool   // foreign key checks are off on conn (see begin)
	hashes        sync.Pool
	// parts are the connections a batch is written over on PostgreSQL; see writeParts.
	parts []*importPart
}

// BeginImport records a new running import run and returns the writer for its batches.
// With dryRun, everything the run writes is rolled back by Finish, so the counts say what
// the import would do without changing anything.
func (db *DB) BeginImport(ctx context.Context, run *leadmailer.ImportRun, dryRun bool) (leadmailer.ImportWriter, error) {
	if !run.Kind.Valid() {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "source kind %q is not one of upload, public, website, api", run.Kind)
	}
	if strings.TrimSpace(run.Source) == "" {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "an import needs a source name")
	}
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	w := &ImportWriter{db: db, conn: conn, run: run, dryRun: dryRun, stmts: map[string]*sql.Stmt{}}
	if err := w.begin(ctx); err != nil {
		w.close()
		return nil, fmt.Errorf("begin import: %w", err)
	}
	return w, nil
}

// stagingTable holds one batch while it is written. It is a TEMP table, private to the
// connection; leadmailer_stage (stage.c) fills it.
const stagingTable = `CREATE TEMP TABLE IF NOT EXISTS staging (
	row_no INTEGER NOT NULL, outcome INTEGER NOT NULL, email TEXT NOT NULL,
	name TEXT NOT NULL, company TEXT NOT NULL, country TEXT NOT NULL,
	business_id TEXT NOT NULL, job_title TEXT NOT NULL, website TEXT NOT NULL,
	phone TEXT NOT NULL, city TEXT NOT NULL, fields INTEGER NOT NULL,
	received TEXT NOT NULL)`

// matchedTable holds, for each staged row whose address a stored lead has, that lead and the
// row's settled outcome, keyed by the staged row's rowid. A table of its own, because
// rewriting the wide staged rows to record this cost more than the lookups did.
const matchedTable = `CREATE TEMP TABLE IF NOT EXISTS matched (
	rid INTEGER PRIMARY KEY, lead_id INTEGER NOT NULL, outcome INTEGER NOT NULL)`

func (w *ImportWriter) begin(ctx context.Context) error {
	if w.db.pg {
		if err := w.beginPG(ctx); err != nil {
			return err
		}
	} else if err := w.beginSQLite(ctx); err != nil {
		return err
	}
	if w.dryRun {
		if _, err := w.conn.ExecContext(ctx, w.db.beginWrite()); err != nil {
			return err
		}
		w.inDry = true
	}
	now := w.db.now().UTC()
	w.run.StartedAt, w.run.HeartbeatAt, w.run.Status = now, now, leadmailer.RunRunning
	return w.inTx(ctx, func() error {
		return w.conn.QueryRowContext(ctx, `INSERT INTO import_runs
			(source, kind, file_name, file_sha256, actor, started_at, heartbeat_at, status, unmapped)
			VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?) RETURNING id`,
			w.run.Source, w.run.Kind, w.run.FileName, w.run.FileSHA256, w.run.Actor,
			formatTime(now), formatTime(now), strings.Join(w.run.Unmapped, "\n"),
		).Scan(&w.run.ID)
	})
}

// beginSQLite turns off the connection's foreign key checks and prepares its temporary tables.
func (w *ImportWriter) beginSQLite(ctx context.Context) error {
	// The writer's statements make every reference they store by construction: the run is
	// the one begin inserts, and each observation's lead is found or inserted by the same
	// batch's statements. Checking each reference again (three lookups per row) cost about
	// a tenth of an import's time, so this connection skips foreign key checks until close.
	w.fkOff = true
	if _, err := w.conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		return err
	}
	for _, q := range []string{stagingTable, matchedTable, `DELETE FROM staging`, `DELETE FROM matched`} {
		if _, err := w.conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in a transaction of its own, or inside the dry run's transaction.
func (w *ImportWriter) inTx(ctx context.Context, fn func() error) error {
	if w.dryRun {
		return fn()
	}
	if _, err := w.conn.ExecContext(ctx, w.db.beginWrite()); err != nil {
		return err
	}
	if err := fn(); err != nil {
		// The rollback must happen even when ctx is what failed.
		w.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		return err
	}
	_, err := w.conn.ExecContext(ctx, `COMMIT`)
	return err
}

// exec runs a statement, prepared once per run.
func (w *ImportWriter) exec(ctx context.Context, query string, args ...any) error {
	_, err := w.execCount(ctx, query, args...)
	return err
}

// execCount runs a statement, prepared once per run, and returns the number of rows it
// changed.
func (w *ImportWriter) execCount(ctx context.Context, query string, args ...any) (int64, error) {
	stmt, err := w.prepare(ctx, query)
	if err != nil {
		return 0, err
	}
	res, err := stmt.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// scanRow runs a query that returns one row, prepared once per run, into dest.
func (w *ImportWriter) scanRow(ctx context.Context, query string, args []any, dest ...any) error {
	stmt, err := w.prepare(ctx, query)
	if err != nil {
		return err
	}
	return stmt.QueryRowContext(ctx, args...).Scan(dest...)
}

func (w *ImportWriter) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if stmt, ok := w.stmts[query]; ok {
		return stmt, nil
	}
	stmt, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = stmt
	return stmt, nil
}

// SuppressionHash returns the keyed hash of a normalised address, as DB.SuppressionHash does.
// It is called once per imported row, so it reuses its HMAC states: setting up a new one
// cost more than hashing the address.
func (w *ImportWriter) SuppressionHash(normalizedEmail string) string {
	m, _ := w.hashes.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, w.db.suppressionKey)
	}
	m.Reset()
	m.Write([]byte(normalizedEmail))
	var sum [sha256.Size]byte
	var hexSum [2 * sha256.Size]byte
	hex.Encode(hexSum[:], m.Sum(sum[:0]))
	w.hashes.Put(m)
	return string(hexSum[:])
}

// Run returns the run being written.
func (w *ImportWriter) Run() *leadmailer.ImportRun { return w.run }

// WriteBatch stores one batch in one transaction, set-based: the rows go into the staging
// table, one statement matches them against the leads already stored, one insert writes the
// new leads and one update the changed ones, and one insert records an observation per row.
// Row-by-row upserts through database/sql are several times slower.
func (w *ImportWriter) WriteBatch(ctx context.Context, rows []leadmailer.ImportRow, pre leadmailer.ImportCounts) (leadmailer.ImportCounts, error) {
	return w.WriteBatchRejects(ctx, rows, pre, nil)
}

// WriteBatchRejects is WriteBatch that also stores the batch's rejected rows in
// import_rejects, in the same transaction (see writeRejects).
func (w *ImportWriter) WriteBatchRejects(ctx context.Context, rows []leadmailer.ImportRow, pre leadmailer.ImportCounts, rejects []leadmailer.RejectedRow) (leadmailer.ImportCounts, error) {
	if w.db.pg && !w.dryRun && w.db.importWriters > 1 && w.splitBatch(rows) > 1 {
		return w.writeParts(ctx, rows, pre, rejects)
	}
	counts := pre
	err := w.inTx(ctx, func() error {
		counts = pre
		if w.db.pg {
			if err := w.tunePG(ctx); err != nil {
				return err
			}
		}
		if err := w.loadSuppressions(ctx); err != nil {
			return fmt.Errorf("read suppression list: %w", err)
		}
		staged, err := w.stageRows(ctx, rows)
		if err != nil {
			return fmt.Errorf("stage rows: %w", err)
		}
		classify, insertNew, observe := w.classify, w.insertNew, w.observe
		if w.db.pg {
			classify, insertNew, observe = w.classifyPG, w.insertNewPG, w.observePG
		}
		matched, err := classify(ctx)
		if err != nil {
			return fmt.Errorf("classify rows: %w", err)
		}
		var idBase int64
		if err := w.scanRow(ctx, `SELECT coalesce(max(id), 0) FROM leads`, nil, &idBase); err != nil {
			return fmt.Errorf("write leads: %w", err)
		}
		if err := insertNew(ctx, idBase); err != nil {
			return fmt.Errorf("write leads: %w", err)
		}
		if matched > 0 {
			if err := w.updateChanged(ctx); err != nil {
				return fmt.Errorf("write leads: %w", err)
			}
		}
		if err := observe(ctx, idBase); err != nil {
			return fmt.Errorf("record provenance: %w", err)
		}
		counts.Inserted += staged[outcomeNew] - matched
		counts.Duplicates += staged[outcomeDuplicateInBatch]
		counts.Suppressed += staged[outcomeSuppressed]
		if matched > 0 {
			if err := w.countMatched(ctx, &counts); err != nil {
				return fmt.Errorf("count outcomes: %w", err)
			}
		}
		if err := w.clearStaging(ctx); err != nil {
			return err
		}
		if err := w.writeRejects(ctx, rejects); err != nil {
			return fmt.Errorf("store rejected rows: %w", err)
		}
		w.run.HeartbeatAt = w.db.now().UTC()
		return w.addRunCounts(ctx, w.run.HeartbeatAt, counts)
	})
	if err != nil {
		// No "import run N" here: the callers name the run (or the website query) in their
		// own errors, and saying it twice read as two failures.
		return leadmailer.ImportCounts{}, err
	}
	w.run.Counts.Add(counts)
	return counts, nil
}

// addRunCounts adds a batch's counts to the run's, in the batch's transaction.
func (w *ImportWriter) addRunCounts(ctx context.Context, heartbeat time.Time, c leadmailer.ImportCounts) error {
	return w.exec(ctx, `UPDATE import_runs SET heartbeat_at = ?,
			rows_read = rows_read + ?, inserted = inserted + ?, updated = updated + ?,
			unchanged = unchanged + ?, rejected = rejected + ?, suppressed = suppressed + ?,
			duplicates = duplicates + ?, skipped = skipped + ?
			WHERE id = ?`,
		formatTime(heartbeat), c.Read, c.Inserted, c.Updated,
		c.Unchanged, c.Rejected, c.Suppressed, c.Duplicates, c.Skipped, w.run.ID)
}

// clearStaging empties the staging and matched tables for the next batch.
func (w *ImportWriter) clearStaging(ctx context.Context) error {
	if w.db.pg {
		return w.clearStagingPG(ctx)
	}
	if err := w.exec(ctx, `DELETE FROM staging`); err != nil {
		return err
	}
	return w.exec(ctx, `DELETE FROM matched`)
}

// stageRows puts the batch into the staging table with one call of leadmailer_stage: binding
// thirteen values a row through database/sql cost three times SQLite's own work on the rows.
// It returns how many rows it staged with each outcome.
func (w *ImportWriter) stageRows(ctx context.Context, rows []leadmailer.ImportRow) (staged [outcomeSuppressed + 1]int64, err error) {
	b := w.stageBuf[:0]
	outcomes := w.outcomes[:0]
	for i := range rows {
		r := &rows[i]
		// The outcome starts as what is known before looking at stored leads; classify
		// settles the rest.
		var outcome byte = outcomeNew
		if w.rowSuppressed(r) {
			outcome = outcomeSuppressed
		} else if r.DuplicateInBatch {
			outcome = outcomeDuplicateInBatch
		}
		staged[outcome]++
		if w.db.pg {
			outcomes = append(outcomes, outcome)
			continue
		}
		b = appendStageRow(b, r, outcome)
	}
	if w.db.pg {
		w.outcomes = outcomes
		return staged, w.stageRowsPG(ctx, rows, outcomes, nil)
	}
	w.stageBuf = b
	var n int
	if err := w.scanRow(ctx, `SELECT leadmailer_stage(?)`, []any{b}, &n); err != nil {
		return staged, err
	}
	if n != len(rows) {
		return staged, fmt.Errorf("staged %d rows of %d", n, len(rows))
	}
	return staged, nil
}

// loadSuppressions adds the suppressions created since the last call to w.suppressed. It
// runs inside the batch's write transaction, so no suppression can slip in between the check
// and the write.
func (w *ImportWriter) loadSuppressions(ctx context.Context) error {
	if w.suppressed == nil {
		w.suppressed = map[string]struct{}{}
	}
	stmt, err := w.prepare(ctx, `SELECT hash, kind, created_at FROM suppressions WHERE created_at >= ?`)
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, w.suppressedSeen)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var hash, kind, created string
		if err := rows.Scan(&hash, &kind, &created); err != nil {
			return err
		}
		w.suppressed[hash] = struct{}{}
		if kind != SuppressAddress {
			w.orgSuppressed, w.org = true, nil
		}
		w.suppressedSeen = max(w.suppressedSeen, created)
	}
	return rows.Err()
}

// changedExpr is true when a staged row brings a non-empty value that differs from the lead's.
// An empty value never blanks a field.
const changedExpr = `(s.name <> '' AND s.name <> l.name)
	OR (s.company <> '' AND s.company <> l.company)
	OR (s.country <> '' AND s.country <> l.country)
	OR (s.business_id <> '' AND s.business_id <> l.business_id)
	OR (s.job_title <> '' AND s.job_title <> l.job_title)
	OR (s.website <> '' AND s.website <> l.website)
	OR (s.phone <> '' AND s.phone <> l.phone)
	OR (s.city <> '' AND s.city <> l.city)`

// classify settles the outcome of each staged row that is still new and whose address a
// stored lead has: unchanged, updated, or one of the two duplicate outcomes (the lead was
// already seen earlier in this run), which still say whether the row changes the lead. It
// records them in matched, computing the outcome as a sum so that the costly comparison runs
// once a row, and returns how many rows matched. Rows not in matched stay new.
func (w *ImportWriter) classify(ctx context.Context) (int64, error) {
	return w.execCount(ctx, `INSERT INTO matched (rid, lead_id, outcome)
		SELECT s.rowid, l.id, `+outcomeUnchangedSQL+` + (`+changedExpr+`)
			+ 2 * EXISTS (SELECT 1 FROM observations o WHERE o.lead_id = l.id AND o.run_id = ?)
		FROM staging AS s JOIN leads AS l ON l.email = s.email
		WHERE s.outcome = `+outcomeNewSQL, w.run.ID)
}

// insertNew inserts the leads of the rows that are still new. Each gets the id
// idBase + its staging rowid, so that observe knows it without looking the address up: idBase
// is the highest id stored, read in the batch's transaction, which is the only writer.
// Every *_run column names this run for each value it supplies.
func (w *ImportWriter) insertNew(ctx context.Context, idBase int64) error {
	var runs strings.Builder
	for _, f := range leadmailer.AllFields()[1:] {
		fmt.Fprintf(&runs, ", CASE WHEN %s <> '' THEN ?1 END", f)
	}
	now := formatTime(w.db.now())
	return w.exec(ctx, `INSERT INTO leads (id, email, name, company, country, business_id,
			job_title, website, phone, city, email_run, name_run, company_run, country_run,
			business_id_run, job_title_run, website_run, phone_run, city_run,
			first_run_id, state, created_at, updated_at)
		SELECT ?3 + rowid, email, name, company, country, business_id, job_title, website, phone, city, ?1`+
		runs.String()+`, ?1, 'active', ?2, ?2
		FROM staging AS s
		WHERE outcome = `+outcomeNewSQL+` AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.rid = s.rowid)`,
		w.run.ID, now, idBase)
}

// updateChanged writes the new non-empty values of the rows that change a stored lead. Each
// *_run column moves to this run only when this run changes that field's value;
// first_run_id never changes.
func (w *ImportWriter) updateChanged(ctx context.Context) error {
	var set strings.Builder
	for _, f := range leadmailer.AllFields()[1:] {
		c := f.String()
		fmt.Fprintf(&set, "%s = CASE WHEN s.%s <> '' THEN s.%s ELSE leads.%s END,\n", c, c, c, c)
		fmt.Fprintf(&set, "%s_run = CASE WHEN s.%s <> '' AND s.%s <> leads.%s THEN ?1 ELSE leads.%s_run END,\n", c, c, c, c, c)
	}
	return w.exec(ctx, `UPDATE leads SET `+set.String()+`updated_at = ?2
		FROM matched AS m JOIN staging AS s ON s.rowid = m.rid
		WHERE leads.id = m.lead_id AND m.outcome IN (`+outcomeUpdatedSQL+`, `+outcomeDuplicateChangedSQL+`)`,
		w.run.ID, formatTime(w.db.now()))
}

// observe records one observation for every row that is not suppressed. classify found the
// lead of every row whose lead existed, and insertNew chose the id of every new one; only
// duplicates within the batch need looking up.
func (w *ImportWriter) observe(ctx context.Context, idBase int64) error {
	return w.exec(ctx, `INSERT INTO observations (lead_id, run_id, row_no, fields, received)
		SELECT CASE WHEN m.lead_id IS NOT NULL THEN m.lead_id
				WHEN s.outcome = `+outcomeNewSQL+` THEN ?2 + s.rowid
				ELSE (SELECT l.id FROM leads l WHERE l.email = s.email) END,
			?1, s.row_no, s.fields, s.received
		FROM staging AS s LEFT JOIN matched AS m ON m.rid = s.rowid
		WHERE s.outcome <> `+outcomeSuppressedSQL, w.run.ID, idBase)
}

// countMatched adds the outcomes classify settled to c.
func (w *ImportWriter) countMatched(ctx context.Context, c *leadmailer.ImportCounts) error {
	var unchanged, updated, duplicates int64
	err := w.scanRow(ctx, `SELECT
			count(*) FILTER (WHERE outcome = `+outcomeUnchangedSQL+`),
			count(*) FILTER (WHERE outcome = `+outcomeUpdatedSQL+`),
			count(*) FILTER (WHERE outcome > `+outcomeUpdatedSQL+`)
		FROM matched`, nil, &unchanged, &updated, &duplicates)
	c.Unchanged += unchanged
	c.Updated += updated
	c.Duplicates += duplicates
	return err
}

// Finish records the run's final status and the input's checksum, known only once the whole
// input has been read, and releases the connection. For a dry run it rolls
// everything back instead.
func (w *ImportWriter) Finish(ctx context.Context, status leadmailer.RunStatus, errMsg string) (*leadmailer.ImportRun, error) {
	defer w.close()
	now := w.db.now().UTC()
	w.run.Status, w.run.Error, w.run.FinishedAt = status, errMsg, &now
	if w.dryRun {
		_, err := w.conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		w.inDry = false
		return w.run, err
	}
	// The context may already be cancelled (Ctrl-C); recording how the run ended must
	// still happen.
	ctx = context.WithoutCancel(ctx)
	err := w.inTx(ctx, func() error {
		_, err := w.conn.ExecContext(ctx, `UPDATE import_runs SET status = ?, error = ?, finished_at = ?,
			heartbeat_at = ?, file_sha256 = ?
			WHERE id = ?`, status, errMsg, formatTime(now), formatTime(now), w.run.FileSHA256, w.run.ID)
		if err != nil {
			return err
		}
		// The error text stays out of the event: it may quote the input's rows.
		r := w.run
		return w.db.enqueueEvent(ctx, w.conn.ExecContext, webhookEvent{
			ID: fmt.Sprintf("import-%d-finished", r.ID), Type: leadmailer.EventImportFinished,
			Data: importEventData{Run: r.ID, Source: r.Source, Kind: r.Kind, FileName: r.FileName, Status: r.Status,
				Counts: r.Counts, StartedAt: r.StartedAt, FinishedAt: now},
		})
	})
	if err != nil {
		return w.run, fmt.Errorf("finish import run %d: %w", w.run.ID, err)
	}
	return w.run, nil
}

func (w *ImportWriter) close() {
	w.closeParts()
	if w.inDry {
		w.conn.ExecContext(context.Background(), `ROLLBACK`)
		w.inDry = false
	}
	for _, s := range w.stmts {
		s.Close()
	}
	w.stmts = nil
	if w.fkOff {
		// The connection goes back to the pool: it must check foreign keys again, or be
		// discarded.
		if _, err := w.conn.ExecContext(context.Background(), `PRAGMA foreign_keys = ON`); err != nil {
			w.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		w.fkOff = false
	}
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}
