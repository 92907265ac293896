package store_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

var throttleT0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// Failed-login counts: two handles on one database (two serve processes) add to the same
// window, which opens with the first event and, once ended, starts again from 1; the key is
// never stored as text; deleting forgets; pruning removes ended windows only.
func TestThrottleCountsSharedAndWindowed(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			a := b.Open(t, nil)
			other := storetest.Reopen(t, a, nil)
			const key, window = "pair\x00secret-typed-name\x00203.0.113.9", 15 * time.Minute
			for i, h := range []*store.DB{a, other, a, other, a} {
				c, err := h.AddThrottleCount(ctx, key, throttleT0.Add(time.Duration(i)*time.Minute), window)
				if err != nil {
					t.Fatal(err)
				}
				if c.Count != i+1 || !c.Start.Equal(throttleT0) || !c.Until.Equal(throttleT0.Add(window)) {
					t.Fatalf("event %d: %+v, want count %d in the window from %v", i+1, c, i+1, throttleT0)
				}
			}
			got, err := other.FindThrottleCounts(ctx, throttleT0.Add(14*time.Minute), key, "client\x00other")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[key].Count != 5 {
				t.Fatalf("found %+v, want only %q with 5", got, key)
			}
			if got, _ := a.FindThrottleCounts(ctx, throttleT0.Add(window), key); len(got) != 0 {
				t.Errorf("found %+v once the window ended, want none", got)
			}
			later := throttleT0.Add(window + time.Second)
			if c, err := a.AddThrottleCount(ctx, key, later, window); err != nil || c.Count != 1 || !c.Start.Equal(later) {
				t.Errorf("after the window: %+v, %v; want a new window from %v with 1", c, err, later)
			}

			var stored int
			raw := storetest.Raw(t, a)
			rows, err := raw.QueryContext(ctx, `SELECT key FROM throttle_counts`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k string
				rows.Scan(&k)
				stored++
				if strings.Contains(k, "secret-typed-name") || strings.Contains(k, "203.0.113.9") || len(k) != 32 {
					t.Errorf("stored key %q: want a 32-character hash, not the text", k)
				}
			}
			rows.Close()
			if stored != 1 {
				t.Errorf("%d rows, want 1", stored)
			}

			if err := other.DeleteThrottleCount(ctx, key); err != nil {
				t.Fatal(err)
			}
			if got, _ := a.FindThrottleCounts(ctx, later, key); len(got) != 0 {
				t.Errorf("found %+v after deleting, want none", got)
			}

			if err := a.MarkThrottleKey(ctx, "known\x00anna\x00192.0.2.1", throttleT0, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := a.AddThrottleCount(ctx, "client\x00192.0.2.2", throttleT0.Add(50*time.Minute), window); err != nil {
				t.Fatal(err)
			}
			n, err := a.PruneThrottles(ctx, throttleT0.Add(time.Hour))
			if err != nil || n != 1 {
				t.Errorf("prune an hour on: %d, %v; want the mark gone and the open count kept", n, err)
			}
			if got, _ := a.FindThrottleCounts(ctx, throttleT0.Add(time.Hour), "client\x00192.0.2.2"); len(got) != 1 {
				t.Errorf("the open count was pruned: %+v", got)
			}
		})
	}
}

