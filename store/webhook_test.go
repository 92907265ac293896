package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

const (
	crmHook  = "https://crm.example.com/hooks"
	opsHook  = "https://ops.example.com/hooks"
	deadHook = "https://gone.example.com/hooks"
)

func subscribe(t *testing.T, db *store.DB) {
	t.Helper()
	err := db.SetWebhookSubscriptions(context.Background(), map[string][]string{
		crmHook: {leadmailer.EventImportFinished, leadmailer.EventLeadUnsubscribed, leadmailer.EventLeadBounced, leadmailer.EventLeadComplained},
		opsHook: {leadmailer.EventCampaignPaused, leadmailer.EventCampaignFinished, leadmailer.EventImportFinished},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deliveries returns the queued deliveries, oldest first, as "endpoint type event-id".
func deliveries(t *testing.T, db *store.DB) ([]string, []*store.WebhookDelivery) {
	t.Helper()
	ds, err := db.FindWebhookDeliveries(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var rev []*store.WebhookDelivery
	for i := len(ds) - 1; i >= 0; i-- {
		d := ds[i]
		out = append(out, fmt.Sprintf("%s %s %s", strings.Split(d.Endpoint, "/")[2], d.EventType, d.EventID))
		rev = append(rev, d)
	}
	return out, rev
}

func TestWebhookEventsEnqueued(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) { testWebhookEventsEnqueued(t, be) })
	}
}

func testWebhookEventsEnqueued(t *testing.T, be storetest.Backend) {
	ctx := context.Background()
	db, c, ids := sentCampaign(t, be, 3)
	subscribe(t, db)
	a, b := ids["lead1@example1.fi"], ids["lead2@example2.fi"]

	run := importRows(t, db, "crm", false, []leadmailer.ImportRow{row(2, "email", "new@example.fi")})
	// A dry run reports nothing: it changed nothing.
	importRows(t, db, "crm", true, []leadmailer.ImportRow{row(2, "email", "other@example.fi")})
	if err := db.ObjectLead(ctx, c.ID, a); err != nil {
		t.Fatal(err)
	}
	if err := db.ObjectLead(ctx, c.ID, a); err != nil { // the same objection again
		t.Fatal(err)
	}
	if _, err := db.RecordBounce(ctx, hard(c, b, "mail:1/b", "mx.example2.fi"), store.DefaultBouncePolicy); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordBounce(ctx, hard(c, b, "mail:1/b", "mx.example2.fi"), store.DefaultBouncePolicy); err != nil {
		t.Fatal(err) // a duplicate report
	}
	if _, err := db.SetCampaignState(ctx, c.ID, leadmailer.CampaignPaused, "paused by vera"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetCampaignState(ctx, c.ID, leadmailer.CampaignPaused, "still paused"); err != nil {
		t.Fatal(err) // no move, no event
	}
	got, ds := deliveries(t, db)
	want := []string{
		fmt.Sprintf("crm.example.com import.finished import-%d-finished", run.ID),
		fmt.Sprintf("ops.example.com import.finished import-%d-finished", run.ID),
		fmt.Sprintf("crm.example.com lead.unsubscribed lead-%d-unsubscribed", a),
		"crm.example.com lead.bounced bounce-1",
	}
	if len(got) != 5 || strings.Join(got[:4], "\n") != strings.Join(want, "\n") ||
		!strings.HasPrefix(got[4], fmt.Sprintf("ops.example.com campaign.paused campaign-%d-paused-", c.ID)) {
		t.Fatalf("queued deliveries:\n%s\nwant:\n%s\nand the campaign's pause", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	var imp map[string]any
	if err := json.Unmarshal([]byte(ds[0].Payload), &imp); err != nil {
		t.Fatal(err)
	}
	if imp["status"] != "completed" || imp["source"] != "crm" || imp["counts"].(map[string]any)["inserted"] != 1.0 {
		t.Errorf("import payload = %s", ds[0].Payload)
	}
	for _, d := range ds[2:4] {
		if d.LeadID == 0 || strings.Contains(d.Payload, "@") {
			t.Errorf("lead event %s: lead %d, payload %s; want the lead's number and no address", d.EventID, d.LeadID, d.Payload)
		}
	}
	if !strings.Contains(ds[3].Payload, `"status":"5.1.1"`) || !strings.Contains(ds[3].Payload, `"kind":"hard"`) {
		t.Errorf("bounce payload = %s", ds[3].Payload)
	}
	if !strings.Contains(ds[4].Payload, `"reason":"paused by vera"`) {
		t.Errorf("pause payload = %s", ds[4].Payload)
	}
}

// TestWebhookCampaignFinished finishes a campaign that sent to everyone, as the campaign
// runner does when its last message is out, and checks that the endpoint subscribed to
// campaign.finished gets one delivery of it, and the endpoint that is not gets none.
func TestWebhookCampaignFinished(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) { testWebhookCampaignFinished(t, be) })
	}
}

func testWebhookCampaignFinished(t *testing.T, be storetest.Backend) {
	ctx := context.Background()
	db, c, _ := sentCampaign(t, be, 2)
	subscribe(t, db)
	if _, err := db.SetCampaignState(ctx, c.ID, leadmailer.CampaignFinished, ""); err != nil {
		t.Fatal(err)
	}
	// Finishing a finished campaign again is no move, and no second event.
	if _, err := db.SetCampaignState(ctx, c.ID, leadmailer.CampaignFinished, ""); err != nil {
		t.Fatal(err)
	}
	got, ds := deliveries(t, db)
	if len(got) != 1 || !strings.HasPrefix(got[0], fmt.Sprintf("ops.example.com campaign.finished campaign-%d-finished-", c.ID)) {
		t.Fatalf("queued deliveries:\n%s\nwant one campaign.finished to ops.example.com", strings.Join(got, "\n"))
	}
	var data struct {
		CampaignID int64  `json:"campaign_id"`
		Name       string `json:"name"`
		State      string `json:"state"`
	}
	if err := json.Unmarshal([]byte(ds[0].Payload), &data); err != nil {
		t.Fatalf("payload %s: %v", ds[0].Payload, err)
	}
	if data.CampaignID != c.ID || data.Name != c.Name || data.State != string(leadmailer.CampaignFinished) {
		t.Errorf("payload = %s, want campaign %d %q finished", ds[0].Payload, c.ID, c.Name)
	}
}

func TestWebhookNothingWithoutSubscribers(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) { testWebhookNothingWithoutSubscribers(t, be) })
	}
}

