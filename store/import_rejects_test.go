package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// rejected returns n rejected rows numbered from first, each with values of its own.
func rejected(first, n int) []leadmailer.RejectedRow {
	rows := make([]leadmailer.RejectedRow, n)
	for i := range rows {
		k := first + i
		rows[i] = leadmailer.RejectedRow{Row: int64(k), Reason: fmt.Sprintf("email: row %d is not an address", k),
			Email: fmt.Sprintf("Person%d@@example.com", k), Name: fmt.Sprintf("Person %d", k), Company: "=HYPERLINK(1)",
			Country: "FI", BusinessID: "1234567-8", JobTitle: "CEO", Website: "example.com", Phone: "+358 40 1", City: "Espoo"}
	}
	return rows
}

// writeRejectBatches imports one batch per entry of batches, each with its rejects and one
// accepted row, and finishes the run unless dryRun.
func writeRejectBatches(t *testing.T, db *store.DB, dryRun bool, batches ...[]leadmailer.RejectedRow) *leadmailer.ImportRun {
	t.Helper()
	ctx := context.Background()
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "rejects", Kind: leadmailer.KindUpload, Actor: "t"}, dryRun)
	if err != nil {
		t.Fatal(err)
	}
	for i, rejects := range batches {
		r := row(int64(1_000_000+i), "email", fmt.Sprintf("ok%d@example.com", i))
		r.EmailHash = w.SuppressionHash(r.Values[leadmailer.FieldEmail])
		pre := leadmailer.ImportCounts{Read: int64(len(rejects)) + 1, Rejected: int64(len(rejects))}
		if _, err := w.WriteBatchRejects(ctx, []leadmailer.ImportRow{r}, pre, rejects); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	run, err := w.Finish(ctx, leadmailer.RunCompleted, "")
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// allRejects reads a run's rejects with EachImportReject.
func allRejects(t *testing.T, db *store.DB, runID int64) []leadmailer.RejectedRow {
	t.Helper()
	var got []leadmailer.RejectedRow
	if err := db.EachImportReject(t.Context(), runID, func(r *leadmailer.RejectedRow) error {
		got = append(got, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// A run's rejects are stored with the batches they came with and read back whole, in the
// order of the input, however the batches split them: across the sizes of SQLite's
// multi-row inserts and across EachImportReject's pages.
func TestImportRejectsStoredAndRead(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tt := range []struct {
				name    string
				batches []int // rejects per batch
			}{
				{"none", []int{0}},
				{"one", []int{1}},
				{"one insert's worth and one more", []int{256, 257}},
				{"several pages in odd batches", []int{1, 300, 0, 2199}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					db := b.Open(t, nil)
					var batches [][]leadmailer.RejectedRow
					var want []leadmailer.RejectedRow
					for _, n := range tt.batches {
						rows := rejected(len(want)+2, n)
						batches = append(batches, rows)
						want = append(want, rows...)
					}
					run := writeRejectBatches(t, db, false, batches...)
					n, err := db.CountImportRejects(t.Context(), run.ID)
					if err != nil {
						t.Fatal(err)
					}
					if n != int64(len(want)) || run.Counts.Rejected != n {
						t.Errorf("CountImportRejects = %d, run's rejected count %d; want %d", n, run.Counts.Rejected, len(want))
					}
					got := allRejects(t, db, run.ID)
					if len(got) != len(want) {
						t.Fatalf("EachImportReject gave %d rows, want %d", len(got), len(want))
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("reject %d:\n got %+v\nwant %+v", i, got[i], want[i])
						}
					}
					// FindImportRejects pages by ID to the same rows.
					var paged []leadmailer.RejectedRow
					var after int64
					for {
						page, err := db.FindImportRejects(t.Context(), run.ID, after, 700)
						if err != nil {
							t.Fatal(err)
						}
						for _, r := range page {
							paged = append(paged, r.RejectedRow)
						}
						if len(page) < 700 {
							break
						}
						after = page[len(page)-1].ID
					}
					if len(paged) != len(want) || (len(want) > 0 && paged[len(paged)-1] != want[len(want)-1]) {
						t.Errorf("FindImportRejects paged to %d rows, want %d ending with row %d", len(paged), len(want), want[len(want)-1].Row)
					}
				})
			}
		})
	}
}

// Each stored reject is findable by its address (email_hash, as erasure and an access
// request look it up), a row without one is not, and values neither database can store as
// text (bytes that are not UTF-8, NUL: a common reason to reject a row) are stored with
// U+FFFD in their place instead of failing the import.
func TestImportRejectsEmailHashAndBadBytes(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			in := []leadmailer.RejectedRow{
				{Row: 2, Reason: "email: not an address", Email: " Anna@Example.FI ", Name: "Anna"},
				{Row: 3, Reason: "no address", Name: "Nobody"},
				{Row: 4, Reason: "the byte at offset 99 is not UTF-8", Email: "bad\xffbyte@example.com", Company: "Nul\x00 Oy"},
			}
			run := writeRejectBatches(t, db, false, in)
			got := allRejects(t, db, run.ID)
			want := []leadmailer.RejectedRow{in[0], in[1], in[2]}
			want[2].Email, want[2].Company = "bad\uFFFDbyte@example.com", "Nul\uFFFD Oy"
			if len(got) != len(want) {
				t.Fatalf("got %d rejects, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("reject %d:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
			raw := storetest.Raw(t, db)
			for _, c := range []struct {
				row  int64
				want sql.NullString
			}{
				{2, sql.NullString{String: db.SuppressionHash("anna@example.fi"), Valid: true}},
				{3, sql.NullString{}},
				{4, sql.NullString{String: db.SuppressionHash(store.RejectEmailKey("bad\uFFFDbyte@example.com")), Valid: true}},
			} {
				var h sql.NullString
				if err := raw.QueryRow(`SELECT email_hash FROM import_rejects WHERE row_no = $1`, c.row).Scan(&h); err != nil {
					t.Fatal(err)
				}
				if h != c.want {
					t.Errorf("row %d: email_hash %v, want %v", c.row, h, c.want)
				}
			}
		})
	}
}

// A dry run stores no rejects, as it stores nothing else.
func TestImportRejectsDryRun(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			run := writeRejectBatches(t, db, true, rejected(2, 10))
			var n int64
			if err := storetest.Raw(t, db).QueryRow(`SELECT count(*) FROM import_rejects`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 || run.Counts.Rejected != 10 {
				t.Errorf("dry run: %d rejects stored, %d counted; want none stored and 10 counted", n, run.Counts.Rejected)
			}
		})
	}
}

// BenchmarkRejects measures storing an import's rejected rows, in rows per second: batches
// of 10,000 rejects (the importer's largest) with no accepted rows, so that the time is the
// rejects' own.
func BenchmarkRejects(b *testing.B) {
	const perBatch = 10_000
	rows := rejected(2, perBatch)
	for _, backend := range storetest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := backend.Open(b, nil)
			ctx := context.Background()
			w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "bench", Kind: leadmailer.KindUpload, Actor: "bench"}, false)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Finish(ctx, leadmailer.RunCompleted, "")
			pre := leadmailer.ImportCounts{Read: perBatch, Rejected: perBatch}
			for b.Loop() {
				if _, err := w.WriteBatchRejects(ctx, nil, pre, rows); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
