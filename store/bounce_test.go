package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// sentCampaign imports n leads (lead1@example.fi …), starts a campaign to all of them and
// marks every ledger row sent, as after a send through a relay that accepted everything.
func sentCampaign(t *testing.T, b storetest.Backend, n int) (*store.DB, *leadmailer.Campaign, map[string]int64) {
	t.Helper()
	ctx := context.Background()
	db := b.Open(t, nil)
	var rows []leadmailer.ImportRow
	for i := 1; i <= n; i++ {
		rows = append(rows, row(int64(i+1), "email", fmt.Sprintf("lead%d@example%d.fi", i, i%7), "country", "FI"))
	}
	importRows(t, db, "crm", false, rows)
	c := newCampaign(t, db, &leadmailer.Campaign{})
	if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetCampaignState(ctx, c.ID, leadmailer.CampaignRunning, ""); err != nil {
		t.Fatal(err)
	}
	mustExec(t, storetest.Raw(t, db), `UPDATE campaign_recipients SET status = 'sent', recipient_hash = 'h' || lead_id`)
	ids := map[string]int64{}
	err := db.FindLeads(ctx, store.LeadFilter{}, func(l *leadmailer.Lead) error { ids[l.Email] = l.ID; return nil })
	if err != nil {
		t.Fatal(err)
	}
	return db, c, ids
}

func hard(c *leadmailer.Campaign, lead int64, key, reporter string) store.BounceEvent {
	return store.BounceEvent{Key: key, CampaignID: c.ID, LeadID: lead, Kind: store.BounceHard, Status: "5.1.1",
		Diagnostic: "smtp; 550 5.1.1 user unknown", Reporter: reporter, Via: "smtp", Format: "dsn"}
}

func TestRecordBounceActions(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, c, ids := sentCampaign(t, b, 4)
			p := store.DefaultBouncePolicy
			a, b, d := ids["lead1@example1.fi"], ids["lead2@example2.fi"], ids["lead3@example3.fi"]

			// A hard bounce marks the lead undeliverable and the ledger row bounced.
			out, err := db.RecordBounce(ctx, hard(c, a, "mail:1/a", "mx.example1.fi"), p)
			if err != nil || out.Action != store.BounceMarked {
				t.Fatalf("hard bounce: %+v, %v; want marked", out, err)
			}
			if ok, why, _ := db.IsUndeliverable(ctx, a); !ok || !strings.Contains(why, "5.1.1") || !strings.Contains(why, fmt.Sprintf("campaign %d", c.ID)) {
				t.Errorf("lead undeliverable = %v %q; want marked with the status and campaign", ok, why)
			}
			// The same report again changes nothing.
			if out, err := db.RecordBounce(ctx, hard(c, a, "mail:1/a", "mx.example1.fi"), p); err != nil || out.Action != store.BounceDuplicate {
				t.Errorf("repeated report: %+v, %v; want duplicate", out, err)
			}
			var bounced []*leadmailer.Recipient
			if err := db.FindRecipients(ctx, c.ID, leadmailer.RecipientBounced, func(r *leadmailer.Recipient) error { bounced = append(bounced, r); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(bounced) != 1 || bounced[0].LeadID != a || bounced[0].BounceStatus != "5.1.1" {
				t.Errorf("bounced recipients = %+v; want lead %d with 5.1.1", bounced, a)
			}

			// Soft bounces count; the third within 30 days marks.
			for i, want := range []string{store.BounceCounted, store.BounceCounted, store.BounceMarked} {
				e := store.BounceEvent{Key: fmt.Sprintf("mail:s%d/b", i), CampaignID: c.ID, LeadID: b, Kind: store.BounceSoft,
					Status: "4.2.2", Diagnostic: "mailbox full", Reporter: "mx.example2.fi", Via: "ingest"}
				out, err := db.RecordBounce(ctx, e, p)
				if err != nil || out.Action != want {
					t.Fatalf("soft bounce %d: %+v, %v; want %s", i+1, out, err, want)
				}
			}
			if ok, why, _ := db.IsUndeliverable(ctx, b); !ok || !strings.Contains(why, "3 soft bounces within 30 days") {
				t.Errorf("after 3 soft bounces: undeliverable = %v %q", ok, why)
			}

			// A complaint suppresses the address at once, with reason complaint, and makes the lead
			// inactive.
			e := store.BounceEvent{Key: "arf:1", CampaignID: c.ID, LeadID: d, Kind: store.BounceComplaint, Reporter: "fbl.example", Via: "smtp", Format: "arf"}
			if out, err := db.RecordBounce(ctx, e, p); err != nil || out.Action != store.BounceSuppressed {
				t.Fatalf("complaint: %+v, %v; want suppressed", out, err)
			}
			if ok, _ := db.IsSuppressed(ctx, "lead3@example3.fi"); !ok {
				t.Error("complaining address is not suppressed")
			}
			// The suppression names the campaign complained about, as suppress list shows it.
			var sups []store.Suppression
			if err := db.FindSuppressions(ctx, func(s *store.Suppression) error { sups = append(sups, *s); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(sups) != 1 || sups[0].Reason != "complaint" || sups[0].CampaignID != c.ID {
				t.Errorf("suppressions = %+v; want one with reason complaint and campaign %d", sups, c.ID)
			}
			if l, _ := db.FindLeadByID(ctx, d); l.State != leadmailer.LeadInactive {
				t.Errorf("complaining lead is %s; want inactive", l.State)
			}

			rep, err := db.CampaignReport(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sent != 4 || rep.BouncedHard != 1 || rep.BouncedSoft != 1 || rep.Complained != 1 || rep.Delivered != 3 || rep.BounceRate != 0.25 {
				t.Errorf("report = %+v; want 4 sent, 1 hard, 1 soft, 1 complaint, 3 delivered, bounce rate 0.25", rep)
			}

			// The lead's page lists what happened, newest first.
			list, err := db.FindBounces(ctx, b)
			if err != nil || len(list) != 3 || list[0].Action != store.BounceMarked {
				t.Errorf("bounces of lead %d = %+v, %v", b, list, err)
			}

			// Erasure keeps the fact, not the words that may quote the address.
			if _, err := db.EraseLead(ctx, "lead1@example1.fi", "request"); err != nil {
				t.Fatal(err)
			}
			if list, _ := db.FindBounces(ctx, a); len(list) != 1 || list[0].Diagnostic != "" {
				t.Errorf("after erasure: %+v; want one bounce without diagnostic", list)
			}
		})
	}
}

func TestRecordBounceRefusesWhatWasNotSent(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, c, ids := sentCampaign(t, b, 2)
			for _, e := range []store.BounceEvent{
				hard(c, 999, "k1", "mx"), // no such lead in the campaign
				hard(&leadmailer.Campaign{ID: c.ID + 7}, ids["lead1@example1.fi"], "k2", "mx"), // no such campaign
			} {
				if _, err := db.RecordBounce(ctx, e, store.DefaultBouncePolicy); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
					t.Errorf("bounce for campaign %d lead %d: %v; want not found", e.CampaignID, e.LeadID, err)
				}
			}
			if ok, _, _ := db.IsUndeliverable(ctx, ids["lead1@example1.fi"]); ok {
				t.Error("a bounce for another campaign marked the lead")
			}
		})
	}
}

