package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestExportThenEraseThenExport exports a lead that came from an upload, a registry and a
// website query with consent; erases it; and checks the second export holds nothing personal.
func TestExportThenEraseThenExport(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "dana@delta.example", "name", "Dana Delta", "phone", "+358 40 123"),
				row(3, "email", "other@delta.example", "name", "Other Person"),
			})
			importRows(t, db, "registry", false, []leadmailer.ImportRow{
				row(7, "email", "dana@delta.example", "company", "Delta Oy", "business_id", "1234567-8"),
			})
			q := row(0, "email", "dana@delta.example", "country", "FI")
			res, err := db.RecordWebsiteQuery(ctx, q, store.WebsiteQuery{ReceivedAt: time.Now(), IP: "198.51.100.7",
				UserAgent: "DanaBrowser/2", Message: "Call Dana at home", ConsentVersion: "2026-01"})
			if err != nil || res.LeadID == 0 || res.ConsentRequestID == 0 {
				t.Fatalf("website query: %+v, %v", res, err)
			}
			// The consent counts once confirmed from the mail (double opt-in).
			if _, err := db.ConfirmConsent(ctx, res.ConsentRequestID, store.ConsentConfirmation{At: time.Now(), IP: "198.51.100.8", Version: "confirm-1"}); err != nil {
				t.Fatal(err)
			}

			x, err := db.ExportLead(ctx, "DANA@delta.example")
			if err != nil {
				t.Fatal(err)
			}
			if x.Lead == nil || x.Lead.Name != "Dana Delta" || x.Lead.Company != "Delta Oy" || x.Lead.Country != "FI" {
				t.Fatalf("export lead = %+v", x.Lead)
			}
			var sources []string
			for _, s := range x.Sources {
				sources = append(sources, fmt.Sprintf("%s:%s:%d:%s", s.Source, s.Kind, s.Observations, strings.Join(s.Fields, "+")))
			}
			if got, want := strings.Join(sources, " "), "crm:upload:1:email+name+phone registry:upload:1:email+company+business_id website:website:1:email+country"; got != want {
				t.Errorf("sources = %s, want %s", got, want)
			}
			origins := map[string]string{}
			for _, f := range x.Fields {
				origins[f.Field] = f.Source
			}
			if origins["name"] != "crm" || origins["company"] != "registry" || origins["country"] != "website" {
				t.Errorf("field origins = %v", origins)
			}
			if len(x.WebsiteQueries) != 1 || x.WebsiteQueries[0].IP != "198.51.100.7" || len(x.Consents) != 1 || x.Consents[0].TextVersion != "2026-01" {
				t.Errorf("queries %+v, consents %+v", x.WebsiteQueries, x.Consents)
			}
			if len(x.Provenance) != 3 || len(x.Suppressions) != 0 {
				t.Errorf("provenance %d rows, suppressions %+v; want 3 and none", len(x.Provenance), x.Suppressions)
			}

			e, err := db.EraseLead(ctx, "dana@delta.example", "request by e-mail")
			if err != nil {
				t.Fatal(err)
			}
			if e.LeadID != x.Lead.ID || e.Observations != 3 || e.WebsiteQueries != 1 || e.Consents != 1 {
				t.Errorf("erasure = %+v, want the lead with 3 observations, 1 query, 1 consent", e)
			}
			after, err := db.ExportLead(ctx, "dana@delta.example")
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(after)
			// Whole values: a fragment such as "358" turns up in a hash or a time now and then.
			for _, personal := range []string{"dana", "Dana", "Delta", "+358 40 123", "198.51.100.7", "DanaBrowser", "at home", "1234567-8"} {
				if strings.Contains(string(out), personal) {
					t.Errorf("export after erasure still holds %q: %s", personal, out)
				}
			}
			if after.Lead != nil || len(after.Provenance)+len(after.Sources)+len(after.WebsiteQueries)+len(after.Consents) != 0 {
				t.Errorf("export after erasure = %s, want nothing but the suppression", out)
			}
			if len(after.Suppressions) != 1 || after.Suppressions[0].Origin != store.OriginErasure {
				t.Errorf("suppressions after erasure = %+v, want the erasure's", after.Suppressions)
			}
			// The other lead of the same imports is untouched, and a re-import keeps Dana out.
			run := importRows(t, db, "registry", false, []leadmailer.ImportRow{
				row(7, "email", "dana@delta.example", "company", "Delta Oy"),
				row(8, "email", "other@delta.example", "company", "Delta Oy"),
			})
			if run.Counts.Suppressed != 1 || run.Counts.Updated != 1 {
				t.Errorf("re-import after erasure: %+v, want Dana suppressed and the other updated", run.Counts)
			}
			if err := db.IntegrityCheck(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestBackupWhileImportWrites takes backups while an import commits batch after batch; each
// backup must be a consistent database whose run counts match its leads, and one taken after
// the import must restore every lead.
func TestBackupWhileImportWrites(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	const batches, perBatch = 40, 500
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "registry", Kind: leadmailer.KindPublic, Actor: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	firstBatch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := range batches {
			rows := make([]leadmailer.ImportRow, perBatch)
			for i := range rows {
				rows[i] = row(int64(b*perBatch+i+2), "email", fmt.Sprintf("p%d@backup.example", b*perBatch+i), "name", "Person")
				rows[i].EmailHash = w.SuppressionHash(rows[i].Values[leadmailer.FieldEmail])
			}
			if _, err := w.WriteBatch(ctx, rows, leadmailer.ImportCounts{Read: perBatch}); err != nil {
				t.Error(err)
				return
			}
			if b == 0 {
				close(firstBatch)
			}
		}
		if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
			t.Error(err)
		}
	}()
	<-firstBatch
	dir := t.TempDir()
	var during []string
	for i := range 3 {
		path := filepath.Join(dir, fmt.Sprintf("during-%d.db", i))
		if _, err := db.Backup(ctx, path); err != nil {
			t.Fatal(err)
		}
		during = append(during, path)
	}
	wg.Wait()
	final := filepath.Join(dir, "after.db")
	info, err := db.Backup(ctx, final)
	if err != nil || info.Size == 0 {
		t.Fatalf("backup after the import: %+v, %v", info, err)
	}
	if _, err := db.Backup(ctx, final); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
		t.Errorf("backup over an existing file: %v, want conflict", err)
	}

	for _, path := range append(during, final) {
		restored, err := store.Open(ctx, path, store.Options{SuppressionKey: storetest.Key})
		if err != nil {
			t.Fatal(err)
		}
		if err := restored.IntegrityCheck(ctx); err != nil {
			t.Errorf("%s: %v", filepath.Base(path), err)
		}
		n, _ := restored.CountLeads(ctx)
		runs, err := restored.FindImportRuns(ctx, "", 1)
		if err != nil || len(runs) != 1 {
			t.Fatalf("%s: runs %v, %v", filepath.Base(path), runs, err)
		}
		if runs[0].Counts.Inserted != n || n%perBatch != 0 || n == 0 {
			t.Errorf("%s: %d leads but the run counts %d inserted: not one consistent moment", filepath.Base(path), n, runs[0].Counts.Inserted)
		}
		if path == final && n != batches*perBatch {
			t.Errorf("backup after the import holds %d leads, want %d", n, batches*perBatch)
		}
		restored.Close()
	}
}

// TestBackupToAnOddPath: a backup into a folder whose name SQLite's URIs give a meaning to
// ("?" starts the parameters, "%" an escape) is written and counted there, not elsewhere.
func TestBackupToAnOddPath(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, nil)
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "fair", Kind: leadmailer.KindUpload, Actor: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	rows := []leadmailer.ImportRow{row(2, "email", "odd@backup.example", "name", "Odd")}
	rows[0].EmailHash = w.SuppressionHash(rows[0].Values[leadmailer.FieldEmail])
	if _, err := w.WriteBatch(ctx, rows, leadmailer.ImportCounts{Read: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "what?mode=rw&50% off#1")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "copy.db")
	info, err := db.Backup(ctx, path)
	if err != nil || info.Leads != 1 {
		t.Fatalf("Backup to %q: %+v, %v; want 1 lead", path, info, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the backup is not where it was asked: %v", err)
	}
}
