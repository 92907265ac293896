package publicweb_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/publicweb"
)

var formPost = map[string]string{"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TestBrowser/1.0"}

func postQuery(t *testing.T, s *server, form url.Values, header map[string]string) response {
	t.Helper()
	if header == nil {
		header = formPost
	}
	got := do(t, "POST", s.srv.URL+"/query", form.Encode(), header)
	s.h.Wait() // for the confirmation mail, which the answer does not wait for
	return got
}

// TestQueryIntake submits one query, then a second from the same person, and checks the lead,
// its provenance of kind website, the query data and the consent.
func TestQueryIntake(t *testing.T) {
	s := newServer(t, publicweb.Options{})
	got := postQuery(t, s, url.Values{
		"name": {"Cecilia Query"}, "company": {"Gamma GmbH"}, "email": {" Cecilia@Gamma.example "},
		"country": {"Germany"}, "message": {"Please call me\r\nabout pricing."},
		"consent": {"yes"}, "consent_version": {"2026-01"}, publicweb.HoneypotField: {""},
	}, nil)
	if got.status != 200 || !strings.Contains(got.body, "we received your query") {
		t.Fatalf("query: status %d, body %q", got.status, got.body)
	}
	s.now = s.now.Add(time.Hour)
	got = postQuery(t, s, url.Values{"email": {"cecilia@gamma.example"}, "company": {"Gamma AG"}, "message": {"Any news?"}}, nil)
	if got.status != 200 {
		t.Fatalf("second query: status %d, body %q", got.status, got.body)
	}
	l := s.lead(t, "cecilia@gamma.example")
	// The second query's company does not overwrite the first's: a query fills only what
	// the lead lacks.
	if l.Name != "Cecilia Query" || l.Company != "Gamma GmbH" || l.Country != "DE" || l.State != leadmailer.LeadActive {
		t.Errorf("lead = %+v, want Cecilia Query, Gamma GmbH, DE, active", l)
	}
	obs, err := s.db.FindObservations(context.Background(), l.ID)
	if err != nil || len(obs) != 2 || obs[0].Kind != leadmailer.KindWebsite || obs[0].Source != "website" || obs[0].RunID == obs[1].RunID {
		t.Fatalf("provenance = %+v, %v; want two website observations from two runs", obs, err)
	}
	qs, err := s.db.FindWebsiteQueries(context.Background(), l.ID)
	if err != nil || len(qs) != 2 {
		t.Fatalf("queries = %+v, %v; want 2", qs, err)
	}
	q := qs[0]
	if q.IP != "127.0.0.1" || q.UserAgent != "TestBrowser/1.0" || q.Message != "Please call me\nabout pricing." ||
		q.ConsentVersion != "2026-01" || !q.ReceivedAt.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("first query = %+v", q)
	}
	if qs[1].ConsentVersion != "" {
		t.Errorf("second query records consent %q, though the box was not ticked", qs[1].ConsentVersion)
	}
}

// TestQueryValidation posts malformed and oversized queries; each gets a 400 saying what to fix.
func TestQueryValidation(t *testing.T) {
	s := newServer(t, publicweb.Options{QueryBurst: 100})
	tests := []struct {
		name    string
		body    string
		ctype   string
		status  int
		message string
	}{
		{"ok", "email=a@b.example&message=hi", "", 200, "received"},
		{"missing email", "name=Anna&message=hi", "", 400, "give your e-mail address"},
		{"bad email", "email=anna-at-example&message=hi", "", 400, "email: "},
		{"email twice", "email=a@b.example&email=c@d.example", "", 400, "email is given 2 times"},
		{"unknown country", "email=a@b.example&country=Atlantis", "", 400, "country"},
		{"control character in name", "email=a@b.example&name=A%0Ab", "", 400, "name: "},
		{"name too long", "email=a@b.example&name=" + strings.Repeat("n", 201), "", 400, "name: "},
		{"message too long", "email=a@b.example&message=" + strings.Repeat("m", publicweb.MaxMessage+1), "", 400, "shorten it"},
		{"body too large", "email=a@b.example&message=" + strings.Repeat("m", publicweb.MaxQueryBody), "", 400, "larger than"},
		{"consent without version", "email=a@b.example&consent=yes", "", 400, "consent_version"},
		{"consent odd value", "email=a@b.example&consent=maybe", "", 400, "consent"},
		{"not a form", `{"email":"a@b.example"}`, "application/json", 400, "application/x-www-form-urlencoded"},
		{"broken encoding", "email=%zz", "", 400, "could not be read"},
		{"invalid UTF-8", "email=a@b.example&message=%ff%fe", "", 400, "not valid text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := tt.ctype
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			got := do(t, "POST", s.srv.URL+"/query", tt.body, map[string]string{"Content-Type": ct, "Accept": "application/json"})
			if got.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", got.status, tt.status, got.body)
			}
			var body map[string]string
			if err := json.Unmarshal([]byte(got.body), &body); err != nil {
				t.Fatalf("body is not JSON: %q", got.body)
			}
			if text := body["error"] + body["status"]; !strings.Contains(text, tt.message) {
				t.Errorf("answer %q does not contain %q", text, tt.message)
			}
		})
	}
	if n, _ := s.db.CountLeads(context.Background()); n != 1 {
		t.Errorf("%d leads stored, want only the valid query's", n)
	}
}

