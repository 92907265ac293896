package web

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/store"
)

// TestBrowserCampaign drives the campaign pages as a marketer would: log in, write a campaign
// with a template error and fix it, preview it for a lead imported from a public database
// (the notice of the source must be in the message), test-send it, start it and watch its
// progress until it is finished, then read its recipients, the sources, the lead's mail and,
// as an admin, the erasure confirmation and the dashboard.
func TestBrowserCampaign(t *testing.T) {
	ctx, shot := browser(t)
	var a *testApp
	var m *testMail
	started := make(chan error, 1)
	a, m = newCampaignApp(t, Options{
		Sources: []SourceInfo{{Name: "registry", Title: "The Trade Register", Kind: "http", Format: "json",
			Location: "https://registry.example/api/companies", Public: true, Schedule: "0 3 * * *", Timezone: "Europe/Helsinki",
			NextRun: func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day()+1, 1, 0, 0, 0, time.UTC) }}},
		RunSource:     func(name, actor string) error { return nil },
		SourceRunning: func(string) bool { return false },
		// What the campaign scheduler of "leadmailer serve" does when woken by "Send now".
		WakeCampaigns: func() {
			go func() {
				cs, err := a.db.FindCampaigns(t.Context(), leadmailer.CampaignScheduled)
				if err != nil || len(cs) == 0 {
					started <- err
					return
				}
				tr, err := m.transport()
				if err != nil {
					started <- err
					return
				}
				defer tr.Close()
				_, err = campaign.Run(t.Context(), a.db, tr, cs[0].ID, m.settings(), campaign.Options{})
				started <- err
			}()
		},
	})
	a.addUser("mark", leadmailer.RoleMarketer)
	a.addUser("ada", leadmailer.RoleAdmin)
	anna := seedPublicLead(t, a, "anna@registry.example", "Anna Smith", "Smith Trading Ltd", "GB")
	seedPublicLead(t, a, "bob@registry.example", "Bob Jones", "Jones & Co", "GB")

	do(t, ctx, "log in",
		chromedp.Navigate(a.ts.URL+"/campaigns"),
		chromedp.SendKeys(chromedp.CSS("#name"), "mark"),
		chromedp.SendKeys(chromedp.CSS("#password"), password("mark")),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#new-campaign")))
	do(t, ctx, "write a campaign with a template error",
		chromedp.Click(chromedp.CSS("#new-campaign")),
		chromedp.WaitVisible(chromedp.CSS("#campaign-form")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Winter offer"),
		chromedp.SendKeys(chromedp.CSS("#subject"), "Winter offer for {{.Lead.Company}}"),
		chromedp.SetValue(chromedp.CSS("#html"), "<h1>Hello {{.Lead.Name}}</h1>\n<p>Our winter offer for {{.Lead.Company</p>"),
		chromedp.SendKeys(chromedp.CSS("#countries"), "GB"),
		chromedp.Click(chromedp.CSS(`input[name="kind"][value="public"]`)),
		chromedp.Click(chromedp.CSS("#create")),
		chromedp.WaitVisible(chromedp.CSS("#problem")))
	if got := text(t, ctx, "#problem"); !strings.Contains(got, "line 2") {
		t.Errorf("template error %q does not name line 2", got)
	}
	shot("11-campaign-new-error")
	do(t, ctx, "fix it and create the draft",
		chromedp.SetValue(chromedp.CSS("#html"), "<h1>Hello {{.Lead.Name}}</h1>\n<p>Our winter offer for {{.Lead.Company}}: 20% off until January.</p>"),
		chromedp.Click(chromedp.CSS("#create")),
		chromedp.WaitVisible(chromedp.CSS("#campaign-state")))
	if got := text(t, ctx, "#campaign-state"); got != "draft" {
		t.Errorf("new campaign is %q, want draft", got)
	}
	if got := text(t, ctx, "#audience"); !strings.Contains(got, "Countries: GB") || !strings.Contains(got, "Kinds of source: public") {
		t.Errorf("audience %q", got)
	}
	shot("12-campaign-draft")
	campaignURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	do(t, ctx, "preview for the imported lead",
		chromedp.SendKeys(chromedp.CSS("#lead"), "anna@registry.example"),
		chromedp.Click(chromedp.CSS("#preview")),
		chromedp.WaitVisible(chromedp.CSS("#preview-frame")))
	if got := text(t, ctx, "#preview-text"); !strings.Contains(got, "Where we got your details") || !strings.Contains(got, "The Trade Register") {
		t.Errorf("preview's text part lacks the notice of the public source:\n%s", got)
	}
	if got := text(t, ctx, "#preview-headers"); !strings.Contains(got, "To: ") || !strings.Contains(got, "List-Unsubscribe") {
		t.Errorf("preview headers:\n%s", got)
	}
	var sandbox chromedp.AttributeResult
	sandbox, err = chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#preview-frame"), "sandbox"))
	// allow-same-origin only, so that the page can size the frame: never allow-scripts.
	if err != nil || !sandbox.Exists || sandbox.Value != "allow-same-origin" {
		t.Errorf("preview frame sandbox attribute %+v, %v; want present with allow-same-origin only", sandbox, err)
	}
	// Let the frame paint before the screenshot.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("preview-frame").offsetHeight > 0`)); err != nil {
		t.Fatal(err)
	}
	shot("13-campaign-preview")

	do(t, ctx, "test send",
		chromedp.Navigate(campaignURL),
		chromedp.WaitVisible(chromedp.CSS("#test-form")),
		chromedp.SendKeys(chromedp.CSS("#to"), "mark@focus.example"),
		chromedp.Click(chromedp.CSS("#test-send")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := text(t, ctx, "#notice"); !strings.Contains(got, "Test message sent to mark@focus.example") {
		t.Errorf("after the test send the page says %q", got)
	}
	if m.smtp.CountRecipient("mark@focus.example") != 1 {
		t.Errorf("test message arrived %d times", m.smtp.CountRecipient("mark@focus.example"))
	}

	do(t, ctx, "send now and watch it finish",
		chromedp.Click(chromedp.CSS("#send-now")),
		chromedp.WaitVisible(chromedp.CSS("#campaign-state.status-finished")))
	if err := <-started; err != nil {
		t.Fatalf("campaign run: %v", err)
	}
	if got := text(t, ctx, "#campaign-counts"); !strings.Contains(got, "2 recipients: 2 sent") {
		t.Errorf("finished counts %q", got)
	}
	if m.smtp.CountRecipient("anna@registry.example") != 1 || m.smtp.CountRecipient("bob@registry.example") != 1 {
		t.Error("the campaign did not reach both leads once")
	}
	shot("14-campaign-finished")
	do(t, ctx, "recipients",
		chromedp.Click(chromedp.CSS("#recipients-link")),
		chromedp.WaitVisible(chromedp.CSS("#recipients")))
	if got := text(t, ctx, "#recipients"); !strings.Contains(got, "anna@registry.example") || !strings.Contains(got, "sent") {
		t.Errorf("recipients:\n%s", got)
	}
	shot("15-campaign-recipients")
	do(t, ctx, "campaign list", chromedp.Navigate(a.ts.URL+"/campaigns"), chromedp.WaitVisible(chromedp.CSS("#campaigns")))
	shot("16-campaigns")
	do(t, ctx, "sources", chromedp.Navigate(a.ts.URL+"/sources"), chromedp.WaitVisible(chromedp.CSS("#sources")))
	shot("17-sources")
	do(t, ctx, "source", chromedp.Click(chromedp.CSS(`#sources a[href="/sources/registry"]`)), chromedp.WaitVisible(chromedp.CSS("#runs")))
	shot("18-source")

	// A second campaign in progress, for the dashboard.
	c2 := &leadmailer.Campaign{Name: "Spring preview", Subject: "Spring", HTML: "<p>Spring</p>", State: leadmailer.CampaignDraft, CreatedBy: "user:mark"}
	if err := a.db.CreateCampaign(t.Context(), c2); err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.ResolveAudience(t.Context(), c2, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.SetCampaignState(t.Context(), c2.ID, leadmailer.CampaignRunning, ""); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "log in as admin",
		chromedp.Navigate(a.ts.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#name"), "ada"),
		chromedp.SendKeys(chromedp.CSS("#password"), password("ada")),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#running-campaigns")))
	if got := text(t, ctx, "#running-campaigns"); !strings.Contains(got, "Spring preview") {
		t.Errorf("dashboard's running campaigns:\n%s", got)
	}
	shot("19-dashboard")
	do(t, ctx, "lead", chromedp.Navigate(a.ts.URL+"/leads/"+itoa(anna.ID)), chromedp.WaitVisible(chromedp.CSS("#sends")))
	if got := text(t, ctx, "#sends"); !strings.Contains(got, "Winter offer") || !strings.Contains(got, "sent") {
		t.Errorf("lead's mail:\n%s", got)
	}
	shot("20-lead-sends")
	do(t, ctx, "erase confirmation", chromedp.Click(chromedp.CSS("#erase-link")), chromedp.WaitVisible(chromedp.CSS("#erase-form")))
	shot("21-lead-erase")
	do(t, ctx, "erase",
		chromedp.SendKeys(chromedp.CSS("#reason"), "erasure request 2026-11-30"),
		chromedp.Click(chromedp.CSS("#erase")),
		chromedp.WaitVisible(chromedp.CSS("#erased")))
	shot("22-lead-erased")
}
