package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/templates"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

// testMail is the API's Mail with a fixed sender, sending through a real in-process SMTP
// server, as the web app's tests have it. start sets db.
type testMail struct {
	db   *store.DB
	smtp *smtptest.Server
}

func (m *testMail) settings() campaign.Settings {
	return campaign.Settings{
		Sender: templates.Sender{From: "Focus Marketing <marketing@focus.example>", Company: "Focus Oy",
			PostalAddress: "Esimerkkikatu 1, 00100 Helsinki", PrivacyPolicyURL: "https://focus.example/privacy"},
		Wordings:     templates.DefaultWordings(),
		Describe:     func(source string) templates.SourceInfo { return templates.SourceInfo{Title: "The CRM"} },
		PublicURL:    "https://leads.focus.example",
		Signer:       unsubscribe.NewSigner([]byte("0123456789abcdef0123456789abcdef")),
		MessageIDKey: []byte("message id key"),
	}
}

func (m *testMail) CheckTemplates(c *leadmailer.Campaign) error {
	s := m.settings()
	if _, err := templates.Compile(templates.Campaign{Subject: c.Subject, HTML: c.HTML, Text: c.Text}, s.Sender, s.Wordings); err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "the campaign's %v", err)
	}
	return nil
}

func (m *testMail) Builder(ctx context.Context, c *leadmailer.Campaign) (*campaign.Builder, error) {
	return campaign.NewBuilder(c, m.settings(), func() (map[int64]*leadmailer.ImportRun, error) { return m.db.ImportRunsByID(ctx) })
}

func (m *testMail) SendTest(ctx context.Context, msg *mailer.Message) (string, error) {
	tr, err := mailer.Open(m.smtp.URL(), mailer.Options{})
	if err != nil {
		return "", err
	}
	defer tr.Close()
	return tr.Send(ctx, msg)
}

func (m *testMail) AudienceRules() store.AudienceRules { return store.AudienceRules{} }

func newCampaign(name string) map[string]any {
	return map[string]any{"name": name, "subject": "Hello {{.Lead.Name}}", "html": "<p>Hello {{.Lead.Name}} at {{.Lead.Company}}</p>"}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func TestCampaignCreateChecks(t *testing.T) {
	a := start(t, api.Options{Mail: &testMail{smtp: smtptest.New(t)}})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	soon := a.clock.Now().Add(time.Hour)
	for _, tc := range []struct {
		name      string
		token     string
		body      map[string]any
		want      int
		wantCode  string
		wantField string
	}{
		{"viewer", viewer, newCampaign("Winter"), 403, api.CodeForbidden, ""},
		{"no name", crm, with(newCampaign("Winter"), "name", "  "), 400, leadmailer.EINVALID, "name"},
		{"no subject", crm, with(newCampaign("Winter"), "subject", ""), 400, leadmailer.EINVALID, "subject"},
		{"no body", crm, with(newCampaign("Winter"), "html", ""), 400, leadmailer.EINVALID, "html"},
		{"not a country", crm, with(newCampaign("Winter"), "countries", []string{"FI", "Atlantis"}), 400, leadmailer.EINVALID, "countries[1]"},
		{"not a kind", crm, with(newCampaign("Winter"), "kinds", []string{"rumour"}), 400, leadmailer.EINVALID, "kinds"},
		{"time and cron", crm, with(newCampaign("Winter"), "send_at", soon, "cron", "0 9 * * 1"), 400, leadmailer.EINVALID, "cron"},
		{"bad cron", crm, with(newCampaign("Winter"), "cron", "every monday"), 400, leadmailer.EINVALID, "cron"},
		{"broken template", crm, with(newCampaign("Winter"), "html", "<p>{{.Lead.Name</p>"), 400, leadmailer.EINVALID, ""},
		{"unknown field", crm, with(newCampaign("Winter"), "audience", "everyone"), 400, leadmailer.EINVALID, "audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("POST", "/api/v1/campaigns", tc.token, tc.body)
			if r.status != tc.want {
				t.Fatalf("got %d, want %d: %s", r.status, tc.want, r.body)
			}
			if code, field := r.apiError(t); code != tc.wantCode || field != tc.wantField {
				t.Errorf("code %q field %q, want %q %q: %s", code, field, tc.wantCode, tc.wantField, r.body)
			}
		})
	}
	if cs, err := a.db.FindCampaigns(t.Context()); err != nil || len(cs) != 0 {
		t.Errorf("refused creates stored %d campaigns, %v", len(cs), err)
	}

	// A scheduled one, created once however often the call is retried.
	body := with(newCampaign("Winter"), "countries", []string{"Finland"}, "send_at", soon)
	first := a.do("POST", "/api/v1/campaigns", crm, body, "Idempotency-Key", "winter")
	var c leadmailer.Campaign
	first.decode(t, &c)
	if first.status != http.StatusCreated || c.State != leadmailer.CampaignScheduled || c.CreatedBy != "token:crm" ||
		fmt.Sprint(c.Countries) != "[FI]" || c.SendAt == nil || !c.SendAt.Equal(soon) {
		t.Fatalf("created %d %+v: want a scheduled campaign for FI by token:crm at %v", first.status, c, soon)
	}
	again := a.do("POST", "/api/v1/campaigns", crm, body, "Idempotency-Key", "winter")
	if again.header.Get("Idempotent-Replayed") != "true" || string(again.body) != string(first.body) {
		t.Errorf("retry: %d %s, want the first answer replayed", again.status, again.body)
	}
	if cs, _ := a.db.FindCampaigns(t.Context()); len(cs) != 1 {
		t.Errorf("%d campaigns after a retry, want 1", len(cs))
	}
	for query, want := range map[string]int{"": 1, "?state=scheduled": 1, "?state=draft&state=paused": 0} {
		var list struct{ Campaigns []leadmailer.Campaign }
		a.do("GET", "/api/v1/campaigns"+query, crm, nil).decode(t, &list)
		if len(list.Campaigns) != want {
			t.Errorf("list%s: %d campaigns, want %d", query, len(list.Campaigns), want)
		}
	}
	if r := a.do("GET", "/api/v1/campaigns?state=asleep", crm, nil); r.status != 400 {
		t.Errorf("list in an unknown state: %d, want 400", r.status)
	}
}

