package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
)

// ConsentConfirmation is the person's confirmation of a consent asked for on the website,
// given from the link in the mail sent to the address.
type ConsentConfirmation struct {
	At time.Time
	// IP is the address the confirmation came from.
	IP string
	// Version is the version of the confirmation's wording (mail and page) the person saw.
	Version string
}

// ConfirmedConsent says what ConfirmConsent recorded.
type ConfirmedConsent struct {
	LeadID      int64
	TextVersion string // the version of the consent text ticked on the form
	// Already is true when the request had been confirmed before: nothing new was recorded.
	Already bool
}

// ConfirmConsent records the marketing consent that consent request requestID asked for,
// with the confirmation's time, IP address and wording version, and counts the confirmation
// as activity of the lead. It does not change the lead's state: an inactive lead is made
// active again by hand. Confirming twice records one consent. A request that does not exist
// (never made, or erased with its lead) is an ENOTFOUND error.
func (db *DB) ConfirmConsent(ctx context.Context, requestID int64, c ConsentConfirmation) (ConfirmedConsent, error) {
	var res ConfirmedConsent
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var runID int64
		var confirmed sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT lead_id, run_id, text_version, confirmed_at
			FROM consent_requests WHERE id = ?`, requestID).Scan(&res.LeadID, &runID, &res.TextVersion, &confirmed)
		if errors.Is(err, sql.ErrNoRows) {
			return leadmailer.Errorf(leadmailer.ENOTFOUND, "no consent request %d", requestID)
		}
		if err != nil {
			return err
		}
		if confirmed.Valid {
			res.Already = true
			return nil
		}
		at := formatTime(c.At)
		if _, err := tx.ExecContext(ctx, `UPDATE consent_requests SET confirmed_at = ? WHERE id = ?`, at, requestID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO consents
			(lead_id, purpose, text_version, given_at, run_id, ip, confirmation_version, request_id)
			VALUES (?, 'marketing', ?, ?, ?, ?, ?, ?)`,
			res.LeadID, res.TextVersion, at, runID, c.IP, c.Version, requestID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE leads SET activity_at = ? WHERE id = ?`, at, res.LeadID)
		return err
	})
	if err != nil {
		return ConfirmedConsent{}, fmt.Errorf("confirm consent request %d: %w", requestID, err)
	}
	return res, nil
}

// PendingConsent is a consent asked for on the website and not yet confirmed.
type PendingConsent struct {
	ID          int64
	TextVersion string
	RequestedAt time.Time
}

// FindPendingConsents returns the lead's consent requests not yet confirmed, oldest first.
func (db *DB) FindPendingConsents(ctx context.Context, leadID int64) ([]PendingConsent, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, text_version, requested_at FROM consent_requests
		WHERE lead_id = ? AND confirmed_at IS NULL ORDER BY id`, leadID)
	if err != nil {
		return nil, fmt.Errorf("find consent requests of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	var out []PendingConsent
	for rows.Next() {
		var p PendingConsent
		var at string
		if err := rows.Scan(&p.ID, &p.TextVersion, &at); err != nil {
			return nil, err
		}
		if p.RequestedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
