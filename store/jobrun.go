package store

import (
	"context"
	"database/sql"
	"errors"
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

// JobRunning is the mark of a scheduled job's run going on: which occurrence, in which
// process, since when, and until when the mark holds unless renewed.
type JobRunning struct {
	Job        string
	Occurrence time.Time
	By         string
	StartedAt  time.Time
	LeaseUntil time.Time
}

// MarkJobRunning marks the job's occurrence as running in the process named by, for lease,
// and reports whether it could: false, with the mark that holds, while a run of the job is
// going on in any process on the database (its mark not run out). A mark whose lease ran out
// was left by a process that died, and is taken over. The check and the mark are one
// statement, so that of two processes starting the job at once one gets it.
func (db *DB) MarkJobRunning(ctx context.Context, job string, occurrence time.Time, by string, lease time.Duration) (bool, JobRunning, error) {
	now := db.now()
	res, err := db.sql.ExecContext(ctx, `INSERT INTO job_running (job, occurrence, held_by, started_at, lease_until)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (job) DO UPDATE SET occurrence = excluded.occurrence, held_by = excluded.held_by,
			started_at = excluded.started_at, lease_until = excluded.lease_until
		WHERE job_running.lease_until < ?`,
		job, formatTime(occurrence), by, formatTime(now), formatTime(now.Add(lease)), formatTime(now))
	if err != nil {
		return false, JobRunning{}, fmt.Errorf("mark %s running: %w", job, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, JobRunning{}, fmt.Errorf("mark %s running: %w", job, err)
	} else if n == 1 {
		return true, JobRunning{}, nil
	}
	held := JobRunning{Job: job}
	var occ, started, until string
	err = db.sql.QueryRowContext(ctx, `SELECT occurrence, held_by, started_at, lease_until FROM job_running WHERE job = ?`,
		job).Scan(&occ, &held.By, &started, &until)
	if errors.Is(err, sql.ErrNoRows) {
		// Released since the insert met it: this turn is skipped all the same, as it is
		// when the run ends just after the job is due.
		return false, held, nil
	}
	if err != nil {
		return false, JobRunning{}, fmt.Errorf("mark %s running: %w", job, err)
	}
	for _, t := range []struct {
		s  string
		to *time.Time
	}{{occ, &held.Occurrence}, {started, &held.StartedAt}, {until, &held.LeaseUntil}} {
		if *t.to, err = parseTime(t.s); err != nil {
			return false, JobRunning{}, fmt.Errorf("mark %s running: %w", job, err)
		}
	}
	return false, held, nil
}

// RenewJobRunning extends by's mark of the job's occurrence to lease from now, and reports
// whether the mark was still by's: false means it ran out and another process took it over.
func (db *DB) RenewJobRunning(ctx context.Context, job string, occurrence time.Time, by string, lease time.Duration) (bool, error) {
	res, err := db.sql.ExecContext(ctx, `UPDATE job_running SET lease_until = ?
		WHERE job = ? AND occurrence = ? AND held_by = ?`,
		formatTime(db.now().Add(lease)), job, formatTime(occurrence), by)
	if err != nil {
		return false, fmt.Errorf("renew the running mark of %s: %w", job, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("renew the running mark of %s: %w", job, err)
	}
	return n == 1, nil
}

// EndJobRunning removes by's mark of the job's occurrence once its run has returned, so that
// the job's next occurrence may start in any process. A mark taken over is left to its holder.
func (db *DB) EndJobRunning(ctx context.Context, job string, occurrence time.Time, by string) error {
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM job_running WHERE job = ? AND occurrence = ? AND held_by = ?`,
		job, formatTime(occurrence), by); err != nil {
		return fmt.Errorf("end the running mark of %s: %w", job, err)
	}
	return nil
}

// JobMarks are the running marks of the process named By, in the form the scheduler asks
// for them (scheduler.Marks).
type JobMarks struct {
	DB *DB
	By string
}

// Mark is MarkJobRunning, naming the holder of a mark that holds.
func (m JobMarks) Mark(ctx context.Context, job string, occurrence time.Time, lease time.Duration) (bool, string, error) {
	ok, held, err := m.DB.MarkJobRunning(ctx, job, occurrence, m.By, lease)
	return ok, held.By, err
}

// Renew is RenewJobRunning.
func (m JobMarks) Renew(ctx context.Context, job string, occurrence time.Time, lease time.Duration) (bool, error) {
	return m.DB.RenewJobRunning(ctx, job, occurrence, m.By, lease)
}

// End is EndJobRunning.
func (m JobMarks) End(ctx context.Context, job string, occurrence time.Time) error {
	return m.DB.EndJobRunning(ctx, job, occurrence, m.By)
}
