package store_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// sendAll resolves the campaign's audience and records, in the ledger, the outcome given for
// each address (sent or failed, with the mail server's reply). It returns the rows by address.
func sendAll(t *testing.T, db *store.DB, c *leadmailer.Campaign, outcomes map[string]store.LedgerUpdate) map[string]store.Pending {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	ps, err := db.FindPending(ctx, c.ID, 0, time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	byEmail := map[string]store.Pending{}
	var updates []store.LedgerUpdate
	for _, p := range ps {
		byEmail[p.Lead.Email] = p
		u, ok := outcomes[p.Lead.Email]
		if !ok {
			continue
		}
		u.RecipientID, u.LeadID, u.Attempts, u.MessageID = p.RecipientID, p.LeadID, 1, "m@x"
		updates = append(updates, store.LedgerUpdate{RecipientID: p.RecipientID, Status: leadmailer.RecipientSending, MessageID: "m@x",
			RecipientHash: p.RecipientHash, Subject: "An offer for " + p.Lead.Name}, u)
	}
	l, err := db.OpenLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Write(ctx, updates); err != nil {
		t.Fatal(err)
	}
	return byEmail
}

// ledgerRow is what the ledger holds for one recipient, read directly: hash and reply are
// not shown by any command. $1 and $2: both databases read them as the first and second
// argument, where PostgreSQL has no "?".
func ledgerRow(t *testing.T, raw *sql.DB, campaignID, leadID int64) (status, reason, reply, hash string) {
	t.Helper()
	err := raw.QueryRow(`SELECT status, reason, last_reply, recipient_hash FROM campaign_recipients
		WHERE campaign_id = $1 AND lead_id = $2`, campaignID, leadID).Scan(&status, &reason, &reply, &hash)
	if err != nil {
		t.Fatal(err)
	}
	return status, reason, reply, hash
}

// TestEraseKeepsCampaignTotalsAndNothingPersonal: a lead that got a campaign is exported
// (the campaign is listed with its date), then erased; the campaign's totals stay, the send
// record loses the reply that quoted the address and the hash that tied it to the person,
// and the export holds no campaign.
func TestEraseKeepsCampaignTotalsAndNothingPersonal(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			raw := storetest.Raw(t, db)
			importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "dana@delta.example", "name", "Dana Delta"),
				row(3, "email", "olli@omega.example", "name", "Olli Omega"),
			})
			c := newCampaign(t, db, &leadmailer.Campaign{})
			rows := sendAll(t, db, c, map[string]store.LedgerUpdate{
				"dana@delta.example": {Status: leadmailer.RecipientSent, Reply: "250 2.0.0 Ok: queued for <dana@delta.example>"},
				"olli@omega.example": {Status: leadmailer.RecipientFailed, Reply: "550 5.1.1 <olli@omega.example>: user unknown"},
			})
			dana, olli := rows["dana@delta.example"], rows["olli@omega.example"]
			if _, _, _, hash := ledgerRow(t, raw, c.ID, dana.LeadID); hash != db.SuppressionHash("dana@delta.example") {
				t.Errorf("recipient hash of a sent row = %q, want the address's suppression hash", hash)
			}

			x, err := db.ExportLead(ctx, "dana@delta.example")
			if err != nil {
				t.Fatal(err)
			}
			if len(x.Campaigns) != 1 || x.Campaigns[0].CampaignID != c.ID || x.Campaigns[0].Name != "spring" ||
				x.Campaigns[0].Status != "sent" || x.Campaigns[0].SentAt.IsZero() || x.Campaigns[0].Attempts != 1 {
				t.Errorf("export campaigns = %+v, want campaign %d sent with its date", x.Campaigns, c.ID)
			}
			before, err := db.CampaignReport(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}

			if _, err := db.EraseLead(ctx, "dana@delta.example", "request"); err != nil {
				t.Fatal(err)
			}
			after, err := db.CampaignReport(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Total != 2 || after.Sent != 1 || after.Failed != 1 || after.Total != before.Total || after.Sent != before.Sent {
				t.Errorf("report after erasure = %+v, before %+v; want the same totals", after, before)
			}
			status, _, reply, hash := ledgerRow(t, raw, c.ID, dana.LeadID)
			if status != "sent" || reply != "" || hash != "" {
				t.Errorf("erased lead's send record: status %q, reply %q, hash %q; want sent with no reply and no hash", status, reply, hash)
			}
			if _, _, reply, hash := ledgerRow(t, raw, c.ID, olli.LeadID); !strings.Contains(reply, "olli@") || hash == "" {
				t.Errorf("the other lead's send record lost its reply %q or hash %q", reply, hash)
			}
			var personal int
			raw.QueryRow(`SELECT count(*) FROM campaign_recipients WHERE last_reply LIKE '%dana%' OR reason LIKE '%dana%'
				OR subject LIKE '%Dana%'`).Scan(&personal)
			if personal != 0 {
				t.Errorf("%d ledger rows still quote the erased address or name the person", personal)
			}
			var kept int
			raw.QueryRow(`SELECT count(*) FROM campaign_recipients WHERE subject = 'An offer for Olli Omega'`).Scan(&kept)
			if kept != 1 {
				t.Errorf("the other lead's subject as sent is gone (%d rows keep it)", kept)
			}
			x, err = db.ExportLead(ctx, "dana@delta.example")
			if err != nil {
				t.Fatal(err)
			}
			if len(x.Campaigns) != 0 || x.Lead != nil {
				t.Errorf("export after erasure: lead %v, campaigns %+v; want none", x.Lead, x.Campaigns)
			}
			// The old link still answers, and the one suppression record is all there is.
			if err := db.ObjectLead(ctx, c.ID, dana.LeadID); err != nil {
				t.Fatal(err)
			}
			if x, err = db.ExportLead(ctx, "dana@delta.example"); err != nil {
				t.Fatal(err)
			}
			if len(x.Suppressions) != 1 || x.Suppressions[0].Origin != store.OriginErasure {
				t.Errorf("suppressions = %+v, want only the erasure's", x.Suppressions)
			}
		})
	}
}

