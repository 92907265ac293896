package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/leadmailer/leadmailer"
)

// The import on PostgreSQL: the same staging and matched tables and the same set-based
// statements as on SQLite (see WriteBatch), with three differences. The batch goes into the
// staging table by COPY, PostgreSQL's bulk path, instead of leadmailer_stage. The staging
// table has a rowid column of its own, numbered 1..n as COPY writes the rows, so that the
// statements that use SQLite's rowid read the same. And the statements that add booleans or
// select a bare parameter into a column say the types SQLite leaves implicit.

// pgStagingTable is stagingTable with the rowid SQLite gives every row. email is compared
// with leads.email, which is COLLATE "C".
const pgStagingTable = `CREATE TEMP TABLE IF NOT EXISTS staging (
	rowid BIGINT NOT NULL, row_no BIGINT NOT NULL, outcome INTEGER NOT NULL, email TEXT COLLATE "C" NOT NULL,
	name TEXT NOT NULL, company TEXT NOT NULL, country TEXT NOT NULL,
	business_id TEXT NOT NULL, job_title TEXT NOT NULL, website TEXT NOT NULL,
	phone TEXT NOT NULL, city TEXT NOT NULL, fields BIGINT NOT NULL,
	received TEXT NOT NULL)`

const pgMatchedTable = `CREATE TEMP TABLE IF NOT EXISTS matched (
	rid BIGINT PRIMARY KEY, lead_id BIGINT NOT NULL, outcome INTEGER NOT NULL)`

// pgStageCopy copies rows into the staging table in COPY's binary format; appendCopyRow
// writes its rows, in the order of the table's columns.
const pgStageCopy = `COPY staging (rowid, row_no, outcome, email, name, company, country, business_id,
	job_title, website, phone, city, fields, received) FROM STDIN (FORMAT binary)`

