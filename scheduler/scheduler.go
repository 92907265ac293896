// Package scheduler runs named jobs on cron schedules: scheduled source imports, and later
// campaigns and retention. A job never overlaps itself: when it is due while its previous
// run is still going, that turn is skipped and logged. Different jobs run concurrently.
//
// Shutdown is clean: when the context given to Start ends, no new run starts; a run in
// flight may finish within the grace period, after which its context is cancelled so that
// it abandons its work cleanly (an import records its run as failed, keeping only whole
// batches). The wait function Start returns blocks until every run has returned.
//
// Several processes may run the same schedule on one database, for availability. Each
// occurrence of a job then runs in one of them: the one whose Options.Claim of it succeeds
// first (the store's ClaimJobRun, one insert of a primary key). An occurrence is the minute a
// cron schedule names, or for "@every" schedules the interval it falls in, counted from the
// Unix epoch, so that processes started at different times agree on it. A job that outlasts
// its period must not run beside itself on another process either: the process that won an
// occurrence starts it only if it can take the job's running mark (Options.Marks, the store's
// job_running row), which it renews while the run goes on and ends when the run returns; a
// mark left by a process that died runs out after Options.MarkLease and is taken over.
//
// Add may be called before or after Start; a Scheduler is safe for concurrent use.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// Options configure a Scheduler. The zero value logs to slog.Default and abandons runs in
// flight at once on shutdown.
type Options struct {
	Log *slog.Logger
	// Grace is how long a run in flight may go on after shutdown begins before its context
	// is cancelled.
	Grace time.Duration
	// Claim, when set, is asked before each run whether this process runs that occurrence of
	// the job; false means another process has it. An error skips the run.
	Claim func(ctx context.Context, job string, occurrence time.Time) (bool, error)
	// Marks, when set, keep the running marks that stop a job's run from starting while a
	// previous run of it goes on in another process.
	Marks Marks
	// MarkLease is how long a running mark holds unless renewed; it is renewed every quarter
	// of it. Zero means DefaultMarkLease.
	MarkLease time.Duration
}

// DefaultMarkLease is how long a run's mark holds without renewal: a process that dies
// mid-run holds its job up for at most that long.
const DefaultMarkLease = 2 * time.Minute

// Marks keep, shared by the processes on one database, the mark that a job's run is going
// on (the store's MarkJobRunning, RenewJobRunning and EndJobRunning, for this process).
type Marks interface {
	// Mark marks the job's occurrence running for lease; false, naming the holder, when a
	// run of the job still holds the mark.
	Mark(ctx context.Context, job string, occurrence time.Time, lease time.Duration) (ok bool, holder string, err error)
	// Renew extends the mark to lease from now; false when the mark was taken over.
	Renew(ctx context.Context, job string, occurrence time.Time, lease time.Duration) (bool, error)
	// End removes the mark once the run has returned.
	End(ctx context.Context, job string, occurrence time.Time) error
}

// Scheduler runs jobs on their schedules.
type Scheduler struct {
	log   *slog.Logger
	grace time.Duration
	claim func(ctx context.Context, job string, occurrence time.Time) (bool, error)
	marks Marks
	lease time.Duration
	cron  *cron.Cron

	// jobCtx is the context runs get; cancelled Grace after shutdown begins.
	jobCtx    context.Context
	cancelJob context.CancelFunc

	mu   sync.Mutex
	jobs map[string]*job
}

type job struct {
	name    string
	run     func(ctx context.Context) error
	id      cron.EntryID
	running atomic.Bool
	started atomic.Int64 // unix nanoseconds of the run in flight
	runs    atomic.Int64
	skipped atomic.Int64
	// elsewhere counts the occurrences another process claimed.
	elsewhere atomic.Int64
	schedule  cron.Schedule
}

// New returns a scheduler that runs nothing until Start.
func New(opts Options) *Scheduler {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	lease := opts.MarkLease
	if lease <= 0 {
		lease = DefaultMarkLease
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		log: log, grace: opts.Grace, claim: opts.Claim, marks: opts.Marks, lease: lease,
		jobs: map[string]*job{}, jobCtx: ctx, cancelJob: cancel,
		// Schedules carry their own time zone (see config.ParseSchedule); the location here
		// only sets the clock cron compares them with.
		cron: cron.New(cron.WithLocation(time.UTC)),
	}
}