func TestCampaignPreviewTestAndLifecycle(t *testing.T) {
	m := &testMail{smtp: smtptest.New(t)}
	var wakes atomic.Int32
	a := start(t, api.Options{Mail: m, WakeCampaigns: func() { wakes.Add(1) }})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	a.do("POST", "/api/v1/leads", crm, batch(lead("anna@virta.fi"), lead("bert@virta.fi"), lead("cecilia@virta.fi")))
	var c leadmailer.Campaign
	a.do("POST", "/api/v1/campaigns", crm, newCampaign("Winter")).decode(t, &c)
	path := fmt.Sprintf("/api/v1/campaigns/%d", c.ID)

	var p struct {
		LeadID                     int64 `json:"lead_id"`
		To, Subject, Headers, HTML string
		OutsideAudience            string `json:"outside_audience"`
	}
	r := a.do("GET", path+"/preview?lead=1", crm, nil)
	r.decode(t, &p)
	if r.status != 200 || p.To != "anna@virta.fi" || p.Subject != "Hello Anna Virtanen" || !strings.Contains(p.HTML, "Virta Oy") ||
		!strings.Contains(p.Headers, "List-Unsubscribe-Post: List-Unsubscribe=One-Click") || p.OutsideAudience != "" {
		t.Errorf("preview %d %+v", r.status, p)
	}
	for _, tc := range []struct {
		name, path, token string
		want              int
		wantField         string
	}{
		{"viewer", path + "/preview?lead=1", viewer, 403, ""},
		{"no lead", path + "/preview", crm, 400, "lead"},
		{"unknown lead", path + "/preview?lead=99", crm, 404, ""},
		{"unknown campaign", "/api/v1/campaigns/99/preview?lead=1", crm, 404, ""},
	} {
		if r := a.do("GET", tc.path, tc.token, nil); r.status != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.name, r.status, tc.want, r.body)
		} else if _, field := r.apiError(t); field != tc.wantField {
			t.Errorf("%s: field %q, want %q", tc.name, field, tc.wantField)
		}
	}

	// A test send goes through the transport to the address given, as the lead would get it.
	var sent struct{ To, Reply string }
	r = a.do("POST", path+"/test", crm, map[string]any{"to": "Tester@Focus.example", "lead": 2})
	r.decode(t, &sent)
	if r.status != 200 || sent.To != "tester@focus.example" || !strings.Contains(sent.Reply, "queued") {
		t.Errorf("test send: %d %s", r.status, r.body)
	}
	if got := m.smtp.CountRecipient("tester@focus.example"); got != 1 || m.smtp.Count() != 1 {
		t.Errorf("the relay got %d messages, %d to the tester; want 1", m.smtp.Count(), got)
	}
	if r := a.do("POST", path+"/test", crm, map[string]any{"to": "not an address"}); r.status != 400 {
		t.Errorf("test to a bad address: %d", r.status)
	}
	m.smtp.FailAllRecipients(smtptest.Fault{Code: 550, Text: "5.1.1 no such user"})
	if r := a.do("POST", path+"/test", crm, map[string]any{"to": "gone@focus.example"}); r.status != http.StatusBadGateway {
		t.Errorf("test refused by the relay: %d %s, want 502", r.status, r.body)
	} else if code, _ := r.apiError(t); code != api.CodeSendFailed || !strings.Contains(string(r.body), "no such user") {
		t.Errorf("test refused by the relay: %s, want send_failed with the relay's answer", r.body)
	}

	// schedule -> pause -> resume (scheduled again for its time) -> cancel; then nothing.
	at := a.clock.Now().Add(48 * time.Hour)
	for _, step := range []struct {
		path string
		body any
		want leadmailer.CampaignState
	}{
		{"/schedule", map[string]any{"at": at}, leadmailer.CampaignScheduled},
		{"/pause", nil, leadmailer.CampaignPaused},
		{"/resume", nil, leadmailer.CampaignScheduled},
		{"/cancel", nil, leadmailer.CampaignCancelled},
	} {
		var got leadmailer.Campaign
		r := a.do("POST", path+step.path, crm, step.body)
		r.decode(t, &got)
		if r.status != 200 || got.State != step.want {
			t.Fatalf("%s: %d %s, want %s", step.path, r.status, r.body, step.want)
		}
		if got.SendAt == nil || !got.SendAt.Equal(at) {
			t.Errorf("%s: send_at %v, want %v kept", step.path, got.SendAt, at)
		}
	}
	if r := a.do("POST", path+"/resume", crm, nil); r.status != http.StatusConflict {
		t.Errorf("resume a cancelled campaign: %d, want 409", r.status)
	}
	if r := a.do("POST", path+"/schedule", crm, map[string]any{}); r.status != 400 {
		t.Errorf("schedule without a time: %d, want 400", r.status)
	}
	if r := a.do("POST", path+"/pause", viewer, nil); r.status != 403 {
		t.Errorf("viewer pauses: %d, want 403", r.status)
	}

	// Send now wakes the scheduler.
	var now leadmailer.Campaign
	a.do("POST", "/api/v1/campaigns", crm, newCampaign("Spring")).decode(t, &now)
	before := wakes.Load()
	r = a.do("POST", fmt.Sprintf("/api/v1/campaigns/%d/send", now.ID), crm, nil)
	r.decode(t, &now)
	if r.status != 200 || now.State != leadmailer.CampaignScheduled || now.SendAt == nil || !now.SendAt.Equal(a.clock.Now()) || wakes.Load() != before+1 {
		t.Errorf("send now: %d %+v, woke %d times", r.status, now, wakes.Load()-before)
	}

	var actions []string
	for _, e := range a.auditEntries("token:crm") {
		if strings.HasPrefix(e.Action, "campaign.") {
			actions = append(actions, strings.TrimSpace(e.Action+" "+e.Target+" "+e.Detail))
		}
	}
	want := []string{`campaign.create campaign 1 "Winter", draft`, "campaign.preview lead 1 campaign 1",
		"campaign.test campaign 1 to tester@focus.example as lead 2", "campaign.test campaign 1 to gone@focus.example as a sample lead",
		"campaign.schedule campaign 1 at " + at.Format(time.RFC3339), "campaign.pause campaign 1", "campaign.resume campaign 1",
		"campaign.cancel campaign 1", `campaign.create campaign 2 "Spring", draft`, "campaign.send campaign 2 now"}
	if strings.Join(actions, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit entries:\n got %q\nwant %q", actions, want)
	}
}

