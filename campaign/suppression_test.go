package campaign_test

import (
	"context"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/store"
)

// TestRunHonoursOrganisationSuppressionAtSendTime: after the audience is resolved, a whole
// domain and a business ID are suppressed. Their leads are skipped as suppressed and never
// mailed, even one whose state says active again: the suppression list, checked just before
// each message, decides.
func TestRunHonoursOrganisationSuppressionAtSendTime(t *testing.T) {
	const n = 14 // lead0@x0.example ... lead13@x6.example: two leads per domain
	f := newFixture(t, n, 2)
	ctx := context.Background()
	f.exec(t, `UPDATE leads SET business_id = 'FI7654321-0' WHERE email = 'lead2@x2.example'`)
	if _, err := f.db.ResolveAudience(ctx, f.c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetCampaignState(ctx, f.c.ID, leadmailer.CampaignRunning, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetCampaignState(ctx, f.c.ID, leadmailer.CampaignPaused, "check"); err != nil {
		t.Fatal(err)
	}
	for _, e := range []store.SuppressionEntry{
		{Kind: store.SuppressDomain, Value: "@x1.example", Reason: "competitor"},
		{Kind: store.SuppressBusinessID, Value: "fi 7654321-0"},
	} {
		if _, err := f.db.Suppress(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// lead8@x1.example is active again, as after a restore of an older backup.
	f.exec(t, `UPDATE leads SET state = 'active', inactive_since = NULL WHERE email = 'lead8@x1.example'`)

	res := f.run(t, ctx, f.c.ID, campaign.Options{Concurrency: 2})
	suppressed := []string{"lead1@x1.example", "lead8@x1.example", "lead2@x2.example"}
	if res.State != leadmailer.CampaignFinished || res.Sent != n-3 || res.Skipped != 3 {
		t.Fatalf("result = %+v, want finished, %d sent, 3 skipped", res, n-3)
	}
	recs := recipients(t, f.db, f.c.ID)
	for _, email := range suppressed {
		if r := recs[email]; r == nil || r.Status != leadmailer.RecipientSkipped || r.Reason != leadmailer.SkipSuppressed {
			t.Errorf("%s: ledger row %+v, want skipped as suppressed", email, r)
		}
		if got := f.srv.CountRecipient(email); got != 0 {
			t.Errorf("%s received %d messages, want none", email, got)
		}
	}
	if got := f.srv.CountRecipient("lead9@x2.example"); got != 1 {
		t.Errorf("lead9@x2.example, same domain as the suppressed business, received %d messages, want 1", got)
	}
	if f.srv.Count() != n-3 {
		t.Errorf("the server received %d messages, want %d", f.srv.Count(), n-3)
	}
}
