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

// WebsiteSource is the source name of leads that came through the website's query form.
const WebsiteSource = "website"

// WebsiteQuery is what a query submitted on the company's website brings besides the lead's
// fields: what the privacy policy says is collected (time, IP address, browser) and the
// marketing consent asked for when the box was ticked.
type WebsiteQuery struct {
	ReceivedAt time.Time `json:"received_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Message    string    `json:"message"`
	// ConsentVersion is the version of the consent text the person ticked; empty when the
	// box was left empty. Ticking it records no consent: it asks for one, which the person
	// confirms from a mail (see ConfirmConsent).
	ConsentVersion string `json:"consent_version,omitempty"`
	RunID          int64  `json:"run_id"`
}

// WebsiteQueryResult says what RecordWebsiteQuery stored.
type WebsiteQueryResult struct {
	// LeadID is the lead the query is about; 0 when the address is suppressed and nothing
	// was stored.
	LeadID int64
	// Created is true when the query created the lead.
	Created bool
	// ConsentRequestID names the consent asked for, waiting for confirmation; 0 when the
	// consent box was not ticked.
	ConsentRequestID int64
}

// RecordWebsiteQuery stores one website query in one transaction: an import run of kind
// website of its own (so the provenance of each value names the query that supplied it, at
// its exact time), an observation with every value as received, the query's data, and the
// consent request when the box was ticked.
//
// Anyone can post the form with anyone's address, so a query is weaker evidence than the
// sources a lead already has: it creates a lead that does not exist, and of an existing lead
// it fills only the fields that are empty. It never overwrites a value, never changes a
// lead's state (an inactive lead stays inactive), and records no consent. It stores nothing
// when the address is suppressed, by itself, its domain or the business ID: an objector is
// never re-added, not even by their own query.
func (db *DB) RecordWebsiteQuery(ctx context.Context, row leadmailer.ImportRow, q WebsiteQuery) (WebsiteQueryResult, error) {
	var res WebsiteQueryResult
	email := row.Values[leadmailer.FieldEmail]
	if email == "" {
		return res, leadmailer.Errorf(leadmailer.EINVALID, "website query without an e-mail address")
	}
	row.Supplied = row.Supplied.With(leadmailer.FieldEmail)
	at := formatTime(q.ReceivedAt)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		lead, err := scanLead(tx.QueryRowContext(ctx, `SELECT `+leadColumns+` FROM leads l WHERE l.email = ?`, email))
		if errors.Is(err, sql.ErrNoRows) {
			lead, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("find lead: %w", err)
		}
		businessIDs := []string{row.Values[leadmailer.FieldBusinessID]}
		if lead != nil {
			businessIDs = append(businessIDs, lead.BusinessID)
		}
		if suppressed, err := db.suppressedInTx(ctx, tx, email, businessIDs); err != nil || suppressed {
			return err
		}

		// The run is recorded finished: it is one row written in this transaction.
		counts := leadmailer.ImportCounts{Read: 1}
		var filled []leadmailer.Field
		if lead == nil {
			counts.Inserted = 1
		} else {
			for _, f := range row.Supplied.Fields() {
				if f != leadmailer.FieldEmail && row.Values[f] != "" && lead.Value(f) == "" {
					filled = append(filled, f)
				}
			}
			if len(filled) > 0 {
				counts.Updated = 1
			} else {
				counts.Unchanged = 1
			}
		}
		var runID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO import_runs (source, kind, actor, started_at,
				heartbeat_at, finished_at, status, rows_read, inserted, updated, unchanged)
			VALUES (?, ?, 'website', ?, ?, ?, ?, 1, ?, ?, ?) RETURNING id`,
			WebsiteSource, leadmailer.KindWebsite, at, at, at, leadmailer.RunCompleted,
			counts.Inserted, counts.Updated, counts.Unchanged).Scan(&runID); err != nil {
			return fmt.Errorf("record run: %w", err)
		}

		if lead == nil {
			res.LeadID, err = insertWebsiteLead(ctx, tx, row, runID, at)
			if err != nil {
				return fmt.Errorf("create lead: %w", err)
			}
			res.Created = true
		} else {
			res.LeadID = lead.ID
			if err := fillEmptyFields(ctx, tx, lead.ID, row, filled, runID, at); err != nil {
				return fmt.Errorf("fill lead %d: %w", lead.ID, err)
			}
		}
		// Every value goes into the provenance as received, also those that filled nothing:
		// what the form said is kept next to what the lead's other sources say.
		if _, err := tx.ExecContext(ctx, `INSERT INTO observations (lead_id, run_id, row_no, fields, received)
			VALUES (?, ?, 1, ?, ?)`, res.LeadID, runID, row.Supplied, row.Received.Encode(row.Supplied)); err != nil {
			return fmt.Errorf("record provenance: %w", err)
		}
		var consent any
		if q.ConsentVersion != "" {
			consent = q.ConsentVersion
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO website_queries
			(lead_id, run_id, received_at, ip, user_agent, message, consent_version)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, res.LeadID, runID, at, q.IP, q.UserAgent, q.Message, consent); err != nil {
			return fmt.Errorf("record query: %w", err)
		}
		if q.ConsentVersion != "" {
			if err := tx.QueryRowContext(ctx, `INSERT INTO consent_requests (lead_id, run_id, text_version, requested_at)
				VALUES (?, ?, ?, ?) RETURNING id`, res.LeadID, runID, q.ConsentVersion, at).Scan(&res.ConsentRequestID); err != nil {
				return fmt.Errorf("record consent request: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return WebsiteQueryResult{}, fmt.Errorf("website query: %w", err)
	}
	return res, nil
}

// insertWebsiteLead creates the lead a query is the first source of. Its activity is the
// query; each value it holds names the query's run.
func insertWebsiteLead(ctx context.Context, tx *sql.Tx, row leadmailer.ImportRow, runID int64, at string) (int64, error) {
	cols := []string{"first_run_id", "state", "created_at", "updated_at", "activity_at"}
	args := []any{runID, leadmailer.LeadActive, at, at, at}
	for _, f := range row.Supplied.Fields() {
		if row.Values[f] == "" {
			continue
		}
		cols = append(cols, f.String(), f.String()+"_run")
		args = append(args, row.Values[f], runID)
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO leads (`+strings.Join(cols, ", ")+`)
		VALUES (?`+strings.Repeat(", ?", len(cols)-1)+`) RETURNING id`, args...).Scan(&id)
	return id, err
}

// fillEmptyFields writes the query's values of the fields the lead has empty. The
// transaction holds the write lock from its start (_txlock=immediate), so nothing changed
// since the lead was read; the condition on the stored value states the rule in the
// statement itself, so that no later change to the caller can make it overwrite.
func fillEmptyFields(ctx context.Context, tx *sql.Tx, leadID int64, row leadmailer.ImportRow, fields []leadmailer.Field, runID int64, at string) error {
	for _, f := range fields {
		c := f.String()
		if _, err := tx.ExecContext(ctx, `UPDATE leads SET `+c+` = ?, `+c+`_run = ?, updated_at = ?
			WHERE id = ? AND `+c+` = ''`, row.Values[f], runID, at, leadID); err != nil {
			return err
		}
	}
	return nil
}

// suppressedInTx reports whether the address, its domain or one of the business IDs is
// suppressed, reading inside tx so that no suppression slips in before the write.
func (db *DB) suppressedInTx(ctx context.Context, tx *sql.Tx, email string, businessIDs []string) (bool, error) {
	org := newOrgCheck(db.suppressionKey)
	var hashes []any
	for _, id := range businessIDs {
		for _, h := range coveringHashes(org, nil, email, id) {
			hashes = append(hashes, h)
		}
	}
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM suppressions WHERE hash IN (?`+
		strings.Repeat(", ?", len(hashes)-1)+`)`, hashes...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check suppression list: %w", err)
	}
	return n > 0, nil
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
