package publicweb_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/publicweb"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

var secret = []byte("publicweb-test-secret-of-32-byte")

type server struct {
	db     *store.DB
	h      *publicweb.Handlers
	srv    *httptest.Server
	signer *unsubscribe.Signer
	now    time.Time
}

// newServer starts the public endpoints on a real HTTP server over a real database.
func newServer(t *testing.T, opts publicweb.Options) *server {
	t.Helper()
	s := &server{signer: unsubscribe.NewSigner(secret), now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s.db = storetest.Open(t, func() time.Time { return s.now })
	opts.Signer = s.signer
	if opts.Now == nil {
		opts.Now = func() time.Time { return s.now }
	}
	mux := http.NewServeMux()
	s.h = publicweb.New(s.db, opts)
	s.h.Mount(mux.Handle)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(func() { s.srv.Close(); s.h.Wait() })
	return s
}

func (s *server) importFile(t *testing.T, path string) *importer.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := importer.Import(context.Background(), s.db, f, importer.Options{Source: "registry", Kind: leadmailer.KindPublic, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (s *server) lead(t *testing.T, email string) *leadmailer.Lead {
	t.Helper()
	l, err := s.db.FindLeadByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("find %s: %v", email, err)
	}
	return l
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, method, u string, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// A client that would follow redirects could hide one; this one reports it.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

var oneClick = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// TestOneClickObjectionSurvivesReimport is the objection's whole path: a registry import, a
// scanner's GET, the RFC 8058 POST from the mail client, a repeat, and a re-import of the
// same and of changed registry data that must neither re-add nor update the objector.
func TestOneClickObjectionSurvivesReimport(t *testing.T) {
	var audit []string
	s := newServer(t, publicweb.Options{Audit: func(_ context.Context, action, target, detail, ip string) {
		audit = append(audit, strings.Join([]string{action, target, detail, ip}, "|"))
	}})
	s.importFile(t, "testdata/registry.csv")
	anna := s.lead(t, "anna.objector@example.fi")
	link := s.signer.URL(s.srv.URL, 7, anna.ID)

	got := do(t, "GET", link, "", nil)
	if got.status != 200 || !strings.Contains(got.body, `<form method="post">`) {
		t.Fatalf("GET: status %d, body %q; want 200 with the confirm form", got.status, got.body)
	}
	if found, _ := s.db.CheckSuppression(context.Background(), anna.Email, ""); len(found) != 0 {
		t.Fatalf("a GET suppressed the address: %+v", found)
	}
	if l := s.lead(t, anna.Email); l.State != leadmailer.LeadActive {
		t.Fatalf("a GET made the lead %s", l.State)
	}

	for i := range 2 { // idempotent
		got = do(t, "POST", link, "List-Unsubscribe=One-Click", oneClick)
		if got.status != 200 || !strings.Contains(got.body, "You are unsubscribed") {
			t.Fatalf("POST #%d: status %d, body %q; want 200 unsubscribed", i+1, got.status, got.body)
		}
		if got.header.Get("Set-Cookie") != "" || got.header.Get("Location") != "" {
			t.Errorf("POST #%d set a cookie or redirected: %v", i+1, got.header)
		}
	}
	found, err := s.db.CheckSuppression(context.Background(), anna.Email, "")
	if err != nil || len(found) != 1 || found[0].Origin != store.OriginObjection || found[0].CampaignID != 7 {
		t.Fatalf("suppression after objection = %+v, %v; want one objection from campaign 7", found, err)
	}
	if l := s.lead(t, anna.Email); l.State != leadmailer.LeadInactive {
		t.Errorf("objector's lead is %s, want inactive (never mailed)", l.State)
	}
	want := fmt.Sprintf("lead.objection|lead %d|campaign 7|127.0.0.1", anna.ID)
	if len(audit) != 2 || audit[0] != want {
		t.Errorf("audit entries = %q, want two of %q (no address)", audit, want)
	}

	for _, file := range []string{"testdata/registry.csv", "testdata/registry-updated.csv"} {
		rep := s.importFile(t, file)
		if rep.Run.Counts.Suppressed != 1 {
			t.Errorf("re-import of %s: counts %+v, want the objector suppressed", file, rep.Run.Counts)
		}
	}
	l := s.lead(t, anna.Email)
	if l.Name != "Anna Objector" || l.Company != "Acme Oy" || l.State != leadmailer.LeadInactive {
		t.Errorf("objector after re-imports = %q/%q/%s, want untouched and inactive", l.Name, l.Company, l.State)
	}
	if b := s.lead(t, "bert@example.se"); b.Company != "Beta Group AB" {
		t.Errorf("the other lead was not updated: company %q", b.Company)
	}

	// Even once the lead is erased, re-imports stay out.
	if _, err := s.db.EraseLead(context.Background(), anna.Email, "test"); err != nil {
		t.Fatal(err)
	}
	s.importFile(t, "testdata/registry.csv")
	if _, err := s.db.FindLeadByEmail(context.Background(), anna.Email); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		t.Errorf("erased objector came back: %v", err)
	}
	// Using the link after the erasure still answers as before.
	if got := do(t, "POST", link, "List-Unsubscribe=One-Click", oneClick); got.status != 200 {
		t.Errorf("POST after erasure: status %d, want 200", got.status)
	}
}

// TestBadTokensGet404 alters and forges tokens; each must get the same 404 and suppress nobody.
func TestBadTokensGet404(t *testing.T) {
	s := newServer(t, publicweb.Options{})
	s.importFile(t, "testdata/registry.csv")
	anna := s.lead(t, "anna.objector@example.fi")
	good := s.signer.Token(3, anna.ID)
	flip := []byte(good)
	flip[2] ^= 1
	other := unsubscribe.NewSigner([]byte("another-installation-secret-32by")).Token(3, anna.ID)
	tokens := map[string]string{
		"altered":         string(flip),
		"other key":       other,
		"truncated":       good[:len(good)-2],
		"extended":        good + "AA",
		"not base64":      "%%%%",
		"empty-ish":       "x",
		"plain lead id":   "1",
		"campaign bumped": s.signer.Token(4, anna.ID)[:3] + good[3:],
	}
	var first string
	for name, tok := range tokens {
		for _, method := range []string{"GET", "POST"} {
			got := do(t, method, s.srv.URL+"/u/"+url.PathEscape(tok), "List-Unsubscribe=One-Click", oneClick)
			if got.status != 404 {
				t.Errorf("%s %s: status %d, want 404", method, name, got.status)
			}
			if first == "" {
				first = got.body
			} else if got.body != first {
				t.Errorf("%s %s: the 404 page differs from the others, which tells guessers something", method, name)
			}
		}
	}
	if strings.Contains(first, "anna") || strings.Contains(first, "example") {
		t.Errorf("404 page reveals the lead: %s", first)
	}
	var n int
	s.db.FindSuppressions(context.Background(), func(*store.Suppression) error { n++; return nil })
	if n != 0 {
		t.Errorf("bad tokens suppressed %d entries", n)
	}
	// A valid token for a lead that does not exist answers like any other valid token.
	if got := do(t, "POST", s.signer.URL(s.srv.URL, 3, 999999), "", oneClick); got.status != 200 {
		t.Errorf("valid token of a missing lead: status %d, want 200", got.status)
	}
}

// TestUnsubscribePageLanguage: the pages speak the browser's language when it is one the
// mail is written in, and English otherwise.
func TestUnsubscribePageLanguage(t *testing.T) {
	s := newServer(t, publicweb.Options{})
	s.importFile(t, "testdata/registry.csv")
	anna := s.lead(t, "anna.objector@example.fi")
	link := s.signer.URL(s.srv.URL, 1, anna.ID)
	tests := []struct {
		method, url, acceptLanguage, want string
	}{
		{"GET", link, "fi-FI,fi;q=0.9,en;q=0.8", `<button type="submit">Peru tilaus</button>`},
		{"GET", link, "de-DE,de;q=0.9,sv;q=0.5", `<button type="submit">Avsluta prenumerationen</button>`},
		{"GET", link, "en;q=0.4,fi;q=0.6", `lang="fi"`},
		{"GET", link, "", `<button type="submit">Unsubscribe</button>`},
		{"GET", link, "de", `lang="en"`},
		{"GET", s.srv.URL + "/u/forged", "fi", "Linkki ei kelpaa"},
		{"POST", link, "sv-SE", "Prenumerationen är avslutad"},
	}
	for _, tt := range tests {
		got := do(t, tt.method, tt.url, "", map[string]string{"Accept-Language": tt.acceptLanguage})
		if !strings.Contains(got.body, tt.want) {
			t.Errorf("%s with Accept-Language %q: body lacks %q:\n%s", tt.method, tt.acceptLanguage, tt.want, got.body)
		}
	}
}

// TestUnsubscribePagesNameTheSender: the confirmation and its answer say whose marketing the
// person leaves, with the company the mail's footer names, in the page's language.
func TestUnsubscribePagesNameTheSender(t *testing.T) {
	s := newServer(t, publicweb.Options{Company: "Focus Oy"})
	s.importFile(t, "testdata/registry.csv")
	link := s.signer.URL(s.srv.URL, 1, s.lead(t, "anna.objector@example.fi").ID)
	tests := []struct {
		method, acceptLanguage, want string
	}{
		{"GET", "en", "<p class=\"sender\">Sender: <strong>Focus Oy</strong></p>"},
		{"GET", "fi", "<p class=\"sender\">Lähettäjä: <strong>Focus Oy</strong></p>"},
		{"GET", "sv", "<p class=\"sender\">Avsändare: <strong>Focus Oy</strong></p>"},
		{"POST", "en", "<p class=\"sender\">Sender: <strong>Focus Oy</strong></p>"},
	}
	for _, tt := range tests {
		got := do(t, tt.method, link, "", map[string]string{"Accept-Language": tt.acceptLanguage})
		if !strings.Contains(got.body, tt.want) {
			t.Errorf("%s in %s: page lacks %q:\n%s", tt.method, tt.acceptLanguage, tt.want, got.body)
		}
	}

	// Without a configured company the page names nobody rather than a placeholder.
	bare := newServer(t, publicweb.Options{})
	bare.importFile(t, "testdata/registry.csv")
	got := do(t, "GET", bare.signer.URL(bare.srv.URL, 1, bare.lead(t, "anna.objector@example.fi").ID), "", nil)
	if strings.Contains(got.body, `class="sender"`) {
		t.Errorf("page without a company names a sender:\n%s", got.body)
	}
}
