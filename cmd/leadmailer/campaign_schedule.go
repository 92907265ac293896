package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/store"
)

// campaignScheduler starts the campaigns that are due, for "leadmailer serve": a campaign
// scheduled with --at at its time, a --cron campaign at each occurrence, and a campaign left
// running by a crash at once. serve calls Tick every few seconds and Wait when it shuts
// down (after cancelling the context it gave Tick, which pauses the campaigns in progress
// cleanly; the next start resumes them).
//
// Each campaign runs in a goroutine of its own while holding the campaign's lock
// (campaign.Lock), so a campaign is never sent twice by one process, nor by two processes on
// one data directory. Several serve processes on one PostgreSQL database, each with its
// own data directory, send a running campaign together: each leases its recipients (see
// package campaign).
type campaignScheduler struct {
	db      *store.DB
	cfg     *config.Config
	dataDir string
	log     *slog.Logger
	// owner names this process in the leases of the recipients it sends to.
	owner string

	// limiter holds all the campaigns running at once to sending.rate together; each
	// campaign has its own sending.concurrency connections.
	limiter *rate.Limiter

	mu      sync.Mutex
	running map[int64]bool
	wg      sync.WaitGroup
}

func newCampaignScheduler(db *store.DB, cfg *config.Config, dataDir string, log *slog.Logger, owner string) *campaignScheduler {
	return &campaignScheduler{db: db, cfg: cfg, dataDir: dataDir, log: log, owner: owner, running: map[int64]bool{},
		limiter: campaign.NewLimiter(cfg.Sending.Rate, cfg.Sending.Concurrency)}
}

// Tick starts every campaign due at now. It returns once they are started.
func (s *campaignScheduler) Tick(ctx context.Context, now time.Time) error {
	cs, err := s.db.FindCampaigns(ctx, leadmailer.CampaignScheduled, leadmailer.CampaignRunning)
	if err != nil {
		return err
	}
	for _, c := range cs {
		switch {
		case c.State == leadmailer.CampaignRunning:
			// Left running by a process that stopped; the lock tells a live sender apart.
			s.start(ctx, c, time.Time{})
		case c.SendAt != nil && !c.SendAt.After(now):
			if late := now.Sub(*c.SendAt); late > time.Duration(s.cfg.Sending.MissedAfter) {
				reason := fmt.Sprintf("not started by %s: nothing ran then, and %s later is past sending.missed_after (%s)",
					c.SendAt.Format(time.RFC3339), late.Round(time.Minute), time.Duration(s.cfg.Sending.MissedAfter))
				if _, err := s.db.SetCampaignState(ctx, c.ID, leadmailer.CampaignMissed, reason); err != nil {
					return err
				}
				s.log.Warn("campaign missed", "campaign", c.ID, "reason", reason)
				continue
			}
			s.start(ctx, c, *c.SendAt)
		case c.Cron != "":
			sched, err := config.ParseSchedule(c.Cron, "")
			if err != nil {
				s.log.Error("campaign schedule", "campaign", c.ID, "err", err)
				continue
			}
			last := c.CreatedAt
			if c.LastRunAt != nil {
				last = *c.LastRunAt
			}
			// After downtime, the occurrences missed collapse into one run: each run mails
			// everyone in the audience who has not received the campaign.
			var due time.Time
			for next := sched.Next(last); !next.After(now); next = sched.Next(next) {
				due = next
			}
			if !due.IsZero() {
				s.start(ctx, c, due)
			}
		}
	}
	return nil
}

// start runs campaign c in the background unless it runs already. occurrence, when not
// zero, is recorded as the campaign's latest run.
func (s *campaignScheduler) start(ctx context.Context, c *leadmailer.Campaign, occurrence time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[c.ID] {
		return
	}
	unlock, err := campaign.Lock(locksDir(s.dataDir), c.ID)
	if err != nil {
		if leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
			s.log.Error("campaign lock", "campaign", c.ID, "err", err)
		}
		return // another process sends it
	}
	if !occurrence.IsZero() {
		if err := s.db.SetCampaignLastRun(ctx, c.ID, occurrence); err != nil {
			unlock()
			s.log.Error("campaign start", "campaign", c.ID, "err", err)
			return
		}
	}
	s.running[c.ID] = true
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			unlock()
			s.mu.Lock()
			delete(s.running, c.ID)
			s.mu.Unlock()
		}()
		s.log.Info("campaign started", "campaign", c.ID, "name", c.Name)
		res, err := s.send(ctx, c.ID)
		if err != nil {
			s.log.Error("campaign failed", "campaign", c.ID, "err", err)
			return
		}
		s.log.Info("campaign stopped", "campaign", c.ID, "state", res.State, "reason", res.Reason,
			"sent", res.Sent, "failed", res.Failed, "skipped", res.Skipped, "resent_in_flight", res.Requeued)
	}()
}

func (s *campaignScheduler) send(ctx context.Context, id int64) (*campaign.Result, error) {
	if err := s.cfg.SenderReady(); err != nil {
		reason := "the sender is not configured: " + err.Error()
		if _, serr := s.db.SetCampaignState(ctx, id, leadmailer.CampaignPaused, reason); serr != nil {
			return nil, serr
		}
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "%s", reason)
	}
	opts := runOptions(s.cfg)
	opts.Limiter = s.limiter
	opts.Owner = s.owner
	// On SQLite every process on the database shares the data directory, whose campaign
	// lock this process holds: nobody else can hold leases.
	opts.Exclusive = !s.db.Postgres()
	// A campaign that serve's shutdown interrupts goes on when serve starts again.
	opts.KeepRunningOnStop = true
	return sendCampaign(ctx, nil, s.db, s.cfg, s.dataDir, id, opts)
}

// Wait waits for the campaigns in progress to stop.
func (s *campaignScheduler) Wait() { s.wg.Wait() }