// A relay that accepts every message and then bounces all of them is a broken relay: the
// burst pauses the campaign and takes back the marks it wrote, while bounces from other
// reporters keep marking.
func TestRecordBounceBurstPausesInsteadOfMarking(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db, c, ids := sentCampaign(t, b, 12)
			p := store.DefaultBouncePolicy
			p.BurstCount, p.BounceRate = 5, 0
			var leads []int64
			for i := 1; i <= 12; i++ {
				leads = append(leads, ids[fmt.Sprintf("lead%d@example%d.fi", i, i%7)])
			}
			other, err := db.RecordBounce(ctx, hard(c, leads[11], "other", "mx.gmail.example"), p)
			if err != nil || other.Action != store.BounceMarked {
				t.Fatalf("bounce from another reporter: %+v, %v", other, err)
			}
			var last *store.BounceOutcome
			for i := 0; i < 6; i++ {
				if last, err = db.RecordBounce(ctx, hard(c, leads[i], fmt.Sprintf("burst%d", i), "relay.example"), p); err != nil {
					t.Fatal(err)
				}
				if i == 4 && (last.Action != store.BounceHeld || last.Withdrawn != 4 || last.Paused == "") {
					t.Errorf("5th bounce from one reporter: %+v; want held, 4 marks withdrawn, campaign paused", last)
				}
			}
			if last.Action != store.BounceHeld {
				t.Errorf("bounce after the burst: %s; want held", last.Action)
			}
			for i := 0; i < 6; i++ {
				if ok, why, _ := db.IsUndeliverable(ctx, leads[i]); ok {
					t.Errorf("lead %d is still undeliverable (%s) after the burst", leads[i], why)
				}
			}
			if ok, _, _ := db.IsUndeliverable(ctx, leads[11]); !ok {
				t.Error("the other reporter's bounce was withdrawn too")
			}
			got, _ := db.FindCampaign(ctx, c.ID)
			if got.State != leadmailer.CampaignPaused || !strings.Contains(got.Reason, "relay.example") {
				t.Errorf("campaign %s %q; want paused naming the reporter", got.State, got.Reason)
			}
		})
	}
}

func TestRecordBounceRatePausesOnce(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			tests := []struct {
				name   string
				kind   string
				limit  func(*store.BouncePolicy)
				pauseN int // the report that crosses the limit
				words  string
			}{
				{"bounces over 5 %", store.BounceHard, func(p *store.BouncePolicy) { p.BounceRate = 0.05 }, 2, "hard-bounce rate 10.00 %"},
				{"complaints over 0.3 %", store.BounceComplaint, func(p *store.BouncePolicy) { p.ComplaintRate = 0.003 }, 1, "complaint rate 5.00 %"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ctx := context.Background()
					db, c, ids := sentCampaign(t, b, 20)
					p := store.DefaultBouncePolicy
					p.RateMinSent, p.BurstCount = 20, 0
					tt.limit(&p)
					for i := 1; i <= 3; i++ {
						e := hard(c, ids[fmt.Sprintf("lead%d@example%d.fi", i, i%7)], fmt.Sprint("r", i), fmt.Sprint("mx", i))
						e.Kind = tt.kind
						out, err := db.RecordBounce(ctx, e, p)
						if err != nil {
							t.Fatal(err)
						}
						if paused := out.Paused != ""; paused != (i == tt.pauseN) {
							t.Errorf("report %d: paused %q; want a pause only at report %d", i, out.Paused, tt.pauseN)
						}
						if i == tt.pauseN {
							got, _ := db.FindCampaign(ctx, c.ID)
							if got.State != leadmailer.CampaignPaused || !strings.Contains(got.Reason, tt.words) {
								t.Errorf("campaign %s %q; want paused with %q", got.State, got.Reason, tt.words)
							}
							// The user resumes knowingly: later reports do not pause again.
							if _, err := db.SetCampaignState(ctx, c.ID, leadmailer.CampaignRunning, ""); err != nil {
								t.Fatal(err)
							}
						}
					}
				})
			}
		})
	}
}
