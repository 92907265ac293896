package publicweb_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/publicweb"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

// publicURL is where confirmation links point. It is not the test server's address, which
// shows that links never take the address a request came to.
const publicURL = "https://leads.example.com"

type consentServer struct {
	*server
	smtp  *smtptest.Server
	audit []string
}

// newConsentServer starts the public endpoints with double opt-in mailing through a real
// SMTP server. Client IPs come from X-Forwarded-For, so that tests can post from several.
func newConsentServer(t *testing.T, opts publicweb.Options) *consentServer {
	t.Helper()
	cs := &consentServer{smtp: smtptest.New(t)}
	tr, err := mailer.Open(cs.smtp.URL(), mailer.Options{Concurrency: 1, Timeout: 5 * time.Second,
		Timeouts: mailer.Timeouts{Greeting: 5 * time.Second, Command: 2 * time.Second, Data: 2 * time.Second, Block: 2 * time.Second, DataEnd: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	opts.Confirm = publicweb.NewConfirmSigner(secret)
	opts.Mail, opts.From, opts.PublicURL, opts.Company = tr, "Focus Marketing <marketing@focus.example>", publicURL, "Focus Oy"
	opts.ClientIP = func(r *http.Request) string {
		if ip := r.Header.Get("X-Forwarded-For"); ip != "" {
			return ip
		}
		return "127.0.0.1"
	}
	opts.Audit = func(_ context.Context, action, target, detail, ip string) {
		cs.audit = append(cs.audit, strings.Join([]string{action, target, detail, ip}, "|"))
	}
	if opts.QueryBurst == 0 {
		opts.QueryBurst = 100
	}
	cs.server = newServer(t, opts)
	return cs
}

// link returns the confirmation link of the n-th mail received, pointed at the test server.
func (cs *consentServer) link(t *testing.T, n int) string {
	t.Helper()
	cs.h.Wait()
	msgs := cs.smtp.Messages()
	if len(msgs) <= n {
		t.Fatalf("%d mails received, want at least %d", len(msgs), n+1)
	}
	text := mailText(t, msgs[n].Data)
	m := regexp.MustCompile(regexp.QuoteMeta(publicURL) + `(/query/confirm/[A-Za-z0-9_-]+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("mail %d has no confirmation link to %s:\n%s", n, publicURL, text)
	}
	return cs.srv.URL + m[1]
}

// mailText returns the decoded text of a received mail.
func mailText(t *testing.T, data []byte) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	var text []byte
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(msg.Body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(p) // multipart decodes quoted-printable itself
			text = append(text, b...)
		}
	} else {
		text, err = io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatal(err)
		}
	}
	return string(text)
}

// mailable says why the lead would be skipped by a campaign with Germany consent-only, ""
// when it would be mailed.
func (s *server) mailable(t *testing.T, leadID int64) string {
	t.Helper()
	c := &leadmailer.Campaign{Name: "spring", Subject: "Hello", HTML: "<p>Hi</p>", State: leadmailer.CampaignDraft, CreatedBy: "test"}
	if err := s.db.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	why, err := s.db.AudienceCheck(context.Background(), c, store.AudienceRules{ConsentOnlyCountries: []string{"DE"}}, leadID)
	if err != nil {
		t.Fatal(err)
	}
	return why
}

func consentForm(email string) url.Values {
	return url.Values{"email": {email}, "consent": {"yes"}, "consent_version": {"2026-01"}, "message": {"Send me news"}}
}

// TestConsentNeedsDoubleOptIn is an attacker ticking the consent box for a German lead from a
// CSV file, and then the lead's owner confirming from the mail. The lead stays unmailable
// until the confirmation link is POSTed; the mail's scanner GET changes nothing.
func TestConsentNeedsDoubleOptIn(t *testing.T) {
	cs := newConsentServer(t, publicweb.Options{})
	cs.importFile(t, "testdata/crm.csv")
	ctx := context.Background()
	dora := cs.lead(t, "dora@delta.example")
	if why := cs.mailable(t, dora.ID); why != leadmailer.SkipNoConsent {
		t.Fatalf("before the query: %q, want %q", why, leadmailer.SkipNoConsent)
	}

	form := consentForm("dora@delta.example")
	form.Set("name", `Mallory "Bcc: victim@x.example" <evil@x.example>`)
	got := postQuery(t, cs.server, form, map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "203.0.113.9"})
	if got.status != 200 || !strings.Contains(got.body, "open the link in the mail") {
		t.Fatalf("query: status %d, body %q", got.status, got.body)
	}
	if why := cs.mailable(t, dora.ID); why != leadmailer.SkipNoConsent {
		t.Errorf("after the query, before confirmation: %q, want %q", why, leadmailer.SkipNoConsent)
	}

	msgs := cs.smtp.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "dora@delta.example" {
		t.Fatalf("mails = %+v, want one to dora@delta.example", msgs)
	}
	raw := string(msgs[0].Data)
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	for _, bad := range []string{"Mallory", "Bcc", "evil@", "victim@", "List-Unsubscribe", "2026-01"} {
		if strings.Contains(raw, bad) {
			t.Errorf("the confirmation mail holds %q, which the form sent or which marks marketing mail:\n%s", bad, raw)
		}
	}
	if !strings.Contains(head, "\r\nTo: <dora@delta.example>\r\n") || !strings.Contains(head, "Subject: Please confirm that you want e-mail from Focus Oy") {
		t.Errorf("headers:\n%s", head)
	}

	link := cs.link(t, 0)
	page := do(t, "GET", link, "", nil)
	if page.status != 200 || !strings.Contains(page.body, `<form method="post">`) {
		t.Fatalf("GET link: status %d, body %q; want the page with the button", page.status, page.body)
	}
	if why := cs.mailable(t, dora.ID); why != leadmailer.SkipNoConsent {
		t.Errorf("a GET of the link (a mail scanner) confirmed: %q", why)
	}

	for i := range 2 { // a second press records nothing new
		got = do(t, "POST", link, "", map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "198.51.100.20"})
		if got.status != 200 || !strings.Contains(got.body, "Your consent is recorded") {
			t.Fatalf("POST #%d: status %d, body %q", i+1, got.status, got.body)
		}
	}
	if why := cs.mailable(t, dora.ID); why != "" {
		t.Errorf("after confirmation: %q, want mailable", why)
	}
	x, err := cs.db.ExportLead(ctx, "dora@delta.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Consents) != 1 {
		t.Fatalf("consents = %+v, want one", x.Consents)
	}
	c := x.Consents[0]
	if c.TextVersion != "2026-01" || c.IP != "198.51.100.20" || c.ConfirmationVersion != publicweb.ConfirmationVersion || !c.GivenAt.Equal(cs.now) {
		t.Errorf("consent = %+v, want text 2026-01 confirmed from 198.51.100.20 at %s with confirmation %s", c, cs.now, publicweb.ConfirmationVersion)
	}
	var consentAudit []string
	for _, a := range cs.audit {
		if strings.HasPrefix(a, publicweb.AuditConsent+"|") {
			consentAudit = append(consentAudit, a)
		}
	}
	want := fmt.Sprintf("%s|lead %d|marketing consent, text 2026-01, confirmed by mail (confirmation %s)|198.51.100.20",
		publicweb.AuditConsent, dora.ID, publicweb.ConfirmationVersion)
	if len(consentAudit) != 1 || consentAudit[0] != want {
		t.Errorf("consent audit = %q, want once %q", consentAudit, want)
	}
	if l := cs.lead(t, "dora@delta.example"); l.Name != "Dora Delta" {
		t.Errorf("name = %q after the query, want the CSV's", l.Name)
	}
}

// TestConsentLinkRefused tries forged, altered and expired links, and the link of a lead
// erased since. Each gets a clear page and records no consent.
func TestConsentLinkRefused(t *testing.T) {
	cs := newConsentServer(t, publicweb.Options{ConfirmValid: 48 * time.Hour})
	cs.importFile(t, "testdata/crm.csv")
	postQuery(t, cs.server, consentForm("dora@delta.example"), nil)
	postQuery(t, cs.server, consentForm("new@erased.example"), nil)
	good := cs.link(t, 0)
	erasedLink := cs.link(t, 1)
	if _, err := cs.db.EraseLead(context.Background(), "new@erased.example", "test"); err != nil {
		t.Fatal(err)
	}
	token := good[strings.LastIndexByte(good, '/')+1:]
	flip := []byte(token)
	flip[1] ^= 1
	base := cs.srv.URL + "/query/confirm/"
	otherKey := publicweb.NewConfirmSigner([]byte("another-installation-secret-32by"))
	tests := []struct {
		name, url string
		later     time.Duration
		status    int
		text      string
	}{
		{"altered", base + string(flip), 0, 404, "not valid"},
		{"other installation's key", base + otherKey.Token(1, cs.now.Add(time.Hour)), 0, 404, "not valid"},
		{"unsubscribe token", base + unsubscribe.NewSigner(secret).Token(1, 1), 0, 404, "not valid"},
		{"truncated", good[:len(good)-3], 0, 404, "not valid"},
		{"not base64", base + "%25%25", 0, 404, "not valid"},
		{"made up request", base + "1", 0, 404, "not valid"},
		{"lead erased since", erasedLink, 0, 404, "not valid"},
		{"expired", good, 49 * time.Hour, 410, "expired"},
	}
	start := cs.now
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs.now = start.Add(tt.later)
			for _, method := range []string{"GET", "POST"} {
				got := do(t, method, tt.url, "", nil)
				wantStatus := tt.status
				if tt.name == "lead erased since" && method == "GET" {
					wantStatus = 200 // only the POST looks the request up
				}
				if got.status != wantStatus || (wantStatus != 200 && !strings.Contains(got.body, tt.text)) {
					t.Errorf("%s: status %d, want %d with %q; body %s", method, got.status, wantStatus, tt.text, got.body)
				}
				if strings.Contains(got.body, "<form") && wantStatus != 200 {
					t.Errorf("%s: a refused link shows a button", method)
				}
			}
		})
	}
	cs.now = start
	dora := cs.lead(t, "dora@delta.example")
	if why := cs.mailable(t, dora.ID); why != leadmailer.SkipNoConsent {
		t.Errorf("after refused links: %q, want %q", why, leadmailer.SkipNoConsent)
	}
	// The genuine link still works before it expires.
	if got := do(t, "POST", good, "", nil); got.status != 200 || cs.mailable(t, dora.ID) != "" {
		t.Errorf("genuine link: status %d, body %s", got.status, got.body)
	}
}

// TestConfirmationMailRateLimited posts the form again and again, from many IP addresses,
// to flood one inbox. The address gets one mail per window; another address gets its own,
// and a suppressed address none.
func TestConfirmationMailRateLimited(t *testing.T) {
	cs := newConsentServer(t, publicweb.Options{ConfirmMailEvery: time.Hour})
	post := func(email, ip string) {
		t.Helper()
		got := postQuery(t, cs.server, consentForm(email), map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": ip})
		if got.status != 200 {
			t.Fatalf("query from %s: status %d, body %s", ip, got.status, got.body)
		}
	}
	for i := range 10 {
		post("victim@example.org", fmt.Sprintf("192.0.2.%d", i+1))
	}
	if n := cs.smtp.CountRecipient("victim@example.org"); n != 1 {
		t.Errorf("10 queries at once: %d mails to the address, want 1", n)
	}
	post("other@example.org", "192.0.2.1")
	if n := cs.smtp.CountRecipient("other@example.org"); n != 1 {
		t.Errorf("another address: %d mails, want 1", n)
	}
	// Someone who objected is never mailed again, not even a confirmation.
	if err := cs.db.SuppressAddress(context.Background(), "objector@example.org", "objected"); err != nil {
		t.Fatal(err)
	}
	post("objector@example.org", "192.0.2.1")
	if n := cs.smtp.CountRecipient("objector@example.org"); n != 0 {
		t.Errorf("a suppressed address was sent %d confirmation mails", n)
	}
	cs.now = cs.now.Add(61 * time.Minute)
	post("victim@example.org", "192.0.2.99")
	if n := cs.smtp.CountRecipient("victim@example.org"); n != 2 {
		t.Errorf("an hour later: %d mails in all, want 2", n)
	}
}

// TestQueryAnswerDoesNotWaitForMail: the answer to a query with the box ticked comes while
// the confirmation mail is still with the mail server, so its timing cannot tell whether a
// mail went (and so whether the address objected).
func TestQueryAnswerDoesNotWaitForMail(t *testing.T) {
	cs := newConsentServer(t, publicweb.Options{})
	cs.smtp.FailRecipient("slow@example.org", smtptest.Stall)
	start := time.Now()
	got := do(t, "POST", cs.srv.URL+"/query", consentForm("slow@example.org").Encode(), formPost)
	if got.status != 200 {
		t.Fatalf("query: status %d, body %s", got.status, got.body)
	}
	select {
	case <-cs.smtp.Stalled():
	case <-time.After(10 * time.Second):
		t.Fatal("the confirmation mail never reached the mail server")
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("the answer took %v: it waited for the mail server", took)
	}
}
