package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

func TestWebhookDeliveriesReplay(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	a.addUser("mark", leadmailer.RoleMarketer)
	ctx := t.Context()
	const hook = "https://crm.example.com/hooks"
	if err := a.db.SetWebhookSubscriptions(ctx, map[string][]string{hook: {leadmailer.EventImportFinished}}); err != nil {
		t.Fatal(err)
	}
	w, err := a.db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload, Actor: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	run, err := w.Finish(ctx, leadmailer.RunCompleted, "")
	if err != nil {
		t.Fatal(err)
	}
	// The endpoint failed it for good.
	claimed, err := a.db.ClaimWebhookDeliveries(ctx, []string{hook}, 1, "test:1")
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %v", claimed, err)
	}
	d := claimed[0]
	if err := a.db.FailWebhookDelivery(ctx, d.ID, 500, "gave up after 1 attempts: 500 Internal Server Error: <b>boom</b>"); err != nil {
		t.Fatal(err)
	}

	ada := a.login("ada")
	page := ada.get("/webhook-deliveries")
	eventID := fmt.Sprintf("import-%d-finished", run.ID)
	for _, want := range []string{eventID, hook, "import.finished", "<td>failed</td>", "<td>1</td>",
		"500 gave up after 1 attempts: 500 Internal Server Error: &lt;b&gt;boom&lt;/b&gt;",
		fmt.Sprintf(`action="/webhook-deliveries/%d/replay"`, d.ID), `aria-current="page">Webhooks`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the deliveries page lacks %q:\n%s", want, page.body)
		}
	}

	replay := fmt.Sprintf("/webhook-deliveries/%d/replay", d.ID)
	mark := a.login("mark")
	for _, res := range []response{mark.get("/webhook-deliveries"), mark.post(replay, url.Values{})} {
		if res.status != http.StatusForbidden {
			t.Errorf("a marketer got status %d, want 403", res.status)
		}
	}
	if res := ada.post(replay, url.Values{"csrf": {"forged"}}); res.status != http.StatusForbidden {
		t.Errorf("replay with a forged form token: status %d, want 403", res.status)
	}
	if got, _ := a.db.FindWebhookDelivery(ctx, d.ID); got.Status != store.DeliveryFailed {
		t.Fatalf("a refused replay changed the delivery: %+v", got)
	}

	res := ada.post(replay, url.Values{})
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/webhook-deliveries?done=") {
		t.Fatalf("replay: status %d, Location %q; want 303 back to the list", res.status, res.header.Get("Location"))
	}
	got, err := a.db.FindWebhookDelivery(ctx, d.ID)
	if err != nil || got.Status != store.DeliveryPending || got.Attempts != 0 || got.EventID != eventID {
		t.Errorf("after the replay: %+v, %v; want pending, no attempt yet, the same event id", got, err)
	}
	if page := ada.get(res.header.Get("Location")); !strings.Contains(page.body, "Queued "+eventID+" again for "+hook+".") {
		t.Errorf("the list does not confirm the replay:\n%s", page.body)
	}
	entries := a.auditEntries(store.AuditFilter{Action: leadmailer.AuditWebhookReplay})
	if len(entries) != 1 || entries[0].Actor != "user:ada" || entries[0].Target != fmt.Sprintf("webhook_delivery:%d", d.ID) {
		t.Errorf("replay audit entries: %+v; want one by ada naming the delivery", entries)
	}
	if res := ada.post("/webhook-deliveries/999/replay", url.Values{}); res.status != http.StatusNotFound {
		t.Errorf("replay of no delivery: status %d, want 404", res.status)
	}
}
