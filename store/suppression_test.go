package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestOrganisationSuppressionStopsImports suppresses a domain and a business ID and imports
// rows that each entry must stop, and rows it must let through.
func TestOrganisationSuppressionStopsImports(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			existing := importRows(t, db, "crm", false, []leadmailer.ImportRow{
				row(2, "email", "old@blocked.example", "name", "Old"),
				row(3, "email", "keep@elsewhere.example", "business_id", "FI 1234567-8"),
				row(4, "email", "other@fine.example"),
			})
			if existing.Counts.Inserted != 3 {
				t.Fatalf("first import counts = %+v, want 3 inserted", existing.Counts)
			}
			moved, err := db.Suppress(ctx, store.SuppressionEntry{Kind: store.SuppressDomain, Value: "@Blocked.Example", Reason: "asked by their legal team"})
			if err != nil || moved != 1 {
				t.Fatalf("suppress domain: moved %d, %v; want 1 lead made inactive", moved, err)
			}
			moved, err = db.Suppress(ctx, store.SuppressionEntry{Kind: store.SuppressBusinessID, Value: "fi1234567-8"})
			if err != nil || moved != 1 {
				t.Fatalf("suppress business ID: moved %d, %v; want 1 lead made inactive", moved, err)
			}
			run := importRows(t, db, "registry", false, []leadmailer.ImportRow{
				row(2, "email", "old@blocked.example", "name", "Changed"),       // suppressed by domain
				row(3, "email", "new@sales.blocked.example"),                    // subdomain
				row(4, "email", "x@corp.example", "business_id", "FI1234567-8"), // business ID
				row(5, "email", "y@notblocked.example"),                         // a domain that merely ends alike
				row(6, "email", "other@fine.example", "name", "Fine"),           // updated
			})
			want := leadmailer.ImportCounts{Read: 5, Suppressed: 3, Inserted: 1, Updated: 1}
			if run.Counts != want {
				t.Errorf("import counts = %+v, want %+v", run.Counts, want)
			}
			old, err := db.FindLeadByEmail(ctx, "old@blocked.example")
			if err != nil {
				t.Fatal(err)
			}
			if old.Name != "Old" || old.State != leadmailer.LeadInactive {
				t.Errorf("suppressed lead = %q %s, want name Old unchanged and inactive", old.Name, old.State)
			}
			for _, email := range []string{"new@sales.blocked.example", "x@corp.example"} {
				if _, err := db.FindLeadByEmail(ctx, email); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
					t.Errorf("%s: lookup error %v, want not found", email, err)
				}
			}

			tests := []struct {
				email, businessID string
				wantKinds         string
			}{
				{"a@blocked.example", "", "domain"},
				{"a@deep.sub.blocked.example", "", "domain"},
				{"a@fine.example", "FI 1234567-8", "business_id"},
				{"a@fine.example", "", ""},
				{"a@notblocked.example", "", ""},
			}
			for _, tt := range tests {
				found, err := db.CheckSuppression(ctx, tt.email, tt.businessID)
				if err != nil {
					t.Fatal(err)
				}
				var kinds []string
				for _, s := range found {
					kinds = append(kinds, s.Kind)
				}
				if got := strings.Join(kinds, ","); got != tt.wantKinds {
					t.Errorf("CheckSuppression(%s, %q) = %q, want %q", tt.email, tt.businessID, got, tt.wantKinds)
				}
			}
		})
	}
}

// TestSuppressionListHoldsNoAddress lists the suppression list as the CLI prints it and looks
// for any trace of what was suppressed.
func TestSuppressionListHoldsNoAddress(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			entries := []store.SuppressionEntry{
				{Kind: store.SuppressAddress, Value: "secret.person@example.com", Reason: "phoned in"},
				{Kind: store.SuppressDomain, Value: "secretcorp.example"},
				{Kind: store.SuppressBusinessID, Value: "SE556677-8899"},
			}
			for _, e := range entries {
				if _, err := db.Suppress(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			var list []store.Suppression
			if err := db.FindSuppressions(ctx, func(s *store.Suppression) error { list = append(list, *s); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(list) != 3 {
				t.Fatalf("list has %d entries, want 3", len(list))
			}
			out, _ := json.Marshal(list)
			for _, secret := range []string{"secret.person", "secretcorp", "556677"} {
				if strings.Contains(strings.ToLower(string(out)), secret) {
					t.Errorf("suppression list reveals %q: %s", secret, out)
				}
			}
			if !strings.Contains(string(out), "phoned in") {
				t.Errorf("suppression list lost the reason: %s", out)
			}
		})
	}
}

func TestSuppressRejectsBadInput(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			for _, e := range []store.SuppressionEntry{
				{Kind: store.SuppressAddress, Value: "not-an-address"},
				{Kind: store.SuppressDomain, Value: "@nodot"},
				{Kind: store.SuppressBusinessID, Value: "  "},
				{Kind: "person", Value: "a@b.fi"},
			} {
				if _, err := db.Suppress(context.Background(), e); leadmailer.ErrorCode(err) != leadmailer.EINVALID {
					t.Errorf("Suppress(%+v) error = %v, want invalid", e, err)
				}
			}
		})
	}
}

// TestCheckSuppressionCoversOrganisations checks addresses the way the send loop does: an
// address is covered by its own entry, its domain or a parent domain, and its business ID.
func TestCheckSuppressionCoversOrganisations(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			db := b.Open(t, nil)
			if err := db.SuppressAddress(ctx, "first@a.example", ""); err != nil {
				t.Fatal(err)
			}
			for _, e := range []store.SuppressionEntry{
				{Kind: store.SuppressDomain, Value: "b.example"},
				{Kind: store.SuppressBusinessID, Value: "SE 5566"},
			} {
				if _, err := db.Suppress(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range []struct {
				email, businessID string
				want              bool
			}{
				{"FIRST@a.example", "", true},
				{"other@a.example", "", false},
				{"second@b.example", "", true},
				{"second@mail.b.example", "", true},
				{"third@c.example", "se5566", true},
				{"third@c.example", "", false},
			} {
				got, err := db.CheckSuppression(ctx, tc.email, tc.businessID)
				if err != nil {
					t.Fatalf("CheckSuppression(%s, %q): %v", tc.email, tc.businessID, err)
				}
				if (len(got) > 0) != tc.want {
					t.Errorf("CheckSuppression(%s, %q) = %d entries, want covered: %v", tc.email, tc.businessID, len(got), tc.want)
				}
			}
		})
	}
}