// TestSendTimeCheckCoversOrganisations: the check just before sending finds the suppression
// of the lead's domain, a parent domain, or business ID, and names suppression as the
// reason even when the lead is inactive too.
func TestSendTimeCheckCoversOrganisations(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			raw := storetest.Raw(t, db)
			importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "anna@sales.acme.example"),
				row(3, "email", "bob@beta.example", "business_id", "FI 1234567-8"),
				row(4, "email", "carl@gamma.example"),
				row(5, "email", "dora@acme.example.org"),
			})
			c := newCampaign(t, db, &leadmailer.Campaign{})
			if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
				t.Fatal(err)
			}
			for _, e := range []store.SuppressionEntry{
				{Kind: store.SuppressDomain, Value: "@acme.example"},
				{Kind: store.SuppressBusinessID, Value: "fi1234567-8"},
			} {
				if _, err := db.Suppress(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			// The state may say active again (a restored backup, an edit by hand): the list decides.
			mustExec(t, raw, `UPDATE leads SET state = 'active', inactive_since = NULL WHERE email = 'anna@sales.acme.example'`)

			ps, err := db.FindPending(ctx, c.ID, 0, time.Now(), 10)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"anna@sales.acme.example": leadmailer.SkipSuppressed,
				"bob@beta.example":        leadmailer.SkipSuppressed,
				"carl@gamma.example":      "",
				"dora@acme.example.org":   "",
			}
			for _, p := range ps {
				if p.Skip != want[p.Lead.Email] {
					t.Errorf("%s: skip %q, want %q", p.Lead.Email, p.Skip, want[p.Lead.Email])
				}
			}
			for email, reason := range want {
				l, err := db.FindLeadByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := db.AudienceCheck(ctx, c, store.AudienceRules{}, l.ID); err != nil || got != reason {
					t.Errorf("AudienceCheck(%s) = %q, %v; want %q", email, got, err, reason)
				}
			}
		})
	}
}
