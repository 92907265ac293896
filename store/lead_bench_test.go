package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
)

// fillLeads adds n synthetic leads to db with set-based SQL, for benchmarks of the lead list.
func fillLeads(tb testing.TB, db *DB, n int) {
	tb.Helper()
	ctx := context.Background()
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO import_runs (id, source, kind, actor, started_at, heartbeat_at, status)
		VALUES (1, 'bench', 'upload', 'bench', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'completed')`); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO leads (email, name, company, country, first_run_id, state, created_at, updated_at)
		SELECT 'person' || i || '@company' || (i % 5000) || '.example',
			'Person ' || i, 'Company ' || (i % 5000), CASE i % 3 WHEN 0 THEN 'FI' WHEN 1 THEN 'SE' ELSE 'DE' END,
			1, CASE WHEN i % 10 = 0 THEN 'inactive' ELSE 'active' END,
			'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'
		FROM seq`, n); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkFindLeadsPage measures one page of the web app's lead list, deep into a large
// table. LEADMAILER_BENCH_LEADS sets the table's size (default 200,000).
func BenchmarkFindLeadsPage(b *testing.B) {
	n := 200_000
	if s := os.Getenv("LEADMAILER_BENCH_LEADS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	fillLeads(b, db, n)
	for _, bc := range []struct {
		name string
		f    LeadFilter
	}{
		{"first", LeadFilter{}},
		{"deep", LeadFilter{AfterID: int64(n) * 9 / 10}},
		{"country-deep", LeadFilter{Country: "SE", AfterID: int64(n) * 9 / 10}},
		{"country-none", LeadFilter{Country: "EE"}}, // no lead is there: every lead is read
		{"state-inactive", LeadFilter{State: leadmailer.LeadInactive, AfterID: int64(n) / 2}},
		{"search-common", LeadFilter{Search: "person1"}},
		{"search-rare", LeadFilter{Search: "person" + strconv.Itoa(n-1)}},
		{"search-company", LeadFilter{Search: "company 4999"}},
		{"search-none", LeadFilter{Search: "zzz"}},
	} {
		bc.f.Limit = 51
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				got := 0
				if err := db.FindLeads(context.Background(), bc.f, func(*leadmailer.Lead) error { got++; return nil }); err != nil {
					b.Fatal(err)
				}
				if got == 0 && !strings.HasSuffix(bc.name, "-none") {
					b.Fatal("no leads found")
				}
			}
		})
	}
}
