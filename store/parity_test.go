package store_test

import (
	"slices"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// The same store call answers alike on SQLite and on PostgreSQL, whatever the PostgreSQL
// database's default collation: these tests run over storetest.ParityBackends, and each
// expects one answer of all of them.

// Search ignores the case of ASCII letters only, on every backend: SQLite's LIKE folds no
// other letters, and PostgreSQL is made to fold as it does (see LeadFilter.Search).
func TestParityLeadSearch(t *testing.T) {
	for _, b := range storetest.ParityBackends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			importRows(t, db, "parity.csv", false, []leadmailer.ImportRow{
				row(1, "email", "info@acme.fi", "name", "Matti Meikäläinen", "company", "ACME Oy"),
				row(2, "email", "anna@bolt.example", "name", "Äijä Anna", "company", "bolt ab"),
				row(3, "email", "zed@zeta.example", "name", "zeta", "company", "Zeta_Works 100%"),
				row(4, "email", "olli@example.com", "name", "Örn Olli", "company", "örnsköld"),
			})
			tests := []struct {
				search string
				want   []string
			}{
				{"acme", []string{"info@acme.fi"}},
				{"ACME", []string{"info@acme.fi"}},
				{"acme o", []string{"info@acme.fi"}},
				{"INFO@", []string{"info@acme.fi"}},
				{"matti", []string{"info@acme.fi"}},
				{"meikäläinen", nil}, // a prefix, not a substring
				{"BOLT AB", []string{"anna@bolt.example"}},
				{"Äijä", []string{"anna@bolt.example"}},
				{"äijä", nil}, // Ä is not an ASCII letter: its case counts
				{"ÄIJÄ", nil}, // nor ä's
				{"örnsköld", []string{"olli@example.com"}},
				{"ÖRNSKÖLD", nil},
				{"Örn", []string{"olli@example.com"}},
				{"zeta_", []string{"zed@zeta.example"}}, // _ is itself, not any one character
				{"zeta%", nil},                          // % is itself
				{"zetax", nil},
				{"OLLI@", []string{"olli@example.com"}},
				{"", []string{"info@acme.fi", "anna@bolt.example", "zed@zeta.example", "olli@example.com"}},
			}
			for _, tt := range tests {
				if got := findLeadEmails(t, db, store.LeadFilter{Search: tt.search}); !slices.Equal(got, tt.want) {
					t.Errorf("search %q: got %q, want %q", tt.search, got, tt.want)
				}
			}
		})
	}
}

// Keyset pages cover every lead once, in ID order, alike everywhere.
func TestParityLeadPaging(t *testing.T) {
	for _, b := range storetest.ParityBackends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			var rows []leadmailer.ImportRow
			var want []string
			for i, e := range []string{"e@x.example", "b@x.example", "a@x.example", "d@x.example", "c@x.example"} {
				rows = append(rows, row(int64(i+1), "email", e, "company", "Paging Oy"))
				want = append(want, e)
			}
			importRows(t, db, "paging.csv", false, rows)
			var got []string
			var after int64
			for page := 0; page < 10; page++ {
				var ids []int64
				err := db.FindLeads(t.Context(), store.LeadFilter{Search: "paging", AfterID: after, Limit: 2}, func(l *leadmailer.Lead) error {
					got, ids = append(got, l.Email), append(ids, l.ID)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(ids) == 0 {
					break
				}
				if len(ids) > 2 {
					t.Fatalf("page %d has %d leads, over the limit of 2", page, len(ids))
				}
				after = ids[len(ids)-1]
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages: got %q, want %q", got, want)
			}
		})
	}
}

// Lists ordered by a name are in byte order everywhere (digits, upper case, "_", lower case),
// as SQLite orders text, not in the PostgreSQL database's locale's order.
func TestParityTextOrder(t *testing.T) {
	for _, b := range storetest.ParityBackends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			ctx := t.Context()
			names := []string{"bob", "a.b", "alice", "Alice", "_admin", "Zed", "a-b", "0day"}
			want := []string{"0day", "Alice", "Zed", "_admin", "a-b", "a.b", "alice", "bob"}
			for _, n := range names {
				if err := db.CreateUser(ctx, &leadmailer.User{Name: n, Role: leadmailer.RoleViewer, PasswordHash: "x"}); err != nil {
					t.Fatalf("create user %s: %v", n, err)
				}
				tok := &leadmailer.APIToken{Name: n, Role: leadmailer.RoleViewer, TokenHash: "hash-" + n, CreatedBy: "os:test"}
				if err := db.CreateAPIToken(ctx, tok, &leadmailer.AuditEntry{Actor: "os:test", Action: leadmailer.AuditTokenAdd, Target: n}); err != nil {
					t.Fatalf("create token %s: %v", n, err)
				}
			}
			users, err := db.FindUsers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, u := range users {
				got = append(got, u.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("users: got %q, want %q", got, want)
			}
			tokens, err := db.FindAPITokens(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			for _, tok := range tokens {
				got = append(got, tok.Name)
			}
			if !slices.Equal(got, want) {
				t.Errorf("API tokens: got %q, want %q", got, want)
			}
		})
	}
}

