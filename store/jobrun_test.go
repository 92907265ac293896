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

// The running mark of a job: while one process's run holds it no other process can take
// it, whatever the occurrence; its holder renews it; a mark whose holder stopped renewing
// (a process that died) is taken over once its lease ran out, and the old holder's renewal
// and end then leave the new holder's mark alone.
func TestJobRunningMarks(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := t.Context()
			now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
			clock := func() time.Time { return now }
			a := b.Open(t, clock)
			other := storetest.Reopen(t, a, clock)
			const lease = time.Minute
			t1, t2 := now, now.Add(10*time.Second)

			if ok, _, err := a.MarkJobRunning(ctx, "source:prh", t1, "p0", lease); err != nil || !ok {
				t.Fatalf("first mark: %v, %v; want it taken", ok, err)
			}
			ok, held, err := other.MarkJobRunning(ctx, "source:prh", t2, "p1", lease)
			if err != nil || ok || held.By != "p0" || !held.Occurrence.Equal(t1) || !held.LeaseUntil.Equal(now.Add(lease)) {
				t.Fatalf("the next occurrence beside a run going on: %v, %+v, %v; want refused, held by p0 for %s", ok, held, err, t1)
			}
			if ok, _, err := other.MarkJobRunning(ctx, "retention", t2, "p1", lease); err != nil || !ok {
				t.Errorf("another job beside it: %v, %v; want it taken", ok, err)
			}
			// The holder renews: a lease later it still holds.
			now = now.Add(50 * time.Second)
			if ok, err := a.RenewJobRunning(ctx, "source:prh", t1, "p0", lease); err != nil || !ok {
				t.Fatalf("renewal: %v, %v", ok, err)
			}
			now = now.Add(50 * time.Second)
			if ok, _, _ := other.MarkJobRunning(ctx, "source:prh", t2, "p1", lease); ok {
				t.Fatal("a renewed mark was taken over")
			}
			// p0 dies: once its lease ran out, p1 takes the mark over.
			now = now.Add(lease)
			if ok, _, err := other.MarkJobRunning(ctx, "source:prh", t2, "p1", lease); err != nil || !ok {
				t.Fatalf("take-over of a run-out mark: %v, %v", ok, err)
			}
			if ok, err := a.RenewJobRunning(ctx, "source:prh", t1, "p0", lease); err != nil || ok {
				t.Errorf("the old holder renewed a mark taken over: %v, %v; want false", ok, err)
			}
			if err := a.EndJobRunning(ctx, "source:prh", t1, "p0"); err != nil {
				t.Fatal(err)
			}
			if ok, _, _ := a.MarkJobRunning(ctx, "source:prh", t2.Add(time.Minute), "p0", lease); ok {
				t.Fatal("the old holder's end removed the new holder's mark")
			}
			// The new holder's run ends: the next occurrence may start anywhere.
			if err := other.EndJobRunning(ctx, "source:prh", t2, "p1"); err != nil {
				t.Fatal(err)
			}
			if ok, _, err := a.MarkJobRunning(ctx, "source:prh", t2.Add(time.Minute), "p0", lease); err != nil || !ok {
				t.Errorf("after the run ended: %v, %v; want the mark taken", ok, err)
			}
		})
	}
}

// Four processes mark the same job running at once: one gets it.
func TestMarkJobRunningOnceAtATime(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			first := b.Open(t, nil)
			dbs := []*store.DB{first}
			for range 3 {
				dbs = append(dbs, storetest.Reopen(t, first, nil))
			}
			base := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
			var marked atomic.Int32
			var wg sync.WaitGroup
			for i, db := range dbs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, _, err := db.MarkJobRunning(t.Context(), "source:prh", base.Add(time.Duration(i)*time.Second), fmt.Sprintf("p%d", i), time.Minute)
					if err != nil {
						t.Error(err)
					}
					if ok {
						marked.Add(1)
					}
				}()
			}
			wg.Wait()
			if n := marked.Load(); n != 1 {
				t.Errorf("%d processes marked the job running at once, want 1", n)
			}
		})
	}
}
