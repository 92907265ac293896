package store_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// Concurrent writers each read the previous hash inside their own write transaction, so the
// chain stays one line however the writes interleave.
func TestRecordAuditConcurrentWritersKeepOneChain(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := range 25 {
						e := &leadmailer.AuditEntry{Actor: fmt.Sprintf("user:w%d", w), Action: leadmailer.AuditLeadView,
							Target: fmt.Sprintf("lead %d", i), IP: "192.0.2.1"}
						if err := db.RecordAudit(t.Context(), e); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			sum, brk, err := db.VerifyAudit(t.Context())
			if err != nil || brk != nil {
				t.Fatalf("VerifyAudit: %v %v", brk, err)
			}
			if sum.Entries != 200 || sum.LastID != 200 {
				t.Errorf("summary %+v, want 200 entries", sum)
			}
		})
	}
}

func TestFindAuditEntriesFilters(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			db := b.Open(t, nil)
			for _, e := range []leadmailer.AuditEntry{
				{Actor: "user:anna", Action: "login"},
				{Actor: "user:anna", Action: "lead.view", Target: "a@example.com"},
				{Actor: "user:bert", Action: "lead.search", Detail: "q=virtanen"},
				{Actor: "os:root", Action: "user.create", Target: "bert"},
			} {
				if err := db.RecordAudit(t.Context(), &e); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range []struct {
				f    store.AuditFilter
				want string
			}{
				{store.AuditFilter{}, "4 3 2 1"},
				{store.AuditFilter{Actor: "user:anna"}, "2 1"},
				{store.AuditFilter{Action: "lead."}, "3 2"},
				{store.AuditFilter{Action: "lead"}, ""},
				{store.AuditFilter{Limit: 2}, "4 3"},
				{store.AuditFilter{BeforeID: 3, Limit: 1}, "2"},
			} {
				got := ""
				db.FindAuditEntries(t.Context(), tc.f, func(e *leadmailer.AuditEntry) error {
					got += fmt.Sprintf(" %d", e.ID)
					return nil
				})
				if len(got) > 0 {
					got = got[1:]
				}
				if got != tc.want {
					t.Errorf("filter %+v: got %q, want %q", tc.f, got, tc.want)
				}
			}
		})
	}
}
