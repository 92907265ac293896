package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

func TestOpenCreatesAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "leadmailer.db")
	for i := range 2 {
		db, err := store.Open(ctx, path, store.Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		v, err := db.SchemaVersion(ctx)
		if err != nil || v < 1 {
			t.Fatalf("open #%d: schema version = %d, %v; want >= 1", i+1, v, err)
		}
		if err := db.IntegrityCheck(ctx); err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		db.Close()
	}
	if _, err := os.Stat(path + "-wal"); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// row builds an accepted import row from field=value pairs, as the importer would.
func row(n int64, kv ...string) leadmailer.ImportRow {
	r := leadmailer.ImportRow{Row: n}
	for i := 0; i < len(kv); i += 2 {
		f, ok := leadmailer.ParseField(kv[i])
		if !ok {
			panic("unknown field " + kv[i])
		}
		r.Values[f], r.Received[f] = kv[i+1], kv[i+1]
		r.Supplied = r.Supplied.With(f)
	}
	return r
}

func importRows(t *testing.T, db *store.DB, source string, dryRun bool, batches ...[]leadmailer.ImportRow) *leadmailer.ImportRun {
	t.Helper()
	ctx := context.Background()
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: source, Kind: leadmailer.KindUpload, Actor: "test"}, dryRun)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		for i := range b {
			b[i].EmailHash = w.SuppressionHash(b[i].Values[leadmailer.FieldEmail])
		}
		if _, err := w.WriteBatch(ctx, b, leadmailer.ImportCounts{Read: int64(len(b))}); err != nil {
			t.Fatal(err)
		}
	}
	run, err := w.Finish(ctx, leadmailer.RunCompleted, "")
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// A data directory's name is the user's: characters that mean something in a SQLite URI
// must not stop it opening, nor open another file.
func TestOpenPathWithURICharacters(t *testing.T) {
	for _, name := range []string{"50% off", "what?", "a#b", "%2e%2e"} {
		path := filepath.Join(t.TempDir(), name, "leadmailer.db")
		db, err := store.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatalf("open in %q: %v", name, err)
		}
		db.Close()
		if _, err := os.Stat(path); err != nil {
			t.Errorf("open in %q did not create %s: %v", name, path, err)
		}
	}
}

func TestWriteBatchOutcomes(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			first := importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "anna@x.fi", "name", "Anna", "company", "Acme"),
				row(3, "email", "bob@y.se", "name", "Bob"),
			})
			if got, want := first.Counts, (leadmailer.ImportCounts{Read: 2, Inserted: 2}); got != want {
				t.Errorf("first run counts = %+v, want %+v", got, want)
			}

			dup := row(5, "email", "anna@x.fi", "phone", "+358 1")
			dup.DuplicateInBatch = true
			second := importRows(t, db, "fair", false,
				[]leadmailer.ImportRow{
					row(2, "email", "anna@x.fi", "company", "Acme Oy"), // updated
					row(3, "email", "bob@y.se", "name", ""),            // unchanged: empty never blanks
					row(4, "email", "new@z.de", "country", "DE"),       // inserted
					dup, // same batch
				},
				[]leadmailer.ImportRow{
					row(6, "email", "new@z.de", "city", "Berlin"), // earlier batch of this run
				})
			want := leadmailer.ImportCounts{Read: 5, Inserted: 1, Updated: 1, Unchanged: 1, Duplicates: 2}
			if second.Counts != want {
				t.Errorf("second run counts = %+v, want %+v", second.Counts, want)
			}
			stored, err := db.FindImportRun(ctx, second.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Counts != want || stored.Status != leadmailer.RunCompleted {
				t.Errorf("stored run = %+v %s, want %+v completed", stored.Counts, stored.Status, want)
			}

			anna, err := db.FindLeadByEmail(ctx, " Anna@X.fi ")
			if err != nil {
				t.Fatal(err)
			}
			if anna.Company != "Acme Oy" || anna.Name != "Anna" {
				t.Errorf("anna = %q/%q, want Anna/Acme Oy", anna.Name, anna.Company)
			}
			runs := anna.FieldRuns
			if runs[leadmailer.FieldName] != first.ID || runs[leadmailer.FieldCompany] != second.ID || anna.FirstRunID != first.ID {
				t.Errorf("anna's field runs name=%d company=%d first=%d, want %d %d %d",
					runs[leadmailer.FieldName], runs[leadmailer.FieldCompany], anna.FirstRunID, first.ID, second.ID, first.ID)
			}
			obs, err := db.FindObservations(ctx, anna.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(obs) != 3 {
				t.Fatalf("anna has %d observations, want 3 (one per row): %+v", len(obs), obs)
			}
			if got := obs[2].Received["phone"]; got != "+358 1" || obs[2].Row != 5 || obs[2].Source != "fair" {
				t.Errorf("third observation = %+v, want row 5 of fair supplying phone", obs[2])
			}

			newLead, err := db.FindLeadByEmail(ctx, "new@z.de")
			if err != nil {
				t.Fatal(err)
			}
			if newLead.City != "Berlin" || newLead.Country != "DE" {
				t.Errorf("new lead = %+v, want country DE and city Berlin from two batches", newLead)
			}
		})
	}
}

