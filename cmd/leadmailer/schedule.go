package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/process"
	"github.com/leadmailer/leadmailer/scheduler"
	"github.com/leadmailer/leadmailer/store"
)

// scheduleGrace is how long a source run in flight at shutdown may go on before it is
// abandoned: long enough for a page or a batch to finish, short enough for a service
// manager's stop timeout.
const scheduleGrace = 10 * time.Second

// startSchedule starts running every source in cfg that has a schedule, each on its own
// cron schedule and time zone, until ctx ends: "leadmailer serve" calls it once at start-up
// with the context that SIGINT and SIGTERM cancel, and calls wait before exiting.
//
//	sched, wait, err := startSchedule(ctx, e, db, cfg)
//	if err != nil { return err }
//	defer wait()
//
// A source run still going, in this process or another on the database, when the source is
// due again is skipped and logged; at shutdown
// a run in flight gets scheduleGrace to finish and is then abandoned cleanly (its import run
// is recorded as failed, keeping whole batches only, and the next run starts afresh). Runs
// log to e.stderr. The returned scheduler takes further jobs (campaigns, retention) with
// sched.Add(name, schedule, func(ctx) error).
func startSchedule(ctx context.Context, e *env, db *store.DB, cfg *config.Config) (*scheduler.Scheduler, func(), error) {
	return startScheduleRuns(ctx, e, newSourceRuns(e, db), cfg)
}

// startScheduleRuns is startSchedule running the sources through runs, which keeps a
// scheduled run and one started from the web app from running the same source together.
func startScheduleRuns(ctx context.Context, e *env, runs *sourceRuns, cfg *config.Config) (*scheduler.Scheduler, func(), error) {
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	// Each occurrence is claimed in the database, so that several serve processes on one
	// database run it once between them, and a run is marked running there, so that none
	// starts a job whose previous run goes on in another.
	name := process.Name()
	db := runs.db
	sched := scheduler.New(scheduler.Options{Log: log, Grace: scheduleGrace,
		Claim: func(ctx context.Context, job string, occurrence time.Time) (bool, error) {
			return db.ClaimJobRun(ctx, job, occurrence, name)
		},
		Marks: store.JobMarks{DB: db, By: name}})
	if err := addSourceJobs(sched, runs, cfg); err != nil {
		return nil, nil, err
	}
	wait := sched.Start(ctx)
	return sched, wait, nil
}

// addSourceJobs schedules each source that has a schedule as job "source:NAME".
func addSourceJobs(sched *scheduler.Scheduler, runs *sourceRuns, cfg *config.Config) error {
	for i := range cfg.Sources {
		src := &cfg.Sources[i]
		if src.Schedule == "" {
			continue
		}
		schedule, err := config.ParseSchedule(src.Schedule, src.Timezone)
		if err != nil {
			return fmt.Errorf("source %s: schedule: %w", src.Name, err)
		}
		err = sched.Add("source:"+src.Name, schedule, func(ctx context.Context) error {
			return runs.runScheduled(ctx, src)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
