package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// copyEnd is one side of a copy: an SQLite file's path or a PostgreSQL database's URL.
type copyEnd string

func newCopyEnd(t testing.TB, backend string) copyEnd {
	t.Helper()
	if backend == "postgres" {
		return copyEnd(storetest.NewPostgresDatabase(t))
	}
	return copyEnd(filepath.Join(t.TempDir(), "leadmailer.db"))
}

func (e copyEnd) pg() bool { return store.IsPostgresURL(string(e)) }

// open opens the database, with the audit key or without it as CopyTo's target must be.
func (e copyEnd) open(t testing.TB, withAuditKey bool) *store.DB {
	t.Helper()
	opts := store.Options{SuppressionKey: storetest.Key}
	if withAuditKey {
		opts.AuditKey = storetest.AuditKey
	}
	var db *store.DB
	var err error
	if e.pg() {
		db, err = store.OpenURL(context.Background(), string(e), opts)
	} else {
		db, err = store.Open(context.Background(), string(e), opts)
	}
	if err != nil {
		t.Fatalf("open %s: %v", e, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// raw is a plain handle on the database, for rows no store method writes. Its placeholder
// is p(n).
func (e copyEnd) raw(t *testing.T) (*sql.DB, func(n int) string) {
	t.Helper()
	driver, p := "sqlite3", func(int) string { return "?" }
	if e.pg() {
		driver, p = "pgx", func(n int) string { return fmt.Sprintf("$%d", n) }
	}
	raw, err := sql.Open(driver, string(e))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw, p
}

// blobBody is stored in a BLOB/BYTEA column: bytes that are not text, a zero byte among them.
var blobBody = []byte{0x00, 0xff, '\n', 'x', 0x80, 0x00}

// fillForCopy writes leads, audit entries, an API token with NULL columns, an idempotent
// answer in a BLOB column, and website consent requests of which the last was deleted, so
// that its id must never be given again.
func fillForCopy(t *testing.T, e copyEnd, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	run := importRows(t, db, "crm", false, []leadmailer.ImportRow{
		row(2, "email", "anna@example.fi", "name", "Anna", "company", "A Oy"),
		row(3, "email", "bert@example.fi", "country", "FI"),
	})
	for i := range 3 {
		if err := db.RecordAudit(ctx, &leadmailer.AuditEntry{Actor: "os:test", Action: "lead.show", Target: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	raw, p := e.raw(t)
	lead, err := db.FindLeadByEmail(ctx, "anna@example.fi")
	if err != nil {
		t.Fatal(err)
	}
	mustExec(t, raw, `INSERT INTO api_tokens (id, name, role, token_hash, created_at, created_by)
		VALUES (7, 'ci', 'admin', 'hash', '2026-01-01T00:00:00.000000Z', 'os:test')`)
	mustExec(t, raw, `INSERT INTO api_idempotency (token_id, key, request_hash, status, body, created_at)
		VALUES (7, 'k1', 'rh', 201, `+p(1)+`, '2026-01-01T00:00:00.000000Z')`, blobBody)
	for range 3 {
		mustExec(t, raw, fmt.Sprintf(`INSERT INTO consent_requests (lead_id, run_id, text_version, requested_at)
			VALUES (%d, %d, 'v1', '2026-01-01T00:00:00.000000Z')`, lead.ID, run.ID))
	}
	mustExec(t, raw, `DELETE FROM consent_requests WHERE id = 3`)
}

// CopyTo copies every table between the two databases, in each direction, keeping ids,
// bytes and NULLs; the target answers as the source does, its audit chain verifies with the
// same head, and ids it gives itself are new ones.
func TestCopyTo(t *testing.T) {
	for _, tt := range []struct{ from, to string }{
		{"sqlite", "postgres"}, {"postgres", "sqlite"}, {"sqlite", "sqlite"}, {"postgres", "postgres"},
	} {
		t.Run(tt.from+"-to-"+tt.to, func(t *testing.T) {
			ctx := context.Background()
			srcEnd, dstEnd := newCopyEnd(t, tt.from), newCopyEnd(t, tt.to)
			src := srcEnd.open(t, true)
			fillForCopy(t, srcEnd, src)
			dst := dstEnd.open(t, false)

			done := map[string]bool{}
			report, err := src.CopyTo(ctx, dst, store.CopyOptions{Progress: func(p store.CopyProgress) {
				if p.Done {
					done[p.Table] = true
				}
			}})
			if err != nil {
				t.Fatalf("CopyTo: %v", err)
			}
			want, err := src.CountRows(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dst.CountRows(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("target rows %v, source %v", got, want)
			}
			if len(report.Tables) != len(want) || len(done) != len(want) {
				t.Errorf("copied %d tables, reported %d done, of the source's %d", len(report.Tables), len(done), len(want))
			}

			// The target holds what the source does, read back through the store.
			if a, b := leadsOf(t, src), leadsOf(t, dst); !reflect.DeepEqual(a, b) {
				t.Errorf("target leads %+v, source %+v", b, a)
			}
			dstRaw, p := dstEnd.raw(t)
			var body []byte
			var expires sql.NullString
			if err := dstRaw.QueryRow(`SELECT i.body, t.expires_at FROM api_idempotency i JOIN api_tokens t ON t.id = i.token_id
				WHERE i.token_id = `+p(1), 7).Scan(&body, &expires); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, blobBody) || expires.Valid {
				t.Errorf("copied body %x, expires_at %v; want %x and NULL", body, expires, blobBody)
			}

			// The audit chain verifies on the target, opened with the key, to the source's head.
			dst.Close()
			dst = dstEnd.open(t, true)
			srcSum, brk, err := src.VerifyAudit(ctx)
			if err != nil || brk != nil {
				t.Fatalf("verify the source: %v %v", brk, err)
			}
			dstSum, brk, err := dst.VerifyAudit(ctx)
			if err != nil || brk != nil {
				t.Fatalf("verify the target: %v %v", brk, err)
			}
			if *dstSum != *srcSum || dstSum.Entries != 3 {
				t.Errorf("target's audit trail %+v, source's %+v", dstSum, srcSum)
			}
			if err := dst.RecordAudit(ctx, &leadmailer.AuditEntry{Actor: "os:test", Action: "lead.show"}); err != nil {
				t.Fatal(err)
			}
			if _, brk, err := dst.VerifyAudit(ctx); err != nil || brk != nil {
				t.Errorf("verify the target after a new entry: %v %v", brk, err)
			}

			// A consent request's id freed in the source is not given again by the target.
			var id int64
			if err := dstRaw.QueryRow(`INSERT INTO consent_requests (lead_id, run_id, text_version, requested_at)
				SELECT lead_id, run_id, 'v2', requested_at FROM consent_requests WHERE id = 1 RETURNING id`).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if id != 4 {
				t.Errorf("a new consent request on the target got id %d; want 4, after the source's deleted 3", id)
			}
			importRows(t, dst, "crm", false, []leadmailer.ImportRow{row(2, "email", "cleo@example.fi")})
			if n, err := dst.CountLeads(ctx); err != nil || n != 3 {
				t.Errorf("leads after importing one more into the target: %d, %v; want 3", n, err)
			}

			// A second copy into the now used target is refused, naming a table.
			other := newCopyEnd(t, tt.from).open(t, true)
			_, err = other.CopyTo(ctx, dstEnd.open(t, false), store.CopyOptions{})
			if leadmailer.ErrorCode(err) != leadmailer.ECONFLICT || !strings.Contains(err.Error(), "is not empty: table ") {
				t.Errorf("copy into a used database: %v; want ECONFLICT naming a table", err)
			}
		})
	}
}

// CopyTo refuses a target opened with the audit key, which has written its own keying record.
func TestCopyToRefusesKeyedTarget(t *testing.T) {
	src := storetest.Open(t, nil)
	_, err := src.CopyTo(context.Background(), storetest.Open(t, nil), store.CopyOptions{})
	if err == nil || !strings.Contains(err.Error(), "without the audit key") {
		t.Errorf("copy into a target opened with the key: %v", err)
	}
}

func leadsOf(t *testing.T, db *store.DB) []*leadmailer.Lead {
	t.Helper()
	var leads []*leadmailer.Lead
	if err := db.FindLeads(context.Background(), store.LeadFilter{}, func(l *leadmailer.Lead) error {
		leads = append(leads, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return leads
}
