package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/leadmailer/leadmailer"
)

// FindRecipientsPage returns up to limit ledger rows of the campaign with an ID above
// afterID, in ID order, with the lead's current address (empty when erased); status ""
// means every row. Pages follow one another by the last row's ID, so a page deep in a
// campaign of a million recipients costs what the first does.
func (db *DB) FindRecipientsPage(ctx context.Context, campaignID int64, status leadmailer.RecipientStatus, afterID int64, limit int) ([]*leadmailer.Recipient, error) {
	query := `SELECT r.id, r.campaign_id, r.lead_id, coalesce(l.email, ''), r.status, r.reason, r.attempts,
		r.last_reply, r.message_id, r.queued_at, r.sending_at, r.done_at
		FROM campaign_recipients r LEFT JOIN leads l ON l.id = r.lead_id
		WHERE r.campaign_id = ? AND r.id > ?`
	args := []any{campaignID, afterID}
	if status != "" {
		query += ` AND r.status = ?`
		args = append(args, status)
	}
	rows, err := db.sql.QueryContext(ctx, query+` ORDER BY r.id LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("campaign %d recipients: %w", campaignID, err)
	}
	defer rows.Close()
	var out []*leadmailer.Recipient
	for rows.Next() {
		var r leadmailer.Recipient
		var queued string
		var sending, done sql.NullString
		if err := rows.Scan(&r.ID, &r.CampaignID, &r.LeadID, &r.Email, &r.Status, &r.Reason, &r.Attempts,
			&r.LastReply, &r.MessageID, &queued, &sending, &done); err != nil {
			return nil, fmt.Errorf("campaign %d recipients: %w", campaignID, err)
		}
		if r.QueuedAt, err = parseTime(queued); err != nil {
			return nil, err
		}
		if r.SendingAt, err = nullTime(sending); err != nil {
			return nil, err
		}
		if r.DoneAt, err = nullTime(done); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}
