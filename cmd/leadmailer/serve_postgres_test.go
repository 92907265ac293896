package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer/store/storetest"
)

// A serve process on PostgreSQL (LEADMAILER_DATABASE_URL) does what it does on SQLite: a
// user logs in to the web app, a CSV arrives through the API, leads are listed a page at a
// time and searched ignoring ASCII case in both, one is exported and one erased, and the
// audit trail the process wrote verifies.
func TestServeOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dbURL := storetest.NewPostgresDatabase(t) // skips without PostgreSQL
	data := filepath.Join(t.TempDir(), "data")
	// The commands this test runs in its own process read the environment, as serve does.
	t.Setenv("LEADMAILER_DATABASE_URL", dbURL)
	lmIn(t, data, "correct horse battery staple\n", "users", "add", "ada", "--role", "admin", "--password-stdin")
	token := strings.TrimSpace(lm(t, data, "tokens", "add", "crm", "--role", "admin").stdout)
	s := startServing(t, data, "LEADMAILER_DATABASE_URL="+dbURL)

	call := func(method, path, contentType, body string, out any) int {
		t.Helper()
		req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %d, not JSON: %v\n%s", method, path, res.StatusCode, err, b)
			}
		}
		return res.StatusCode
	}
	type leadPage struct {
		Leads []struct {
			ID      int64
			Email   string
			Company string
		}
		NextCursor string `json:"next_cursor"`
	}
	emails := func(p leadPage) []string {
		var e []string
		for _, l := range p.Leads {
			e = append(e, l.Email)
		}
		return e
	}

	csv := "email,name,company\ninfo@acme.fi,Matti Meikäläinen,ACME Oy\nanna@bolt.example,Äijä Anna,Bolt Ab\nolli@example.com,Olli Örn,Örnsköld Oy\n"
	var imported struct {
		Run struct{ Counts struct{ Inserted int } }
	}
	if status := call("POST", "/api/v1/imports?source=crm", "text/csv", csv, &imported); status != http.StatusCreated || imported.Run.Counts.Inserted != 3 {
		t.Fatalf("import: %d, %d inserted; want 201 and 3", status, imported.Run.Counts.Inserted)
	}

	// Paging: two pages of two and one, in ID order, the cursor ending on the last.
	var p1, p2 leadPage
	if status := call("GET", "/api/v1/leads?limit=2", "", "", &p1); status != 200 || len(p1.Leads) != 2 || p1.NextCursor == "" {
		t.Fatalf("first page: %d %+v", status, p1)
	}
	if status := call("GET", "/api/v1/leads?limit=2&after="+p1.NextCursor, "", "", &p2); status != 200 || len(p2.Leads) != 1 || p2.NextCursor != "" {
		t.Fatalf("second page: %d %+v", status, p2)
	}
	if got, want := append(emails(p1), emails(p2)...), []string{"info@acme.fi", "anna@bolt.example", "olli@example.com"}; !slices.Equal(got, want) {
		t.Errorf("pages: got %q, want %q", got, want)
	}

	searches := []struct {
		q    string
		want []string
	}{
		{"acme", []string{"info@acme.fi"}},
		{"BOLT", []string{"anna@bolt.example"}},
		{"Örnsköld", []string{"olli@example.com"}},
		{"ÖRNSKÖLD", nil}, // only ASCII letters' case is ignored, as on SQLite
	}
	for _, tt := range searches {
		var p leadPage
		if status := call("GET", "/api/v1/leads?q="+url.QueryEscape(tt.q), "", "", &p); status != 200 || !slices.Equal(emails(p), tt.want) {
			t.Errorf("API search %q: %d %q, want %q", tt.q, status, emails(p), tt.want)
		}
	}

	wc := loginWeb(t, s.base, "ada", "correct horse battery staple")
	status, page := wc.get(t, "/leads?q=acme")
	if status != 200 || !strings.Contains(page, "ACME Oy") || strings.Contains(page, "Bolt Ab") {
		t.Errorf("web search acme: %d, want ACME Oy and not Bolt Ab listed:\n%s", status, page)
	}

	anna := p1.Leads[1]
	var export struct {
		Lead struct{ Email string }
	}
	if status := call("GET", "/api/v1/leads/"+strconv.FormatInt(anna.ID, 10)+"/export", "", "", &export); status != 200 || export.Lead.Email != "anna@bolt.example" {
		t.Errorf("export: %d %+v", status, export)
	}
	if status := call("DELETE", "/api/v1/leads/"+strconv.FormatInt(anna.ID, 10)+"?reason=erasure+request", "", "", nil); status != 200 {
		t.Errorf("erase: %d, want 200", status)
	}
	var after leadPage
	if status := call("GET", "/api/v1/leads?q=bolt", "", "", &after); status != 200 || len(after.Leads) != 0 {
		t.Errorf("search for the erased lead: %d %q, want none", status, emails(after))
	}
	if status, page := wc.get(t, "/leads"); status != 200 || strings.Contains(page, "anna@bolt.example") || !strings.Contains(page, "info@acme.fi") {
		t.Errorf("web lead list after the erasure: %d, want info@acme.fi and not anna@bolt.example:\n%s", status, page)
	}

	r := lm(t, data, "audit", "verify")
	mustContain(t, "audit verify", r.stdout, "The audit trail is intact")
	var n int
	if err := pgQueryRow(t, dbURL, `SELECT count(*) FROM audit_log WHERE action LIKE 'lead.%'`, &n); err != nil || n < 3 {
		t.Errorf("audit entries of lead actions on PostgreSQL: %d, %v; want the searches, export and erasure", n, err)
	}
	if _, err := os.Stat(filepath.Join(data, dbFile)); !os.IsNotExist(err) {
		t.Errorf("an SQLite file is in the data directory (%v): something ran on SQLite", err)
	}
}
