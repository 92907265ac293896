package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// prhServer answers like the YTJ open data API v3 as its published description says: GET
// /opendata-ytj-api/v3/companies with search parameters returns {"totalResults", "companies"},
// at most 100 companies a page chosen by ?page=N, and a page number past the last (or none)
// gets the first page. The companies are testdata/prh-companies.json. It fails the test on
// a request for another path or without the example's search.
func prhServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	body, err := os.ReadFile(fixture(t, "prh-companies.json"))
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		q := r.URL.Query()
		if r.URL.Path != "/opendata-ytj-api/v3/companies" || q.Get("location") != "Tampere" || q.Get("mainBusinessLine") != "62010" {
			t.Errorf("request for %s", r.URL)
			http.Error(w, `{"message": "bad request"}`, http.StatusBadRequest)
			return
		}
		// Three companies: one page. Any page number gets it, as the API answers a page
		// past the last with the first.
		if p := q.Get("page"); p != "" {
			if _, err := strconv.Atoi(p); err != nil {
				http.Error(w, `{"message": "bad page"}`, http.StatusBadRequest)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &requests
}

// TestPRHExample runs examples/prh.toml, pointed at prhServer instead of avoindata.prh.fi:
// the registry's records enrich the leads with their business IDs (company name, website,
// city), a record without a lead is skipped, the whole search takes one request, and a
// lead's message names the registry and its licence in the source notice.
func TestPRHExample(t *testing.T) {
	t.Parallel()
	srv, requests := prhServer(t)
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "prh.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), `url = "https://avoindata.prh.fi/opendata-ytj-api/v3/companies?`) {
		t.Fatal("examples/prh.toml does not use the registry's endpoint")
	}
	cfg := strings.ReplaceAll(string(example), "https://avoindata.prh.fi", srv.URL)
	dir := t.TempDir()
	cfgPath := writeFile(t, dir, "prh.toml", cfg)
	data := filepath.Join(dir, "data")
	vars := map[string]string{"LEADMAILER_DATA": data, "LEADMAILER_CONFIG": cfgPath}
	run := func(args ...string) string {
		t.Helper()
		r := runCLI(t, vars, "", args...)
		if r.code != exitOK {
			t.Fatalf("leadmailer %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	leads := writeFile(t, dir, "leads.csv", "email,name,company,business id,country\n"+
		"maija@koodipaja.example,Maija Mehiläinen,Koodipaja,3456780-6,FI\n"+
		"olli@pilvilinna.example,Olli Ojala,,3567890-3,FI\n")
	mustContain(t, "config check", run("config", "check"), "valid, 1 source.", "mail can be sent")
	run("import", leads, "--source", "crm")
	report := run("sources", "run", "prh")
	mustContain(t, "source run", report, "updated 2", "skipped (no e-mail, no lead) 1")
	if n := requests.Load(); n != 1 {
		t.Errorf("the run made %d requests, want 1 for one page of results", n)
	}

	for _, tc := range []struct {
		email string
		want  []string
	}{
		{"maija@koodipaja.example", []string{"Koodipaja Tampere Oy", "www.koodipaja.example", "TAMPERE", "3456780-6"}},
		{"olli@pilvilinna.example", []string{"Pilvilinna Solutions Oy", "TAMPERE"}},
	} {
		var shown leadShow
		lmJSON(t, data, &shown, "leads", "show", tc.email, "--json")
		got := strings.Join([]string{shown.Lead.Company, shown.Lead.Website, shown.Lead.City, shown.Lead.BusinessID}, " | ")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s after the registry run: %s; want %q", tc.email, got, w)
			}
		}
	}

	html := writeFile(t, dir, "body.html", "<p>Hei {{.Lead.FirstName}}!</p>")
	run("campaigns", "create", "--name", "Tampere", "--subject", "Hei", "--html", html)
	preview := run("campaigns", "preview", "1", "--lead", "maija@koodipaja.example", "--text")
	mustContain(t, "preview", preview, "Osoitelähde",
		"Finnish Trade Register and Business Information System YTJ (open data of the Finnish Patent and Registration Office, PRH)",
		"Lisenssi: CC BY 4.0, Finnish Patent and Registration Office (Patentti- ja rekisterihallitus)")
}
