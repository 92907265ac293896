package store_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

func mustExec(t *testing.T, raw *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := raw.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func newCampaign(t *testing.T, db *store.DB, c *leadmailer.Campaign) *leadmailer.Campaign {
	t.Helper()
	c.Name, c.Subject, c.HTML, c.State, c.CreatedBy = "spring", "Hello", "<p>Hi</p>", leadmailer.CampaignDraft, "test"
	if err := db.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolveAudienceRecordsEveryExclusion(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			raw := storetest.Raw(t, db)
			importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "anna@x.fi", "country", "FI"),
				row(3, "email", "bob@y.de", "country", "DE"),
				row(4, "email", "carl@z.de", "country", "DE"),
				row(5, "email", "dora@w.fi", "country", "FI"),
				row(6, "email", "eve@v.fi", "country", "FI"),
				row(7, "email", "finn@u.se", "country", "SE"),
			})
			importRows(t, db, "other", false, []leadmailer.ImportRow{row(2, "email", "gus@t.fi", "country", "FI")})
			mustExec(t, raw, `INSERT INTO consents (lead_id, text_version, given_at) SELECT id, 'v1', '2026-01-01T00:00:00.000000Z' FROM leads WHERE email = 'carl@z.de'`)
			mustExec(t, raw, `UPDATE leads SET state = 'inactive' WHERE email = 'dora@w.fi'`)
			mustExec(t, raw, `UPDATE leads SET undeliverable_at = '2026-01-01T00:00:00.000000Z' WHERE email = 'eve@v.fi'`)

			c := newCampaign(t, db, &leadmailer.Campaign{Countries: []string{"FI", "DE"}, Sources: []string{"crm"}})
			queued, err := db.ResolveAudience(ctx, c, store.AudienceRules{ConsentOnlyCountries: []string{"DE"}})
			if err != nil {
				t.Fatal(err)
			}
			if queued != 2 {
				t.Errorf("queued = %d, want 2 (anna, carl with consent)", queued)
			}
			rep, err := db.CampaignReport(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{leadmailer.SkipNoConsent: 1, leadmailer.SkipInactive: 1, leadmailer.SkipUndeliverable: 1}
			if rep.Total != 5 || rep.Queued != 2 || rep.Skipped != 3 || len(rep.Reasons) != 3 {
				t.Fatalf("report = %+v, want 5 rows: 2 queued, 3 skipped", rep)
			}
			for r, n := range want {
				if rep.Reasons[r] != n {
					t.Errorf("skipped for %q = %d, want %d", r, rep.Reasons[r], n)
				}
			}

			for email, want := range map[string]string{"anna@x.fi": "", "bob@y.de": leadmailer.SkipNoConsent,
				"dora@w.fi": leadmailer.SkipInactive, "gus@t.fi": "not in the campaign's filters"} {
				l, err := db.FindLeadByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := db.AudienceCheck(ctx, c, store.AudienceRules{ConsentOnlyCountries: []string{"DE"}}, l.ID); err != nil || got != want {
					t.Errorf("AudienceCheck(%s) = %q, %v; want %q", email, got, err, want)
				}
			}

			// A second resolution adds nobody already in the ledger, and queues bob once he consents.
			mustExec(t, raw, `INSERT INTO consents (lead_id, text_version, given_at) SELECT id, 'v1', '2026-01-01T00:00:00.000000Z' FROM leads WHERE email = 'bob@y.de'`)
			queued, err = db.ResolveAudience(ctx, c, store.AudienceRules{ConsentOnlyCountries: []string{"DE"}})
			if err != nil {
				t.Fatal(err)
			}
			if queued != 1 {
				t.Errorf("second resolution queued %d, want 1 (bob)", queued)
			}
		})
	}
}