// TestQueryHoneypotAndSuppression: a bot's query and a suppressed person's query are both
// answered as received and neither is stored.
func TestQueryHoneypotAndSuppression(t *testing.T) {
	s := newServer(t, publicweb.Options{})
	if err := s.db.SuppressAddress(context.Background(), "objector@example.com", "objected"); err != nil {
		t.Fatal(err)
	}
	for _, form := range []url.Values{
		{"email": {"bot@spam.example"}, publicweb.HoneypotField: {"http://spam.example"}},
		{"email": {"objector@example.com"}, "message": {"hello"}},
	} {
		if got := postQuery(t, s, form, nil); got.status != 200 || !strings.Contains(got.body, "received") {
			t.Errorf("%v: status %d body %q, want the ordinary thanks", form, got.status, got.body)
		}
	}
	if n, _ := s.db.CountLeads(context.Background()); n != 0 {
		t.Errorf("%d leads stored, want 0", n)
	}
}

// TestQueryRateLimitPerIP: one address gets its burst, then 429 until the clock moves on,
// while another address is unaffected.
func TestQueryRateLimitPerIP(t *testing.T) {
	s := newServer(t, publicweb.Options{QueryBurst: 3, QueryEvery: time.Minute,
		ClientIP: func(r *http.Request) string { return r.Header.Get("X-Forwarded-For") }})
	post := func(ip string) int {
		return postQuery(t, s, url.Values{"email": {"a@b.example"}},
			map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": ip}).status
	}
	for i := range 3 {
		if got := post("192.0.2.1"); got != 200 {
			t.Fatalf("query %d: status %d, want 200", i+1, got)
		}
	}
	if got := post("192.0.2.1"); got != 429 {
		t.Fatalf("fourth query at once: status %d, want 429", got)
	}
	if got := post("192.0.2.2"); got != 200 {
		t.Errorf("another address: status %d, want 200", got)
	}
	s.now = s.now.Add(61 * time.Second)
	if got := post("192.0.2.1"); got != 200 {
		t.Errorf("a minute later: status %d, want 200", got)
	}
	if got := post("192.0.2.1"); got != 429 {
		t.Errorf("right after: status %d, want 429", got)
	}
}

// TestDocumentedFormWorks submits the form snippet the README tells users to paste, filled in
// as a person would, so that the documentation and the endpoint cannot drift apart.
func TestDocumentedFormWorks(t *testing.T) {
	html, err := os.ReadFile("testdata/query-form.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), `method="post"`) || !regexp.MustCompile(`action="[^"]*/query"`).Match(html) {
		t.Fatal("the snippet does not post to /query")
	}
	typed := map[string]string{"name": "Doris Docs", "company": "Docs Ltd", "email": "doris@docs.example",
		"country": "Suomi", "message": "From the snippet."}
	form := url.Values{}
	field := regexp.MustCompile(`<(input|textarea)([^>]*)>`)
	attr := func(tag, name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return ""
		}
		return m[1]
	}
	for _, m := range field.FindAllStringSubmatch(string(html), -1) {
		name, typ, value := attr(m[2], "name"), attr(m[2], "type"), attr(m[2], "value")
		switch {
		case name == publicweb.HoneypotField:
			form.Set(name, "") // people do not see it
		case typ == "checkbox" || typ == "hidden":
			form.Set(name, value) // the person ticks the box
		default:
			v, ok := typed[name]
			if !ok {
				t.Fatalf("the snippet has a field %q the test does not know", name)
			}
			form.Set(name, v)
		}
	}
	// As the documentation says: the website's origin is configured, and the browser names it.
	s := newServer(t, publicweb.Options{QueryOrigins: []string{"https://www.example.com"}})
	header := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://www.example.com"}
	if got := postQuery(t, s, form, header); got.status != 200 {
		t.Fatalf("snippet post: status %d, body %s", got.status, got.body)
	}
	l := s.lead(t, "doris@docs.example")
	qs, _ := s.db.FindWebsiteQueries(context.Background(), l.ID)
	if l.Country != "FI" || len(qs) != 1 || qs[0].ConsentVersion != "2026-01" {
		t.Errorf("lead %+v, queries %+v; want FI and consent version 2026-01", l, qs)
	}
}
