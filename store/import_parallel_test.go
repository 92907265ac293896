package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// parallelImportCSV is an input of rows rows over addresses addresses, a sixth of the rows
// repeating the address of the row three before them, which is mostly in the same batch,
// and the rest repeating across batches, some suppressed, with values that change or are left blank.
// variant changes the values, so that a second import updates leads.
func parallelImportCSV(rows, addresses, variant int) string {
	var b strings.Builder
	b.WriteString("email,name,company,city\n")
	for i := range rows {
		a := (i*7 + variant*3) % addresses
		if i%6 == 5 {
			a = ((i-3)*7 + variant*3) % addresses // mostly in the same batch
		}
		domain := "x.fi"
		switch a % 17 {
		case 5:
			domain = "blocked.example"
		case 11:
			domain = "y.se"
		}
		name, company, city := fmt.Sprintf("Name %d", a), fmt.Sprintf("Co %d", a%9), ""
		if a%3 == 0 {
			company += fmt.Sprintf(" v%d", variant)
		}
		if (i+variant)%4 == 0 {
			name = "" // never blanks the stored name
		}
		if i%5 == 0 {
			city = fmt.Sprintf("City %d", i%3)
		}
		fmt.Fprintf(&b, "Lead%03d@%s,%s,%s,%s\n", a, domain, name, company, city)
	}
	return b.String()
}

// importerRuns imports each input in turn into db, batch rows at a time.
func importerRuns(t *testing.T, db *store.DB, batch int, inputs ...string) []leadmailer.ImportCounts {
	t.Helper()
	var counts []leadmailer.ImportCounts
	for i, in := range inputs {
		rep, err := importer.Import(context.Background(), db, strings.NewReader(in), importer.Options{
			Source: "crm", FileName: fmt.Sprintf("part%d.csv", i+1), BatchSize: batch})
		if err != nil {
			t.Fatalf("import %d: %v", i+1, err)
		}
		counts = append(counts, rep.Run.Counts)
	}
	return counts
}

// storedImport is what an import leaves in leads and observations: the leads in the order of
// their ids, and the observations named by address, as the ids themselves may have gaps that
// depend on how the batches were written.
func storedImport(t *testing.T, db *store.DB) (leads, observations []string) {
	t.Helper()
	raw := storetest.Raw(t, db)
	read := func(q string) []string {
		rows, err := raw.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	leads = read(`SELECT (to_jsonb(l) - 'id')::text FROM leads l ORDER BY id`)
	observations = read(`SELECT l.email || ' ' || (to_jsonb(o) - 'id' - 'lead_id')::text
		FROM observations o JOIN leads l ON l.id = o.lead_id ORDER BY o.run_id, o.row_no, l.email`)
	return leads, observations
}

// An import whose batches are written over two connections stores exactly what one
// connection stores: the same leads in the same order with the same values and provenance
// columns, the same observations, and the same counts, with in-batch duplicates, suppressed rows (by address
// and by domain) and blank values that must not blank a stored one.
func TestImportWritersStoreTheSame(t *testing.T) {
	clock := func() time.Time { return time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC) }
	inputs := []string{parallelImportCSV(400, 150, 0), parallelImportCSV(300, 180, 1)}
	type result struct {
		counts              []leadmailer.ImportCounts
		leads, observations []string
	}
	var results []result
	for _, writers := range []int{1, 2} {
		db := storetest.OpenPostgresOptions(t, store.Options{Now: clock, ImportWriters: writers})
		ctx := context.Background()
		if err := db.SuppressAddress(ctx, "lead003@x.fi", "asked"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Suppress(ctx, store.SuppressionEntry{Kind: store.SuppressDomain, Value: "@blocked.example", Reason: "legal"}); err != nil {
			t.Fatal(err)
		}
		counts := importerRuns(t, db, 40, inputs...)
		leads, obs := storedImport(t, db)
		results = append(results, result{counts, leads, obs})
	}
	one, two := results[0], results[1]
	first, second := one.counts[0], one.counts[1]
	if first.Duplicates == 0 || first.Suppressed == 0 || second.Updated == 0 || second.Unchanged == 0 || second.Inserted == 0 {
		t.Fatalf("the inputs do not exercise every outcome: %+v, then %+v", first, second)
	}
	if !slices.Equal(two.counts, one.counts) {
		t.Errorf("counts over two connections %+v, over one %+v", two.counts, one.counts)
	}
	for _, c := range []struct {
		what     string
		got, one []string
	}{{"leads", two.leads, one.leads}, {"observations", two.observations, one.observations}} {
		if len(c.got) != len(c.one) {
			t.Errorf("%d %s over two connections, %d over one", len(c.got), c.what, len(c.one))
		}
		for i := range min(len(c.got), len(c.one)) {
			if c.got[i] != c.one[i] {
				t.Errorf("%s #%d over two connections:\n%s\nover one:\n%s", c.what, i, c.got[i], c.one[i])
				break
			}
		}
	}
}

// A website query between two batches of a running import creates its lead with the id
// sequence's next value: it must be free, and the next batch's new leads must not take it.
func TestWebsiteLeadBetweenImportBatches(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload, Actor: "test"}, false)
			if err != nil {
				t.Fatal(err)
			}
			batch := func(from int) {
				t.Helper()
				var rows []leadmailer.ImportRow
				for i := from; i < from+50; i++ {
					r := row(int64(i+2), "email", fmt.Sprintf("lead%d@x.fi", i))
					r.EmailHash = w.SuppressionHash(r.Values[leadmailer.FieldEmail])
					rows = append(rows, r)
				}
				if _, err := w.WriteBatch(ctx, rows, leadmailer.ImportCounts{Read: int64(len(rows))}); err != nil {
					t.Fatalf("batch from row %d: %v", from, err)
				}
			}
			batch(0)
			res, err := db.RecordWebsiteQuery(ctx, row(1, "email", "web@x.fi"), store.WebsiteQuery{
				ReceivedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), IP: "192.0.2.1", UserAgent: "test", Message: "hello"})
			if err != nil {
				t.Fatalf("website query between two batches of an import: %v", err)
			}
			batch(50)
			if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
				t.Fatal(err)
			}
			lead, err := db.FindLeadByEmail(ctx, "web@x.fi")
			if err != nil {
				t.Fatal(err)
			}
			if lead.ID != res.LeadID {
				t.Errorf("web@x.fi has id %d, the query said %d", lead.ID, res.LeadID)
			}
			if got := countLeads(t, db); got != 101 {
				t.Errorf("%d leads, want 101", got)
			}
		})
	}
}

