package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// prhServer answers like the YTJ open data API v3 as its published description says: GET
// /opendata-ytj-api/v3/companies with search parameters returns {"totalResults", "companies"},
// a page at a time chosen by ?page=N counting from 1, and a page number past the last (or
// none) gets the first page. The companies are testdata/prh-companies.json, served
// prhPageSize a page instead of the API's 100, so that the example's paging is exercised. It
// fails the test on a request for another path or without the example's search, and returns
// the page numbers asked for, in order ("" for none).
func prhServer(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	body, err := os.ReadFile(fixture(t, "prh-companies.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		TotalResults int               `json:"totalResults"`
		Companies    []json.RawMessage `json:"companies"`
	}
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	if all.TotalResults != len(all.Companies) || len(all.Companies) <= prhPageSize {
		t.Fatalf("the fixture holds %d companies of totalResults %d; want them all, more than one page of %d",
			len(all.Companies), all.TotalResults, prhPageSize)
	}
	pages := (len(all.Companies) + prhPageSize - 1) / prhPageSize
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		asked = append(asked, q.Get("page"))
		mu.Unlock()
		if r.URL.Path != "/opendata-ytj-api/v3/companies" || q.Get("location") != "Tampere" || q.Get("mainBusinessLine") != "62010" {
			t.Errorf("request for %s", r.URL)
			http.Error(w, `{"message": "bad request"}`, http.StatusBadRequest)
			return
		}
		page := 1
		if p := q.Get("page"); p != "" {
			if page, err = strconv.Atoi(p); err != nil {
				http.Error(w, `{"message": "bad page"}`, http.StatusBadRequest)
				return
			}
		}
		if page < 1 || page > pages {
			page = 1
		}
		from, to := (page-1)*prhPageSize, min(page*prhPageSize, len(all.Companies))
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"totalResults": all.TotalResults, "companies": all.Companies[from:to]})
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(asked)
	}
}

// prhPageSize is prhServer's page size: two pages for the fixture's three companies.
const prhPageSize = 2

// TestPRHExample runs examples/prh.toml, pointed at prhServer instead of avoindata.prh.fi:
// the registry's records enrich the leads with their business IDs (company name, website,
// city), a record without a lead is skipped, the search is read page by page and stops at
// totalResults (a page past the last would answer with the first again), and a lead's
// message names the registry and its licence in the source notice.
func TestPRHExample(t *testing.T) {
	t.Parallel()
	srv, asked := prhServer(t)
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
	// The first request has no page parameter; the API counts that as page 1.
	if got := asked(); !slices.Equal(got, []string{"", "2"}) {
		t.Errorf("the run asked for pages %q, want the first (no page parameter) and 2, then to stop at totalResults", got)
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
