package sources_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/filelock"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/sources"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// clock is a fake clock whose Sleep advances it and remembers how long it was asked to
// wait, so that retries and the rate limit are tested without waiting.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}

func (c *clock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

type fixture struct {
	db     *store.DB
	clock  *clock
	runner *sources.Runner
	logs   *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := newClock()
	db := storetest.Open(t, nil)
	logs := &bytes.Buffer{}
	return &fixture{db: db, clock: c, logs: logs, runner: &sources.Runner{
		Store: db, Actor: "schedule", TempDir: t.TempDir(),
		Log:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(k string) string { return map[string]string{"REGISTRY_KEY": "k3y-s3cret"}[k] },
		Now:    c.Now, Sleep: c.Sleep,
	}}
}

// run runs src once and returns its single result.
func (f *fixture) run(t *testing.T, src *config.Source) sources.Result {
	t.Helper()
	results, _ := f.runner.Run(context.Background(), src)
	if len(results) != 1 {
		t.Fatalf("%d results, want 1", len(results))
	}
	return results[0]
}

func (f *fixture) leads(t *testing.T) map[string]*leadmailer.Lead {
	t.Helper()
	got := map[string]*leadmailer.Lead{}
	err := f.db.FindLeads(context.Background(), store.LeadFilter{}, func(l *leadmailer.Lead) error {
		got[l.Email] = l
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// registry serves a JSON registry API of three pages of two companies, paged the way the
// test asks. Every request is counted; validators make it answer 304.
type registry struct {
	paging   string // "body", "link", "page", "offset", or "wrap": pages by number and answers one past the last with the first, as PRH's API does
	etag     string
	requests []string
	mu       sync.Mutex
}

var companies = []string{
	`{"businessId": "1111111-1", "name": "Alfa Oy", "contact": {"emails": ["info@alfa.fi"]}, "address": {"city": "Helsinki", "country": "Suomi"}}`,
	`{"businessId": "2222222-2", "name": "Beta Oy", "contact": {"emails": []}, "address": {"city": "Espoo", "country": "FI"}}`,
	`{"businessId": 3333333, "name": "Gamma Oy", "contact": {"emails": ["sales@gamma.fi"]}, "address": {"city": "Tampere", "country": "Atlantis"}}`,
	`{"businessId": "4444444-4", "name": "Delta Oy", "contact": {"emails": ["hello@delta.fi", "other@delta.fi"]}, "address": {"city": "Oulu"}}`,
	`{"businessId": "5555555-5", "name": "Epsilon\nOy", "contact": {"emails": ["eps@eps.fi"]}}`,
	`{"businessId": "6666666-6", "name": "Zeta Oy", "contact": {"emails": ["zeta@zeta.fi"]}, "address": {"country": "SE"}}`,
}

func (reg *registry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reg.mu.Lock()
	reg.requests = append(reg.requests, r.URL.RequestURI())
	reg.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer k3y-s3cret" {
		http.Error(w, "no key", http.StatusUnauthorized)
		return
	}
	if reg.etag != "" && r.Header.Get("If-None-Match") == reg.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	page := 1
	switch reg.paging {
	case "offset":
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		page = off/2 + 1
	default:
		if p := r.URL.Query().Get("page"); p != "" {
			page, _ = strconv.Atoi(p)
		}
	}
	if reg.paging == "wrap" && (page < 1 || page > 3) {
		page = 1
	}
	var recs []string
	if page >= 1 && page <= 3 {
		recs = companies[(page-1)*2 : page*2]
	}
	next := ""
	if page < 3 {
		switch reg.paging {
		case "body":
			next = fmt.Sprintf(`, "links": {"next": "/api/companies?page=%d"}`, page+1)
		case "link":
			w.Header().Set("Link", fmt.Sprintf(`</api/companies?page=%d>; rel="next", </api/companies?page=1>; rel="first"`, page+1))
		}
	}
	if page == 1 && reg.etag != "" {
		w.Header().Set("ETag", reg.etag)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"total": 6, "results": [%s]%s}`, strings.Join(recs, ","), next)
}

func jsonSource(url string) *config.Source {
	return &config.Source{
		Name: "registry", Title: "Example Registry", Kind: "http", URL: url, Format: "json",
		Records: "results", IDField: "businessId", Rate: 1000,
		Fields: map[string]string{
			"company": "name", "business_id": "businessId", "email": "contact.emails.0",
			"city": "address.city", "country": "address.country",
		},
		Headers: map[string]string{"Authorization": "Bearer ${REGISTRY_KEY}"},
	}
}

// TestHTTPPagedJSON fetches every page of a JSON API, whichever way it pages, and records
// each lead's origin: the URL of the page its record came from and the record's ID.
func TestHTTPPagedJSON(t *testing.T) {
	for _, paging := range []string{"body", "link", "page", "offset", "wrap"} {
		t.Run(paging, func(t *testing.T) {
			f := newFixture(t)
			reg := &registry{paging: paging}
			srv := httptest.NewServer(reg)
			defer srv.Close()
			src := jsonSource(srv.URL + "/api/companies")
			wantRequests := 3
			switch paging {
			case "body":
				src.NextField = "links.next"
			case "page":
				src.PageParam = "page"
				wantRequests = 4 // the empty fourth page ends it
			case "offset":
				src.OffsetParam = "offset"
				wantRequests = 4
			case "wrap":
				// No empty page ever comes: the total ends the paging after page 3.
				src.PageParam, src.TotalField = "page", "total"
			}
			res := f.run(t, src)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			run := res.Report.Run
			// Beta has no address and enriches no lead: skipped. Gamma's country and
			// Epsilon's line break are rejected.
			want := leadmailer.ImportCounts{Read: 6, Inserted: 3, Rejected: 2, Skipped: 1}
			if run.Counts != want || run.Status != leadmailer.RunCompleted || run.Kind != leadmailer.KindPublic {
				t.Errorf("run = %s %s %+v, want completed public %+v", run.Status, run.Kind, run.Counts, want)
			}
			if len(reg.requests) != wantRequests {
				t.Errorf("requests = %q, want %d", reg.requests, wantRequests)
			}
			leads := f.leads(t)
			alfa, delta := leads["info@alfa.fi"], leads["hello@delta.fi"]
			if len(leads) != 3 || alfa == nil || delta == nil || leads["zeta@zeta.fi"] == nil {
				t.Fatalf("leads = %v, want alfa, delta and zeta", leads)
			}
			if alfa.Company != "Alfa Oy" || alfa.Country != "FI" || alfa.City != "Helsinki" || alfa.BusinessID != "1111111-1" {
				t.Errorf("alfa = %+v", alfa)
			}
			obs, err := f.db.FindObservations(context.Background(), delta.ID)
			if err != nil || len(obs) != 1 {
				t.Fatalf("delta's observations = %+v, %v", obs, err)
			}
			o := obs[0]
			if o.RecordID != "4444444-4" || !strings.HasPrefix(o.Origin, srv.URL+"/api/companies?") ||
				o.RetrievedAt == nil || o.Source != "registry" {
				t.Errorf("delta's provenance = %+v, want record 4444444-4 from page 2", o)
			}
			if !strings.Contains(o.Origin, "page=2") && !strings.Contains(o.Origin, "offset=2") {
				t.Errorf("delta came from %s, want the second page", o.Origin)
			}
			// The rejected records are stored with the run, and the log says how to get them.
			var rejects strings.Builder
			err = f.db.EachImportReject(t.Context(), res.Report.Run.ID, func(r *leadmailer.RejectedRow) error {
				fmt.Fprintf(&rejects, "%d %s %s\n", r.Row, r.Reason, r.Country)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"record 3333333", "Atlantis", "page 3 record 1", "line break"} {
				if !strings.Contains(rejects.String(), want) {
					t.Errorf("stored rejects lack %q:\n%s", want, rejects.String())
				}
			}
			if want := fmt.Sprintf("rejects=\"leadmailer imports rejects %d\"", res.Report.Run.ID); !strings.Contains(f.logs.String(), want) {
				t.Errorf("the log does not say %s:\n%s", want, f.logs.String())
			}
			if strings.Contains(f.logs.String(), "k3y-s3cret") {
				t.Error("the API key appears in the log")
			}
		})
	}
}

// TestTotalFieldMissing: a total_field the body does not have fails the run naming it, rather
// than paging on until max_pages.
func TestTotalFieldMissing(t *testing.T) {
	f := newFixture(t)
	reg := &registry{paging: "wrap"}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	src := jsonSource(srv.URL + "/api/companies")
	src.PageParam, src.TotalField = "page", "meta.totalResults"
	res := f.run(t, src)
	if res.Err == nil || !strings.Contains(res.Err.Error(), `total_field = "meta.totalResults" is not in the body`) {
		t.Fatalf("run: %v, want an error naming total_field", res.Err)
	}
	if len(reg.requests) != 1 {
		t.Errorf("requests = %q, want the first page only", reg.requests)
	}
	if n := len(f.leads(t)); n != 0 {
		t.Errorf("%d leads stored by a failed run", n)
	}
}

// TestHTTPConditionalGet: an unchanged source costs one request and records a run with
// status unchanged; a changed one is fetched again.
func TestHTTPConditionalGet(t *testing.T) {
	f := newFixture(t)
	reg := &registry{paging: "link", etag: `"v1"`}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	src := jsonSource(srv.URL + "/api/companies")
	if res := f.run(t, src); res.Err != nil || res.Report.Run.Status != leadmailer.RunCompleted {
		t.Fatalf("first run: %v %v", res.Err, res.Report.Run.Status)
	}
	reg.requests = nil
	res := f.run(t, src)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Report.Run.Status != leadmailer.RunUnchanged || len(reg.requests) != 1 {
		t.Errorf("second run = %s after %d requests, want unchanged after 1", res.Report.Run.Status, len(reg.requests))
	}
	stored, err := f.db.FindImportRun(context.Background(), res.Report.Run.ID)
	if err != nil || stored.Status != leadmailer.RunUnchanged || stored.Counts.Read != 0 {
		t.Errorf("stored second run = %+v, %v; want unchanged with nothing read", stored, err)
	}
	reg.etag, reg.requests = `"v2"`, nil
	if res := f.run(t, src); res.Err != nil || res.Report.Run.Status != leadmailer.RunCompleted || len(reg.requests) != 3 {
		t.Errorf("after a change: %v %s after %d requests, want completed after 3", res.Err, res.Report.Run.Status, len(reg.requests))
	}
}

// flaky answers with the statuses in order, then serves good JSON.
type flaky struct {
	mu       sync.Mutex
	answers  []func(w http.ResponseWriter)
	requests int
}

func (fl *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fl.mu.Lock()
	fl.requests++
	var answer func(w http.ResponseWriter)
	if len(fl.answers) > 0 {
		answer, fl.answers = fl.answers[0], fl.answers[1:]
	}
	fl.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	fmt.Fprintf(w, `{"results": [%s]}`, companies[0])
}

func status(code int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(code)
	}
}

func TestHTTPRetries(t *testing.T) {
	tests := []struct {
		name    string
		answers []func(w http.ResponseWriter)
		sleeps  []time.Duration
	}{
		{"429 with Retry-After seconds", []func(http.ResponseWriter){status(429, "7")}, []time.Duration{7 * time.Second}},
		{"503 with Retry-After date", []func(http.ResponseWriter){status(503, "Tue, 01 Dec 2026 03:00:30 GMT")}, []time.Duration{30 * time.Second}},
		{"500s back off", []func(http.ResponseWriter){status(500, ""), status(502, ""), status(500, "")},
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"truncated body", []func(http.ResponseWriter){truncated}, []time.Duration{time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			srv := httptest.NewServer(&flaky{answers: tc.answers})
			defer srv.Close()
			src := jsonSource(srv.URL)
			src.Headers = nil
			res := f.run(t, src)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Report.Run.Counts.Inserted != 1 {
				t.Errorf("counts = %+v, want the one record inserted", res.Report.Run.Counts)
			}
			if got := f.clock.sleeps(); !slices.Equal(got, tc.sleeps) {
				t.Errorf("waited %v, want %v", got, tc.sleeps)
			}
		})
	}
}

// truncated declares a longer body than it sends, as a connection cut mid-transfer.
func truncated(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(200)
	io.WriteString(w, `{"results": [{"businessId": "1111111-1", "na`)
}

// TestHTTPFailuresLeaveDataUntouched: whatever goes wrong, the leads stay as they were, the
// failed run says which source, URL and cause, and the next run succeeds.
func TestHTTPFailuresLeaveDataUntouched(t *testing.T) {
	good := func(w http.ResponseWriter, page int) {
		w.Header().Set("Link", fmt.Sprintf(`</?page=%d>; rel="next"`, page+1))
		fmt.Fprintf(w, `{"results": [%s]}`, companies[(page-1)*2])
	}
	tests := []struct {
		name    string
		page2   func(w http.ResponseWriter)
		errHas  []string
		retries int
	}{
		{"malformed JSON", func(w http.ResponseWriter) { io.WriteString(w, `{"results": [{"name": "x",]}`) },
			[]string{"page 2", "malformed JSON"}, 0},
		{"changed format", func(w http.ResponseWriter) { io.WriteString(w, `{"data": {"items": []}}`) },
			[]string{"page 2", `records = "results"`, `"data"`}, 0},
		{"records not an array", func(w http.ResponseWriter) { io.WriteString(w, `{"results": {"a": 1}}`) },
			[]string{"holds an object, not an array"}, 0},
		{"garbage", func(w http.ResponseWriter) { io.WriteString(w, "<html>maintenance</html>") },
			[]string{"malformed JSON"}, 0},
		{"always 500", status(500, ""), []string{"page=2", "500 Internal Server Error"}, 4},
		{"truncated", truncated, []string{"page=2", "cut off", "unexpected EOF"}, 4},
		{"404", status(404, ""), []string{"page=2", "404 Not Found"}, 0},
		{"too large", func(w http.ResponseWriter) {
			io.WriteString(w, `{"results": ["`+strings.Repeat("x", 1<<20)+`"]}`)
		}, []string{"larger than 1 MiB", "max_mb"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			broken := true
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				page, _ := strconv.Atoi(r.URL.Query().Get("page"))
				if page == 0 {
					page = 1
				}
				if page == 2 && broken {
					tc.page2(w)
					return
				}
				if page <= 2 {
					good(w, page)
					return
				}
				io.WriteString(w, `{"results": []}`)
			}))
			defer srv.Close()
			before := importUpload(t, f.db, "email,company\ninfo@alfa.fi,Alfa (old name)\n")
			src := jsonSource(srv.URL + "/")
			src.Headers, src.MaxMB = nil, 1
			res := f.run(t, src)
			if res.Err == nil {
				t.Fatal("the run did not fail")
			}
			run, err := f.db.FindImportRun(ctx, res.Report.Run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != leadmailer.RunFailed {
				t.Errorf("run status %s, want failed", run.Status)
			}
			for _, want := range append([]string{"source registry", srv.URL}, tc.errHas...) {
				if !strings.Contains(run.Error, want) {
					t.Errorf("run error %q lacks %q", run.Error, want)
				}
			}
			if got := len(f.clock.sleeps()); got < tc.retries {
				t.Errorf("retried %d times, want %d", got, tc.retries)
			}
			leads := f.leads(t)
			if len(leads) != 1 || leads["info@alfa.fi"].Company != "Alfa (old name)" || leads["info@alfa.fi"].UpdatedAt != before.UpdatedAt {
				t.Errorf("leads after the failed run = %v, want the upload's one lead untouched", leads)
			}
			broken = false
			res = f.run(t, src)
			if res.Err != nil || res.Report.Run.Status != leadmailer.RunCompleted {
				t.Fatalf("next run: %v", res.Err)
			}
			if got := f.leads(t)["info@alfa.fi"].Company; got != "Alfa Oy" {
				t.Errorf("after the next run company = %q, want the registry's", got)
			}
		})
	}
}

func importUpload(t *testing.T, db *store.DB, csv string) *leadmailer.Lead {
	t.Helper()
	ctx := context.Background()
	if _, err := importer.Import(ctx, db, strings.NewReader(csv), importer.Options{Source: "crm", Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	var first *leadmailer.Lead
	db.FindLeads(ctx, store.LeadFilter{Limit: 1}, func(l *leadmailer.Lead) error { first = l; return nil })
	return first
}

func TestHTTPUnreachableAndMissingKey(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/api"
	srv.Close()
	src := jsonSource(url)
	src.Retries = 1
	res := f.run(t, src)
	if res.Err == nil || !strings.Contains(res.Err.Error(), url) || !strings.Contains(res.Err.Error(), "refused") {
		t.Errorf("unreachable: error %v, want one naming %s and the refused connection", res.Err, url)
	}
	src.Headers = map[string]string{"Authorization": "Bearer ${NOT_SET_KEY}"}
	res = f.run(t, src)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "NOT_SET_KEY is not set") {
		t.Errorf("missing key: error %v", res.Err)
	}
}

// TestHTTPRateLimit: requests of one source are spaced by its rate limit.
func TestHTTPRateLimit(t *testing.T) {
	f := newFixture(t)
	reg := &registry{paging: "link"}
	srv := httptest.NewServer(reg)
	defer srv.Close()
	src := jsonSource(srv.URL + "/api/companies")
	src.Rate = 0.5 // one request every two seconds
	if res := f.run(t, src); res.Err != nil {
		t.Fatal(res.Err)
	}
	if got, want := f.clock.sleeps(), []time.Duration{2 * time.Second, 2 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waited %v between 3 requests, want %v", got, want)
	}
}

// TestHTTPCSV imports a CSV download with a Finnish Excel header, mapping by header name.
func TestHTTPCSV(t *testing.T) {
	f := newFixture(t)
	body, err := os.ReadFile("testdata/companies-1.csv")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Last-Modified", "Mon, 30 Nov 2026 00:00:00 GMT")
		if r.Header.Get("If-Modified-Since") == "Mon, 30 Nov 2026 00:00:00 GMT" {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	src := csvSource()
	src.Kind, src.URL = "http", srv.URL+"/bulk/companies.csv"
	res := f.run(t, src)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := leadmailer.ImportCounts{Read: 3, Inserted: 1, Rejected: 1, Skipped: 1}
	if res.Report.Run.Counts != want || res.Report.Delimiter != ";" {
		t.Errorf("counts = %+v delimiter %q, want %+v and ;", res.Report.Run.Counts, res.Report.Delimiter, want)
	}
	alfa := f.leads(t)["info@alfa.fi"]
	if alfa == nil || alfa.Company != "Alfa Oy" || alfa.Country != "FI" || alfa.City != "Helsinki" {
		t.Errorf("alfa = %+v", alfa)
	}
	if res := f.run(t, src); res.Err != nil || res.Report.Run.Status != leadmailer.RunUnchanged {
		t.Errorf("second run: %v %s, want unchanged by Last-Modified", res.Err, res.Report.Run.Status)
	}
}

func csvSource() *config.Source {
	return &config.Source{
		Name: "bulk", Title: "Open company data", Format: "csv", IDField: "Y-tunnus", Rate: 1000,
		Fields: map[string]string{
			"business_id": "Y-tunnus", "company": "Yrityksen nimi", "email": "Sähköposti",
			"city": "Kotipaikka", "country": "Maa",
		},
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFileSource imports each new file matching a glob once; a file already imported, even
// under another name, is skipped, and a run with nothing new is recorded as unchanged.
func TestFileSource(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	drop := t.TempDir()
	copyFile(t, "testdata/companies-1.csv", filepath.Join(drop, "companies-2026-10.csv"))
	src := csvSource()
	src.Kind, src.Path = "file", filepath.Join(drop, "companies-*.csv")

	res := f.run(t, src)
	if res.Err != nil || res.Report.Run.Counts.Inserted != 1 {
		t.Fatalf("first run: %v %+v", res.Err, res.Report.Run.Counts)
	}
	lead := f.leads(t)["info@alfa.fi"]
	obs, _ := f.db.FindObservations(ctx, lead.ID)
	if len(obs) != 1 || obs[0].Origin != filepath.Join(drop, "companies-2026-10.csv") || obs[0].RecordID != "1111111-1" {
		t.Errorf("provenance = %+v, want the file and the Y-tunnus", obs)
	}

	res = f.run(t, src)
	if res.Err != nil || res.Report.Run.Status != leadmailer.RunUnchanged {
		t.Errorf("second run: %v %s, want unchanged", res.Err, res.Report.Run.Status)
	}

	copyFile(t, "testdata/companies-1.csv", filepath.Join(drop, "companies-copy.csv"))
	copyFile(t, "testdata/companies-2.csv", filepath.Join(drop, "companies-2026-11.csv"))
	results, err := f.runner.Run(ctx, src)
	if err != nil || len(results) != 1 {
		t.Fatalf("third run: %v, %d results; want one run, of the new file only", err, len(results))
	}
	if r := results[0].Report.Run; !strings.HasSuffix(r.FileName, "companies-2026-11.csv") || r.Counts.Inserted != 1 || r.FileSHA256 == "" {
		t.Errorf("third run = %s %+v", r.FileName, r.Counts)
	}

	src.Path = filepath.Join(drop, "nothing-*.csv")
	if res := f.run(t, src); res.Err == nil || !strings.Contains(res.Err.Error(), "no file matches") {
		t.Errorf("no matching file: %v", res.Err)
	}
}

func TestFileSourceJSON(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "dump.json")
	os.WriteFile(path, []byte(`{"results": [`+strings.Join(companies, ",")+`]}`), 0o600)
	src := jsonSource("")
	src.Kind, src.URL, src.Path, src.Headers = "file", "", path, nil
	res := f.run(t, src)
	if res.Err != nil || res.Report.Run.Counts.Inserted != 3 {
		t.Fatalf("run: %v %+v", res.Err, res.Report.Run.Counts)
	}
	os.WriteFile(path, []byte(`{"results": [`), 0o600)
	res = f.run(t, src)
	if res.Err == nil || !strings.Contains(res.Report.Run.Error, "malformed JSON") || !strings.Contains(res.Report.Run.Error, path) {
		t.Errorf("truncated file: %v", res.Err)
	}
}

// TestHTTPTimeout: a server that never answers fails the run after the timeout and the
// retries, naming the cause.
func TestHTTPTimeout(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	src := jsonSource(srv.URL)
	src.Headers, src.Timeout, src.Retries = nil, config.Duration(50*time.Millisecond), 1
	res := f.run(t, src)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "timed out") || !strings.Contains(res.Err.Error(), srv.URL) {
		t.Errorf("error = %v, want a timeout naming %s", res.Err, srv.URL)
	}
	if got := f.clock.sleeps(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Errorf("waited %v, want one retry after 1s", got)
	}
}

// TestRedirectToAnotherHostDropsKey: the API key goes only to the host it was given for.
func TestRedirectToAnotherHostDropsKey(t *testing.T) {
	f := newFixture(t)
	var gotKey string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey = r.Header.Get("X-Api-Key")
		fmt.Fprintf(w, `{"results": [%s]}`, companies[0])
	}))
	defer other.Close()
	// 127.0.0.1 and localhost are different hosts to the client.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv := httptest.NewServer(http.RedirectHandler(otherURL+"/moved", http.StatusFound))
	defer srv.Close()
	src := jsonSource(srv.URL)
	src.Headers = map[string]string{"X-Api-Key": "${REGISTRY_KEY}"}
	res := f.run(t, src)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if gotKey != "" {
		t.Errorf("the other host received the API key %q", gotKey)
	}
}

// TestOneRunAcrossProcesses: while another process holds a source's lock (serve's scheduled
// run, say), a second run of it is refused at once and records nothing.
func TestOneRunAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.runner.LockDir = t.TempDir()
	drop := t.TempDir()
	copyFile(t, "testdata/companies-1.csv", filepath.Join(drop, "companies-2026-10.csv"))
	src := csvSource()
	src.Kind, src.Path = "file", filepath.Join(drop, "companies-*.csv")

	// A lock taken through a file of its own is held apart from the runner's, as another
	// process's would be.
	release, err := filelock.Acquire(filepath.Join(f.runner.LockDir, "source-"+src.Name+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.runner.Run(ctx, src); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
		t.Fatalf("run while locked: %v, want a conflict", err)
	}
	if runs, err := f.db.FindImportRuns(ctx, "", 10); err != nil || len(runs) != 0 {
		t.Errorf("the refused run recorded %d runs (%v), want none", len(runs), err)
	}
	release()
	if res := f.run(t, src); res.Err != nil || res.Report.Run.Counts.Inserted != 1 {
		t.Errorf("run after the lock was released: %v", res.Err)
	}
}

// keyCatcher is a server that should never see the source's key: it records every request
// it gets and the key headers each carried, and answers one company.
type keyCatcher struct {
	mu   sync.Mutex
	hits []string // "path auth=... x-api-key=..."
}

func (k *keyCatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.hits = append(k.hits, fmt.Sprintf("%s auth=%q x-api-key=%q", r.URL.RequestURI(),
		r.Header.Get("Authorization"), r.Header.Get("X-Api-Key")))
	k.mu.Unlock()
	fmt.Fprintf(w, `{"results": [%s]}`, companies[1])
}

func (k *keyCatcher) requests() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.hits)
}

// TestNextPageElsewhereRefused: a page that names its next page at another origin, or over
// plain http after https, fails the run before anything is sent there. Following it
// without the key would still let any page steer the run to any server, so it is refused.
func TestNextPageElsewhereRefused(t *testing.T) {
	plain := &keyCatcher{}
	plainSrv := httptest.NewServer(plain)
	defer plainSrv.Close()
	// The same host on another port is another origin.
	tests := []struct {
		name    string
		tls     bool   // the source's own server is https
		paging  string // "link" or "body"
		wantErr string
	}{
		{"link header to another origin", false, "link", "another origin"},
		{"next field to another origin", false, "body", "another origin"},
		{"link header from https to http", true, "link", "http after https"},
		{"next field from https to http", true, "body", "http after https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(plain.requests())
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next := plainSrv.URL + "/steal?page=2"
				if tt.paging == "link" {
					w.Header().Set("Link", "<"+next+`>; rel="next"`)
					fmt.Fprintf(w, `{"results": [%s]}`, companies[0])
					return
				}
				fmt.Fprintf(w, `{"results": [%s], "links": {"next": %q}}`, companies[0], next)
			})
			var srv *httptest.Server
			if tt.tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			defer srv.Close()
			f := newFixture(t)
			f.runner.Transport = srv.Client().Transport // trusts the test certificate
			src := jsonSource(srv.URL + "/api/companies")
			src.Headers["X-Api-Key"] = "${REGISTRY_KEY}"
			if tt.paging == "body" {
				src.NextField = "links.next"
			}
			res := f.run(t, src)
			if res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
				t.Errorf("run error = %v, want one saying %q", res.Err, tt.wantErr)
			}
			if got := plain.requests()[before:]; len(got) != 0 {
				t.Errorf("the other server got %q, want no request", got)
			}
			if n := len(f.leads(t)); n != 0 {
				t.Errorf("the refused run wrote %d leads, want none", n)
			}
		})
	}
}