func countLeads(t *testing.T, db *store.DB) int {
	t.Helper()
	n := 0
	if err := db.FindLeads(context.Background(), store.LeadFilter{}, func(*leadmailer.Lead) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Writes that take the writer lock exclusively (here website queries, which also insert
// leads with the id sequence's next value) go on while an import writes its batches over two
// connections: neither waits for the other beyond a batch, and no id is given twice. A
// batch whose connections waited for one another behind such a write would hang until the
// statement timeout.
func TestWritesBesideParallelImport(t *testing.T) {
	ctx := context.Background()
	db := storetest.OpenPostgresOptions(t, store.Options{ImportWriters: 2, StatementTimeout: 5 * time.Second})
	const queries = 300
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 1)
	wg.Go(func() {
		for i := range queries {
			select {
			case <-stop:
				return
			default:
			}
			_, err := db.RecordWebsiteQuery(ctx, row(1, "email", fmt.Sprintf("web%d@x.fi", i)), store.WebsiteQuery{
				ReceivedAt: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), IP: "192.0.2.1", UserAgent: "test", Message: "hello"})
			if err != nil {
				errs <- fmt.Errorf("website query %d: %w", i, err)
				return
			}
		}
	})
	counts := importerRuns(t, db, 20, parallelImportCSV(2000, 2000, 0))
	close(stop)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	leads, _ := storedImport(t, db)
	web := 0
	for _, l := range leads {
		if strings.Contains(l, `"email": "web`) {
			web++
		}
	}
	if web == 0 {
		t.Errorf("no website lead was stored while the import ran")
	}
	if got, want := countLeads(t, db), int(counts[0].Inserted)+web; got != want {
		t.Errorf("%d leads, want %d", got, want)
	}
}

// An import cancelled in the middle of a batch written over two connections leaves whole
// shares only, with the run's counts saying what they hold, and releases the import lock, so
// that the next import runs to its end and leaves no lock held either.
func TestParallelImportCancelledMidBatch(t *testing.T) {
	for _, after := range []time.Duration{100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond} {
		t.Run(after.String(), func(t *testing.T) {
			db := storetest.OpenPostgresOptions(t, store.Options{ImportWriters: 2, StatementTimeout: 5 * time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), after)
			defer cancel()
			_, err := importer.Import(ctx, db, strings.NewReader(parallelImportCSV(40000, 30000, 0)), importer.Options{
				Source: "crm", BatchSize: 500})
			if err == nil {
				t.Fatalf("import finished within %v: make the input bigger", after)
			}
			// One statement, so one snapshot: a share whose COMMIT the cancel interrupted may
			// still be committing on the server, and its rows and its counts arrive together.
			// A run the cancel came before (a slow start) counts nothing, and nothing is stored.
			var leads, observations int64
			var c leadmailer.ImportCounts
			if err := storetest.Raw(t, db).QueryRow(`SELECT (SELECT count(*) FROM leads),
					(SELECT count(*) FROM observations),
					coalesce(r.rows_read, 0), coalesce(r.inserted, 0), coalesce(r.duplicates, 0),
					coalesce(r.suppressed, 0), coalesce(r.rejected, 0)
				FROM (SELECT 1) AS one LEFT JOIN import_runs r ON r.id = 1`).Scan(&leads, &observations,
				&c.Read, &c.Inserted, &c.Duplicates, &c.Suppressed, &c.Rejected); err != nil {
				t.Fatal(err)
			}
			t.Logf("cancelled after %d rows: %v", c.Read, err)
			if leads != c.Inserted || observations != c.Read-c.Rejected-c.Suppressed || c.Inserted+c.Duplicates != c.Read-c.Suppressed {
				t.Errorf("after the cancel (%v): %d leads and %d observations stored, run counts %+v", err, leads, observations, c)
			}
			// The next import runs to the end, its batches taking the import lock again.
			next, cancelNext := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancelNext()
			if _, err := importer.Import(next, db, strings.NewReader(parallelImportCSV(2000, 1500, 1)), importer.Options{
				Source: "crm", BatchSize: 500}); err != nil {
				t.Fatalf("import after the cancelled one: %v", err)
			}
			// Both imports have ended: no session, of the pool's idle ones or any other, holds
			// an advisory lock (the import lock is one a session keeps until it lets go).
			var held int
			if err := storetest.Raw(t, db).QueryRow(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted`).Scan(&held); err != nil {
				t.Fatal(err)
			}
			if held != 0 {
				t.Errorf("%d advisory locks held after both imports ended", held)
			}
		})
	}
}
