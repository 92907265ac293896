package scheduler_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/leadmailer/leadmailer/scheduler"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestMain stops the PostgreSQL cluster the tests on it start.
func TestMain(m *testing.M) { storetest.Main(m) }

// Two schedulers on one database, as two serve processes, each with the same job due every
// second: every occurrence runs once, in one of them, and both take turns at winning it.
func TestSchedulersOnOneDatabaseRunEachOccurrenceOnce(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			first := b.Open(t, nil)
			dbs := []*store.DB{first, storetest.Reopen(t, first, nil)}
			var mu sync.Mutex
			ranAt := map[int64][]string{} // second of the run -> processes that ran it
			var schedulers []*scheduler.Scheduler
			var waits []func()
			ctx, cancel := context.WithCancel(context.Background())
			for i, db := range dbs {
				name := []string{"a", "b"}[i]
				s := scheduler.New(scheduler.Options{
					Log: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)),
					Claim: func(ctx context.Context, job string, occurrence time.Time) (bool, error) {
						return db.ClaimJobRun(ctx, job, occurrence, name)
					},
				})
				if err := s.Add("source:prh", cron.Every(time.Second), func(context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					sec := time.Now().Unix()
					ranAt[sec] = append(ranAt[sec], name)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				schedulers = append(schedulers, s)
				waits = append(waits, s.Start(ctx))
			}
			waitFor(t, "three occurrences", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(ranAt) >= 3
			})
			cancel()
			for _, w := range waits {
				w()
			}
			mu.Lock()
			defer mu.Unlock()
			for sec, who := range ranAt {
				if len(who) != 1 {
					t.Errorf("the occurrence at %s ran in %v, want one process", time.Unix(sec, 0).UTC(), who)
				}
			}
			var runs, elsewhere int64
			for _, s := range schedulers {
				st := status(s, "source:prh")
				runs += st.Runs
				elsewhere += st.Elsewhere
			}
			if elsewhere == 0 {
				t.Errorf("no scheduler left an occurrence to the other (runs %d): both did not fire, the test shows nothing", runs)
			}
		})
	}
}
