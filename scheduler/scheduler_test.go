package scheduler_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/scheduler"
)

// every is a schedule due every d: fast enough for a test to see several turns in a
// fraction of a second, which cron's own descriptors (a second at least) are not.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// syncBuffer is a log sink safe for the scheduler's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func status(s *scheduler.Scheduler, name string) scheduler.JobStatus {
	for _, st := range s.Status() {
		if st.Name == name {
			return st
		}
	}
	return scheduler.JobStatus{}
}

// TestDueJobRunsAndOverlapIsSkipped: a job due while its previous run is still going is
// skipped and logged, never run twice at once; another job keeps its own schedule.
func TestDueJobRunsAndOverlapIsSkipped(t *testing.T) {
	logs := &syncBuffer{}
	s := scheduler.New(scheduler.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	release := make(chan struct{})
	var mu sync.Mutex
	inFlight, maxInFlight := 0, 0
	slow := func(ctx context.Context) error {
		mu.Lock()
		inFlight++
		maxInFlight = max(maxInFlight, inFlight)
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.Add("slow", every(10*time.Millisecond), slow); err != nil {
		t.Fatal(err)
	}
	quickRuns := make(chan struct{}, 100)
	if err := s.Add("quick", every(10*time.Millisecond), func(context.Context) error {
		quickRuns <- struct{}{}
		return errors.New("registry down")
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("quick", every(time.Second), func(context.Context) error { return nil }); err == nil {
		t.Error("a second job with the same name was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	wait := s.Start(ctx)

	waitFor(t, "the slow job was skipped twice", func() bool { return status(s, "slow").Skipped >= 2 })
	waitFor(t, "the quick job ran three times", func() bool { return len(quickRuns) >= 3 })
	if st := status(s, "slow"); st.Runs != 1 || !st.Running {
		t.Errorf("slow job: %d runs, running %v; want 1 run still going", st.Runs, st.Running)
	}
	close(release)
	waitFor(t, "the slow job ran again", func() bool { return status(s, "slow").Runs >= 2 })
	cancel()
	wait()
	if maxInFlight != 1 {
		t.Errorf("%d runs of the slow job at once, want 1", maxInFlight)
	}
	out := logs.String()
	for _, want := range []string{"scheduled run skipped: the previous run is still going", "job=slow",
		`scheduled run failed" job=quick`, "registry down", "scheduler stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// TestShutdownAbandonsOrFinishesRunInFlight: at shutdown a run in flight gets the grace
// period to finish; one that takes longer has its context cancelled, and wait returns only
// after it has returned.
func TestShutdownAbandonsOrFinishesRunInFlight(t *testing.T) {
	for _, tc := range []struct {
		name      string
		grace     time.Duration
		finishes  bool
		cancelled bool
	}{
		{"finishes within grace", time.Minute, true, false},
		{"abandoned after grace", 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := scheduler.New(scheduler.Options{Log: slog.New(slog.NewTextHandler(&syncBuffer{}, nil)), Grace: tc.grace})
			started, finish := make(chan struct{}), make(chan struct{})
			var once sync.Once
			var gotCancel, returned bool
			s.Add("import", every(5*time.Millisecond), func(ctx context.Context) error {
				once.Do(func() { close(started) })
				select {
				case <-finish:
				case <-ctx.Done():
					gotCancel = true
				}
				returned = true
				return ctx.Err()
			})
			ctx, cancel := context.WithCancel(context.Background())
			wait := s.Start(ctx)
			<-started
			cancel()
			if tc.finishes {
				time.AfterFunc(20*time.Millisecond, func() { close(finish) })
			}
			wait()
			if !returned || gotCancel != tc.cancelled {
				t.Errorf("returned %v, cancelled %v; want returned, cancelled %v", returned, gotCancel, tc.cancelled)
			}
			if st := status(s, "import"); st.Runs != 1 {
				t.Errorf("%d runs, want 1: no run may start after shutdown", st.Runs)
			}
		})
	}
}

// TestCronScheduleInTimeZone: a source's "0 3 * * *" in Europe/Helsinki is due at 03:00
// Helsinki time, which is 01:00 UTC in winter.
func TestCronScheduleInTimeZone(t *testing.T) {
	sched, err := config.ParseSchedule("0 3 * * *", "Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC)
	if got, want := sched.Next(from).UTC(), time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next run after %s = %s, want %s", from, got, want)
	}
}
