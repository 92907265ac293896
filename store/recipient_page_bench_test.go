package store

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/leadmailer/leadmailer"
)

// BenchmarkCampaignPages measures what the campaign pages read from a campaign whose ledger
// holds one row per lead: the counts (polled by the progress bar), a page of recipients
// first, deep and filtered by a rare status, and one lead's mail. LEADMAILER_BENCH_LEADS sets
// the number of leads and recipients (default 200,000).
func BenchmarkCampaignPages(b *testing.B) {
	n := 200_000
	if s := os.Getenv("LEADMAILER_BENCH_LEADS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	fillLeads(b, db, n)
	c := &leadmailer.Campaign{Name: "bench", Subject: "s", HTML: "<p>x</p>", State: leadmailer.CampaignRunning, CreatedBy: "bench"}
	if err := db.CreateCampaign(ctx, c); err != nil {
		b.Fatal(err)
	}
	// 98% sent, 1% failed, 1% queued.
	if _, err := db.sql.ExecContext(ctx, `INSERT INTO campaign_recipients (campaign_id, lead_id, status, queued_at)
		SELECT ?, id, CASE WHEN id % 100 = 0 THEN 'failed' WHEN id % 100 = 1 THEN 'queued' ELSE 'sent' END,
			'2026-01-01T00:00:00.000000Z' FROM leads`, c.ID); err != nil {
		b.Fatal(err)
	}
	if _, err := db.sql.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Run("report", func(b *testing.B) {
		for b.Loop() {
			if _, err := db.CampaignReport(ctx, c.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, bc := range []struct {
		name   string
		status leadmailer.RecipientStatus
		after  int64
	}{
		{"page-first", "", 0},
		{"page-deep", "", int64(n) * 9 / 10},
		{"page-failed", leadmailer.RecipientFailed, int64(n) / 2},
		{"page-queued", leadmailer.RecipientQueued, int64(n) / 2},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if rs, err := db.FindRecipientsPage(ctx, c.ID, bc.status, bc.after, 201); err != nil || len(rs) == 0 {
					b.Fatal(len(rs), err)
				}
			}
		})
	}
	b.Run("lead-sends", func(b *testing.B) {
		for b.Loop() {
			if s, err := db.FindLeadSends(ctx, int64(n)/2); err != nil || len(s) != 1 {
				b.Fatal(len(s), err)
			}
		}
	})
}
