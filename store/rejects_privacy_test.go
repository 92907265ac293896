package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// addReject stores one rejected row of run as the importer stores it, with email_hash from
// RejectEmailKey, created at at; the other fields name the row, so a test can tell rows apart.
func addReject(t *testing.T, db *store.DB, runID, rowNo int64, email string, at time.Time) {
	t.Helper()
	var hash any
	if key := store.RejectEmailKey(email); key != "" {
		hash = db.SuppressionHash(key)
	}
	query := `INSERT INTO import_rejects (run_id, row_no, reason, email, name, company, phone, email_hash, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	if db.Postgres() {
		query = `INSERT INTO import_rejects (run_id, row_no, reason, email, name, company, phone, email_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	}
	mustExec(t, storetest.Raw(t, db), query, runID, rowNo, "country: \"Narnia\" is not a country", email,
		"Person "+email, "Company Oy", "+358 40 1", hash, at.UTC().Format("2006-01-02T15:04:05.000000Z"))
}

// rejectEmails lists the e-mail fields of the stored rejected rows, in row order.
func rejectEmails(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := storetest.Raw(t, db).Query(`SELECT email FROM import_rejects ORDER BY row_no`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := []string{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// The rows an import rejected go with the person's erasure, whichever way the address was
// written in the file, and with a lead or without one; nobody else's rows go.
func TestEraseLeadDeletesRejectedRows(t *testing.T) {
	rejected := []string{"anna@x.fi", " Anna@X.FI ", "bob@x.fi", "", "not an address", "anna@x.fi.example", "ANNA@x.fi"}
	for _, c := range []struct {
		name        string
		lead        bool // anna has a lead besides her rejected rows
		erase       string
		wantRejects int64
		wantLeft    []string
	}{
		{"lead and rejects", true, "anna@x.fi", 3, []string{"bob@x.fi", "", "not an address", "anna@x.fi.example"}},
		{"rejects only", false, "anna@x.fi", 3, []string{"bob@x.fi", "", "not an address", "anna@x.fi.example"}},
		{"address given padded and cased", false, "  ANNA@x.Fi", 3, []string{"bob@x.fi", "", "not an address", "anna@x.fi.example"}},
		{"another person", false, "bob@x.fi", 1, []string{"anna@x.fi", " Anna@X.FI ", "", "not an address", "anna@x.fi.example", "ANNA@x.fi"}},
		{"nobody's rows", true, "carl@x.fi", 0, rejected},
	} {
		for _, b := range storetest.Backends() {
			t.Run(c.name+"/"+b.Name, func(t *testing.T) {
				ctx := context.Background()
				db := b.Open(t, nil)
				var leadRows []leadmailer.ImportRow
				if c.lead {
					leadRows = append(leadRows, row(2, "email", "anna@x.fi", "name", "Anna"))
				}
				first := importRows(t, db, "crm", false, leadRows)
				second := importRows(t, db, "registry", false)
				for i, e := range rejected {
					run := first.ID
					if i%2 == 1 {
						run = second.ID
					}
					addReject(t, db, run, int64(i+10), e, time.Now())
				}
				er, err := db.EraseLead(ctx, c.erase, "request")
				if err != nil {
					t.Fatal(err)
				}
				if er.Rejects != c.wantRejects {
					t.Errorf("erasure counts %d rejected rows, want %d", er.Rejects, c.wantRejects)
				}
				if got := rejectEmails(t, db); !slices.Equal(got, c.wantLeft) {
					t.Errorf("rejected rows left: %q, want %q", got, c.wantLeft)
				}
				if hasLead := er.LeadID != 0; hasLead != (c.lead && c.erase == "anna@x.fi") {
					t.Errorf("erasure of %q erased lead %d", c.erase, er.LeadID)
				}
				if found, err := db.CheckSuppression(ctx, c.erase, ""); err != nil || len(found) != 1 {
					t.Errorf("suppression of %q after erasure: %+v, %v", c.erase, found, err)
				}
			})
		}
	}
}

// Retention deletes the rejected rows older than the cut-off, in as many chunks as it takes,
// and keeps the newer ones; counting first deletes nothing.
func TestDeleteImportRejectsBefore(t *testing.T) {
	cut := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		old, new int
	}{
		{"none old", 0, 3},
		{"some old", 4, 2},
		{"more old than one chunk", 5001, 1},
	} {
		for _, b := range storetest.Backends() {
			t.Run(c.name+"/"+b.Name, func(t *testing.T) {
				ctx := context.Background()
				db := b.Open(t, nil)
				run := importRows(t, db, "crm", false)
				raw := storetest.Raw(t, db)
				insert := `INSERT INTO import_rejects (run_id, row_no, reason, email, created_at) VALUES (?, ?, 'bad', ?, ?)`
				if db.Postgres() {
					insert = `INSERT INTO import_rejects (run_id, row_no, reason, email, created_at) VALUES ($1, $2, 'bad', $3, $4)`
				}
				tx, err := raw.Begin()
				if err != nil {
					t.Fatal(err)
				}
				for i := range c.old + c.new {
					at := cut.Add(-time.Microsecond - time.Duration(i)*time.Second) // just before the cut-off, and earlier
					email := "old@x.fi"
					if i >= c.old {
						at, email = cut.Add(time.Duration(i-c.old)*time.Second), "new@x.fi" // at the cut-off, and later
					}
					if _, err := tx.Exec(insert, run.ID, i+2, email, at.Format("2006-01-02T15:04:05.000000Z")); err != nil {
						t.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				if n, err := db.CountImportRejectsBefore(ctx, cut); err != nil || n != int64(c.old) {
					t.Errorf("count = %d, %v; want %d", n, err, c.old)
				}
				if got := len(rejectEmails(t, db)); got != c.old+c.new {
					t.Errorf("counting deleted: %d rows left, want %d", got, c.old+c.new)
				}
				n, err := db.DeleteImportRejectsBefore(ctx, cut)
				if err != nil || n != int64(c.old) {
					t.Errorf("delete = %d, %v; want %d", n, err, c.old)
				}
				left := rejectEmails(t, db)
				if len(left) != c.new || slices.Contains(left, "old@x.fi") {
					t.Errorf("left %d rows (old among them: %v), want the %d new ones", len(left), slices.Contains(left, "old@x.fi"), c.new)
				}
			})
		}
	}
}

// An access request's export lists the person's rejected rows, however the file wrote the
// address, with the run and source each came from, and nobody else's; with a lead or without.
func TestExportLeadListsRejectedRows(t *testing.T) {
	at := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, c := range []struct {
		name, export string
		lead         bool
		want         []string // source/row/email of the rows listed
	}{
		{"lead", "anna@x.fi", true, []string{"crm/10/anna@x.fi", "registry/11/ Anna@X.FI "}},
		{"no lead", "ANNA@x.fi", false, []string{"crm/10/anna@x.fi", "registry/11/ Anna@X.FI "}},
		{"someone else", "bob@x.fi", false, []string{"crm/12/bob@x.fi"}},
		{"nobody", "carl@x.fi", true, nil},
	} {
		for _, b := range storetest.Backends() {
			t.Run(c.name+"/"+b.Name, func(t *testing.T) {
				db := b.Open(t, nil)
				var leadRows []leadmailer.ImportRow
				if c.lead {
					leadRows = append(leadRows, row(2, "email", "anna@x.fi", "name", "Anna"))
				}
				crm := importRows(t, db, "crm", false, leadRows)
				registry := importRows(t, db, "registry", false)
				addReject(t, db, crm.ID, 10, "anna@x.fi", at)
				addReject(t, db, registry.ID, 11, " Anna@X.FI ", at.Add(time.Hour))
				addReject(t, db, crm.ID, 12, "bob@x.fi", at)
				addReject(t, db, crm.ID, 13, "", at)
				x, err := db.ExportLead(context.Background(), c.export)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, j := range x.Rejects {
					got = append(got, fmt.Sprintf("%s/%d/%s", j.Source, j.Row, j.Email))
					if j.Reason == "" || j.Name != "Person "+j.Email || j.Phone != "+358 40 1" || j.CreatedAt.IsZero() {
						t.Errorf("exported reject %+v lacks its reason, fields or date", j)
					}
				}
				if !slices.Equal(got, c.want) {
					t.Errorf("exported rejects %q, want %q", got, c.want)
				}
				if x.Rejects == nil {
					t.Error("rejects is null in the export, want a list")
				}
			})
		}
	}
}
