package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/leadmailer/leadmailer"
)

// Erasure says what erasing a person removed. It holds no personal data, so it can go into
// the audit trail as it is.
type Erasure struct {
	// LeadID is the erased lead's ID, 0 when no lead had the address.
	LeadID         int64 `json:"lead_id"`
	Observations   int64 `json:"observations"`
	WebsiteQueries int64 `json:"website_queries"`
	Consents       int64 `json:"consents"`
	// Rejects counts the rows imports rejected that carried the address (import_rejects).
	Rejects int64 `json:"rejects"`
	// SuppressionHash is the entry that keeps the address out from now on.
	SuppressionHash string `json:"suppression_hash"`
}

// EraseLead erases everything held about an address (Art. 17): the lead with every field,
// its provenance, its website queries and its consents, and the rows imports rejected that
// carried the address (found by RejectEmailKey), in one transaction. What remains is
// the suppression record, a keyed hash of the address, so that no later import brings the
// person back. An address with no lead is still suppressed, and its rejected rows go: the
// request says the person wants nothing to do with us.
//
// The send ledger keeps one row per message, so that campaign totals stay right, but loses
// its personal fields (see eraseSends) and the recipient hash that tied its rows to the
// address: nothing links the campaigns the person got to the suppression record.
func (db *DB) EraseLead(ctx context.Context, email, reason string) (*Erasure, error) {
	norm, err := leadmailer.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	e := &Erasure{SuppressionHash: db.SuppressionHash(norm)}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO suppressions (hash, kind, origin, reason, created_at)
			VALUES (?, 'address', 'erasure', ?, ?) ON CONFLICT (hash) DO NOTHING`,
			e.SuppressionHash, reason, formatTime(db.now())); err != nil {
			return err
		}
		// Rows of a lead that retention deleted earlier carry the hash too.
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET recipient_hash = ''
			WHERE recipient_hash = ?`, e.SuppressionHash); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM import_rejects WHERE email_hash = ?`, db.rejectEmailHash(norm))
		if err != nil {
			return fmt.Errorf("delete rejected rows: %w", err)
		}
		e.Rejects, _ = res.RowsAffected()
		err = tx.QueryRowContext(ctx, `SELECT id FROM leads WHERE email = ?`, norm).Scan(&e.LeadID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET recipient_hash = ''
			WHERE lead_id = ?`, e.LeadID); err != nil {
			return err
		}
		return deleteLeads(ctx, tx, []int64{e.LeadID}, &e.Observations, &e.WebsiteQueries, &e.Consents)
	})
	if err != nil {
		return nil, fmt.Errorf("erase lead: %w", err)
	}
	return e, nil
}

// deleteLeads deletes leads with everything that refers to them, adding to the counters how
// many provenance rows, website queries and consents went with them. Retention's deletion
// and erasure both come here, so the two can never differ in what they leave behind.
func deleteLeads(ctx context.Context, tx *sql.Tx, ids []int64, observations, queries, consents *int64) error {
	for _, id := range ids {
		for _, d := range []struct {
			query string
			n     *int64
		}{
			{`DELETE FROM observations WHERE lead_id = ?`, observations},
			{`DELETE FROM website_queries WHERE lead_id = ?`, queries},
			{`DELETE FROM consents WHERE lead_id = ?`, consents},
			{`DELETE FROM leads WHERE id = ?`, nil},
		} {
			res, err := tx.ExecContext(ctx, d.query, id)
			if err != nil {
				return fmt.Errorf("delete lead %d: %w", id, err)
			}
			if d.n != nil {
				n, _ := res.RowsAffected()
				*d.n += n
			}
		}
		if err := eraseSends(ctx, tx, id); err != nil {
			return fmt.Errorf("delete lead %d: %w", id, err)
		}
	}
	return nil
}

// eraseSends removes the personal fields of a deleted lead's send records, keeping the rows
// themselves so that campaign totals stay right. The personal field is the mail server's
// last reply, which often quotes the address ("550 5.1.1 <anna@example.fi>: user unknown"),
// and the subject as sent, which a template may have filled with the person's name.
// The status, the skip reason (one of a fixed set, such as "suppressed"), the attempts, the
// dates and the Message-ID (which names the lead by number) stay: they say what the campaign
// did, not who the person was. The recipient hash stays too, so that the unsubscribe link in
// a message sent before the deletion still works (see ObjectLead); erasure removes it.
func eraseSends(ctx context.Context, tx *sql.Tx, leadID int64) error {
	// A mail server's reply, to the send or in a later bounce, often quotes the address.
	if _, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET last_reply = '', bounce_diagnostic = '', subject = ''
		WHERE lead_id = ?`, leadID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE bounces SET diagnostic = '' WHERE lead_id = ?`, leadID)
	return err
}
