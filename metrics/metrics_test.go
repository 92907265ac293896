package metrics_test

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/leadmailer/leadmailer/metrics"
	"github.com/leadmailer/leadmailer/store"
)

// Scrape fetches url and parses the Prometheus text it serves, as Prometheus would.
func Scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s\n%s", url, res.Status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("GET %s: not the Prometheus text format: %v", url, err)
	}
	return families
}

// Value returns the value of the metric of family name whose labels include want, and
// whether there is one.
func Value(families map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount()), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsCountTheLedgerAndImports: what a scrape reports is what the database holds,
// however it got there, and the web routes are labelled by their patterns.
func TestMetricsCountTheLedgerAndImports(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "leadmailer.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite3", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, s := range []string{
		`INSERT INTO import_runs (id, source, kind, actor, started_at, heartbeat_at, finished_at, status, rows_read, inserted, rejected)
			VALUES (1, 'fair.csv', 'upload', 'anna', '2026-12-01T10:00:00.000000Z', '2026-12-01T10:00:01.000000Z', '2026-12-01T10:00:01.000000Z', 'completed', 5, 3, 2),
			       (2, 'prh', 'public', 'schedule', '2026-12-01T03:00:00.000000Z', '2026-12-01T03:00:04.000000Z', '2026-12-01T03:00:04.000000Z', 'completed', 7, 7, 0),
			       (3, 'prh', 'public', 'schedule', '2026-12-02T03:00:00.000000Z', '2026-12-02T03:00:02.500000Z', '2026-12-02T03:00:02.500000Z', 'completed', 0, 0, 0)`,
		`INSERT INTO leads (id, email, first_run_id, created_at, updated_at) VALUES
			(1, 'a@x.example', 1, '2026-12-01T10:00:00.000000Z', '2026-12-01T10:00:00.000000Z'),
			(2, 'b@x.example', 1, '2026-12-01T10:00:00.000000Z', '2026-12-01T10:00:00.000000Z')`,
		`INSERT INTO campaigns (id, name, subject, html, state, created_by, created_at) VALUES
			(4, 'Spring', 's', '<p>x</p>', 'running', 'anna', '2026-12-01T11:00:00.000000Z'),
			(5, 'Old', 's', '<p>x</p>', 'finished', 'anna', '2020-01-01T11:00:00.000000Z')`,
		`INSERT INTO campaign_recipients (campaign_id, lead_id, status, queued_at, bounce) VALUES
			(4, 1, 'sent', '2026-12-01T11:00:00.000000Z', 'hard'),
			(4, 2, 'sent', '2026-12-01T11:00:00.000000Z', ''),
			(4, 3, 'queued', '2026-12-01T11:00:00.000000Z', ''),
			(4, 4, 'failed', '2026-12-01T11:00:00.000000Z', ''),
			(5, 1, 'sent', '2020-01-01T11:00:00.000000Z', '')`,
	} {
		if _, err := raw.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	m := metrics.New(db, metrics.Options{Now: func() time.Time { return time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) }})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /leads/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewServer(m.Instrument(mux))
	defer srv.Close()
	for _, p := range []string{"/leads/1", "/leads/2", "/nowhere"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}

	got := Scrape(t, srv.URL+"/metrics")
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"leadmailer_database_up", nil, 1},
		{"leadmailer_campaign_messages_total", map[string]string{"campaign": "4", "outcome": "sent"}, 2},
		{"leadmailer_campaign_messages_total", map[string]string{"campaign": "4", "outcome": "bounced_hard"}, 1},
		{"leadmailer_campaign_messages_total", map[string]string{"campaign": "4", "outcome": "failed"}, 1},
		{"leadmailer_campaign_queue_depth", map[string]string{"campaign": "4", "status": "queued"}, 1},
		{"leadmailer_campaign_info", map[string]string{"campaign": "4", "name": "Spring", "state": "running"}, 1},
		{"leadmailer_import_rows_total", map[string]string{"kind": "upload", "source": "upload"}, 5},
		{"leadmailer_import_rejects_total", map[string]string{"kind": "upload", "source": "upload"}, 2},
		{"leadmailer_import_rows_total", map[string]string{"kind": "public", "source": "prh"}, 7},
		{"leadmailer_source_run_duration_seconds", map[string]string{"source": "prh", "status": "completed"}, 2},
		{"leadmailer_source_last_run_seconds", map[string]string{"source": "prh", "status": "completed"}, 2.5},
		{"leadmailer_leads", map[string]string{"state": "active"}, 2},
		{"leadmailer_http_request_duration_seconds", map[string]string{"route": "/leads/{id}", "method": "GET", "code": "418"}, 2},
		{"leadmailer_http_request_duration_seconds", map[string]string{"route": "none", "code": "404"}, 1},
	}
	for _, tt := range tests {
		v, ok := Value(got, tt.name, tt.labels)
		if !ok || v != tt.want {
			t.Errorf("%s%v = %v (found %v), want %v", tt.name, tt.labels, v, ok, tt.want)
		}
	}
	if _, ok := Value(got, "leadmailer_campaign_info", map[string]string{"campaign": "5"}); ok {
		t.Error("a campaign finished years ago is still reported")
	}
	if _, ok := Value(got, "leadmailer_http_request_duration_seconds", map[string]string{"route": "/leads/1"}); ok {
		t.Error("a route is labelled by its path, not its pattern: one series per lead")
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// TestMetricsReportAnUnreadableDatabase: a scrape of a closed database says so rather than
// serving counts of zero.
func TestMetricsReportAnUnreadableDatabase(t *testing.T) {
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "leadmailer.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	srv := httptest.NewServer(metrics.New(db, metrics.Options{}).Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("what a scrape with a failed read serves does not parse: %v", err)
	}
	if v, ok := Value(families, "leadmailer_database_up", nil); !ok || v != 0 {
		t.Errorf("leadmailer_database_up = %v (found %v), want 0", v, ok)
	}
	if _, ok := families["leadmailer_campaign_messages_total"]; ok {
		t.Error("counts served from a database that cannot be read")
	}
}