func TestSuppressedAddressIsNeverImported(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			if err := db.SuppressAddress(ctx, "Objector@Example.com", "objection"); err != nil {
				t.Fatal(err)
			}
			if err := db.SuppressAddress(ctx, "objector@example.com", "again"); err != nil {
				t.Fatalf("suppressing twice: %v", err)
			}
			run := importRows(t, db, "registry", false, []leadmailer.ImportRow{
				row(2, "email", "objector@example.com", "name", "O"),
				row(3, "email", "ok@example.com"),
			})
			if run.Counts.Suppressed != 1 || run.Counts.Inserted != 1 {
				t.Errorf("counts = %+v, want 1 suppressed, 1 inserted", run.Counts)
			}
			if _, err := db.FindLeadByEmail(ctx, "objector@example.com"); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
				t.Errorf("suppressed lead lookup error = %v, want not found", err)
			}
			if ok, err := db.IsSuppressed(ctx, "OBJECTOR@example.com"); err != nil || !ok {
				t.Errorf("IsSuppressed = %v, %v; want true", ok, err)
			}
		})
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			run := importRows(t, db, "crm", true, []leadmailer.ImportRow{row(2, "email", "a@b.fi")})
			if run.Counts.Inserted != 1 {
				t.Errorf("dry run counts = %+v, want 1 inserted", run.Counts)
			}
			if n, _ := db.CountLeads(ctx); n != 0 {
				t.Errorf("leads after dry run = %d, want 0", n)
			}
			if runs, _ := db.FindImportRuns(ctx, "", 10); len(runs) != 0 {
				t.Errorf("runs after dry run = %d, want 0", len(runs))
			}
		})
	}
}

func TestFindLeadsFilters(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "a@x.fi", "country", "FI"),
				row(3, "email", "b@x.se", "country", "SE"),
			})
			importRows(t, db, "registry", false, []leadmailer.ImportRow{row(2, "email", "c@x.fi", "country", "FI")})
			tests := []struct {
				filter store.LeadFilter
				want   []string
			}{
				{store.LeadFilter{}, []string{"a@x.fi", "b@x.se", "c@x.fi"}},
				{store.LeadFilter{Country: "FI"}, []string{"a@x.fi", "c@x.fi"}},
				{store.LeadFilter{Source: "registry"}, []string{"c@x.fi"}},
				{store.LeadFilter{Country: "SE", Source: "registry"}, nil},
				{store.LeadFilter{AfterID: 1, Limit: 1}, []string{"b@x.se"}},
				{store.LeadFilter{State: leadmailer.LeadInactive}, nil},
			}
			for _, tt := range tests {
				var got []string
				err := db.FindLeads(ctx, tt.filter, func(l *leadmailer.Lead) error {
					got = append(got, l.Email)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tt.want) {
					t.Errorf("FindLeads(%+v) = %v, want %v", tt.filter, got, tt.want)
					continue
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("FindLeads(%+v) = %v, want %v", tt.filter, got, tt.want)
						break
					}
				}
			}
		})
	}
}