func TestCampaignReportAndRecipients(t *testing.T) {
	a := start(t, api.Options{Mail: &testMail{smtp: smtptest.New(t)}})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	a.do("POST", "/api/v1/leads", crm, batch(lead("anna@virta.fi"), lead("bert@virta.fi"), lead("cecilia@virta.fi")))
	var c leadmailer.Campaign
	a.do("POST", "/api/v1/campaigns", crm, newCampaign("Winter")).decode(t, &c)
	if _, err := a.db.ResolveAudience(t.Context(), &c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/campaigns/%d", c.ID)
	var rep struct {
		Campaign leadmailer.Campaign
		Report   leadmailer.CampaignReport
	}
	a.do("GET", path+"/report", crm, nil).decode(t, &rep)
	if rep.Campaign.ID != c.ID || rep.Report.Total != 3 || rep.Report.Queued != 3 {
		t.Errorf("report %+v: want 3 queued", rep)
	}
	var got []string
	after := ""
	for range 3 {
		var page struct {
			Recipients []leadmailer.Recipient
			NextCursor string `json:"next_cursor"`
		}
		a.do("GET", path+"/recipients?status=queued&limit=2&after="+after, crm, nil).decode(t, &page)
		for _, rc := range page.Recipients {
			got = append(got, rc.Email)
		}
		if after = page.NextCursor; after == "" {
			break
		}
	}
	if strings.Join(got, " ") != "anna@virta.fi bert@virta.fi cecilia@virta.fi" {
		t.Errorf("recipients %q, want the three leads once each", got)
	}
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{path + "/recipients?status=sent", crm, 200},
		{path + "/recipients?status=bounced", crm, 400},
		{path + "/recipients?limit=0", crm, 400},
		{path + "/recipients", viewer, 403},
		{path + "/report", viewer, 403},
		{"/api/v1/campaigns/99/report", crm, 404},
	} {
		if r := a.do("GET", tc.path, tc.token, nil); r.status != tc.want {
			t.Errorf("GET %s: %d, want %d: %s", tc.path, r.status, tc.want, r.body)
		}
	}
	var n int
	for _, e := range a.auditEntries("token:crm") {
		if e.Action == leadmailer.AuditCampaignRecipients {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d recipient reads recorded, want 3: two pages and the list of sent ones", n)
	}
}
