package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/leadmailer/leadmailer"
)

// The rows an import rejected are written by the import's writer, in the transaction of the
// batch they were read with (see WriteBatchRejects), so that the stored rejects always match
// the committed batches and the run's rejected count. They are read back a page at a time,
// in the order they were stored, which is the order of the input.

// rejectColumns are the columns of import_rejects an import writes, in the order
// writeRejects gives them.
var rejectColumns = []string{"run_id", "created_at", "row_no", "reason", "email", "name", "company", "country",
	"business_id", "job_title", "website", "phone", "city", "email_hash"}

// rejectValuesPerRow is how many of rejectColumns each row binds: all but run_id and
// created_at, which are the same for every row of a statement.
const rejectValuesPerRow = 12

// rejectsPerInsert is the most rows one insert on SQLite writes. One statement per row cost
// most of its time in database/sql; 256 rows bind 3,074 values, far below SQLite's limit of
// 32,766. A batch's remaining rows go in statements of 128, 64, ... rows, so that a run
// prepares at most nine statements.
const rejectsPerInsert = 256

// writeRejects stores rejects in the open transaction of the batch they belong to. A dry
// run stores none.
func (w *ImportWriter) writeRejects(ctx context.Context, rejects []leadmailer.RejectedRow) error {
	if w.dryRun || len(rejects) == 0 {
		return nil
	}
	now := formatTime(w.db.now())
	if w.db.pg {
		return w.writeRejectsPG(ctx, rejects, now)
	}
	args := make([]any, 0, 2+rejectsPerInsert*rejectValuesPerRow)
	for len(rejects) > 0 {
		n := rejectsPerInsert
		for n > len(rejects) {
			n /= 2
		}
		args = append(args[:0], w.run.ID, now)
		for i := range rejects[:n] {
			args = w.appendRejectValues(args, &rejects[i])
		}
		if err := w.exec(ctx, insertRejectsSQL(n), args...); err != nil {
			return err
		}
		rejects = rejects[n:]
	}
	return nil
}

// appendRejectValues appends r's values, in the order of rejectColumns after run_id and
// created_at, each made storable text (see storableText).
func (w *ImportWriter) appendRejectValues(v []any, r *leadmailer.RejectedRow) []any {
	email := storableText(r.Email)
	return append(v, r.Row, storableText(r.Reason), email, storableText(r.Name), storableText(r.Company),
		storableText(r.Country), storableText(r.BusinessID), storableText(r.JobTitle), storableText(r.Website),
		storableText(r.Phone), storableText(r.City), w.rejectEmailHash(email))
}

// storableText is s with every byte that is not UTF-8, and every NUL, replaced by U+FFFD.
// Rows are often rejected for exactly those bytes, and PostgreSQL stores neither in a text
// column; SQLite would, but the rejects read back alike from both databases. The reason of
// such a row names the offending byte's place in the file.
func storableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// insertRejectsSQL is the insert of n rejected rows: ?1 is the run and ?2 the time, the
// rows' values follow.
func insertRejectsSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO import_rejects (` + strings.Join(rejectColumns, ", ") + `) VALUES `)
	p := 3
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?1, ?2")
		for range rejectValuesPerRow {
			fmt.Fprintf(&b, ", ?%d", p)
			p++
		}
		b.WriteString(")")
	}
	return b.String()
}

// writeRejectsPG copies rejects into import_rejects: COPY is PostgreSQL's bulk path, as for
// the staged rows.
func (w *ImportWriter) writeRejectsPG(ctx context.Context, rejects []leadmailer.RejectedRow, now string) error {
	src := &rejectSource{w: w, rows: rejects, now: now, i: -1, values: make([]any, 0, len(rejectColumns))}
	var n int64
	err := w.conn.Raw(func(dc any) error {
		var err error
		n, err = dc.(*pgConn).Conn.Conn().CopyFrom(ctx, pgx.Identifier{"import_rejects"}, rejectColumns, src)
		return err
	})
	if err != nil {
		return err
	}
	if n != int64(len(rejects)) {
		return fmt.Errorf("stored %d rejected rows of %d", n, len(rejects))
	}
	return nil
}

// rejectSource gives COPY the rejected rows, reusing one slice of values.
type rejectSource struct {
	w      *ImportWriter
	rows   []leadmailer.RejectedRow
	now    string
	i      int
	values []any
}

func (s *rejectSource) Next() bool { s.i++; return s.i < len(s.rows) }

func (s *rejectSource) Values() ([]any, error) {
	s.values = s.w.appendRejectValues(append(s.values[:0], s.w.run.ID, s.now), &s.rows[s.i])
	return s.values, nil
}

func (s *rejectSource) Err() error { return nil }

// ImportReject is a rejected row as stored. Its ID orders a run's rejects as the input did,
// and is the cursor of FindImportRejects.
type ImportReject struct {
	ID int64
	leadmailer.RejectedRow
}

// RejectsPage is how many rejected rows EachImportReject reads at a time.
const RejectsPage = 1000

// FindImportRejects returns up to limit rejected rows of run runID whose ID is above
// afterID, in the order of the input.
func (db *DB) FindImportRejects(ctx context.Context, runID, afterID int64, limit int) ([]ImportReject, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, row_no, reason, email, name, company, country,
			business_id, job_title, website, phone, city
		FROM import_rejects WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?`, runID, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("find rejects of import run %d: %w", runID, err)
	}
	defer rows.Close()
	var page []ImportReject
	for rows.Next() {
		var r ImportReject
		if err := rows.Scan(&r.ID, &r.Row, &r.Reason, &r.Email, &r.Name, &r.Company, &r.Country,
			&r.BusinessID, &r.JobTitle, &r.Website, &r.Phone, &r.City); err != nil {
			return nil, fmt.Errorf("find rejects of import run %d: %w", runID, err)
		}
		page = append(page, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find rejects of import run %d: %w", runID, err)
	}
	return page, nil
}

// EachImportReject calls fn with every rejected row of run runID, in the order of the input,
// and stops at fn's first error, which it returns. The rows are read RejectsPage at a time,
// and fn runs between the reads: memory stays bounded however many rows there are, and no
// read stays open while fn writes to a slow client.
func (db *DB) EachImportReject(ctx context.Context, runID int64, fn func(*leadmailer.RejectedRow) error) error {
	var after int64
	for {
		page, err := db.FindImportRejects(ctx, runID, after, RejectsPage)
		if err != nil {
			return err
		}
		for i := range page {
			if err := fn(&page[i].RejectedRow); err != nil {
				return err
			}
		}
		if len(page) < RejectsPage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// CountImportRejects returns how many rejected rows of run runID are stored. It is the run's
// rejected count for a run of this version; a run of an older version, which kept its rejects
// in a file, has none stored.
func (db *DB) CountImportRejects(ctx context.Context, runID int64) (int64, error) {
	var n int64
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM import_rejects WHERE run_id = ?`, runID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rejects of import run %d: %w", runID, err)
	}
	return n, nil
}