// Sources with as many new leads are listed by name in byte order.
func TestParitySourceStatsOrder(t *testing.T) {
	for _, b := range storetest.ParityBackends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			sources := []string{"beta", "Beta", "alpha", "Ägypten"}
			for i, s := range sources {
				importRows(t, db, s, false, []leadmailer.ImportRow{row(1, "email", "lead"+string(rune('a'+i))+"@order.example")})
			}
			importRows(t, db, "zz-big", false, []leadmailer.ImportRow{row(1, "email", "big1@order.example"), row(2, "email", "big2@order.example")})
			stats, err := db.FindSourceStats(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range stats {
				got = append(got, s.Source)
				if s.Runs != 1 {
					t.Errorf("source %s: %d runs, want 1", s.Source, s.Runs)
				}
			}
			want := []string{"zz-big", "Beta", "alpha", "beta", "Ägypten"}
			if !slices.Equal(got, want) {
				t.Errorf("sources: got %q, want %q", got, want)
			}
			if stats[0].Inserted != 2 {
				t.Errorf("zz-big inserted %d, want 2", stats[0].Inserted)
			}
		})
	}
}

// An action filter ending in "." selects that group of actions and no other, whatever
// order the database's collation gives punctuation.
func TestParityAuditActionPrefix(t *testing.T) {
	for _, b := range storetest.ParityBackends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			ctx := t.Context()
			actions := []string{"lead.erase", "leads", "lead", "lead-x", "lead.export", "leadx.a", "Lead.erase", "lead/x", "lead0"}
			for _, a := range actions {
				if err := db.RecordAudit(ctx, &leadmailer.AuditEntry{Actor: "os:test", Action: a, Target: "t"}); err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			if err := db.FindAuditEntries(ctx, store.AuditFilter{Action: "lead."}, func(e *leadmailer.AuditEntry) error {
				got = append(got, e.Action)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if want := []string{"lead.export", "lead.erase"}; !slices.Equal(got, want) {
				t.Errorf("actions under lead.: got %q, want %q", got, want)
			}
		})
	}
}

// A taken name is the domain's conflict on every backend, and names differing in case are
// different names everywhere.
func TestParityUniqueConflicts(t *testing.T) {
	for _, b := range storetest.ParityBackends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			ctx := t.Context()
			tests := []struct {
				name string
				want string // error code
			}{
				{"anna", ""},
				{"anna", leadmailer.ECONFLICT},
				{"Anna", ""},
				{"ANNA", ""},
				{"Anna", leadmailer.ECONFLICT},
			}
			for i, tt := range tests {
				err := db.CreateUser(ctx, &leadmailer.User{Name: tt.name, Role: leadmailer.RoleViewer, PasswordHash: "x"})
				if got := leadmailer.ErrorCode(err); got != tt.want {
					t.Errorf("user #%d %q: got %q (%v), want %q", i+1, tt.name, got, err, tt.want)
				}
				tok := &leadmailer.APIToken{Name: tt.name, Role: leadmailer.RoleViewer, TokenHash: "h" + string(rune('0'+i)), CreatedBy: "os:test"}
				err = db.CreateAPIToken(ctx, tok, &leadmailer.AuditEntry{Actor: "os:test", Action: leadmailer.AuditTokenAdd, Target: tt.name})
				if got := leadmailer.ErrorCode(err); got != tt.want {
					t.Errorf("token #%d %q: got %q (%v), want %q", i+1, tt.name, got, err, tt.want)
				}
			}
			if n, err := db.CountUsers(ctx); err != nil || n != 3 {
				t.Errorf("CountUsers = %d, %v; want 3", n, err)
			}
		})
	}
}

func findLeadEmails(t *testing.T, db *store.DB, f store.LeadFilter) []string {
	t.Helper()
	var got []string
	if err := db.FindLeads(t.Context(), f, func(l *leadmailer.Lead) error {
		got = append(got, l.Email)
		return nil
	}); err != nil {
		t.Fatalf("find leads %+v: %v", f, err)
	}
	return got
}

// Every text column of the PostgreSQL schema sorts and compares by bytes, as SQLite's do:
// a column a later migration adds without COLLATE "C" would sort by the server's locale.
func TestPostgresTextColumnsByteOrder(t *testing.T) {
	for _, b := range storetest.ParityBackends()[1:] {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			rows, err := storetest.Raw(t, db).QueryContext(t.Context(), `SELECT col.table_name, col.column_name,
					coalesce(col.collation_name, '(the database default)')
				FROM information_schema.columns col
				JOIN information_schema.tables tab ON tab.table_schema = col.table_schema AND tab.table_name = col.table_name
				WHERE col.table_schema = current_schema() AND tab.table_type = 'BASE TABLE' AND col.data_type = 'text'
				ORDER BY 1, 2`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				var table, column, collation string
				if err := rows.Scan(&table, &column, &collation); err != nil {
					t.Fatal(err)
				}
				n++
				if collation != "C" {
					t.Errorf("%s.%s collates as %s: declare it TEXT COLLATE \"C\"", table, column, collation)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n < 20 {
				t.Errorf("found %d text columns; the query no longer sees the schema", n)
			}
		})
	}
}
