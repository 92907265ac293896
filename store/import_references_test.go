package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// $1, $2: both databases read them as the first and second argument.
//
// The import's tables keep their references on both databases, whether foreign keys (SQLite)
// or the statement triggers of migrations_pg/0023 check them: a write naming a lead or run
// that does not exist fails, deleting a lead deletes its observations, and a run that is
// referred to cannot be deleted.
func TestImportTablesKeepTheirReferences(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			run := importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "anna@x.fi", "name", "Anna"),
				row(3, "email", "bob@y.se", "name", "Bob"),
			})
			raw := storetest.Raw(t, db)
			var anna, bob int64
			if err := raw.QueryRowContext(ctx, `SELECT id FROM leads WHERE email = $1`, "anna@x.fi").Scan(&anna); err != nil {
				t.Fatal(err)
			}
			if err := raw.QueryRowContext(ctx, `SELECT id FROM leads WHERE email = $1`, "bob@y.se").Scan(&bob); err != nil {
				t.Fatal(err)
			}
			refused := []struct {
				what, query string
				args        []any
			}{
				{"an observation of a missing lead", `INSERT INTO observations (lead_id, run_id, row_no, fields, received) VALUES ($1, $2, 9, 1, '')`, []any{bob + anna + 100, run.ID}},
				{"an observation of a missing run", `INSERT INTO observations (lead_id, run_id, row_no, fields, received) VALUES ($1, $2, 9, 1, '')`, []any{anna, run.ID + 100}},
				{"an observation moved to a missing lead", `UPDATE observations SET lead_id = $1 WHERE lead_id = $2`, []any{bob + anna + 100, anna}},
				{"a lead of a missing first run", `INSERT INTO leads (email, first_run_id, created_at, updated_at) VALUES ('carl@z.de', $1, '', '')`, []any{run.ID + 100}},
				{"a lead moved to a missing first run", `UPDATE leads SET first_run_id = $1 WHERE id = $2`, []any{run.ID + 100, anna}},
				{"deleting a run that is referred to", `DELETE FROM import_runs WHERE id = $1`, []any{run.ID}},
			}
			for _, r := range refused {
				if _, err := withForeignKeys(ctx, t, raw, db.Postgres(), r.query, r.args...); err == nil {
					t.Errorf("%s was accepted", r.what)
				}
			}
			if got := countRows(t, raw, `SELECT count(*) FROM observations`); got != 2 {
				t.Errorf("%d observations after the refused writes, want the 2 imported", got)
			}
			if _, err := withForeignKeys(ctx, t, raw, db.Postgres(), `DELETE FROM leads WHERE id = $1`, anna); err != nil {
				t.Fatalf("delete a lead: %v", err)
			}
			if got := countRows(t, raw, `SELECT count(*) FROM observations WHERE lead_id = $1`, anna); got != 0 {
				t.Errorf("%d observations of the deleted lead remain, want none", got)
			}
			if got := countRows(t, raw, `SELECT count(*) FROM observations WHERE lead_id = $1`, bob); got != 1 {
				t.Errorf("%d observations of the other lead, want 1", got)
			}
		})
	}
}

func countRows(t *testing.T, raw *sql.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := raw.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// withForeignKeys runs one statement on a connection of raw that checks foreign keys: a plain
// SQLite connection does not unless told.
func withForeignKeys(ctx context.Context, t *testing.T, raw *sql.DB, pg bool, query string, args ...any) (sql.Result, error) {
	t.Helper()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !pg {
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); err != nil {
			t.Fatal(err)
		}
	}
	return conn.ExecContext(ctx, query, args...)
}
