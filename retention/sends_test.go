package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/retention"
	"github.com/leadmailer/leadmailer/store"
)

// send records, at the fixture's current time, the campaign's message to each address as
// accepted by the mail server.
func (f *fixture) send(t *testing.T, c *leadmailer.Campaign, emails ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	ps, err := f.db.FindPending(ctx, c.ID, 0, f.now, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, e := range emails {
		want[e] = true
	}
	var updates []store.LedgerUpdate
	for _, p := range ps {
		if p.Lead != nil && want[p.Lead.Email] {
			updates = append(updates,
				store.LedgerUpdate{RecipientID: p.RecipientID, Status: leadmailer.RecipientSending, MessageID: "m@x", RecipientHash: p.RecipientHash},
				store.LedgerUpdate{RecipientID: p.RecipientID, Status: leadmailer.RecipientSent, Attempts: 1,
					Reply: "250 2.0.0 Ok: queued for <" + p.Lead.Email + ">"})
		}
	}
	l, err := f.db.OpenLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(ctx, updates); err != nil {
		t.Fatal(err)
	}
}

// TestSendIsActivityAndDeletionKeepsTheObjection: a message sent keeps a lead active for
// inactive_after; once retention deletes the lead, the campaign's totals stay, the reply that
// quoted the address is gone, and the unsubscribe link of the message still suppresses the
// address, so a later import does not bring the person back.
func TestSendIsActivityAndDeletionKeepsTheObjection(t *testing.T) {
	f := newFixture(t, retention.Policy{Default: retention.Periods{InactiveAfter: 730 * day, DeleteAfter: 365 * day}})
	ctx := context.Background()
	start := f.now
	at := func(d int) { f.now = start.Add(time.Duration(d) * day) }
	f.observe(t, "crm", "mailed@a.example", "quiet@a.example")
	mailed, _ := f.db.FindLeadByEmail(ctx, "mailed@a.example")

	at(500)
	c := &leadmailer.Campaign{Name: "autumn", Subject: "Hi", HTML: "<p>Hi</p>", State: leadmailer.CampaignDraft, CreatedBy: "test"}
	if err := f.db.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	f.send(t, c, "mailed@a.example")

	at(730)
	f.apply(t, false)
	f.wantStates(t, "day 730", map[string]leadmailer.LeadState{"mailed@a.example": "active", "quiet@a.example": "inactive"})
	at(1229)
	f.apply(t, false)
	f.wantStates(t, "day 1229", map[string]leadmailer.LeadState{"mailed@a.example": "active"})
	at(1230) // 730 days after the send
	f.apply(t, false)
	f.wantStates(t, "day 1230", map[string]leadmailer.LeadState{"mailed@a.example": "inactive"})
	at(1595)
	if rep := f.apply(t, false); rep.Removed.Leads != 1 {
		t.Fatalf("day 1595: removed %+v, want the mailed lead", rep.Removed)
	}

	rep, err := f.db.CampaignReport(ctx, c.ID)
	if err != nil || rep.Total != 2 || rep.Sent != 1 {
		t.Errorf("report after deletion = %+v, %v; want 2 rows, 1 sent", rep, err)
	}
	err = f.db.FindRecipients(ctx, c.ID, leadmailer.RecipientSent, func(r *leadmailer.Recipient) error {
		if r.Email != "" || r.LastReply != "" || r.LeadID != mailed.ID {
			t.Errorf("send record after deletion = %+v, want lead %d without address or reply", r, mailed.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found, _ := f.db.CheckSuppression(ctx, "mailed@a.example", ""); len(found) != 0 {
		t.Fatalf("deletion suppressed the address: %+v", found)
	}

	// The person uses the link of the message sent on day 500.
	at(1600)
	if err := f.db.ObjectLead(ctx, c.ID, mailed.ID); err != nil {
		t.Fatal(err)
	}
	found, err := f.db.CheckSuppression(ctx, "MAILED@a.example", "")
	if err != nil || len(found) != 1 || found[0].Origin != store.OriginObjection || found[0].CampaignID != c.ID {
		t.Fatalf("suppression after the late objection = %+v, %v; want one objection from campaign %d", found, err, c.ID)
	}
	f.observe(t, "registry", "mailed@a.example")
	if _, err := f.db.FindLeadByEmail(ctx, "mailed@a.example"); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		t.Errorf("a re-import after the objection brought the lead back: %v", err)
	}
}

// TestRetentionFactsCountOnlyAcceptedSends: a failed or skipped send is no activity.
func TestRetentionFactsCountOnlyAcceptedSends(t *testing.T) {
	f := newFixture(t, retention.Policy{Default: retention.Periods{InactiveAfter: 730 * day, DeleteAfter: 365 * day}})
	ctx := context.Background()
	f.observe(t, "crm", "sent@a.example", "never@a.example")
	c := &leadmailer.Campaign{Name: "x", Subject: "Hi", HTML: "<p>Hi</p>", State: leadmailer.CampaignDraft, CreatedBy: "test"}
	if err := f.db.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(10 * day)
	f.send(t, c, "sent@a.example")
	sentAt := map[int64]*time.Time{}
	err := f.db.FindRetentionFacts(ctx, func(r *store.RetentionFacts) error {
		sentAt[r.LeadID] = r.LastSentAt
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sent, _ := f.db.FindLeadByEmail(ctx, "sent@a.example")
	never, _ := f.db.FindLeadByEmail(ctx, "never@a.example")
	if got := sentAt[sent.ID]; got == nil || !got.Equal(f.now) {
		t.Errorf("LastSentAt of the mailed lead = %v, want %v", got, f.now)
	}
	if got := sentAt[never.ID]; got != nil {
		t.Errorf("LastSentAt of a lead only queued = %v, want nil", got)
	}
}
