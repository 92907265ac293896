package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/templates"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

// testMail is the campaign pages' Mail with a fixed sender, sending through a real
// in-process SMTP server.
type testMail struct {
	db   *store.DB
	smtp *smtptest.Server
}

func (m *testMail) settings() campaign.Settings {
	return campaign.Settings{
		Sender: templates.Sender{From: "Focus Marketing <marketing@focus.example>", Company: "Focus Oy",
			PostalAddress: "Esimerkkikatu 1, 00100 Helsinki", PrivacyPolicyURL: "https://focus.example/privacy"},
		Wordings:     templates.DefaultWordings(),
		Describe:     func(source string) templates.SourceInfo { return templates.SourceInfo{Title: "The Trade Register"} },
		PublicURL:    "https://leads.focus.example",
		Signer:       unsubscribe.NewSigner([]byte("0123456789abcdef0123456789abcdef")),
		MessageIDKey: []byte("message id key"),
	}
}

func (m *testMail) CheckTemplates(c *leadmailer.Campaign) error {
	s := m.settings()
	_, err := templates.Compile(templates.Campaign{Subject: c.Subject, HTML: c.HTML, Text: c.Text}, s.Sender, s.Wordings)
	if err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "the campaign's %v", err)
	}
	return nil
}

func (m *testMail) Builder(ctx context.Context, c *leadmailer.Campaign) (*campaign.Builder, error) {
	return campaign.NewBuilder(c, m.settings(), func() (map[int64]*leadmailer.ImportRun, error) { return m.db.ImportRunsByID(ctx) })
}

func (m *testMail) transport() (mailer.Transport, error) {
	return mailer.Open(m.smtp.URL(), mailer.Options{})
}

func (m *testMail) SendTest(ctx context.Context, msg *mailer.Message) (string, error) {
	tr, err := m.transport()
	if err != nil {
		return "", err
	}
	defer tr.Close()
	return tr.Send(ctx, msg)
}

func (m *testMail) AudienceRules() store.AudienceRules { return store.AudienceRules{} }

// newCampaignApp is a test app with campaign pages that can preview and send.
func newCampaignApp(t *testing.T, opts Options) (*testApp, *testMail) {
	t.Helper()
	m := &testMail{smtp: smtptest.New(t)}
	opts.Mail = m
	a := newTestApp(t, opts)
	m.db = a.db
	return a, m
}

