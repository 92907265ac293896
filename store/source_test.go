package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store/storetest"
)

func TestSourceStateRoundTrip(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			st, err := db.FindSourceState(ctx, "prh")
			if err != nil || st.ETag != "" || st.URL != "" {
				t.Fatalf("fresh state = %+v, %v; want empty", st, err)
			}
			for _, etag := range []string{`"v1"`, `"v2"`} {
				if err := db.SaveSourceState(ctx, &leadmailer.SourceState{Source: "prh", URL: "https://r.example/a", ETag: etag, LastModified: "Tue, 01 Dec 2026 03:00:00 GMT"}); err != nil {
					t.Fatal(err)
				}
			}
			st, err = db.FindSourceState(ctx, "prh")
			if err != nil || st.ETag != `"v2"` || st.URL != "https://r.example/a" || st.LastModified == "" {
				t.Errorf("state = %+v, %v; want the second save", st, err)
			}
		})
	}
}

func TestRecordFinishedRunStatuses(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			for _, tc := range []struct {
				status leadmailer.RunStatus
				errMsg string
			}{
				{leadmailer.RunUnchanged, ""},
				{leadmailer.RunFailed, "source prh: GET https://r.example/a: 500 Internal Server Error"},
			} {
				run := &leadmailer.ImportRun{Source: "prh", Kind: leadmailer.KindPublic, Actor: "schedule", Status: tc.status, Error: tc.errMsg}
				if err := db.RecordFinishedRun(ctx, run); err != nil {
					t.Fatal(err)
				}
				got, err := db.FindImportRun(ctx, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != tc.status || got.Error != tc.errMsg || got.FinishedAt == nil {
					t.Errorf("stored run = %s %q finished %v, want %s %q", got.Status, got.Error, got.FinishedAt, tc.status, tc.errMsg)
				}
			}
			if err := db.RecordFinishedRun(ctx, &leadmailer.ImportRun{Source: "prh", Kind: leadmailer.KindPublic, Status: leadmailer.RunCompleted}); err == nil {
				t.Error("recording a completed run without writing it: no error")
			}
		})
	}
}

func TestFileImportedOnlyAfterCompletedRun(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			const sum = "ab12"
			w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "bulk", Kind: leadmailer.KindPublic, Actor: "t", FileSHA256: sum}, false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Finish(ctx, leadmailer.RunFailed, "cut off"); err != nil {
				t.Fatal(err)
			}
			if ok, err := db.FileImported(ctx, "bulk", sum); ok || err != nil {
				t.Fatalf("after a failed run FileImported = %v, %v; want false", ok, err)
			}
			importRowsRun(t, db, &leadmailer.ImportRun{Source: "bulk", Kind: leadmailer.KindPublic, Actor: "t", FileSHA256: sum})
			if ok, err := db.FileImported(ctx, "bulk", sum); !ok || err != nil {
				t.Errorf("after a completed run FileImported = %v, %v; want true", ok, err)
			}
			if ok, _ := db.FileImported(ctx, "other", sum); ok {
				t.Error("a file imported by one source counts as imported by another")
			}
		})
	}
}

func importRowsRun(t *testing.T, db interface {
	BeginImport(context.Context, *leadmailer.ImportRun, bool) (leadmailer.ImportWriter, error)
}, run *leadmailer.ImportRun, rows ...leadmailer.ImportRow) *leadmailer.ImportRun {
	t.Helper()
	ctx := context.Background()
	w, err := db.BeginImport(ctx, run, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rows[i].EmailHash = w.SuppressionHash(rows[i].Values[leadmailer.FieldEmail])
	}
	if _, err := w.WriteBatch(ctx, rows, leadmailer.ImportCounts{Read: int64(len(rows))}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	return run
}

func TestSourceRecordsAppearInObservations(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			fetched := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
			db := b.Open(t, nil)
			upload := importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "anna@x.fi", "business_id", "1234567-8"),
				row(3, "email", "bob@x.fi", "business_id", "1234567-8"),
				row(4, "email", "carl@y.fi", "business_id", "7654321-0"),
			})

			ids, err := db.FindLeadEmailsByBusinessID(ctx, []string{"1234567-8", "0000000-0"})
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string][]string{"1234567-8": {"anna@x.fi", "bob@x.fi"}}; !reflect.DeepEqual(ids, want) {
				t.Errorf("leads by business ID = %v, want %v", ids, want)
			}

			run := &leadmailer.ImportRun{Source: "prh", Kind: leadmailer.KindPublic, Actor: "schedule"}
			w, err := db.BeginImport(ctx, run, false)
			if err != nil {
				t.Fatal(err)
			}
			const page = "https://registry.example/api/companies?page=2"
			origin, err := db.InternOrigin(ctx, run.ID, page, fetched)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := db.InternOrigin(ctx, run.ID, page, fetched); err != nil || again != origin {
				t.Errorf("interning the same origin again = %d, %v; want %d", again, err, origin)
			}
			if err := db.RecordSourceRecords(ctx, run.ID, []leadmailer.SourceRecord{{Row: 1, RecordID: "1234567-8", OriginID: origin}}); err != nil {
				t.Fatal(err)
			}
			r := row(1, "email", "anna@x.fi", "company", "Acme Oy")
			r.Supplied = 0
			r.Supplied = r.Supplied.With(leadmailer.FieldCompany) // the registry supplied no address
			r.EmailHash = w.SuppressionHash("anna@x.fi")
			if _, err := w.WriteBatch(ctx, []leadmailer.ImportRow{r}, leadmailer.ImportCounts{Read: 1, Skipped: 2}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
				t.Fatal(err)
			}
			stored, err := db.FindImportRun(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Counts.Skipped != 2 || stored.Counts.Updated != 1 {
				t.Errorf("stored counts = %+v, want 1 updated and 2 skipped", stored.Counts)
			}

			anna, err := db.FindLeadByEmail(ctx, "anna@x.fi")
			if err != nil {
				t.Fatal(err)
			}
			obs, err := db.FindObservations(ctx, anna.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(obs) != 2 {
				t.Fatalf("observations = %+v, want the upload's and the registry's", obs)
			}
			if o := obs[0]; o.RunID != upload.ID || o.RecordID != "" || o.Origin != "" || o.RetrievedAt != nil {
				t.Errorf("upload observation = %+v, want no source record", o)
			}
			o := obs[1]
			if o.RunID != run.ID || o.RecordID != "1234567-8" || o.Origin != page || o.RetrievedAt == nil || !o.RetrievedAt.Equal(fetched) {
				t.Errorf("registry observation = %+v, want record 1234567-8 from %s at %s", o, page, fetched)
			}
			if got := o.Supplied.Names(); !reflect.DeepEqual(got, []string{"company"}) {
				t.Errorf("registry supplied %v, want [company]", got)
			}
			if anna.FieldRuns[leadmailer.FieldEmail] != upload.ID || anna.FieldRuns[leadmailer.FieldCompany] != run.ID {
				t.Errorf("field runs email=%d company=%d, want %d and %d", anna.FieldRuns[leadmailer.FieldEmail],
					anna.FieldRuns[leadmailer.FieldCompany], upload.ID, run.ID)
			}
		})
	}
}