// Add schedules fn under name, which must be unique. fn gets a context that is cancelled
// when the scheduler shuts down (after the grace period); its error is logged.
func (s *Scheduler) Add(name string, schedule cron.Schedule, fn func(ctx context.Context) error) error {
	if schedule == nil || fn == nil {
		return fmt.Errorf("schedule job %q: needs a schedule and a function", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[name]; dup {
		return fmt.Errorf("schedule job %q: a job of that name is already scheduled", name)
	}
	j := &job{name: name, run: fn, schedule: schedule}
	j.id = s.cron.Schedule(schedule, cron.FuncJob(func() { s.fire(j) }))
	s.jobs[name] = j
	return nil
}

// fire runs j unless its previous run is still going, here or in another process.
func (s *Scheduler) fire(j *job) {
	if s.jobCtx.Err() != nil {
		return
	}
	if !j.running.CompareAndSwap(false, true) {
		j.skipped.Add(1)
		s.log.Warn("scheduled run skipped: the previous run is still going", "job", j.name,
			"running_since", time.Unix(0, j.started.Load()).UTC())
		return
	}
	defer j.running.Store(false)
	start := time.Now()
	occurrence := occurrenceOf(j.schedule, start)
	if s.claim != nil {
		won, err := s.claim(s.jobCtx, j.name, occurrence)
		if err != nil {
			j.skipped.Add(1)
			s.log.Error("scheduled run skipped: cannot claim it", "job", j.name, "occurrence", occurrence, "error", err.Error())
			return
		}
		if !won {
			j.elsewhere.Add(1)
			s.log.Info("scheduled run left to the process that claimed it", "job", j.name, "occurrence", occurrence)
			return
		}
	}
	ctx := s.jobCtx
	if s.marks != nil {
		ok, holder, err := s.marks.Mark(s.jobCtx, j.name, occurrence, s.lease)
		if err != nil {
			j.skipped.Add(1)
			s.log.Error("scheduled run skipped: cannot mark it running", "job", j.name, "occurrence", occurrence, "error", err.Error())
			return
		}
		if !ok {
			j.skipped.Add(1)
			s.log.Warn("scheduled run skipped: the previous run is still going in another process", "job", j.name,
				"occurrence", occurrence, "held_by", holder)
			return
		}
		var stop func()
		ctx, stop = s.keepMark(j, occurrence)
		defer stop()
	}
	j.started.Store(start.UnixNano())
	j.runs.Add(1)
	s.log.Info("scheduled run started", "job", j.name)
	err := s.call(ctx, j)
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case err == nil:
		s.log.Info("scheduled run finished", "job", j.name, "took", took)
	case errors.Is(err, context.Canceled) && s.jobCtx.Err() != nil:
		s.log.Warn("scheduled run abandoned at shutdown", "job", j.name, "took", took, "error", err.Error())
	default:
		s.log.Error("scheduled run failed", "job", j.name, "took", took, "error", err.Error())
	}
}

// occurrenceOf returns the occurrence of schedule that fires at now: the minute for a cron
// schedule (they have no seconds field here), the interval from the Unix epoch for @every.
func occurrenceOf(schedule cron.Schedule, now time.Time) time.Time {
	if every, ok := schedule.(cron.ConstantDelaySchedule); ok && every.Delay > 0 {
		return now.UTC().Truncate(every.Delay)
	}
	return now.UTC().Truncate(time.Minute)
}

// keepMark renews j's running mark while its run goes on, and returns the run's context and
// the function that ends the mark once the run has returned. A renewal that finds the mark
// taken over (this process was cut off for a lease, and another started the job) cancels the
// run, which is then no longer the only one; a renewal that fails is tried again at the next
// turn, the lease having three more in it.
func (s *Scheduler) keepMark(j *job, occurrence time.Time) (context.Context, func()) {
	ctx, cancel := context.WithCancel(s.jobCtx)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(s.lease / 4)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			renewCtx, renewCancel := context.WithTimeout(context.WithoutCancel(s.jobCtx), s.lease/4)
			ok, err := s.marks.Renew(renewCtx, j.name, occurrence, s.lease)
			renewCancel()
			switch {
			case err != nil:
				s.log.Warn("scheduled run: cannot renew its running mark", "job", j.name, "error", err.Error())
			case !ok:
				s.log.Error("scheduled run cancelled: its running mark ran out and was taken over", "job", j.name, "occurrence", occurrence)
				cancel()
				return
			}
		}
	}()
	return ctx, func() {
		close(done)
		wg.Wait()
		cancel()
		// The run has returned, at shutdown too: its mark must go, or the job waits a lease.
		endCtx, endCancel := context.WithTimeout(context.WithoutCancel(s.jobCtx), 10*time.Second)
		defer endCancel()
		if err := s.marks.End(endCtx, j.name, occurrence); err != nil {
			s.log.Error("scheduled run: cannot end its running mark; the job waits for it to run out", "job", j.name, "error", err.Error())
		}
	}
}

// call runs the job, turning a panic into an error so that one bad job cannot stop the
// scheduler.
func (s *Scheduler) call(ctx context.Context, j *job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return j.run(ctx)
}

// Start runs the schedule until ctx ends, then shuts down as the package comment says. The
// returned function waits for the shutdown to complete; call it after cancelling ctx.
func (s *Scheduler) Start(ctx context.Context) (wait func()) {
	s.cron.Start()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		s.log.Info("scheduler stopping", "grace", s.grace)
		stopped := s.cron.Stop() // no new runs; done when the runs in flight return
		grace := time.NewTimer(s.grace)
		defer grace.Stop()
		select {
		case <-stopped.Done():
		case <-grace.C:
			s.cancelJob()
			<-stopped.Done()
		}
		s.cancelJob()
		s.log.Info("scheduler stopped")
	}()
	return func() { <-done }
}

// JobStatus says how a job has fared since the scheduler started.
type JobStatus struct {
	Name    string
	Next    time.Time // zero before Start
	Running bool
	Runs    int64
	Skipped int64
	// Elsewhere counts occurrences that another process on the database ran.
	Elsewhere int64
}

// Status lists the jobs, in name order.
func (s *Scheduler) Status() []JobStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []JobStatus
	for _, j := range s.jobs {
		out = append(out, JobStatus{Name: j.name, Next: s.cron.Entry(j.id).Next, Running: j.running.Load(),
			Runs: j.runs.Load(), Skipped: j.skipped.Load(), Elsewhere: j.elsewhere.Load()})
	}
	sortStatus(out)
	return out
}

func sortStatus(s []JobStatus) {
	slices.SortFunc(s, func(a, b JobStatus) int { return strings.Compare(a.Name, b.Name) })
}
