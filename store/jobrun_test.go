package store_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// Four processes on one database claim the same occurrences of a job at once: each
// occurrence is won exactly once, and a later occurrence can be won again.
func TestClaimJobRunOncePerOccurrence(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			first := b.Open(t, nil)
			type process struct {
				db   *store.DB
				name string
			}
			handles := []process{{first, "p0"}}
			for i := 1; i < 4; i++ {
				handles = append(handles, process{storetest.Reopen(t, first, nil), fmt.Sprintf("p%d", i)})
			}
			base := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
			wins := make([]atomic.Int32, 20)
			var wg sync.WaitGroup
			for _, h := range handles {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range wins {
						won, err := h.db.ClaimJobRun(t.Context(), "source:prh", base.Add(time.Duration(i)*time.Minute), h.name)
						if err != nil {
							t.Error(err)
							return
						}
						if won {
							wins[i].Add(1)
						}
					}
				}()
			}
			wg.Wait()
			for i := range wins {
				if n := wins[i].Load(); n != 1 {
					t.Errorf("occurrence %d won %d times, want once", i, n)
				}
			}
			// Another job's occurrence at the same time is a claim of its own.
			won, err := first.ClaimJobRun(t.Context(), "retention", base, "p0")
			if err != nil || !won {
				t.Errorf("retention at %s: won %v, %v; want won", base, won, err)
			}
		})
	}
}
