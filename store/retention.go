package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
)

// RetentionFacts is what the retention policy weighs for one lead: its state and the times of
// its activities.
type RetentionFacts struct {
	LeadID        int64
	State         leadmailer.LeadState
	CreatedAt     time.Time
	InactiveSince *time.Time
	// ActivityAt is the last activity other than an import observation: a website query or
	// a reactivation.
	ActivityAt *time.Time
	// LastSentAt is when a campaign message to the lead was last accepted by the mail
	// server, nil when none was.
	LastSentAt *time.Time
	// LastObserved holds, per source, when an import last observed the lead.
	LastObserved map[string]time.Time
}

// FindRetentionFacts calls fn with the facts of every lead, in ID order. It reads one
// aggregate per lead and source, in one pass over the provenance index. fn must not use the
// database. A send is the newest ledger row of the lead with status sent, found through the
// ledger's index by lead.
func (db *DB) FindRetentionFacts(ctx context.Context, fn func(*RetentionFacts) error) error {
	rows, err := db.sql.QueryContext(ctx, `SELECT l.id, l.state, l.created_at, l.inactive_since, l.activity_at,
			(SELECT max(s.done_at) FROM campaign_recipients s WHERE s.lead_id = l.id AND s.status = 'sent'),
			r.source, max(r.started_at)
		FROM leads l
		LEFT JOIN observations o ON o.lead_id = l.id
		LEFT JOIN import_runs r ON r.id = o.run_id
		GROUP BY l.id, r.source
		ORDER BY l.id`)
	if err != nil {
		return fmt.Errorf("find retention facts: %w", err)
	}
	defer rows.Close()
	var cur *RetentionFacts
	for rows.Next() {
		var id int64
		var state, created string
		var since, activity, sent, source, observed sql.NullString
		if err := rows.Scan(&id, &state, &created, &since, &activity, &sent, &source, &observed); err != nil {
			return fmt.Errorf("find retention facts: %w", err)
		}
		if cur == nil || cur.LeadID != id {
			if cur != nil {
				if err := fn(cur); err != nil {
					return err
				}
			}
			cur = &RetentionFacts{LeadID: id, State: leadmailer.LeadState(state), LastObserved: map[string]time.Time{}}
			if cur.CreatedAt, err = parseTime(created); err != nil {
				return err
			}
			if cur.InactiveSince, err = nullTime(since); err != nil {
				return err
			}
			if cur.ActivityAt, err = nullTime(activity); err != nil {
				return err
			}
			if cur.LastSentAt, err = nullTime(sent); err != nil {
				return err
			}
		}
		if source.Valid && observed.Valid {
			t, err := parseTime(observed.String)
			if err != nil {
				return err
			}
			cur.LastObserved[source.String] = t
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find retention facts: %w", err)
	}
	if cur != nil {
		return fn(cur)
	}
	return nil
}

// retentionChunk is how many leads one retention transaction changes: small enough that an
// import waiting for the write lock is not held up for long.
const retentionChunk = 1000

// MarkInactive makes active leads inactive as of at. Leads already inactive keep their date,
// or get at when they have none. It returns how many leads it changed.
func (db *DB) MarkInactive(ctx context.Context, ids []int64, at time.Time) (int64, error) {
	var n int64
	for start := 0; start < len(ids); start += retentionChunk {
		chunk := ids[start:min(start+retentionChunk, len(ids))]
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, `UPDATE leads SET state = 'inactive',
				inactive_since = coalesce(inactive_since, ?), updated_at = ?
				WHERE id = ? AND (state = 'active' OR inactive_since IS NULL)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, id := range chunk {
				res, err := stmt.ExecContext(ctx, formatTime(at), formatTime(db.now()), id)
				if err != nil {
					return err
				}
				m, _ := res.RowsAffected()
				n += m
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("mark leads inactive: %w", err)
		}
	}
	return n, nil
}

// Deletion counts what deleting leads removed.
type Deletion struct {
	Leads          int64 `json:"leads"`
	Observations   int64 `json:"observations"`
	WebsiteQueries int64 `json:"website_queries"`
	Consents       int64 `json:"consents"`
}

// DeleteInactiveLeads deletes the given leads, with their provenance, website queries and
// consents, and the personal fields of their send records, as erasure does, but only those
// still inactive: a lead reactivated since the policy looked at it stays. Their addresses are
// not suppressed: deletion at the end of the retention period is not an objection, and a
// later import may lawfully collect them anew. Their send records keep the recipient hash,
// so that an unsubscribe link used after the deletion still records the objection.
func (db *DB) DeleteInactiveLeads(ctx context.Context, ids []int64) (Deletion, error) {
	var d Deletion
	for start := 0; start < len(ids); start += retentionChunk {
		chunk := ids[start:min(start+retentionChunk, len(ids))]
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var still []int64
			for _, id := range chunk {
				var state string
				err := tx.QueryRowContext(ctx, `SELECT state FROM leads WHERE id = ?`, id).Scan(&state)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return err
				}
				if state == string(leadmailer.LeadInactive) {
					still = append(still, id)
				}
			}
			if err := deleteLeads(ctx, tx, still, &d.Observations, &d.WebsiteQueries, &d.Consents); err != nil {
				return err
			}
			d.Leads += int64(len(still))
			return nil
		})
		if err != nil {
			return d, fmt.Errorf("delete inactive leads: %w", err)
		}
	}
	return d, nil
}

// EndRelationship makes a lead inactive now: the business relationship has ended, so the lead
// is no longer mailed and is deleted once the retention period runs out. A lead already
// inactive keeps its date.
func (db *DB) EndRelationship(ctx context.Context, email string) (*leadmailer.Lead, error) {
	l, err := db.FindLeadByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	now := formatTime(db.now())
	// Ending it again keeps the first date: it must not put off the deletion.
	if _, err := db.sql.ExecContext(ctx, `UPDATE leads SET
		inactive_since = CASE WHEN state = 'inactive' THEN coalesce(inactive_since, ?1) ELSE ?1 END,
		state = 'inactive', updated_at = ?1
		WHERE id = ?2`, now, l.ID); err != nil {
		return nil, fmt.Errorf("end relationship: %w", err)
	}
	return db.FindLeadByEmail(ctx, email)
}

// ReactivateLead makes an inactive lead active again and counts it as activity, so the
// inactivity period starts afresh. A suppressed address cannot be reactivated: the person
// objected, or an administrator barred the organisation.
func (db *DB) ReactivateLead(ctx context.Context, email string) (*leadmailer.Lead, error) {
	l, err := db.FindLeadByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	found, err := db.CheckSuppression(ctx, l.Email, l.BusinessID)
	if err != nil {
		return nil, err
	}
	if len(found) > 0 {
		return nil, leadmailer.Errorf(leadmailer.ECONFLICT,
			"%s is on the suppression list (%s, %s since %s): a suppressed lead is never mailed again, so it stays inactive",
			l.Email, found[0].Kind, found[0].Origin, found[0].CreatedAt.Format("2006-01-02"))
	}
	now := formatTime(db.now())
	if _, err := db.sql.ExecContext(ctx, `UPDATE leads SET state = 'active', inactive_since = NULL,
		activity_at = ?, updated_at = ? WHERE id = ?`, now, now, l.ID); err != nil {
		return nil, fmt.Errorf("reactivate lead: %w", err)
	}
	return db.FindLeadByEmail(ctx, email)
}

// rejectsChunk is how many rejected rows one retention statement deletes: few enough that an
// import waiting for the write lock is not held up for long.
const rejectsChunk = 5000

// CountImportRejectsBefore counts the rows imports rejected before before: what
// DeleteImportRejectsBefore would delete.
func (db *DB) CountImportRejectsBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM import_rejects WHERE created_at < ?`,
		formatTime(before)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count rejected rows: %w", err)
	}
	return n, nil
}

// DeleteImportRejectsBefore deletes the rows imports rejected before before, at the end of
// their retention period (retention.rejects), rejectsChunk rows at a time, and returns how
// many it deleted. Their import runs stay, with their counts.
func (db *DB) DeleteImportRejectsBefore(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := db.sql.ExecContext(ctx, `DELETE FROM import_rejects WHERE id IN
			(SELECT id FROM import_rejects WHERE created_at < ? LIMIT ?)`, formatTime(before), rejectsChunk)
		if err != nil {
			return total, fmt.Errorf("delete rejected rows: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("delete rejected rows: %w", err)
		}
		total += n
		if n < rejectsChunk {
			return total, nil
		}
	}
}
