package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

// FindSourceState returns what the source remembers from its last complete fetch; a source
// that never completed one gets a zero state with only Source set.
func (db *DB) FindSourceState(ctx context.Context, source string) (*leadmailer.SourceState, error) {
	st := &leadmailer.SourceState{Source: source}
	var updated string
	err := db.sql.QueryRowContext(ctx, `SELECT url, etag, last_modified, updated_at
		FROM source_state WHERE source = ?`, source).Scan(&st.URL, &st.ETag, &st.LastModified, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find state of source %s: %w", source, err)
	}
	if st.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return st, nil
}

// SaveSourceState records the validators of a source's latest complete fetch.
func (db *DB) SaveSourceState(ctx context.Context, st *leadmailer.SourceState) error {
	st.UpdatedAt = db.now().UTC()
	_, err := db.sql.ExecContext(ctx, `INSERT INTO source_state (source, url, etag, last_modified, updated_at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (source) DO UPDATE SET url = excluded.url, etag = excluded.etag,
			last_modified = excluded.last_modified, updated_at = excluded.updated_at`,
		st.Source, st.URL, st.ETag, st.LastModified, formatTime(st.UpdatedAt))
	if err != nil {
		return fmt.Errorf("save state of source %s: %w", st.Source, err)
	}
	return nil
}

// FileImported reports whether a completed run of source has already imported a file with
// this SHA-256 (hex).
func (db *DB) FileImported(ctx context.Context, source, sha256 string) (bool, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM import_runs
		WHERE source = ? AND file_sha256 = ? AND status = 'completed' AND not_modified = 0`,
		source, sha256).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up file %s of source %s: %w", sha256, source, err)
	}
	return n > 0, nil
}

// RecordFinishedRun records a source run that ended before it wrote anything: one that
// failed while fetching (Status failed, with Error), or found its source unchanged (Status
// unchanged). It sets run.ID.
func (db *DB) RecordFinishedRun(ctx context.Context, run *leadmailer.ImportRun) error {
	status, notModified := run.Status, 0
	switch run.Status {
	case leadmailer.RunFailed:
	case leadmailer.RunUnchanged:
		status, notModified = leadmailer.RunCompleted, 1
	default:
		return fmt.Errorf("record finished run: status %q is neither failed nor unchanged", run.Status)
	}
	now := db.now().UTC()
	if run.StartedAt.IsZero() {
		run.StartedAt = now
	}
	run.HeartbeatAt, run.FinishedAt = now, &now
	err := db.sql.QueryRowContext(ctx, `INSERT INTO import_runs
		(source, kind, file_name, file_sha256, actor, started_at, heartbeat_at, finished_at, status,
		 error, not_modified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		run.Source, run.Kind, run.FileName, run.FileSHA256, run.Actor, formatTime(run.StartedAt),
		formatTime(now), formatTime(now), status, run.Error, notModified).Scan(&run.ID)
	if err != nil {
		return fmt.Errorf("record run of source %s: %w", run.Source, err)
	}
	return nil
}

// InternOrigin returns the number under which run refers to origin (a URL or file path),
// storing it on first use.
func (db *DB) InternOrigin(ctx context.Context, runID int64, origin string, retrievedAt time.Time) (int64, error) {
	var id int64
	err := db.sql.QueryRowContext(ctx, `INSERT INTO run_origins (run_id, origin, retrieved_at)
		VALUES (?, ?, ?)
		ON CONFLICT (run_id, origin) DO UPDATE SET origin = excluded.origin
		RETURNING id`, runID, origin, formatTime(retrievedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record origin of run %d: %w", runID, err)
	}
	return id, nil
}

// sourceRecordChunk keeps a multi-row insert under SQLite's bound-parameter limit.
const sourceRecordChunk = 1000

// RecordSourceRecords stores, for rows of a source run, the record's identifier at the source
// and its origin. It is written before the batch holding the rows: a run that stops in between
// leaves links to rows that have no observation, which nothing reads.
func (db *DB) RecordSourceRecords(ctx context.Context, runID int64, recs []leadmailer.SourceRecord) error {
	if len(recs) == 0 {
		return nil
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record source records of run %d: %w", runID, err)
	}
	defer tx.Rollback()
	args := make([]any, 0, 4*sourceRecordChunk)
	for start := 0; start < len(recs); start += sourceRecordChunk {
		chunk := recs[start:min(start+sourceRecordChunk, len(recs))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, runID, r.Row, r.RecordID, r.OriginID)
		}
		query := `INSERT INTO source_records (run_id, row_no, record_id, origin_id) VALUES ` +
			strings.Repeat("(?, ?, ?, ?), ", len(chunk)-1) + "(?, ?, ?, ?)" +
			` ON CONFLICT (run_id, row_no) DO UPDATE SET record_id = excluded.record_id, origin_id = excluded.origin_id`
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("record source records of run %d: %w", runID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record source records of run %d: %w", runID, err)
	}
	return nil
}

// FindLeadEmailsByBusinessID returns, for each of the business IDs, the e-mail addresses of
// the leads that have it. IDs no lead has are absent from the result.
func (db *DB) FindLeadEmailsByBusinessID(ctx context.Context, ids []string) (map[string][]string, error) {
	found := map[string][]string{}
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := db.sql.QueryContext(ctx, `SELECT business_id, email FROM leads
			WHERE business_id <> '' AND business_id IN (?`+strings.Repeat(", ?", len(part)-1)+`)
			ORDER BY id`, args...)
		if err != nil {
			return nil, fmt.Errorf("find leads by business ID: %w", err)
		}
		for rows.Next() {
			var id, email string
			if err := rows.Scan(&id, &email); err != nil {
				rows.Close()
				return nil, fmt.Errorf("find leads by business ID: %w", err)
			}
			found[id] = append(found[id], email)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("find leads by business ID: %w", err)
		}
	}
	return found, nil
}