func TestLedgerMovesRowsAndPendingRechecksLeads(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			raw := storetest.Raw(t, db)
			importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "anna@x.fi"), row(3, "email", "bob@y.fi"), row(4, "email", "carl@z.fi"), row(5, "email", "dora@w.fi"),
			})
			c := newCampaign(t, db, &leadmailer.Campaign{})
			if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
				t.Fatal(err)
			}
			if err := db.SuppressAddress(ctx, "BOB@y.fi", "unsubscribed"); err != nil {
				t.Fatal(err)
			}
			mustExec(t, raw, `DELETE FROM leads WHERE email = 'carl@z.fi'`)
			mustExec(t, raw, `UPDATE leads SET state = 'inactive' WHERE email = 'dora@w.fi'`)
			ps, err := db.FindPending(ctx, c.ID, 0, time.Now(), 10)
			if err != nil {
				t.Fatal(err)
			}
			skips := []string{"", leadmailer.SkipSuppressed, leadmailer.SkipErased, leadmailer.SkipInactive}
			if len(ps) != len(skips) {
				t.Fatalf("pending = %d rows, want %d", len(ps), len(skips))
			}
			for i, p := range ps {
				if p.Skip != skips[i] {
					t.Errorf("row %d: skip = %q, want %q", i, p.Skip, skips[i])
				}
			}

			l, err := db.OpenLedger(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			err = l.Write(ctx, []store.LedgerUpdate{
				{RecipientID: ps[0].RecipientID, Status: leadmailer.RecipientSending, MessageID: "m0@x"},
				{RecipientID: ps[1].RecipientID, Status: leadmailer.RecipientSkipped, Reason: ps[1].Skip},
				{RecipientID: ps[2].RecipientID, Status: leadmailer.RecipientQueued, Attempts: 1, Reply: "451 try later", NotBefore: time.Now().Add(time.Hour)},
				{RecipientID: ps[3].RecipientID, Status: leadmailer.RecipientFailed, Attempts: 1, Reply: "550 5.1.1 no such user", Undeliverable: true, LeadID: ps[3].LeadID},
			})
			if err != nil {
				t.Fatal(err)
			}
			if ps2, err := db.FindPending(ctx, c.ID, 0, time.Now(), 10); err != nil || len(ps2) != 0 {
				t.Errorf("pending after updates = %d rows, %v; want none (one sending, one waiting to retry)", len(ps2), err)
			}
			n, next, err := db.NextRetry(ctx, c.ID)
			if err != nil || n != 1 || next.Before(time.Now()) {
				t.Errorf("NextRetry = %d, %v, %v; want 1 row waiting an hour", n, next, err)
			}
			if un, reason, err := db.IsUndeliverable(ctx, ps[3].LeadID); err != nil || !un || reason != "550 5.1.1 no such user" {
				t.Errorf("IsUndeliverable = %v, %q, %v", un, reason, err)
			}
			if moved, err := db.RequeueInFlight(ctx, c.ID, time.Now()); err != nil || moved != 1 {
				t.Errorf("RequeueInFlight = %d, %v; want 1", moved, err)
			}
			rep, _ := db.CampaignReport(ctx, c.ID)
			if rep.Queued != 2 || rep.Failed != 1 || rep.Skipped != 1 {
				t.Errorf("report = %+v", rep)
			}
		})
	}
}

func TestCampaignStateTransitions(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			c := newCampaign(t, db, &leadmailer.Campaign{})
			steps := []struct {
				to leadmailer.CampaignState
				ok bool
			}{
				{leadmailer.CampaignFinished, false},
				{leadmailer.CampaignRunning, true},
				{leadmailer.CampaignPaused, true},
				{leadmailer.CampaignRunning, true},
				{leadmailer.CampaignCancelled, true},
				{leadmailer.CampaignRunning, false},
			}
			for _, s := range steps {
				_, err := db.SetCampaignState(ctx, c.ID, s.to, "")
				if s.ok && err != nil {
					t.Errorf("-> %s: %v", s.to, err)
				}
				var le *leadmailer.Error
				if !s.ok && (!errors.As(err, &le) || le.Code != leadmailer.ECONFLICT) {
					t.Errorf("-> %s: error %v, want a conflict", s.to, err)
				}
			}
			got, err := db.FindCampaign(ctx, c.ID)
			if err != nil || got.State != leadmailer.CampaignCancelled || got.StartedAt == nil || got.FinishedAt == nil {
				t.Errorf("campaign = %+v, %v", got, err)
			}
		})
	}
}