// TestRedirectsKeepTheKeyHome: a redirect from https to http fails the run without the
// request reaching the http server; a redirect to another origin (the same host on
// another port, too) is followed without the source's headers, whatever their names.
func TestRedirectsKeepTheKeyHome(t *testing.T) {
	tests := []struct {
		name      string
		tls       bool
		wantErr   string // "" when the run succeeds
		wantCalls int    // requests the other server gets
	}{
		{"https to http is refused", true, "from https to", 0},
		{"http to another origin drops the headers", false, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			other := &keyCatcher{}
			otherSrv := httptest.NewServer(other)
			defer otherSrv.Close()
			h := http.RedirectHandler(otherSrv.URL+"/moved", http.StatusFound)
			var srv *httptest.Server
			if tt.tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			defer srv.Close()
			f := newFixture(t)
			f.runner.Transport = srv.Client().Transport
			src := jsonSource(srv.URL + "/api/companies")
			src.Headers["X-Api-Key"] = "${REGISTRY_KEY}"
			res := f.run(t, src)
			switch {
			case tt.wantErr == "" && res.Err != nil:
				t.Errorf("run error = %v, want none", res.Err)
			case tt.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr)):
				t.Errorf("run error = %v, want one saying %q", res.Err, tt.wantErr)
			}
			got := other.requests()
			if len(got) != tt.wantCalls {
				t.Fatalf("the other server got %q, want %d requests", got, tt.wantCalls)
			}
			for _, hit := range got {
				if strings.Contains(hit, "k3y-s3cret") {
					t.Errorf("the other server received the key: %s", hit)
				}
			}
		})
	}
}

// TestKeySentToItsOrigin: the configured URL's origin gets the key on every page, however
// its next-page links spell that origin (here the scheme in capitals).
func TestKeySentToItsOrigin(t *testing.T) {
	var got []string
	var mu sync.Mutex
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+" "+r.Header.Get("X-Api-Key"))
		mu.Unlock()
		if r.URL.Query().Get("page") == "" {
			next := strings.Replace(srv.URL, "https://", "HTTPS://", 1) + "/api/companies?page=2"
			fmt.Fprintf(w, `{"results": [%s], "links": {"next": %q}}`, companies[0], next)
			return
		}
		fmt.Fprintf(w, `{"results": [%s]}`, companies[3])
	}))
	defer srv.Close()
	f := newFixture(t)
	f.runner.Transport = srv.Client().Transport
	src := jsonSource(srv.URL + "/api/companies")
	src.Headers["X-Api-Key"] = "${REGISTRY_KEY}"
	src.NextField = "links.next"
	if res := f.run(t, src); res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []string{"Bearer k3y-s3cret k3y-s3cret", "Bearer k3y-s3cret k3y-s3cret"}
	if !slices.Equal(got, want) {
		t.Errorf("the source's server got keys %q, want %q", got, want)
	}
}
