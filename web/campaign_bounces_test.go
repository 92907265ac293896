package web

import (
	"bytes"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/feedback"
	"github.com/leadmailer/leadmailer/store"
)

// TestBouncesOnCampaignAndLeadPages sends a campaign through a real SMTP server with a
// return path per recipient, then ingests what came back to those return paths (a hard
// bounce, a delay, a spam complaint): the campaign page shows the counts and rates, and each
// lead's page lists its report; an admin clears the hard bounce's mark from the lead page.
func TestBouncesOnCampaignAndLeadPages(t *testing.T) {
	a, m := newCampaignApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	a.addUser("mark", leadmailer.RoleMarketer)
	anna := seedPublicLead(t, a, "anna@registry.example", "Anna Virtanen", "Virtanen Oy", "FI")
	bob := seedPublicLead(t, a, "bob@registry.example", "Bob Berg", "Berg AB", "SE")
	cara := seedPublicLead(t, a, "cara@registry.example", "Cara Nieminen", "Nieminen Oy", "FI")
	dave := seedPublicLead(t, a, "dave@registry.example", "Dave Dahl", "Dahl AB", "SE")
	marketer := a.login("mark")
	id := createCampaign(t, marketer, "Spring")

	signer := bounce.NewSigner([]byte("return path key"), "bounces", "bounces.focus.example")
	settings := m.settings()
	settings.ReturnPaths = signer
	tr, err := m.transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if res, err := campaign.Run(t.Context(), a.db, tr, id, settings, campaign.Options{}); err != nil || res.Sent != 4 {
		t.Fatalf("send: %+v, %v", res, err)
	}
	returnPath := map[string]string{} // recipient -> the envelope sender its message had
	for _, msg := range m.smtp.Messages() {
		returnPath[msg.To[0]] = msg.From
	}

	p := &feedback.Processor{Store: a.db, ReturnPaths: signer, Policy: store.DefaultBouncePolicy}
	for _, tt := range []struct{ to, fixture string }{
		{anna.Email, "postfix-hard.eml"},
		{bob.Email, "postfix-delayed.eml"},
		{cara.Email, "arf-abuse.eml"},
	} {
		msg, err := os.ReadFile("../bounce/testdata/" + tt.fixture)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(returnPath[tt.to], "bounces+") {
			t.Fatalf("the message to %s had the envelope sender %q, not its own return path", tt.to, returnPath[tt.to])
		}
		res, err := p.IngestMessage(t.Context(), bytes.NewReader(msg), feedback.IngestOptions{To: returnPath[tt.to]})
		if err != nil || res.Recorded != 1 {
			t.Fatalf("ingest %s for %s: %+v, %v", tt.fixture, tt.to, res, err)
		}
	}

	// One message whose end the relay did not answer in time, as the sender records it.
	raw, err := sql.Open("sqlite3", a.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE campaign_recipients SET outcome_unknown = 1 WHERE lead_id = ?`, dave.ID); err != nil {
		t.Fatal(err)
	}

	page := marketer.get(campaignPath(id))
	for _, want := range []string{
		`id="outcome-delivered"><th scope="row">Delivered</th><td>3</td><td>75.00 %</td>`,
		`id="outcome-bounced-hard"><th scope="row">Bounced hard</th><td>1</td><td>25.00 %</td>`,
		`id="outcome-bounced-soft"><th scope="row">Bounced soft</th><td>1</td><td>25.00 %</td>`,
		`id="outcome-complained"><th scope="row">Complained</th><td>1</td><td>25.00 %</td>`,
		`id="outcome-possibly-delivered"><th scope="row">Possibly delivered</th><td>1</td><td></td>`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("campaign page lacks %s:\n%s", want, page.body)
		}
	}
	if strings.Contains(page.body, `id="self-pause"`) {
		t.Errorf("campaign page shows a pause it does not have:\n%s", page.body)
	}

	admin := a.login("ada")
	for _, tt := range []struct {
		lead *leadmailer.Lead
		want []string
		// button says whether the lead is undeliverable, so that the admin sees the button.
		button bool
	}{
		{anna, []string{">hard<", "5.1.1", "User unknown in", "marked undeliverable", ">Spring</a>"}, true},
		{bob, []string{">soft<", "4.4.1", ">counted<"}, false},
		{cara, []string{">complaint<", "abuse", "address suppressed"}, false},
	} {
		body := admin.get("/leads/" + itoa(tt.lead.ID)).body
		table, _, ok := strings.Cut(body[strings.Index(body, `<table id="bounces">`)+1:], "</table>")
		if !ok || strings.Count(table, "<tr>") != 2 { // the head and one report
			t.Errorf("%s: the lead page lists not one report:\n%s", tt.lead.Email, body)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(table, w) {
				t.Errorf("%s: the lead page's reports lack %q:\n%s", tt.lead.Email, w, table)
			}
		}
		if got := strings.Contains(body, `id="deliverable"`); got != tt.button {
			t.Errorf("%s: the admin's mark-deliverable button shown %v, want %v", tt.lead.Email, got, tt.button)
		}
	}
	if body := marketer.get("/leads/" + itoa(anna.ID)).body; strings.Contains(body, `id="deliverable"`) {
		t.Error("a marketer sees the button to clear the undeliverable mark")
	}

	path := "/leads/" + itoa(anna.ID)
	if res := admin.post(path+"/deliverable", url.Values{"csrf": {admin.csrf}}); res.status != http.StatusSeeOther {
		t.Fatalf("clear the mark: status %d\n%s", res.status, res.body)
	}
	body := admin.get(path).body
	if strings.Contains(body, `id="undeliverable"`) || strings.Contains(body, `id="deliverable"`) || !strings.Contains(body, `<table id="bounces">`) {
		t.Errorf("after clearing: the mark must go and the report stay:\n%s", body)
	}
	if body := admin.get("/leads/" + itoa(seedPublicLead(t, a, "eve@registry.example", "Eve", "E Oy", "FI").ID)).body; !strings.Contains(body, `id="no-bounces"`) {
		t.Errorf("a lead without reports:\n%s", body)
	}
}

// TestCampaignPageSaysWhyItPausedItself: a pause the sender or the bounce processing made is
// shown as an alert with its reason; a person's pause is not.
func TestCampaignPageSaysWhyItPausedItself(t *testing.T) {
	a, _ := newCampaignApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	c := a.login("mark")
	for _, tt := range []struct {
		reason string
		alert  bool
	}{
		{"complaint rate 0.40 % (4 of 1000 sent) passed the limit of 0.30 %: mailbox providers block senders above it. Clean the list, then resume", true},
		{"50 or more hard bounces from mx.example.fi within 10m0s: that looks like a fault at mx.example.fi", true},
		{campaign.ReasonRelayRefused + "; fix the relay settings and resume: 554 no", true},
		{"paused by user:mark", false},
		{"paused by cli:root", false},
	} {
		id := createCampaign(t, c, "Autumn")
		for _, to := range []leadmailer.CampaignState{leadmailer.CampaignRunning, leadmailer.CampaignPaused} {
			if _, err := a.db.SetCampaignState(t.Context(), id, to, tt.reason); err != nil {
				t.Fatal(err)
			}
		}
		body := c.get(campaignPath(id)).body
		alert := regexp.MustCompile(`id="self-pause">This campaign paused itself: ([^<]*)<`).FindStringSubmatch(body)
		if got := alert != nil; got != tt.alert {
			t.Errorf("reason %q: alert shown %v, want %v:\n%s", tt.reason, got, tt.alert, body)
			continue
		}
		if alert != nil && unescape(alert[1]) != tt.reason {
			t.Errorf("alert says %q, want %q", unescape(alert[1]), tt.reason)
		}
		if !tt.alert && !strings.Contains(body, `id="campaign-reason">`+tt.reason) {
			t.Errorf("a person's pause does not name who:\n%s", body)
		}
	}
}
