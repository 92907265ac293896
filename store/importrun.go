package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/leadmailer/leadmailer"
)

const runColumns = `id, source, kind, file_name, file_sha256, actor, started_at, heartbeat_at,
	finished_at, CASE WHEN not_modified = 1 THEN 'unchanged' ELSE status END, error, rows_read,
	inserted, updated, unchanged, rejected, suppressed, duplicates, skipped, unmapped`

func scanRun(row interface{ Scan(...any) error }) (*leadmailer.ImportRun, error) {
	var r leadmailer.ImportRun
	var started, heartbeat, unmapped string
	var finished sql.NullString
	c := &r.Counts
	if err := row.Scan(&r.ID, &r.Source, &r.Kind, &r.FileName, &r.FileSHA256, &r.Actor, &started,
		&heartbeat, &finished, &r.Status, &r.Error, &c.Read, &c.Inserted, &c.Updated, &c.Unchanged,
		&c.Rejected, &c.Suppressed, &c.Duplicates, &c.Skipped, &unmapped); err != nil {
		return nil, err
	}
	var err error
	if r.StartedAt, err = parseTime(started); err != nil {
		return nil, err
	}
	if r.HeartbeatAt, err = parseTime(heartbeat); err != nil {
		return nil, err
	}
	if r.FinishedAt, err = nullTime(finished); err != nil {
		return nil, err
	}
	if unmapped != "" {
		r.Unmapped = strings.Split(unmapped, "\n")
	}
	return &r, nil
}

// FindImportRun returns one import run.
func (db *DB) FindImportRun(ctx context.Context, id int64) (*leadmailer.ImportRun, error) {
	r, err := scanRun(db.sql.QueryRowContext(ctx, `SELECT `+runColumns+` FROM import_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no import run %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find import run %d: %w", id, err)
	}
	return r, nil
}

// FindImportRuns returns the most recent runs, newest first; source "" means every source.
func (db *DB) FindImportRuns(ctx context.Context, source string, limit int) ([]*leadmailer.ImportRun, error) {
	query := `SELECT ` + runColumns + ` FROM import_runs`
	var args []any
	if source != "" {
		query += ` WHERE source = ?`
		args = append(args, source)
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find import runs: %w", err)
	}
	defer rows.Close()
	var runs []*leadmailer.ImportRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("find import runs: %w", err)
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}
