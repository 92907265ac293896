package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
)

// TestStageRejectsMalformedBatch checks that leadmailer_stage fails, rather than staging
// garbage, when the blob it reads is cut short anywhere.
func TestStageRejectsMalformedBatch(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "leadmailer.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, stagingTable); err != nil {
		t.Fatal(err)
	}
	r := leadmailer.ImportRow{Row: 7, Supplied: leadmailer.FieldSet(0).With(leadmailer.FieldEmail).With(leadmailer.FieldName)}
	r.Values[leadmailer.FieldEmail], r.Received[leadmailer.FieldEmail] = "anna@x.fi", "Anna@X.fi"
	r.Values[leadmailer.FieldName], r.Received[leadmailer.FieldName] = "Anna Öberg", " Anna  Öberg"
	blob := appendStageRow(nil, &r, outcomeDuplicateInBatch)

	var n int
	if err := conn.QueryRowContext(ctx, `SELECT leadmailer_stage(?)`, blob).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stage a whole row = %d, %v; want 1, nil", n, err)
	}
	var email, name, received string
	var rowNo, outcome, fields int64
	if err := conn.QueryRowContext(ctx, `SELECT row_no, outcome, email, name, fields, received FROM staging`).
		Scan(&rowNo, &outcome, &email, &name, &fields, &received); err != nil {
		t.Fatal(err)
	}
	wantReceived := r.Received.Encode(r.Supplied)
	if rowNo != 7 || outcome != outcomeDuplicateInBatch || email != "anna@x.fi" || name != "Anna Öberg" ||
		fields != int64(r.Supplied) || received != wantReceived {
		t.Errorf("staged %d %d %q %q %d %q, want 7 1 anna@x.fi \"Anna Öberg\" %d %q",
			rowNo, outcome, email, name, fields, received, r.Supplied, wantReceived)
	}

	for _, cut := range []int{1, 16, 17, 20, 30, len(blob) - 1} {
		_, err := conn.ExecContext(ctx, `SELECT leadmailer_stage(?)`, blob[:cut])
		if err == nil || !strings.Contains(err.Error(), "malformed") {
			t.Errorf("stage a row cut to %d of %d bytes: err = %v, want malformed", cut, len(blob), err)
		}
	}
}

// TestImportRestoresForeignKeys checks that the connection an import used, which skips
// foreign key checks while it writes, checks them again once it is back in the pool.
func TestImportRestoresForeignKeys(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "leadmailer.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.sql.SetMaxOpenConns(1) // the next statement gets the import's connection
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	var on int
	if err := db.sql.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
		t.Errorf("foreign_keys after an import = %d, %v; want 1", on, err)
	}
	_, err = db.sql.ExecContext(ctx, `INSERT INTO observations (lead_id, run_id, row_no, fields, received)
		VALUES (12345, 1, 2, 1, 'x')`)
	if err == nil {
		t.Error("an observation of a lead that does not exist was stored after an import")
	}
}

// TestImportSuppressionHashMatchesStore checks that the import writer's reused HMAC states
// hash addresses exactly as the suppression list does, however often they are reused.
func TestImportSuppressionHashMatchesStore(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "leadmailer.db"), Options{SuppressionKey: []byte("key")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Finish(ctx, leadmailer.RunCompleted, "")
	for range 3 {
		for _, email := range []string{"anna@x.fi", "b@y.se", "", "päivi@mäkinen.fi"} {
			if got, want := w.SuppressionHash(email), db.SuppressionHash(email); got != want {
				t.Errorf("import writer hashes %q to %s, the store to %s", email, got, want)
			}
		}
	}
}
