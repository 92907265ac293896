package store_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// BenchmarkLeasePending measures one claim of a batch of 500 recipients from a campaign of
// 200,000 (LEADMAILER_BENCH_LEADS sets another number) whose first quarter, the lowest IDs,
// wait for a retry an hour from now, as after a relay's temporary outage early in the send
// (LEADMAILER_BENCH_WAITING sets their number).
// The claim's rows are released between iterations, outside the timing, so that every claim
// meets the same queue.
func BenchmarkLeasePending(b *testing.B) {
	n := 200_000
	if s := os.Getenv("LEADMAILER_BENCH_LEADS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	waiting := n / 4
	if s := os.Getenv("LEADMAILER_BENCH_WAITING"); s != "" {
		waiting, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := be.Open(b, nil)
			raw := storetest.Raw(b, db)
			seq := `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?) `
			from, param := `FROM seq`, "?1"
			if db.Postgres() {
				seq, from, param = "", `FROM generate_series(1, $1) AS seq(i)`, "$1"
			}
			if _, err := raw.ExecContext(ctx, `INSERT INTO import_runs (source, kind, actor, started_at, heartbeat_at, status)
				VALUES ('bench', 'upload', 'bench', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'completed')`); err != nil {
				b.Fatal(err)
			}
			if _, err := raw.ExecContext(ctx, seq+`INSERT INTO leads (email, name, country, first_run_id, created_at, updated_at)
				SELECT 'person' || i || '@company' || (i % 5000) || '.example', 'Person ' || i, 'FI',
					(SELECT min(id) FROM import_runs), '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z' `+from, n); err != nil {
				b.Fatal(err)
			}
			c := &leadmailer.Campaign{Name: "bench", Subject: "s", HTML: "<p>x</p>", State: leadmailer.CampaignRunning, CreatedBy: "bench"}
			if err := db.CreateCampaign(ctx, c); err != nil {
				b.Fatal(err)
			}
			later := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000000Z")
			if _, err := raw.ExecContext(ctx, `INSERT INTO campaign_recipients (campaign_id, lead_id, status, queued_at, not_before, attempts)
				SELECT `+strconv.FormatInt(c.ID, 10)+`, id, 'queued', '2026-01-01T00:00:00.000000Z',
					CASE WHEN id <= `+param+` THEN '`+later+`' ELSE '' END, CASE WHEN id <= `+param+` THEN 1 ELSE 0 END
				FROM leads ORDER BY id`, waiting); err != nil {
				b.Fatal(err)
			}
			if _, err := raw.ExecContext(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				ps, _, err := db.LeasePending(ctx, c.ID, "bench", time.Now(), time.Minute, 500)
				if err != nil || len(ps) != 500 || ps[0].Attempts != 0 {
					b.Fatal(len(ps), err)
				}
				b.StopTimer()
				if err := db.ReleaseLeases(ctx, c.ID, "bench"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