// Refusal counts to be reported: the first event of a window says so, the window is never
// continued once ended (its count is handed over, once), and a sweep from either handle
// takes each ended window exactly once.
func TestNoteThrottleCountReportsEachWindowOnce(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			a := b.Open(t, nil)
			other := storetest.Reopen(t, a, nil)
			const window = 15 * time.Minute
			c, ended, err := a.NoteThrottleCount(ctx, "client\x00203.0.113.9", "first note", throttleT0, window)
			if err != nil || c.Count != 1 || ended != nil {
				t.Fatalf("first: %+v %v %v", c, ended, err)
			}
			for i := range 4 {
				c, ended, err = other.NoteThrottleCount(ctx, "client\x00203.0.113.9", "later note", throttleT0.Add(time.Duration(i)*time.Minute), window)
				if err != nil || c.Count != i+2 || ended != nil || c.Note != "first note" {
					t.Fatalf("refusal %d: %+v %v %v", i+2, c, ended, err)
				}
			}
			// The window ended and nothing swept it: the next event hands it over.
			c, ended, err = a.NoteThrottleCount(ctx, "client\x00203.0.113.9", "new note", throttleT0.Add(window), window)
			if err != nil || c.Count != 1 || c.Note != "new note" || ended == nil || ended.Count != 5 || ended.Note != "first note" {
				t.Fatalf("after the window: %+v ended %+v, %v; want a new window and the old one's 5", c, ended, err)
			}
			if _, _, err := a.NoteThrottleCount(ctx, "pair\x00x", "pair note", throttleT0.Add(window), window); err != nil {
				t.Fatal(err)
			}
			if _, err := a.AddThrottleCount(ctx, "client\x00not noted", throttleT0, window); err != nil {
				t.Fatal(err)
			}

			// Both handles sweep at once, after the windows ended: each is taken once.
			var mu sync.Mutex
			var taken []string
			var wg sync.WaitGroup
			for _, h := range []*store.DB{a, other} {
				wg.Go(func() {
					got, err := h.TakeEndedThrottleNotes(ctx, throttleT0.Add(2*window))
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					defer mu.Unlock()
					for _, c := range got {
						taken = append(taken, c.Note)
					}
				})
			}
			wg.Wait()
			if len(taken) != 2 {
				t.Errorf("taken %q, want the two noted windows once each", taken)
			}
			if n, err := a.PruneThrottles(ctx, throttleT0.Add(2*window)); err != nil || n != 1 {
				t.Errorf("prune: %d, %v; want the one count without a note", n, err)
			}
		})
	}
}

// The token bucket holds burst events and gains one every interval, shared by two handles;
// a refused event takes nothing; its wait is exact; many takes at once from two handles are
// allowed exactly burst times; a full bucket is pruned.
func TestTakeRateSharedBucket(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			a := b.Open(t, nil)
			other := storetest.Reopen(t, a, nil)
			const key, every, burst = "api token\x001", time.Second, 3
			for i, h := range []*store.DB{a, other, a} {
				if wait, err := h.TakeRate(ctx, key, throttleT0, every, burst); err != nil || wait != 0 {
					t.Fatalf("take %d of the burst: wait %v, %v", i+1, wait, err)
				}
			}
			for range 2 { // refused twice: the second refusal waits as long as the first
				if wait, err := other.TakeRate(ctx, key, throttleT0.Add(250*time.Millisecond), every, burst); err != nil || wait != 750*time.Millisecond {
					t.Fatalf("take past the burst: wait %v, %v; want 750ms", wait, err)
				}
			}
			if wait, err := a.TakeRate(ctx, key, throttleT0.Add(time.Second), every, burst); err != nil || wait != 0 {
				t.Fatalf("a second later: wait %v, %v; want allowed", wait, err)
			}
			if wait, _ := a.TakeRate(ctx, key, throttleT0.Add(time.Second), every, burst); wait != time.Second {
				t.Errorf("then: wait %v, want 1s", wait)
			}
			if _, err := a.TakeRate(ctx, key, throttleT0, 0, burst); err == nil {
				t.Error("an interval of 0 was accepted")
			}

			var allowed atomic.Int64
			var wg sync.WaitGroup
			for i := range 20 {
				h := a
				if i%2 == 1 {
					h = other
				}
				wg.Go(func() {
					wait, err := h.TakeRate(ctx, "query\x00198.51.100.7", throttleT0, time.Hour, 5)
					if err != nil {
						t.Error(err)
					}
					if wait == 0 {
						allowed.Add(1)
					}
				})
			}
			wg.Wait()
			if allowed.Load() != 5 {
				t.Errorf("%d of 20 takes at once allowed, want the burst of 5", allowed.Load())
			}

			// The first bucket is full 4 s on (taken to 1 s + 3 s); the second, 5 h on.
			if n, err := a.PruneThrottles(ctx, throttleT0.Add(4*time.Second)); err != nil || n != 1 {
				t.Errorf("prune: %d, %v; want the full bucket only", n, err)
			}
		})
	}
}

// The hot path of a rate-limited request: one upsert of the key's bucket, allowed, and of a
// failed login's count.
func BenchmarkTakeRate(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := be.Open(b, nil)
			ctx := context.Background()
			now := throttleT0
			for b.Loop() {
				now = now.Add(time.Millisecond)
				if wait, err := db.TakeRate(ctx, "api token\x001", now, time.Millisecond, 40); err != nil || wait != 0 {
					b.Fatal(wait, err)
				}
			}
		})
	}
}

func BenchmarkAddThrottleCount(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			db := be.Open(b, nil)
			ctx := context.Background()
			for b.Loop() {
				if _, err := db.AddThrottleCount(ctx, "login client\x00203.0.113.9", throttleT0, 15*time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