// seedPublicLead imports one lead from a public database, as a scheduled source would.
func seedPublicLead(t *testing.T, a *testApp, email, name, company, country string) *leadmailer.Lead {
	t.Helper()
	w, err := a.db.BeginImport(t.Context(), &leadmailer.ImportRun{Source: "registry", Kind: leadmailer.KindPublic,
		FileName: "registry.json", Actor: "schedule"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var row leadmailer.ImportRow
	row.Row = 1
	row.Values[leadmailer.FieldEmail] = email
	row.Values[leadmailer.FieldName] = name
	row.Values[leadmailer.FieldCompany] = company
	row.Values[leadmailer.FieldCountry] = country
	row.Received = row.Values
	for _, f := range []leadmailer.Field{leadmailer.FieldEmail, leadmailer.FieldName, leadmailer.FieldCompany, leadmailer.FieldCountry} {
		row.Supplied = row.Supplied.With(f)
	}
	row.EmailHash = w.SuppressionHash(email)
	if _, err := w.WriteBatch(t.Context(), []leadmailer.ImportRow{row}, leadmailer.ImportCounts{Read: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(t.Context(), leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	l, err := a.db.FindLeadByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newCampaignValues(name, html string) url.Values {
	return url.Values{"name": {name}, "subject": {"Hello {{.Lead.Name}}"}, "html": {html}, "text": {""}, "countries": {""}}
}

// createCampaign creates a campaign through the form and returns its ID.
func createCampaign(t *testing.T, c *client, name string) int64 {
	t.Helper()
	c.get("/campaigns/new")
	form := newCampaignValues(name, "<p>Hello {{.Lead.Name}} at {{.Lead.Company}}</p>")
	form.Set("csrf", c.csrf)
	res := c.post("/campaigns", form)
	if res.status != http.StatusSeeOther {
		t.Fatalf("create campaign: status %d\n%s", res.status, res.body)
	}
	id, err := parseID(strings.TrimPrefix(res.header.Get("Location"), "/campaigns/"))
	if err != nil {
		t.Fatalf("create redirected to %q", res.header.Get("Location"))
	}
	return id
}

// TestCampaignAndPrivacyRoleBoundaries checks each new route's role on the server: a viewer
// cannot create, send or change campaigns nor run sources; a marketer cannot export or erase
// a lead. Refused requests change nothing.
func TestCampaignAndPrivacyRoleBoundaries(t *testing.T) {
	var runs atomic.Int32
	a, _ := newCampaignApp(t, Options{
		Sources:   []SourceInfo{{Name: "registry", Kind: "http", Format: "json", Public: true}},
		RunSource: func(name, actor string) error { runs.Add(1); return nil },
	})
	a.addUser("vera", leadmailer.RoleViewer)
	a.addUser("mark", leadmailer.RoleMarketer)
	a.addUser("ada", leadmailer.RoleAdmin)
	lead := seedPublicLead(t, a, "anna@registry.example", "Anna Virtanen", "Virtanen Oy", "FI")
	vera, mark, ada := a.login("vera"), a.login("mark"), a.login("ada")
	id := createCampaign(t, mark, "November")
	leadPath := "/leads/" + itoa(lead.ID)
	cpath := campaignPath(id)

	for _, tc := range []struct {
		who          *client
		name         string
		method, path string
		want         int
	}{
		{vera, "viewer", "GET", "/campaigns", http.StatusForbidden},
		{vera, "viewer", "GET", "/campaigns/new", http.StatusForbidden},
		{vera, "viewer", "POST", "/campaigns", http.StatusForbidden},
		{vera, "viewer", "GET", cpath, http.StatusForbidden},
		{vera, "viewer", "GET", cpath + "/preview?lead=anna@registry.example", http.StatusForbidden},
		{vera, "viewer", "GET", cpath + "/preview.html?lead=anna@registry.example", http.StatusForbidden},
		{vera, "viewer", "GET", cpath + "/recipients", http.StatusForbidden},
		{vera, "viewer", "POST", cpath + "/test", http.StatusForbidden},
		{vera, "viewer", "POST", cpath + "/schedule", http.StatusForbidden},
		{vera, "viewer", "POST", cpath + "/send", http.StatusForbidden},
		{vera, "viewer", "POST", cpath + "/pause", http.StatusForbidden},
		{vera, "viewer", "POST", cpath + "/resume", http.StatusForbidden},
		{vera, "viewer", "POST", cpath + "/cancel", http.StatusForbidden},
		{vera, "viewer", "POST", "/sources/registry/run", http.StatusForbidden},
		{vera, "viewer", "GET", "/sources", http.StatusOK},
		{vera, "viewer", "GET", "/sources/registry", http.StatusOK},
		{vera, "viewer", "GET", leadPath, http.StatusOK},
		{vera, "viewer", "POST", leadPath + "/export", http.StatusForbidden},
		{mark, "marketer", "POST", leadPath + "/export", http.StatusForbidden},
		{mark, "marketer", "GET", leadPath + "/erase", http.StatusForbidden},
		{mark, "marketer", "POST", leadPath + "/erase", http.StatusForbidden},
		{mark, "marketer", "GET", cpath, http.StatusOK},
		{ada, "admin", "GET", leadPath + "/erase", http.StatusOK},
	} {
		var res response
		if tc.method == "GET" {
			res = tc.who.get(tc.path)
		} else {
			form := newCampaignValues("by "+tc.name, "<p>x</p>")
			form.Set("csrf", tc.who.csrf)
			form.Set("reason", "test")
			form.Set("to", "someone@example.com")
			form.Set("at", "2026-12-24T09:00")
			res = tc.who.post(tc.path, form)
		}
		if res.status != tc.want {
			t.Errorf("%s %s %s: status %d, want %d", tc.name, tc.method, tc.path, res.status, tc.want)
		}
	}
	cs, err := a.db.FindCampaigns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].State != leadmailer.CampaignDraft {
		t.Errorf("after the refused requests: %d campaigns, the first %s; want the one draft", len(cs), cs[0].State)
	}
	if runs.Load() != 0 {
		t.Errorf("a refused run-now request ran the source %d times", runs.Load())
	}
	if _, err := a.db.FindLeadByID(t.Context(), lead.ID); err != nil {
		t.Errorf("a marketer's erase request erased the lead: %v", err)
	}
	if res := ada.post(leadPath+"/export", url.Values{"csrf": {ada.csrf}}); res.status != http.StatusOK {
		t.Errorf("admin export: status %d", res.status)
	}
	if res := mark.post("/sources/registry/run", url.Values{"csrf": {mark.csrf}}); res.status != http.StatusSeeOther || runs.Load() != 1 {
		t.Errorf("marketer run now: status %d, %d runs; want 303 and one run", res.status, runs.Load())
	}
}

// TestCampaignTemplateErrorShown: a template error comes back on the form with its line and
// column, the typed text kept, and nothing stored.
func TestCampaignTemplateErrorShown(t *testing.T) {
	a, _ := newCampaignApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	c := a.login("mark")
	c.get("/campaigns/new")
	form := newCampaignValues("Broken", "<p>Hello</p>\n<p>{{.Lead.Name</p>")
	form.Set("csrf", c.csrf)
	res := c.post("/campaigns", form)
	if res.status != http.StatusBadRequest || !strings.Contains(res.body, "line 2") {
		t.Errorf("template error: status %d, want 400 naming line 2:\n%s", res.status, res.body)
	}
	if !strings.Contains(res.body, "{{.Lead.Name&lt;/p&gt;") {
		t.Error("the form lost the typed HTML")
	}
	if cs, _ := a.db.FindCampaigns(t.Context()); len(cs) != 0 {
		t.Errorf("%d campaigns stored from a form with a template error", len(cs))
	}
	form = newCampaignValues("Bad country", "<p>x</p>")
	form.Set("csrf", c.csrf)
	form.Set("countries", "FI, Narnia")
	if res := c.post("/campaigns", form); res.status != http.StatusBadRequest || !strings.Contains(res.body, "Narnia is not a country") {
		t.Errorf("bad country: status %d", res.status)
	}
}

// TestCampaignPreviewAndTestSend renders a campaign for a public-sourced lead: the preview
// page shows the headers and text part with the source notice, frames the HTML part served
// under its own strict policy, and is audited; a test send reaches the SMTP server.
func TestCampaignPreviewAndTestSend(t *testing.T) {
	a, m := newCampaignApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	seedPublicLead(t, a, "john@registry.example", "John Smith", "Smith Ltd", "GB")
	c := a.login("mark")
	id := createCampaign(t, c, "Winter")

	res := c.get(campaignPath(id) + "/preview?lead=" + url.QueryEscape("John@Registry.example"))
	if res.status != http.StatusOK {
		t.Fatalf("preview: status %d\n%s", res.status, res.body)
	}
	for _, want := range []string{"Where we got your details", "The Trade Register", "Subject: Hello John Smith",
		`sandbox="allow-same-origin"`, "/preview.html?lead=john%40registry.example", "List-Unsubscribe"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("preview page lacks %q", want)
		}
	}
	res = c.get(campaignPath(id) + "/preview.html?lead=john%40registry.example")
	if res.status != http.StatusOK || !strings.Contains(res.body, "Hello John Smith at Smith Ltd") {
		t.Errorf("preview HTML: status %d\n%s", res.status, res.body)
	}
	if csp := res.header.Get("Content-Security-Policy"); csp != previewCSP {
		t.Errorf("preview HTML policy %q, want %q", csp, previewCSP)
	}
	if res := c.get(campaignPath(id) + "/preview?lead=nobody@example.com"); res.status != http.StatusBadRequest {
		t.Errorf("preview for an unknown address: status %d, want 400 with the form", res.status)
	}
	john, err := a.db.FindLeadByEmail(t.Context(), "john@registry.example")
	if err != nil {
		t.Fatal(err)
	}
	if got := a.auditEntries(store.AuditFilter{Action: auditCampaignPreview}); len(got) != 2 || got[0].Target != leadTarget(john.ID) {
		t.Errorf("preview audit entries: %+v; want two naming the lead", got)
	}

	res = c.post(campaignPath(id)+"/test", url.Values{"csrf": {c.csrf}, "to": {"me@focus.example"}, "as": {"john@registry.example"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "Test message sent to me@focus.example") {
		t.Fatalf("test send: status %d\n%s", res.status, res.body)
	}
	if m.smtp.CountRecipient("me@focus.example") != 1 || m.smtp.CountRecipient("john@registry.example") != 0 {
		t.Errorf("test send delivered to me %d times, to the lead %d times; want 1 and 0",
			m.smtp.CountRecipient("me@focus.example"), m.smtp.CountRecipient("john@registry.example"))
	}
}

// TestCampaignLifecycle schedules, starts, pauses, resumes and cancels a campaign from its
// page, sends it with the real runner, and reads progress, recipients and the lead's mail.
func TestCampaignLifecycle(t *testing.T) {
	var wakes atomic.Int32
	a, m := newCampaignApp(t, Options{WakeCampaigns: func() { wakes.Add(1) }})
	a.addUser("mark", leadmailer.RoleMarketer)
	a.addUser("vera", leadmailer.RoleViewer)
	anna := seedPublicLead(t, a, "anna@registry.example", "Anna Virtanen", "Virtanen Oy", "FI")
	seedPublicLead(t, a, "bob@registry.example", "Bob Berg", "Berg AB", "SE")
	c := a.login("mark")
	id := createCampaign(t, c, "Spring")
	state := func() leadmailer.CampaignState {
		t.Helper()
		cp, err := a.db.FindCampaign(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return cp.State
	}
	post := func(action string, form url.Values, want int) {
		t.Helper()
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", c.csrf)
		if res := c.post(campaignPath(id)+"/"+action, form); res.status != want {
			t.Fatalf("%s: status %d, want %d\n%s", action, res.status, want, res.body)
		}
	}

	post("schedule", url.Values{"at": {"2026-12-24T09:00"}}, http.StatusSeeOther)
	if cp, _ := a.db.FindCampaign(t.Context(), id); cp.State != leadmailer.CampaignScheduled || cp.SendAt.Format("2006-01-02 15:04") != "2026-12-24 09:00" {
		t.Errorf("after scheduling: %s at %v", cp.State, cp.SendAt)
	}
	post("schedule", url.Values{"at": {"christmas"}}, http.StatusBadRequest)
	post("pause", nil, http.StatusSeeOther)
	if state() != leadmailer.CampaignPaused {
		t.Errorf("after pause: %s", state())
	}
	post("resume", nil, http.StatusSeeOther) // never started: back to its time
	if state() != leadmailer.CampaignScheduled {
		t.Errorf("after resume: %s", state())
	}
	post("send", nil, http.StatusSeeOther)
	if cp, _ := a.db.FindCampaign(t.Context(), id); cp.State != leadmailer.CampaignScheduled || !cp.SendAt.Equal(a.clock()) || wakes.Load() != 2 {
		t.Errorf("after send now: %s at %v, %d wake-ups; want scheduled now and the scheduler woken", cp.State, cp.SendAt, wakes.Load())
	}

	// The campaign scheduler of "leadmailer serve" does this part.
	tr, err := m.transport()
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := campaign.Run(t.Context(), a.db, tr, id, m.settings(), campaign.Options{})
	if err != nil || res.Sent != 2 {
		t.Fatalf("send: %+v, %v", res, err)
	}

	var p campaignProgressReport
	pr := c.get(campaignPath(id) + "/progress")
	if err := json.Unmarshal([]byte(pr.body), &p); err != nil || !p.Done || p.Sent != 2 || p.Percent != 100 || p.State != leadmailer.CampaignFinished {
		t.Errorf("progress: %+v, %v\n%s", p, err, pr.body)
	}
	page := c.get(campaignPath(id))
	if !strings.Contains(page.body, "2 recipients: 2 sent") || strings.Contains(page.body, `id="send-now"`) {
		t.Errorf("finished campaign page:\n%s", page.body)
	}
	rec := c.get(campaignPath(id) + "/recipients?status=sent")
	if !strings.Contains(rec.body, "anna@registry.example") || !strings.Contains(rec.body, "bob@registry.example") {
		t.Errorf("recipients sent lacks the two leads:\n%s", rec.body)
	}
	if rec := c.get(campaignPath(id) + "/recipients?status=failed"); strings.Contains(rec.body, "anna@registry.example") {
		t.Error("recipients failed lists a sent lead")
	}
	if rec := c.get(campaignPath(id) + "/recipients?status=bogus"); rec.status != http.StatusBadRequest {
		t.Errorf("recipients with a bad status: %d", rec.status)
	}
	lead := a.login("vera").get(fmt.Sprintf("/leads/%d", anna.ID))
	if !strings.Contains(lead.body, `id="sends"`) || !strings.Contains(lead.body, "Spring") || !strings.Contains(lead.body, "<td>Hello Anna Virtanen</td>") {
		t.Errorf("lead page lacks the campaign mailed:\n%s", lead.body)
	}
	post("cancel", nil, http.StatusConflict) // finished: nothing to cancel
	for _, action := range []string{auditCampaignCreate, auditCampaignSchedule, auditCampaignPause, auditCampaignResume, auditCampaignSend, auditCampaignRecipients} {
		if got := a.auditEntries(store.AuditFilter{Action: action}); len(got) == 0 || got[0].IP == "" || got[0].Actor != "user:mark" {
			t.Errorf("audit %s: %+v; want entries by user:mark with the IP", action, got)
		}
	}
}

// TestLeadExportAndErase: an admin downloads a lead's data as JSON, then erases the lead
// after a confirmation with a reason; only the suppression record stays.
func TestLeadExportAndErase(t *testing.T) {
	a, _ := newCampaignApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	lead := seedPublicLead(t, a, "anna@registry.example", "Anna Virtanen", "Virtanen Oy", "FI")
	c := a.login("ada")
	path := "/leads/" + itoa(lead.ID)
	if page := c.get(path); !strings.Contains(page.body, `id="export"`) || !strings.Contains(page.body, `id="erase-link"`) {
		t.Error("the lead page shows an admin no export or erase")
	}
	res := c.post(path+"/export", url.Values{"csrf": {c.csrf}})
	var x store.LeadExport
	if err := json.Unmarshal([]byte(res.body), &x); err != nil || !strings.Contains(res.body, "Virtanen Oy") {
		t.Errorf("export: %v\n%s", err, res.body)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment") {
		t.Errorf("export Content-Disposition %q, want a download", cd)
	}
	if page := c.get(path + "/erase"); !strings.Contains(page.body, `id="erase-form"`) {
		t.Fatalf("erase confirmation:\n%s", page.body)
	}
	if res := c.post(path+"/erase", url.Values{"csrf": {c.csrf}, "reason": {""}}); res.status != http.StatusBadRequest {
		t.Errorf("erase without a reason: status %d", res.status)
	}
	// A rejects file an older version left in the data directory holds a row of hers.
	old := filepath.Join(a.dir, "rejects", "old-20250101T000000.csv")
	if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("row,reason,email,name\n2,bad country,Anna@Registry.example,Anna\n3,bad country,bob@registry.example,Bob\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = c.post(path+"/erase", url.Values{"csrf": {c.csrf}, "reason": {"erasure request 2026-11-30"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, `id="erased"`) {
		t.Fatalf("erase: status %d\n%s", res.status, res.body)
	}
	if want := "Erased with 1 provenance row, 0 website queries, 0 consents and 1 rejected import row (1 of them in rejects files)."; !strings.Contains(res.body, want) {
		t.Errorf("the erasure page does not say %q:\n%s", want, res.body)
	}
	if b, err := os.ReadFile(old); err != nil || strings.Contains(string(b), "Anna") || !strings.Contains(string(b), "Bob") {
		t.Errorf("rejects file after the erasure: %q, %v; want Bob's row and not Anna's", b, err)
	}
	if _, err := a.db.FindLeadByID(t.Context(), lead.ID); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		t.Errorf("lead after erasure: %v, want not found", err)
	}
	if ok, err := a.db.IsSuppressed(t.Context(), "anna@registry.example"); !ok || err != nil {
		t.Errorf("address suppressed after erasure: %v, %v", ok, err)
	}
	for _, action := range []string{auditLeadExport, auditLeadErase} {
		if got := a.auditEntries(store.AuditFilter{Action: action}); len(got) != 1 || got[0].Actor != "user:ada" || got[0].IP == "" {
			t.Errorf("audit %s: %+v", action, got)
		}
	}
	if got := a.auditEntries(store.AuditFilter{Action: auditLeadErase}); len(got) == 1 && strings.Contains(got[0].Target+got[0].Detail, "anna@") {
		t.Errorf("the erasure's audit entry keeps the address: %+v", got[0])
	}
}

// TestSourcePages lists a configured source with its last run and refuses a second run while
// one is going.
func TestSourcePages(t *testing.T) {
	var running atomic.Bool
	a, _ := newCampaignApp(t, Options{
		Sources: []SourceInfo{{Name: "registry", Title: "The Trade Register", Kind: "http", Format: "json", Public: true, Schedule: "@daily"}},
		RunSource: func(name, actor string) error {
			if !running.CompareAndSwap(false, true) {
				return leadmailer.Errorf(leadmailer.ECONFLICT, "source %s is running already", name)
			}
			return nil
		},
		SourceRunning: func(string) bool { return running.Load() },
	})
	a.addUser("mark", leadmailer.RoleMarketer)
	seedPublicLead(t, a, "anna@registry.example", "Anna Virtanen", "Virtanen Oy", "FI")
	c := a.login("mark")
	list := c.get("/sources")
	for _, want := range []string{"The Trade Register", "@daily", "run 1", "status-completed", `id="run-registry"`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("sources page lacks %q", want)
		}
	}
	if res := c.post("/sources/registry/run", url.Values{"csrf": {c.csrf}}); res.status != http.StatusSeeOther {
		t.Errorf("run now: status %d", res.status)
	}
	if res := c.post("/sources/registry/run", url.Values{"csrf": {c.csrf}}); res.status != http.StatusConflict {
		t.Errorf("second run now while running: status %d, want 409", res.status)
	}
	if page := c.get("/sources/registry"); !strings.Contains(page.body, "status-running") || strings.Contains(page.body, `id="run-now"`) {
		t.Errorf("source page while running:\n%s", page.body)
	}
	if res := c.get("/sources/nothere"); res.status != http.StatusNotFound {
		t.Errorf("unknown source: %d", res.status)
	}
	if got := a.auditEntries(store.AuditFilter{Action: auditSourceRun}); len(got) != 1 || got[0].Target != "source registry" {
		t.Errorf("run-now audit: %+v", got)
	}
}

// TestCampaignRecipientsPages walks a campaign's recipients page by page: every recipient
// shows once, and the last page has no next link.
func TestCampaignRecipientsPages(t *testing.T) {
	a, _ := newCampaignApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	w, err := a.db.BeginImport(t.Context(), &leadmailer.ImportRun{Source: "fair", Kind: leadmailer.KindUpload, FileName: "fair.csv", Actor: "user:mark"}, false)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2*recipientPage + 50
	rows := make([]leadmailer.ImportRow, n)
	for i := range rows {
		rows[i].Row = int64(i + 2)
		rows[i].Values[leadmailer.FieldEmail] = fmt.Sprintf("person%03d@example.com", i)
		rows[i].Received = rows[i].Values
		rows[i].Supplied = rows[i].Supplied.With(leadmailer.FieldEmail)
		rows[i].EmailHash = w.SuppressionHash(rows[i].Values[leadmailer.FieldEmail])
	}
	if _, err := w.WriteBatch(t.Context(), rows, leadmailer.ImportCounts{Read: n}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(t.Context(), leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	c := a.login("mark")
	id := createCampaign(t, c, "Big")
	cp, _ := a.db.FindCampaign(t.Context(), id)
	if _, err := a.db.ResolveAudience(t.Context(), cp, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	addrRE := regexp.MustCompile(`person\d{3}@example\.com`)
	nextRE := regexp.MustCompile(`id="next-page" href="([^"]+)"`)
	path, pages := campaignPath(id)+"/recipients?status=queued", 0
	for path != "" {
		pages++
		res := c.get(unescape(path))
		if res.status != http.StatusOK {
			t.Fatalf("%s: status %d", path, res.status)
		}
		for _, addr := range addrRE.FindAllString(res.body, -1) {
			if seen[addr] {
				t.Errorf("%s shown twice", addr)
			}
			seen[addr] = true
		}
		path = ""
		if m := nextRE.FindStringSubmatch(res.body); m != nil {
			path = m[1]
		}
	}
	if pages != 3 || len(seen) != n {
		t.Errorf("%d pages showed %d recipients; want 3 pages and %d", pages, len(seen), n)
	}
}

// TestCampaignFormBodyLanguage: the form's body language is stored with the campaign, and
// one that is no language tag is refused with the form shown again.
func TestCampaignFormBodyLanguage(t *testing.T) {
	a, _ := newCampaignApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	c := a.login("mark")
	if page := c.get("/campaigns/new"); !strings.Contains(page.body, `name="body_language"`) {
		t.Fatal("the new-campaign form has no body language field")
	}
	form := newCampaignValues("English", "<p>Hello</p>")
	form.Set("csrf", c.csrf)
	form.Set("body_language", "en")
	res := c.post("/campaigns", form)
	if res.status != http.StatusSeeOther {
		t.Fatalf("create: status %d\n%s", res.status, res.body)
	}
	cs, err := a.db.FindCampaigns(t.Context())
	if err != nil || len(cs) != 1 || cs[0].BodyLanguage != "en" {
		t.Fatalf("stored campaigns %+v (%v), want one with body language en", cs, err)
	}
	form.Set("body_language", "English")
	if res := c.post("/campaigns", form); res.status != http.StatusBadRequest || !strings.Contains(res.body, "not a language tag") {
		t.Errorf("body language English: status %d, want 400 saying it is not a language tag", res.status)
	}
}