func testWebhookNothingWithoutSubscribers(t *testing.T, be storetest.Backend) {
	db, c, ids := sentCampaign(t, be, 1)
	if err := db.ObjectLead(context.Background(), c.ID, ids["lead1@example1.fi"]); err != nil {
		t.Fatal(err)
	}
	if got, _ := deliveries(t, db); len(got) != 0 {
		t.Errorf("queued with no endpoint configured: %v", got)
	}
}

func TestWebhookDeliveryLifecycle(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) { testWebhookDeliveryLifecycle(t, be) })
	}
}

func testWebhookDeliveryLifecycle(t *testing.T, be storetest.Backend) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db := be.Open(t, func() time.Time { return now })
	subscribe(t, db)
	importRows(t, db, "crm", false, []leadmailer.ImportRow{row(2, "email", "new@example.fi")})

	// Only the endpoints asked for are claimed, each once.
	claimed, err := db.ClaimWebhookDeliveries(ctx, []string{crmHook, deadHook}, 10, "host-a:1")
	if err != nil || len(claimed) != 1 || claimed[0].Endpoint != crmHook || claimed[0].Attempts != 1 || claimed[0].Status != store.DeliverySending {
		t.Fatalf("claimed %+v, %v; want the crm delivery, attempt 1", claimed, err)
	}
	if again, _ := db.ClaimWebhookDeliveries(ctx, []string{crmHook}, 10, "host-a:1"); len(again) != 0 {
		t.Fatalf("a claimed delivery was claimed again: %+v", again[0])
	}
	d := claimed[0]

	// A failure makes it due later, not before.
	if err := db.RetryWebhookDelivery(ctx, d.ID, now.Add(time.Minute), 500, "500 Internal Server Error"); err != nil {
		t.Fatal(err)
	}
	if early, _ := db.ClaimWebhookDeliveries(ctx, []string{crmHook}, 10, "host-a:1"); len(early) != 0 {
		t.Fatal("a delivery was claimed before its retry was due")
	}
	now = now.Add(time.Minute)
	claimed, _ = db.ClaimWebhookDeliveries(ctx, []string{crmHook}, 10, "host-a:1")
	if len(claimed) != 1 || claimed[0].Attempts != 2 || claimed[0].LastStatusCode != 500 {
		t.Fatalf("the retry: %+v; want attempt 2 after a 500", claimed)
	}

	// Another serve process starting on the database leaves a live sender's claim alone.
	other := storetest.Reopen(t, db, func() time.Time { return now })
	noneStopped := func(string) bool { return false }
	if n, err := other.RequeueWebhookDeliveries(ctx, noneStopped); err != nil || n != 0 {
		t.Fatalf("a start requeued %d, %v of a live claim; want 0", n, err)
	}
	if stolen, _ := other.ClaimWebhookDeliveries(ctx, []string{crmHook}, 10, "host-b:2"); len(stolen) != 0 {
		t.Fatalf("another process claimed a delivery being sent: %+v", stolen[0])
	}
	// A crash while sending: once the lease has run out, a start puts the claim back, same
	// event id.
	now = now.Add(store.WebhookLease + time.Second)
	if n, err := other.RequeueWebhookDeliveries(ctx, noneStopped); err != nil || n != 1 {
		t.Fatalf("requeued %d, %v; want 1", n, err)
	}
	// A process known to have stopped gives its claims back at once, lease or not.
	claimed, _ = db.ClaimWebhookDeliveries(ctx, []string{crmHook}, 10, "host-a:1")
	stopped := func(by string) bool { return by == "host-a:1" }
	if n, err := other.RequeueWebhookDeliveries(ctx, stopped); err != nil || n != 1 {
		t.Fatalf("requeued %d, %v of a stopped process's claim; want 1", n, err)
	}
	claimed, _ = db.ClaimWebhookDeliveries(ctx, []string{crmHook}, 10, "host-a:1")
	if len(claimed) != 1 || claimed[0].EventID != d.EventID {
		t.Fatalf("after the requeue: %+v", claimed)
	}
	if err := db.MarkWebhookDelivered(ctx, d.ID, 204); err != nil {
		t.Fatal(err)
	}
	got, err := db.FindWebhookDelivery(ctx, d.ID)
	if err != nil || got.Status != store.DeliveryDelivered || got.DeliveredAt == nil || got.LastError != "" {
		t.Fatalf("delivered: %+v, %v", got, err)
	}

	// A replay queues the same event again, due now, with a fresh count, and is audited.
	now = now.Add(time.Hour)
	if err := db.ReplayWebhookDelivery(ctx, d.ID, &leadmailer.AuditEntry{Actor: "user:vera", Action: "webhook.replay",
		Target: fmt.Sprintf("webhook_delivery:%d", d.ID)}); err != nil {
		t.Fatal(err)
	}
	claimed, _ = db.ClaimWebhookDeliveries(ctx, []string{crmHook}, 10, "host-a:1")
	if len(claimed) != 1 || claimed[0].EventID != d.EventID || claimed[0].Attempts != 1 || !claimed[0].QueuedAt.Equal(now) {
		t.Fatalf("replayed: %+v", claimed)
	}
	if err := db.ReplayWebhookDelivery(ctx, d.ID, &leadmailer.AuditEntry{Actor: "user:vera", Action: "webhook.replay"}); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
		t.Errorf("replaying a delivery being sent: %v; want a conflict", err)
	}
	if err := db.ReplayWebhookDelivery(ctx, 999, &leadmailer.AuditEntry{Actor: "user:vera", Action: "webhook.replay"}); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		t.Errorf("replaying no delivery: %v; want not found", err)
	}
	if err := db.FailWebhookDelivery(ctx, d.ID, 410, "410 Gone"); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PruneWebhookDeliveries(ctx, now.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want the failed delivery only (the ops one is pending)", n, err)
	}
}