func TestStaleRunIsReportedInterrupted(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			db := b.Open(t, func() time.Time { return now })
			ctx := context.Background()
			w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload, Actor: "t"}, false)
			if err != nil {
				t.Fatal(err)
			}
			// The process "dies" here: Finish is never called.
			run, err := db.FindImportRun(ctx, w.Run().ID)
			if err != nil {
				t.Fatal(err)
			}
			if got := run.EffectiveStatus(now.Add(time.Second)); got != leadmailer.RunRunning {
				t.Errorf("status a second later = %s, want running", got)
			}
			if got := run.EffectiveStatus(now.Add(leadmailer.StaleRunAfter + time.Second)); got != leadmailer.RunInterrupted {
				t.Errorf("status after %s = %s, want interrupted", leadmailer.StaleRunAfter, got)
			}
		})
	}
}

// Leads from imports and from the website interleave: the import chooses its new leads' ids
// itself, and a website query's new lead must still get a free one, before and after.
func TestImportAndWebsiteLeadsShareIDs(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			web := func(email string) int64 {
				t.Helper()
				res, err := db.RecordWebsiteQuery(ctx, row(1, "email", email), store.WebsiteQuery{
					ReceivedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), IP: "192.0.2.1", UserAgent: "test", Message: "hello"})
				if err != nil {
					t.Fatalf("website query from %s: %v", email, err)
				}
				return res.LeadID
			}
			importRows(t, db, "crm", false, []leadmailer.ImportRow{row(2, "email", "a@x.fi"), row(3, "email", "b@x.fi")})
			w1 := web("w1@x.fi")
			importRows(t, db, "crm", false, []leadmailer.ImportRow{row(2, "email", "c@x.fi"), row(3, "email", "d@x.fi")})
			w2 := web("w2@x.fi")
			ids := map[int64]string{}
			err := db.FindLeads(ctx, store.LeadFilter{}, func(l *leadmailer.Lead) error {
				if other, dup := ids[l.ID]; dup {
					t.Errorf("leads %s and %s share id %d", other, l.Email, l.ID)
				}
				ids[l.ID] = l.Email
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 6 || ids[w1] != "w1@x.fi" || ids[w2] != "w2@x.fi" {
				t.Errorf("leads by id %v, want six, with %d = w1@x.fi and %d = w2@x.fi", ids, w1, w2)
			}
		})
	}
}

// TestCountLeadsByState: the dashboard's counts, on an empty database and after a lead
// ended its relationship, on both databases.
func TestCountLeadsByState(t *testing.T) {
	ctx := context.Background()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			counts := func() map[leadmailer.LeadState]int64 {
				t.Helper()
				c, err := db.CountLeadsByState(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			if got := counts(); len(got) != 0 {
				t.Errorf("empty database: %v, want no states", got)
			}
			importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "a@example.fi"), row(3, "email", "b@example.fi"), row(4, "email", "c@example.fi"),
			})
			if got := counts(); len(got) != 1 || got[leadmailer.LeadActive] != 3 {
				t.Errorf("three new leads: %v, want 3 active", got)
			}
			if _, err := db.EndRelationship(ctx, "b@example.fi"); err != nil {
				t.Fatal(err)
			}
			if got := counts(); len(got) != 2 || got[leadmailer.LeadActive] != 2 || got[leadmailer.LeadInactive] != 1 {
				t.Errorf("one relationship ended: %v, want 2 active and 1 inactive", got)
			}
		})
	}
}
