package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
)

// WebsiteSource is the source name of leads that came through the website's query form.
const WebsiteSource = "website"

// WebsiteQuery is what a query submitted on the company's website brings besides the lead's
// fields: what the privacy policy says is collected (time, IP address, browser) and the
// marketing consent when the box was ticked.
type WebsiteQuery struct {
	ReceivedAt time.Time `json:"received_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Message    string    `json:"message"`
	// ConsentVersion is the version of the consent text the person ticked; empty when the
	// box was left empty.
	ConsentVersion string `json:"consent_version,omitempty"`
	RunID          int64  `json:"run_id"`
}

// RecordWebsiteQuery stores one website query: the lead's fields go through an import run of
// kind website of its own (one run per query, so the provenance of each value names the query
// that supplied it, at its exact time), then the query's data, the consent if given, and the
// activity that keeps the lead active. It returns the lead's ID, or 0, storing nothing of the
// query, when the address is suppressed: an objector is never re-added, not even by their own
// query.
func (db *DB) RecordWebsiteQuery(ctx context.Context, row leadmailer.ImportRow, q WebsiteQuery) (int64, error) {
	run := &leadmailer.ImportRun{Source: WebsiteSource, Kind: leadmailer.KindWebsite, Actor: "website"}
	w, err := db.BeginImport(ctx, run, false)
	if err != nil {
		return 0, err
	}
	row.EmailHash = w.SuppressionHash(row.Values[leadmailer.FieldEmail])
	row.Row = 1
	counts, err := w.WriteBatch(ctx, []leadmailer.ImportRow{row}, leadmailer.ImportCounts{Read: 1})
	status, msg := leadmailer.RunCompleted, ""
	if err != nil {
		status, msg = leadmailer.RunFailed, err.Error()
	}
	if _, ferr := w.Finish(ctx, status, msg); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return 0, fmt.Errorf("website query: %w", err)
	}
	if counts.Suppressed > 0 {
		return 0, nil
	}
	now := formatTime(q.ReceivedAt)
	var leadID int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT id FROM leads WHERE email = ?`, row.Values[leadmailer.FieldEmail]).Scan(&leadID); err != nil {
			return err
		}
		var consent any
		if q.ConsentVersion != "" {
			consent = q.ConsentVersion
			if _, err := tx.ExecContext(ctx, `INSERT INTO consents (lead_id, purpose, text_version, given_at, run_id)
				VALUES (?, 'marketing', ?, ?, ?)`, leadID, q.ConsentVersion, now, run.ID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO website_queries
			(lead_id, run_id, received_at, ip, user_agent, message, consent_version)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, leadID, run.ID, now, q.IP, q.UserAgent, q.Message, consent); err != nil {
			return err
		}
		// The person contacted us: the relationship is alive again.
		_, err := tx.ExecContext(ctx, `UPDATE leads SET activity_at = ?, state = 'active', inactive_since = NULL
			WHERE id = ?`, now, leadID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("website query: %w", err)
	}
	return leadID, nil
}

// FindWebsiteQueries returns the queries a lead submitted, oldest first.
func (db *DB) FindWebsiteQueries(ctx context.Context, leadID int64) ([]WebsiteQuery, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT received_at, ip, user_agent, message, coalesce(consent_version, ''), run_id
		FROM website_queries WHERE lead_id = ? ORDER BY received_at, id`, leadID)
	if err != nil {
		return nil, fmt.Errorf("find website queries of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	var qs []WebsiteQuery
	for rows.Next() {
		var q WebsiteQuery
		var at string
		if err := rows.Scan(&at, &q.IP, &q.UserAgent, &q.Message, &q.ConsentVersion, &q.RunID); err != nil {
			return nil, err
		}
		if q.ReceivedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		qs = append(qs, q)
	}
	return qs, rows.Err()
}
