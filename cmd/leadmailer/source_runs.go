package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/sources"
	"github.com/leadmailer/leadmailer/store"
)

// sourceRuns runs sources for "leadmailer serve" one run per source at a time: a scheduled
// run and a "Run now" from the web app go through here, so neither starts while the other
// runs the same source.
type sourceRuns struct {
	e  *env
	db *store.DB
	// scheduled runs the schedule's turns, recorded as by "schedule".
	scheduled *sources.Runner

	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

func newSourceRuns(e *env, db *store.DB) *sourceRuns {
	return &sourceRuns{e: e, db: db, scheduled: newRunner(e, db, "schedule", slog.LevelInfo), running: map[string]bool{}}
}

// acquire marks src as running, or fails with ECONFLICT when a run of it is going.
func (s *sourceRuns) acquire(name string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[name] {
		return nil, leadmailer.Errorf(leadmailer.ECONFLICT, "source %s is running already; wait for that run to finish", name)
	}
	s.running[name] = true
	return func() {
		s.mu.Lock()
		delete(s.running, name)
		s.mu.Unlock()
	}, nil
}

// Running reports whether a run of the named source is going.
func (s *sourceRuns) Running(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[name]
}

// runScheduled runs src for the schedule, waiting for it to finish. A turn that comes while
// a run started from the web app still goes is skipped, as the scheduler skips its own.
func (s *sourceRuns) runScheduled(ctx context.Context, src *config.Source) error {
	release, err := s.acquire(src.Name)
	if err != nil {
		s.scheduled.Log.Warn("scheduled run skipped: the source is running already", "source", src.Name)
		return nil
	}
	defer release()
	_, err = s.scheduled.Run(ctx, src)
	return err
}

// start runs src in the background for actor and returns at once. When ctx ends, the run
// gets scheduleGrace to finish, like a scheduled one, and is then abandoned cleanly; Wait
// waits for it.
func (s *sourceRuns) start(ctx context.Context, src *config.Source, actor string) error {
	release, err := s.acquire(src.Name)
	if err != nil {
		return err
	}
	runner := newRunner(s.e, s.db, actor, slog.LevelInfo)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		select {
		case <-done:
		case <-ctx.Done():
			grace := time.NewTimer(scheduleGrace)
			defer grace.Stop()
			select {
			case <-done:
			case <-grace.C:
			}
		}
		cancel()
	}()
	go func() {
		defer s.wg.Done()
		defer close(done)
		defer release()
		if _, err := runner.Run(runCtx, src); err != nil {
			runner.Log.Error("source run failed", "source", src.Name, "actor", actor, "error", err.Error())
		}
	}()
	return nil
}

// Wait waits for the runs start began.
func (s *sourceRuns) Wait() { s.wg.Wait() }
