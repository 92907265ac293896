package store

import (
	"context"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
)

// ScheduleCampaign sets a one-off campaign to start at at ("leadmailer serve" starts it at
// its next look after that time): a draft, or a paused campaign, which then continues where
// it stopped. A cron campaign keeps its expression and cannot be given a time.
func (db *DB) ScheduleCampaign(ctx context.Context, id int64, at time.Time) (*leadmailer.Campaign, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	defer tx.Rollback()
	c, err := findCampaign(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case c.Cron != "":
		return nil, leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d runs at %q: it cannot be given a time", id, c.Cron)
	case c.State != leadmailer.CampaignDraft && c.State != leadmailer.CampaignPaused && c.State != leadmailer.CampaignScheduled:
		return nil, leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is %s: only a draft, scheduled or paused campaign can be scheduled", id, c.State)
	}
	at = at.UTC()
	c.SendAt, c.State, c.Reason = &at, leadmailer.CampaignScheduled, ""
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET send_at = ?, state = ?, reason = '' WHERE id = ?`,
		formatTime(at), c.State, id); err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	return c, tx.Commit()
}
