package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
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

// startOnOneDatabase starts a scheduler for each handle, as serve processes on one database,
// each with job "source:prh" due every second running fn, and returns their schedulers and
// the function that stops them all.
func startOnOneDatabase(t *testing.T, dbs []*store.DB, fn func(ctx context.Context, process string) error) ([]*scheduler.Scheduler, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var schedulers []*scheduler.Scheduler
	var waits []func()
	for i, db := range dbs {
		name := fmt.Sprintf("host:%d", i+1)
		s := scheduler.New(scheduler.Options{
			Log: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)),
			Claim: func(ctx context.Context, job string, occurrence time.Time) (bool, error) {
				return db.ClaimJobRun(ctx, job, occurrence, name)
			},
			Marks: store.JobMarks{DB: db, By: name},
		})
		if err := s.Add("source:prh", cron.Every(time.Second), func(ctx context.Context) error { return fn(ctx, name) }); err != nil {
			t.Fatal(err)
		}
		schedulers = append(schedulers, s)
		waits = append(waits, s.Start(ctx))
	}
	stop := func() {
		cancel()
		for _, w := range waits {
			w()
		}
	}
	t.Cleanup(stop)
	return schedulers, stop
}

// waitLong is waitFor for conditions that take several seconds of a schedule.
func waitLong(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two schedulers on one database, with a job due every second whose run takes longer: the
// next occurrence, which the other process wins while the run goes on, is skipped there, as
// one process skips it, so the job never runs twice at once.
func TestSchedulersOnOneDatabaseNeverOverlapAJob(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			first := b.Open(t, nil)
			dbs := []*store.DB{first, storetest.Reopen(t, first, nil)}
			var inFlight, most, done atomic.Int32
			schedulers, stop := startOnOneDatabase(t, dbs, func(ctx context.Context, _ string) error {
				n := inFlight.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(1200 * time.Millisecond)
				inFlight.Add(-1)
				done.Add(1)
				return nil
			})
			waitLong(t, "two runs", func() bool { return done.Load() >= 2 })
			stop()
			if m := most.Load(); m != 1 {
				t.Errorf("%d runs of the job at once, want 1", m)
			}
			var skipped int64
			for _, s := range schedulers {
				skipped += status(s, "source:prh").Skipped
			}
			if skipped == 0 {
				t.Error("no occurrence was skipped: the runs did not outlast the period, the test shows nothing")
			}
		})
	}
}

// A mark left by a process that died mid-run holds the job until its lease runs out, then
// a live process takes it over and runs the job.
func TestSchedulersTakeOverADeadProcessMark(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			first := b.Open(t, nil)
			const lease = 2 * time.Second
			ok, _, err := first.MarkJobRunning(t.Context(), "source:prh", time.Now().Truncate(time.Second), "dead:1", lease)
			if err != nil || !ok {
				t.Fatalf("mark of the dead process: %v, %v", ok, err)
			}
			runOut := time.Now().Add(lease)
			dbs := []*store.DB{first, storetest.Reopen(t, first, nil)}
			var mu sync.Mutex
			var starts []time.Time
			startOnOneDatabase(t, dbs, func(context.Context, string) error {
				mu.Lock()
				defer mu.Unlock()
				starts = append(starts, time.Now())
				return nil
			})
			waitLong(t, "a run after the take-over", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(starts) > 0
			})
			mu.Lock()
			defer mu.Unlock()
			if starts[0].Before(runOut) {
				t.Errorf("the job started %s before the dead process's mark ran out", runOut.Sub(starts[0]))
			}
		})
	}
}
