package store_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// BenchmarkCopyTo measures migrate-data's copy of a database of imported leads (each with its
// observation), from SQLite into PostgreSQL and back, in rows of all tables per second.
// LEADMAILER_BENCH_COPY_LEADS sets the number of leads (default 100,000). Run with
// -benchtime=1x: each iteration copies into a new, empty database.
func BenchmarkCopyTo(b *testing.B) {
	n := 100_000
	if s := os.Getenv("LEADMAILER_BENCH_COPY_LEADS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	sqliteEnd := copyEnd(b.TempDir() + "/source.db")
	src := sqliteEnd.open(b, true)
	w, err := src.BeginImport(ctx, &leadmailer.ImportRun{Source: "bench", Kind: leadmailer.KindUpload, Actor: "bench"}, false)
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < n; start += 10_000 {
		var rows []leadmailer.ImportRow
		for i := start; i < min(start+10_000, n); i++ {
			r := row(int64(i+2), "email", fmt.Sprintf("person%d@company%d.example", i, i%5000),
				"name", fmt.Sprintf("Person %d", i), "company", fmt.Sprintf("Company %d", i%5000), "country", "FI")
			r.EmailHash = w.SuppressionHash(r.Values[leadmailer.FieldEmail])
			rows = append(rows, r)
		}
		if _, err := w.WriteBatch(ctx, rows, leadmailer.ImportCounts{Read: int64(len(rows))}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
		b.Fatal(err)
	}

	b.Run("sqlite-to-postgres", func(b *testing.B) {
		for b.Loop() {
			dst := copyEnd(storetest.NewPostgresDatabase(b)).open(b, false)
			report, err := src.CopyTo(ctx, dst, store.CopyOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(report.Rows)/report.Elapsed.Seconds(), "rows/s")
		}
	})
	// The source of the way back is a copy made outside the timing.
	pgEnd := copyEnd(storetest.NewPostgresDatabase(b))
	if _, err := src.CopyTo(ctx, pgEnd.open(b, false), store.CopyOptions{}); err != nil {
		b.Fatal(err)
	}
	pg := pgEnd.open(b, true)
	b.Run("postgres-to-sqlite", func(b *testing.B) {
		for b.Loop() {
			dst := copyEnd(b.TempDir()+"/copy.db").open(b, false)
			report, err := pg.CopyTo(ctx, dst, store.CopyOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(report.Rows)/report.Elapsed.Seconds(), "rows/s")
		}
	})
}
