package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
)

// registryServer serves a two-page JSON registry API that publishes no e-mail addresses,
// paged by a Link header, with an ETag so that an unchanged registry answers 304.
func registryServer(t *testing.T) *httptest.Server {
	t.Helper()
	pages := map[string]string{
		"1": `{"results": [{"businessId": "2345678-9", "name": "Virtanen Consulting Oy", "domicile": "Espoo"},
			{"businessId": "9999999-9", "name": "No Leads Oy"}]}`,
		"2": `{"results": [{"businessId": "1111111-1", "name": "Bad Country Oy", "country": "Atlantis"}]}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "test-key" {
			http.Error(w, "no key", http.StatusForbidden)
			return
		}
		if r.Header.Get("If-None-Match") == `"2026-12-01"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		page := r.URL.Query().Get("page")
		if page == "1" {
			w.Header().Set("ETag", `"2026-12-01"`)
			w.Header().Set("Link", `</companies?page=2>; rel="next"`)
		}
		fmt.Fprint(w, pages[page])
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeSourcesConfig(t *testing.T, data, url string) {
	t.Helper()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := `[[sources]]
name = "prh"
title = "Finnish Trade Register open data (PRH)"
kind = "http"
url = "` + url + `/companies?page=1"
format = "json"
records = "results"
id_field = "businessId"
schedule = "0 3 * * *"
timezone = "Europe/Helsinki"
licence = "CC BY 4.0"
rate_limit = 100
[sources.fields]
company = "name"
business_id = "businessId"
city = "domicile"
country = "country"
[sources.headers]
X-Api-Key = "${PRH_KEY}"
`
	if err := os.WriteFile(filepath.Join(data, config.FileName), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func lmEnv(t *testing.T, data string, args ...string) result {
	t.Helper()
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data, "PRH_KEY": "test-key"}, "", args...)
	if r.code != exitOK {
		t.Fatalf("leadmailer %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// TestSourcesRunEnrichesUploadedLead: a lead built from an uploaded e-mail plus a registry row
// shows both origins, field by field.
func TestSourcesRunEnrichesUploadedLead(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	srv := registryServer(t)
	writeSourcesConfig(t, data, srv.URL)
	upload := "email,name,company,business id\nanna.virtanen@example.fi,Anna Virtanen,Virtanen Oy,2345678-9\n"
	if r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, upload, "import", "-", "--source", "crm"); r.code != exitOK { // run 1
		t.Fatalf("import: %s", r.stderr)
	}

	out := squash(lmEnv(t, data, "sources", "run", "prh").stdout)
	mustContain(t, "sources run", out,
		`as source "prh": run 2 completed`,
		"Columns: name -> company, country -> country, businessId -> business_id, domicile -> city",
		"rows read 3", "updated 1", "rejected 1", "skipped (no e-mail, no lead) 1",
		`row 3: record 1111111-1: page 2 record 1: country: unknown country "Atlantis"`,
		"Get all rejected rows, with the reason for each: leadmailer imports rejects 2")
	// The scheduled run's rejects are in the database, as an upload's are.
	mustContain(t, "imports rejects 2", lm(t, data, "imports", "rejects", "2").stdout, `"3","record 1111111-1: page 2 record 1: country: unknown country ""Atlantis""`)
	if _, err := os.Stat(filepath.Join(data, "rejects")); !os.IsNotExist(err) {
		t.Errorf("the data directory has a rejects folder (%v): the rejects belong in the database", err)
	}

	show := squash(lm(t, data, "leads", "show", "anna.virtanen@example.fi").stdout)
	mustContain(t, "leads show", show,
		"email anna.virtanen@example.fi run 1, crm (upload)",
		"company Virtanen Consulting Oy run 2, prh (public), record 2345678-9",
		"business_id 2345678-9 run 1, crm (upload)",
		"city Espoo run 2, prh (public), record 2345678-9",
		"run 2, source prh (public) "+srv.URL+"/companies?page=1",
		"from "+srv.URL+"/companies?page=1, record 2345678-9, retrieved",
		`company: "Virtanen Consulting Oy"`,
	)

	var shown leadShow
	lmJSON(t, data, &shown, "leads", "show", "anna.virtanen@example.fi", "--json")
	byField := map[string]fieldOrigin{}
	for _, f := range shown.Fields {
		byField[f.Field] = f
	}
	if f := byField["company"]; f.Source != "prh" || f.Kind != "public" || f.RecordID != "2345678-9" || f.Origin != srv.URL+"/companies?page=1" {
		t.Errorf("company's origin = %+v, want the registry record", f)
	}
	if f := byField["email"]; f.Source != "crm" || f.RecordID != "" {
		t.Errorf("email's origin = %+v, want the upload", f)
	}
	last := shown.Provenance[len(shown.Provenance)-1]
	if _, ok := last.Received["email"]; ok || last.Source != "prh" || last.RecordID != "2345678-9" {
		t.Errorf("registry observation = %+v, want record 2345678-9 without the e-mail address", last)
	}

	// Unchanged: one request, a run with status unchanged.
	var rep importResult
	decodeOne(t, lmEnv(t, data, "sources", "run", "prh", "--json").stdout, &rep)
	if rep.Run.Status != leadmailer.RunUnchanged || rep.Run.ID != 3 {
		t.Errorf("second run = %d %s, want run 3 unchanged", rep.Run.ID, rep.Run.Status)
	}
	mustContain(t, "sources run", lmEnv(t, data, "sources", "run", "prh").stdout,
		`Source "prh": run 4 unchanged: `+srv.URL+"/companies?page=1 has not changed since the last run")

	list := squash(lmEnv(t, data, "sources", "list").stdout)
	mustContain(t, "sources list", list, "prh http json 0 3 * * * Europe/Helsinki", "unchanged 0 0 0 0 0")
	var infos []sourceInfo
	decodeOne(t, lmEnv(t, data, "sources", "list", "--json").stdout, &infos)
	if len(infos) != 1 || infos[0].LastRun == nil || infos[0].LastRun.ID != 4 || infos[0].NextRun == nil ||
		infos[0].Title != "Finnish Trade Register open data (PRH)" {
		t.Errorf("sources list --json = %+v", infos)
	}
}

func TestSourcesRunFailures(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	srv := registryServer(t)
	writeSourcesConfig(t, data, srv.URL)

	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "sources", "run", "prh")
	if r.code != exitError || !strings.Contains(r.stderr, "environment variable PRH_KEY is not set") {
		t.Errorf("without the key: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCLI(t, map[string]string{"LEADMAILER_DATA": data, "PRH_KEY": "wrong-key"}, "", "sources", "run", "prh")
	if r.code != exitError || !strings.Contains(r.stderr, "source prh: GET "+srv.URL+"/companies?page=1: server answered 403 Forbidden") {
		t.Errorf("with a wrong key: exit %d, stderr %q", r.code, r.stderr)
	}
	mustContain(t, "sources run", r.stdout, `Source "prh": run 2 failed before importing anything`)
	if strings.Contains(r.stdout+r.stderr, "wrong-key") {
		t.Error("the API key was printed")
	}
	for _, name := range []string{dbFile, dbFile + "-wal"} {
		raw, err := os.ReadFile(filepath.Join(data, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("wrong-key")) {
			t.Errorf("the API key is stored in %s", name)
		}
	}
	list := squash(lmEnv(t, data, "sources", "list").stdout)
	mustContain(t, "sources list", list, "failed", "prh, run 2: source prh: GET")

	r = runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "sources", "run", "nope")
	if r.code != exitError || !strings.Contains(r.stderr, `no source "nope"`) || !strings.Contains(r.stderr, "prh") {
		t.Errorf("unknown source: exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestStartScheduleStopsCleanly: the function serve calls schedules every source with a
// schedule and returns once ctx is cancelled and the scheduler has stopped.
func TestStartScheduleStopsCleanly(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	writeSourcesConfig(t, data, "https://registry.example")
	cfg, err := config.Load(filepath.Join(data, config.FileName), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Sources = append(cfg.Sources, cfg.Sources[0])
	cfg.Sources[1].Name, cfg.Sources[1].Schedule = "manual-only", ""
	db, err := openData(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stderr syncWriter
	e := &env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	sched, wait, err := startSchedule(ctx, e, db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	jobs := sched.Status()
	if len(jobs) != 1 || jobs[0].Name != "source:prh" || jobs[0].Next.IsZero() {
		t.Errorf("scheduled jobs = %+v, want source:prh with its next run", jobs)
	}
	next := jobs[0].Next.In(time.FixedZone("EET", 2*3600))
	if next.Hour() != 3 || next.Minute() != 0 {
		t.Errorf("next run at %s, want 03:00 Helsinki time", next)
	}
	cancel()
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after the context was cancelled")
	}
	if !strings.Contains(stderr.String(), "scheduler stopped") {
		t.Errorf("log = %q, want the scheduler's stop", stderr.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
