package publicweb_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/publicweb"
)

// TestQueryCannotOverwriteOrReactivate posts, as an anonymous visitor would, queries with
// other people's addresses: of a lead from a CSV file, of an inactive lead, and of a lead
// with empty fields. The stored values and states stay as the other source left them, only
// empty fields are filled, and every value sent is kept as received in the provenance.
func TestQueryCannotOverwriteOrReactivate(t *testing.T) {
	s := newServer(t, publicweb.Options{QueryBurst: 100})
	s.importFile(t, "testdata/crm.csv")
	ctx := context.Background()
	if _, err := s.db.EndRelationship(ctx, "ivan@inactive.example"); err != nil {
		t.Fatal(err)
	}
	s.now = s.now.Add(time.Hour)

	tests := []struct {
		name  string
		form  url.Values
		want  leadmailer.Lead // Name, Company, Country, State
		field string          // a field whose value as received the observation must hold
	}{
		{"values of a CSV lead stay",
			url.Values{"email": {"Dora@Delta.example"}, "name": {"Mallory"}, "company": {"Evil Corp"}, "country": {"FI"}},
			leadmailer.Lead{Name: "Dora Delta", Company: "Delta GmbH", Country: "DE", State: leadmailer.LeadActive}, "company"},
		{"inactive lead stays inactive",
			url.Values{"email": {"ivan@inactive.example"}, "name": {"Ivan Back"}, "message": {"Mail me again"}},
			leadmailer.Lead{Name: "Ivan Inactive", Company: "Ice Oy", Country: "FI", State: leadmailer.LeadInactive}, "name"},
		{"empty fields are filled",
			url.Values{"email": {"emil@empty.example"}, "name": {"Emil Other"}, "company": {"Empty AB"}, "country": {"Sverige"}},
			leadmailer.Lead{Name: "Emil Empty", Company: "Empty AB", Country: "SE", State: leadmailer.LeadActive}, "country"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			email := tt.form.Get("email")
			before := s.lead(t, email)
			if got := postQuery(t, s, tt.form, nil); got.status != 200 {
				t.Fatalf("query: status %d, body %q", got.status, got.body)
			}
			l := s.lead(t, email)
			if l.Name != tt.want.Name || l.Company != tt.want.Company || l.Country != tt.want.Country || l.State != tt.want.State {
				t.Errorf("lead after query = %q/%q/%q/%s, want %q/%q/%q/%s", l.Name, l.Company, l.Country, l.State,
					tt.want.Name, tt.want.Company, tt.want.Country, tt.want.State)
			}
			nameRun := l.FieldRuns[leadmailer.FieldName]
			if nameRun != before.FieldRuns[leadmailer.FieldName] {
				t.Errorf("name's provenance moved from run %d to %d, though the value stayed", before.FieldRuns[leadmailer.FieldName], nameRun)
			}
			obs, err := s.db.FindObservations(ctx, l.ID)
			if err != nil || len(obs) != 2 {
				t.Fatalf("provenance = %+v, %v; want the CSV's and the query's", obs, err)
			}
			q := obs[1]
			if q.Kind != leadmailer.KindWebsite || q.Received[tt.field] != tt.form.Get(tt.field) || q.Received["email"] != email {
				t.Errorf("query's observation = %+v, want kind website with %s %q as received", q, tt.field, tt.form.Get(tt.field))
			}
		})
	}
}

// TestQueryOrigins posts the form as browsers on other sites would. Only the configured
// origin is let through and may read the answer; no answer carries a wildcard.
func TestQueryOrigins(t *testing.T) {
	s := newServer(t, publicweb.Options{QueryBurst: 100, QueryOrigins: []string{"https://www.example.com"}})
	tests := []struct {
		name, origin, email string
		status              int
		acao                string
	}{
		{"no origin: a plain client", "", "plain@example.org", 200, ""},
		{"the company website", "https://www.example.com", "site@example.org", 200, "https://www.example.com"},
		{"origin in other case", "HTTPS://WWW.EXAMPLE.COM", "case@example.org", 200, "HTTPS://WWW.EXAMPLE.COM"},
		{"another site", "https://evil.example", "evil@example.org", 403, ""},
		{"the same host over http", "http://www.example.com", "http@example.org", 403, ""},
		{"a sandboxed page", "null", "null@example.org", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
			if tt.origin != "" {
				header["Origin"] = tt.origin
			}
			got := postQuery(t, s, url.Values{"email": {tt.email}}, header)
			if got.status != tt.status {
				t.Errorf("status %d, want %d; body %s", got.status, tt.status, got.body)
			}
			if acao := got.header.Values("Access-Control-Allow-Origin"); len(acao) > 1 || got.header.Get("Access-Control-Allow-Origin") != tt.acao {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", acao, tt.acao)
			}
			if !strings.Contains(got.header.Get("Vary"), "Origin") {
				t.Errorf("Vary = %q, want Origin in it, so caches keep answers per origin", got.header.Get("Vary"))
			}
			_, err := s.db.FindLeadByEmail(context.Background(), tt.email)
			if stored := err == nil; stored != (tt.status == 200) {
				t.Errorf("lead stored = %v (%v), want %v", stored, err, tt.status == 200)
			}
		})
	}

	// Without configured origins, no browser on another site may post.
	s = newServer(t, publicweb.Options{})
	got := postQuery(t, s, url.Values{"email": {"a@example.org"}},
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://www.example.com"})
	if got.status != 403 || got.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("no origins configured: status %d, ACAO %q; want 403 and none", got.status, got.header.Get("Access-Control-Allow-Origin"))
	}
}
