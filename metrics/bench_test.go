package metrics_test

import (
	"database/sql"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/leadmailer/leadmailer/metrics"
	"github.com/leadmailer/leadmailer/store"
)

// BenchmarkScrape measures one scrape of a database whose running campaign has 100,000
// ledger rows: the cost a Prometheus server adds every scrape interval.
func BenchmarkScrape(b *testing.B) {
	ctx := b.Context()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "leadmailer.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite3", db.Path())
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`INSERT INTO campaigns (id, name, subject, html, state, created_by, created_at) VALUES (1, 'Spring', 's', '<p>x</p>', 'running', 'anna', '2026-12-01T11:00:00.000000Z')`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
			INSERT INTO campaign_recipients (campaign_id, lead_id, status, queued_at, bounce)
			SELECT 1, i, CASE WHEN i % 10 = 0 THEN 'queued' ELSE 'sent' END, '2026-12-01T11:00:00.000000Z', CASE WHEN i % 50 = 0 THEN 'hard' ELSE '' END FROM n`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	h := metrics.New(db, metrics.Options{}).Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		io.Copy(io.Discard, rec.Body)
		if rec.Code != 200 {
			b.Fatalf("scrape: %d", rec.Code)
		}
	}
}
