package store

import (
	"context"
	"fmt"
	"time"
)

// jobRunsKept is how long claims of past occurrences are kept: long enough for a process
// whose clock or schedule lags to find the claim of an occurrence it fires late.
const jobRunsKept = 7 * 24 * time.Hour

// ClaimJobRun claims the occurrence of the scheduled job for the process named by, and
// reports whether it was won: exactly one caller of each (job, occurrence) gets true,
// whichever process or database it runs on, since the claim is one insert of a primary key.
func (db *DB) ClaimJobRun(ctx context.Context, job string, occurrence time.Time, by string) (bool, error) {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM job_runs WHERE job = ? AND occurrence < ?`,
		job, formatTime(occurrence.Add(-jobRunsKept))); err != nil {
		return false, fmt.Errorf("prune runs of %s: %w", job, err)
	}
	now := db.now()
	res, err := db.sql.ExecContext(ctx, `INSERT INTO job_runs (job, occurrence, claimed_by, claimed_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (job, occurrence) DO NOTHING`,
		job, formatTime(occurrence), by, formatTime(now))
	if err != nil {
		return false, fmt.Errorf("claim run of %s at %s: %w", job, formatTime(occurrence), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim run of %s: %w", job, err)
	}
	return n == 1, nil
}