// beginPG prepares the connection's temporary tables. PostgreSQL cannot skip foreign key
// checks for one session as SQLite's writer does; the checks are index lookups it makes in
// the same pass.
func (w *ImportWriter) beginPG(ctx context.Context) error {
	for _, q := range []string{pgStagingTable, pgMatchedTable, `TRUNCATE staging, matched`} {
		if _, err := w.conn.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// tunePG sets, for the batch's transaction only, what the import's statements need of the
// server. JIT compilation is off: the planner's estimates for the staging table's unanalysed
// rows made it compile and inline each statement of a batch, which cost more than running it
// (287 of 486 ms measured for one insert of 10,000 observations). work_mem is raised so
// that the transition tables of the statement triggers on leads and observations (see
// migrations_pg/0023), which hold every row a statement writes, stay in memory: at the
// default 4MB, the insert of a batch's 10,000 new leads wrote about 2.6 MB of them to a
// temporary file and read it back. A tuplestore takes only what its rows need, so the
// higher limit costs memory only where the rows are there.
func (w *ImportWriter) tunePG(ctx context.Context) error {
	_, err := w.conn.ExecContext(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '`+importWorkMem+`'`)
	return err
}

// importWorkMem is work_mem for an import batch's transaction (see tunePG).
const importWorkMem = "32MB"

// clearStagingPG empties the staging tables with TRUNCATE. DELETE left the deleted rows in
// the table: nothing vacuums a temporary table, so every batch's statements read all the
// earlier batches' dead rows too, and the table outgrew temp_buffers and went to disk.
func (w *ImportWriter) clearStagingPG(ctx context.Context) error {
	_, err := w.conn.ExecContext(ctx, `TRUNCATE staging, matched`)
	return err
}

// stageRowsPG copies the batch into the staging table. The rows are numbered 1..n, or by
// rowids when it is not nil (a share of a batch keeps its rows' numbers in the batch).
//
// The rows are encoded into COPY's binary format here, into one buffer the writer reuses,
// rather than handed to pgx's CopyFrom as a slice of values a row: that boxed each of a
// row's fourteen values, planned each one's encoding and built the received string. Of
// leadmailer's own CPU time for a 1,000,000-row import into PostgreSQL it took about 1.3 s
// of 5.7-7.2 s (user + system, three runs each way; BenchmarkImport/postgres in package
// importer reports the same share as cpu-ns/row). Text in the binary format is the value's
// bytes, as pgx sends it.
func (w *ImportWriter) stageRowsPG(ctx context.Context, rows []leadmailer.ImportRow, outcomes []byte, rowids []int64) error {
	b := append(w.stageBuf[:0], pgCopyHeader...)
	for i := range rows {
		rowid := int64(i + 1)
		if rowids != nil {
			rowid = rowids[i]
		}
		b = appendCopyRow(b, &rows[i], outcomes[i], rowid)
	}
	w.stageBuf = b
	return w.copyIn(ctx, pgStageCopy, b, len(rows))
}

// copyIn runs the COPY statement copy with the rows that b encodes in COPY's binary format
// after pgCopyHeader, and checks that the server stored all n of them. It appends the
// format's trailer to b.
func (w *ImportWriter) copyIn(ctx context.Context, copy string, b []byte, n int) error {
	b = binary.BigEndian.AppendUint16(b, 0xffff) // the trailer: a row of -1 columns
	var tag pgconn.CommandTag
	err := w.conn.Raw(func(dc any) error {
		var err error
		tag, err = dc.(*pgConn).Conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(b), copy)
		return err
	})
	if err != nil {
		return err
	}
	if got := tag.RowsAffected(); got != int64(n) {
		return fmt.Errorf("copied %d rows of %d", got, n)
	}
	return nil
}

// pgCopyHeader starts COPY's binary format: its signature, no flags and no header extension.
const pgCopyHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// appendCopyRow appends r to b as one row of pgStageCopy in COPY's binary format: the number
// of columns, then each column's length and bytes, integers in network byte order.
func appendCopyRow(b []byte, r *leadmailer.ImportRow, outcome byte, rowid int64) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(5+leadmailer.NumFields))
	b = appendCopyInt64(b, rowid)
	b = appendCopyInt64(b, r.Row)
	b = binary.BigEndian.AppendUint32(b, 4)
	b = binary.BigEndian.AppendUint32(b, uint32(outcome))
	for f := range leadmailer.NumFields {
		b = appendCopyText(b, r.Values[f])
	}
	return appendCopyProvenance(b, r)
}

// appendCopyProvenance appends the two columns that end a row of both pgStageCopy and
// pgObservationsCopy: the fields r supplied and r's record as received.
func appendCopyProvenance(b []byte, r *leadmailer.ImportRow) []byte {
	b = appendCopyInt64(b, int64(r.Supplied))
	lenAt := len(b)
	b = appendReceived(append(b, 0, 0, 0, 0), r)
	binary.BigEndian.PutUint32(b[lenAt:], uint32(len(b)-lenAt-4))
	return b
}

func appendCopyInt64(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(b, 8), uint64(v))
}

// classifyPG is classify with its booleans made integers.
func (w *ImportWriter) classifyPG(ctx context.Context) (int64, error) {
	return w.execCount(ctx, `INSERT INTO matched (rid, lead_id, outcome)
		SELECT s.rowid, l.id, `+outcomeUnchangedSQL+` + (`+changedExpr+`)::integer
			+ 2 * (EXISTS (SELECT 1 FROM observations o WHERE o.lead_id = l.id AND o.run_id = ?))::integer
		FROM staging AS s JOIN leads AS l ON l.email = s.email
		WHERE s.outcome = `+outcomeNewSQL, w.run.ID)
}

// insertNewPG is insertLeadsPG followed by moving the id sequence past the ids it chose, so that a lead inserted without one (from the website) gets a free
// id. The writer lock the batch's transaction holds keeps anyone else from inserting
// between reading the highest id and the sequence's move.
func (w *ImportWriter) insertNewPG(ctx context.Context, idBase int64) error {
	n, err := w.insertLeadsPG(ctx, idBase)
	if err != nil || n == 0 {
		return err
	}
	return w.exec(ctx, `SELECT setval(pg_get_serial_sequence('leads', 'id'), (SELECT max(id) FROM leads))`)
}

// insertLeadsPG is insertNew with its parameters typed. It returns how many leads it
// inserted.
func (w *ImportWriter) insertLeadsPG(ctx context.Context, idBase int64) (int64, error) {
	var runs strings.Builder
	for _, f := range leadmailer.AllFields()[1:] {
		fmt.Fprintf(&runs, ", CASE WHEN %s <> '' THEN ?1::bigint END", f)
	}
	now := formatTime(w.db.now())
	return w.execCount(ctx, `INSERT INTO leads (id, email, name, company, country, business_id,
			job_title, website, phone, city, email_run, name_run, company_run, country_run,
			business_id_run, job_title_run, website_run, phone_run, city_run,
			first_run_id, state, created_at, updated_at)
		SELECT ?3::bigint + rowid, email, name, company, country, business_id, job_title, website, phone, city, ?1::bigint`+
		runs.String()+`, ?1::bigint, 'active', ?2::text, ?2::text
		FROM staging AS s
		WHERE outcome = `+outcomeNewSQL+` AND NOT EXISTS (SELECT 1 FROM matched m WHERE m.rid = s.rowid)`,
		w.run.ID, now, idBase)
}

// observePG is observe with its parameters typed.
func (w *ImportWriter) observePG(ctx context.Context, idBase int64) error {
	return w.exec(ctx, `INSERT INTO observations (lead_id, run_id, row_no, fields, received)
		SELECT CASE WHEN m.lead_id IS NOT NULL THEN m.lead_id
				WHEN s.outcome = `+outcomeNewSQL+` THEN ?2::bigint + s.rowid
				ELSE (SELECT l.id FROM leads l WHERE l.email = s.email) END,
			?1::bigint, s.row_no, s.fields, s.received
		FROM staging AS s LEFT JOIN matched AS m ON m.rid = s.rowid
		WHERE s.outcome <> `+outcomeSuppressedSQL, w.run.ID, idBase)
}

// The direct path of a batch's share (see importPart.route): the rows whose address no
// stored lead has, which in a first import are all of them, are copied straight into leads
// and observations, each with the lead id the batch reserved for it. Staging them cost a
// COPY of every row into the staging table and two INSERT ... SELECTs out of it. The
// statement triggers of migrations_pg/0023 check the copied rows' references as they check
// the inserted ones', and the unique index on leads.email fails the share's transaction if a
// copied lead's address were stored after all.

// pgLeadsCopy copies new leads; appendCopyLead writes its rows.
const pgLeadsCopy = `COPY leads (id, email, name, company, country, business_id, job_title, website,
	phone, city, email_run, name_run, company_run, country_run, business_id_run, job_title_run,
	website_run, phone_run, city_run, first_run_id, state, created_at, updated_at)
	FROM STDIN (FORMAT binary)`

// pgObservationsCopy copies observations; appendCopyObservation writes its rows.
const pgObservationsCopy = `COPY observations (lead_id, run_id, row_no, fields, received)
	FROM STDIN (FORMAT binary)`

// storedAddressesPG returns those of addresses that a stored lead has, or nil when none does.
func (w *ImportWriter) storedAddressesPG(ctx context.Context, addresses []string) (map[string]struct{}, error) {
	var stored map[string]struct{}
	err := w.conn.Raw(func(dc any) error {
		rows, err := dc.(*pgConn).Conn.Conn().Query(ctx,
			`SELECT email FROM leads WHERE email = ANY($1::text[])`, addresses)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var email string
			if err := rows.Scan(&email); err != nil {
				return err
			}
			if stored == nil {
				stored = map[string]struct{}{}
			}
			stored[email] = struct{}{}
		}
		return rows.Err()
	})
	return stored, err
}

// appendCopyLead appends the new lead of r, with the given id, to b as one row of
// pgLeadsCopy: what insertLeadsPG inserts for a staged row.
func appendCopyLead(b []byte, r *leadmailer.ImportRow, id, runID int64, now string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(1+2*leadmailer.NumFields+4))
	b = appendCopyInt64(b, id)
	for f := range leadmailer.NumFields {
		b = appendCopyText(b, r.Values[f])
	}
	b = appendCopyInt64(b, runID) // email_run: every lead has its address
	for f := 1; f < leadmailer.NumFields; f++ {
		if r.Values[f] == "" {
			b = binary.BigEndian.AppendUint32(b, 0xffffffff) // NULL
			continue
		}
		b = appendCopyInt64(b, runID)
	}
	b = appendCopyInt64(b, runID)
	b = appendCopyText(b, "active")
	b = appendCopyText(b, now)
	return appendCopyText(b, now)
}

// appendCopyObservation appends the observation of r for the lead leadID to b as one row of
// pgObservationsCopy: what observePG inserts for a staged row.
func appendCopyObservation(b []byte, r *leadmailer.ImportRow, leadID, runID int64) []byte {
	b = binary.BigEndian.AppendUint16(b, 5)
	b = appendCopyInt64(b, leadID)
	b = appendCopyInt64(b, runID)
	b = appendCopyInt64(b, r.Row)
	return appendCopyProvenance(b, r)
}

func appendCopyText(b []byte, s string) []byte {
	return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
}
