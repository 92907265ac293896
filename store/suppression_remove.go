package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/leadmailer/leadmailer"
)

// FindSuppression returns the suppression record with the hash, as EntryHash gives it.
func (db *DB) FindSuppression(ctx context.Context, hash string) (*Suppression, error) {
	var found *Suppression
	err := db.findSuppressions(ctx, `WHERE hash = ?`, []any{hash}, func(s *Suppression) error {
		found = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "that is not on the suppression list")
	}
	return found, nil
}

// RemoveSuppression takes an administrator's entry off the suppression list and returns it.
// An objection (an unsubscribe link or a spam complaint) is kept for ever, and so is an
// erasure's entry, the only thing that keeps an import from bringing the erased person back:
// removing either fails with ECONFLICT. The leads the entry made inactive stay inactive; each
// is reactivated on its own, by someone who knows why it may be mailed again.
func (db *DB) RemoveSuppression(ctx context.Context, e SuppressionEntry) (*Suppression, error) {
	hash, err := db.EntryHash(e)
	if err != nil {
		return nil, err
	}
	var removed *Suppression
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var origin string
		err := tx.QueryRowContext(ctx, `SELECT origin FROM suppressions WHERE hash = ?`, hash).Scan(&origin)
		if errors.Is(err, sql.ErrNoRows) {
			return leadmailer.Errorf(leadmailer.ENOTFOUND, "that %s is not on the suppression list", kindName(e.Kind))
		}
		if err != nil {
			return err
		}
		switch origin {
		case OriginObjection:
			return leadmailer.Errorf(leadmailer.ECONFLICT, "that %s is suppressed because the person objected to direct marketing (an unsubscribe or a spam complaint): an objection is kept for ever and cannot be removed", kindName(e.Kind))
		case OriginErasure:
			return leadmailer.Errorf(leadmailer.ECONFLICT, "that %s is suppressed because the person's data was erased on request: the entry keeps imports from bringing them back and cannot be removed", kindName(e.Kind))
		}
		removed, err = scanSuppression(tx.QueryRowContext(ctx, `SELECT hash, kind, origin, reason, coalesce(campaign_id, 0), created_at
			FROM suppressions WHERE hash = ?`, hash))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM suppressions WHERE hash = ?`, hash)
		return err
	})
	if err != nil {
		if leadmailer.ErrorCode(err) != leadmailer.EINTERNAL {
			return nil, err
		}
		return nil, fmt.Errorf("remove suppression: %w", err)
	}
	return removed, nil
}

func scanSuppression(row *sql.Row) (*Suppression, error) {
	var s Suppression
	var created string
	if err := row.Scan(&s.Hash, &s.Kind, &s.Origin, &s.Reason, &s.CampaignID, &created); err != nil {
		return nil, err
	}
	var err error
	s.CreatedAt, err = parseTime(created)
	return &s, err
}

// kindName is a suppression kind as a message says it.
func kindName(kind string) string {
	if kind == SuppressBusinessID {
		return "business ID"
	}
	return kind
}
