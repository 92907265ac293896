package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
)

// LeadSend is one campaign's ledger row for a lead: what was (or will be) mailed to it.
type LeadSend struct {
	CampaignID   int64
	CampaignName string
	// Subject is the subject as sent to the lead; before a message is sent (and for rows
	// written before subjects were kept) it is the campaign's subject template, and
	// SubjectSent is false.
	Subject     string
	SubjectSent bool
	Status      leadmailer.RecipientStatus
	Reason      string
	Attempts    int
	LastReply   string
	MessageID   string
	QueuedAt    time.Time
	DoneAt      *time.Time
}

// FindLeadSends returns every campaign ledger row of a lead, newest campaign first. The
// ledger has no index by lead alone; the query walks the campaigns, which are few, and finds
// each one's row through the (campaign, lead) key.
func (db *DB) FindLeadSends(ctx context.Context, leadID int64) ([]LeadSend, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT c.id, c.name, c.subject, r.subject, r.status, r.reason, r.attempts,
		r.last_reply, r.message_id, r.queued_at, r.done_at
		FROM campaigns c CROSS JOIN campaign_recipients r
		WHERE r.campaign_id = c.id AND r.lead_id = ?
		ORDER BY c.id DESC`, leadID)
	if err != nil {
		return nil, fmt.Errorf("lead %d sends: %w", leadID, err)
	}
	defer rows.Close()
	var out []LeadSend
	for rows.Next() {
		var s LeadSend
		var queued string
		var done sql.NullString
		var sent string
		if err := rows.Scan(&s.CampaignID, &s.CampaignName, &s.Subject, &sent, &s.Status, &s.Reason, &s.Attempts,
			&s.LastReply, &s.MessageID, &queued, &done); err != nil {
			return nil, fmt.Errorf("lead %d sends: %w", leadID, err)
		}
		if sent != "" {
			s.Subject, s.SubjectSent = sent, true
		}
		if s.QueuedAt, err = parseTime(queued); err != nil {
			return nil, err
		}
		if s.DoneAt, err = nullTime(done); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
