package web

import (
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// TestLeadDeliverableClearsTheMark: an admin withdraws the undeliverable mark a relay's
// "550 5.1.1" wrote, from the lead page; the audit trail records who did it. Marketers
// cannot, nor can a form from elsewhere.
func TestLeadDeliverableClearsTheMark(t *testing.T) {
	a, _ := newCampaignApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	a.addUser("mark", leadmailer.RoleMarketer)
	lead := seedPublicLead(t, a, "anna@registry.example", "Anna Virtanen", "Virtanen Oy", "FI")
	raw, err := sql.Open("sqlite3", a.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE leads SET undeliverable_at = '2026-11-30T10:00:00.000000Z',
		undeliverable_reason = 'permanent failure at RCPT: 550 5.1.1 User unknown' WHERE id = ?`, lead.ID); err != nil {
		t.Fatal(err)
	}
	path := "/leads/" + itoa(lead.ID)

	marketer := a.login("mark")
	if page := marketer.get(path); strings.Contains(page.body, `id="deliverable"`) || !strings.Contains(page.body, "550 5.1.1 User unknown") {
		t.Errorf("a marketer's lead page: the mark must show, the button must not:\n%s", page.body)
	}
	if res := marketer.post(path+"/deliverable", url.Values{}); res.status != http.StatusForbidden {
		t.Errorf("a marketer clears the mark: status %d, want 403", res.status)
	}

	admin := a.login("ada")
	if page := admin.get(path); !strings.Contains(page.body, `id="deliverable"`) {
		t.Fatalf("the admin's lead page has no button to clear the mark:\n%s", page.body)
	}
	if res := admin.post(path+"/deliverable", url.Values{"csrf": {"forged"}}); res.status != http.StatusForbidden {
		t.Errorf("clearing with a forged form token: status %d, want 403", res.status)
	}
	if un, _, _ := a.db.IsUndeliverable(t.Context(), lead.ID); !un {
		t.Fatal("the mark went before the admin cleared it")
	}
	res := admin.post(path+"/deliverable", url.Values{"csrf": {admin.csrf}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != path {
		t.Fatalf("clear: status %d, Location %q; want 303 to the lead", res.status, res.header.Get("Location"))
	}
	if un, _, err := a.db.IsUndeliverable(t.Context(), lead.ID); un || err != nil {
		t.Errorf("after clearing: undeliverable %v, %v", un, err)
	}
	got := a.auditEntries(store.AuditFilter{Action: leadmailer.AuditLeadDeliverable})
	if len(got) != 1 || got[0].Actor != "user:ada" || got[0].Target != "lead "+itoa(lead.ID) || strings.Contains(got[0].Detail, "anna@") {
		t.Errorf("audit entries %+v, want one by ada naming the lead by ID", got)
	}
	if page := admin.get(path); strings.Contains(page.body, `id="deliverable"`) || strings.Contains(page.body, `id="undeliverable"`) {
		t.Error("the lead page still shows the mark after clearing it")
	}
	if res := admin.post(path+"/deliverable", url.Values{"csrf": {admin.csrf}}); res.status != http.StatusConflict {
		t.Errorf("clearing an unmarked lead: status %d, want 409", res.status)
	}
}
