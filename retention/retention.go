// Package retention applies the retention policy of the privacy policy: a lead is kept while
// the relationship lives, made inactive once it has seen no activity for inactive_after (an
// import observation, a website query, a send, a reactivation), and deleted once it has been
// inactive for delete_after. Inactive leads are never mailed. Periods may differ per source.
// The rows imports rejected are kept for their own, shorter period (rejects), in the database
// and as rejects files in the data directory, and then deleted.
//
// A Runner holds no state between runs; runs must not overlap (the scheduler skips a run
// while the previous one is going), though an overlap would only repeat work.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/rejectfiles"
	"github.com/leadmailer/leadmailer/store"
)

// Periods are how long a lead stays active without activity, and how long it stays inactive
// before it is deleted.
type Periods struct {
	InactiveAfter time.Duration `json:"inactive_after"`
	DeleteAfter   time.Duration `json:"delete_after"`
}

// Policy is the retention policy: default periods and per-source overrides, whose zero
// fields fall back to the default.
type Policy struct {
	Default Periods
	Sources map[string]Periods
	// Rejects is how long rejected import rows are kept; 0 keeps them.
	Rejects time.Duration
}

// PolicyFromConfig reads the policy from the [retention] section.
func PolicyFromConfig(r config.Retention) Policy {
	p := Policy{
		Default: Periods{InactiveAfter: r.InactiveAfter.D(), DeleteAfter: r.DeleteAfter.D()},
		Sources: map[string]Periods{},
		Rejects: r.Rejects.D(),
	}
	for name, sp := range r.Sources {
		p.Sources[name] = Periods{InactiveAfter: sp.InactiveAfter.D(), DeleteAfter: sp.DeleteAfter.D()}
	}
	return p
}

// For returns the periods that apply to data from source.
func (p Policy) For(source string) Periods {
	sp, ok := p.Sources[source]
	if !ok {
		return p.Default
	}
	if sp.InactiveAfter == 0 {
		sp.InactiveAfter = p.Default.InactiveAfter
	}
	if sp.DeleteAfter == 0 {
		sp.DeleteAfter = p.Default.DeleteAfter
	}
	return sp
}

// Action is what the policy does to one lead.
type Action int

// Actions.
const (
	Keep       Action = iota
	Deactivate        // active -> inactive (or an inactive lead gets its missing date)
	Delete            // inactive long enough: deleted
)

// ActiveUntil is when a lead's activity runs out: each observation keeps it active for its
// source's inactive_after, every other activity (and, for a lead with no observation, its
// creation) for the default one.
func (p Policy) ActiveUntil(f *store.RetentionFacts) time.Time {
	until := time.Time{}
	later := func(t time.Time) {
		if t.After(until) {
			until = t
		}
	}
	for source, t := range f.LastObserved {
		later(t.Add(p.For(source).InactiveAfter))
	}
	for _, t := range []*time.Time{f.ActivityAt, f.LastSentAt} {
		if t != nil {
			later(t.Add(p.Default.InactiveAfter))
		}
	}
	if len(f.LastObserved) == 0 {
		later(f.CreatedAt.Add(p.Default.InactiveAfter))
	}
	return until
}

// DeleteAfter is how long the lead stays inactive before deletion: the longest delete_after
// among its sources, so that no source's period is cut short.
func (p Policy) DeleteAfter(f *store.RetentionFacts) time.Duration {
	d := time.Duration(0)
	for source := range f.LastObserved {
		d = max(d, p.For(source).DeleteAfter)
	}
	if d == 0 {
		d = p.Default.DeleteAfter
	}
	return d
}

// Decide says what happens to a lead at now. A lead made inactive is deleted delete_after
// after the run that made it so, never earlier, even after a long pause in the runs.
func (p Policy) Decide(f *store.RetentionFacts, now time.Time) Action {
	switch {
	case f.State == leadmailer.LeadActive:
		if !now.Before(p.ActiveUntil(f)) {
			return Deactivate
		}
	case f.InactiveSince == nil:
		return Deactivate
	case !now.Before(f.InactiveSince.Add(p.DeleteAfter(f))):
		return Delete
	}
	return Keep
}

// Store is what retention needs of the database.
type Store interface {
	FindRetentionFacts(ctx context.Context, fn func(*store.RetentionFacts) error) error
	MarkInactive(ctx context.Context, ids []int64, at time.Time) (int64, error)
	DeleteInactiveLeads(ctx context.Context, ids []int64) (store.Deletion, error)
	CountImportRejectsBefore(ctx context.Context, before time.Time) (int64, error)
	DeleteImportRejectsBefore(ctx context.Context, before time.Time) (int64, error)
}

// Report says what one run did, or with DryRun what it would do.
type Report struct {
	At          time.Time      `json:"at"`
	DryRun      bool           `json:"dry_run"`
	Checked     int64          `json:"checked"`
	Deactivated []int64        `json:"deactivated"` // lead IDs
	Deleted     []int64        `json:"deleted"`     // lead IDs
	Removed     store.Deletion `json:"removed"`
	// Rejects is what went of the rows imports rejected, or with DryRun would go.
	Rejects  RejectsRemoved `json:"rejects"`
	Duration time.Duration  `json:"duration_ns"`
}

// RejectsRemoved counts the rejected import rows deleted, from the database and as whole
// rejects files.
type RejectsRemoved struct {
	Rows  int64 `json:"rows"`
	Files int64 `json:"files"`
}

// Runner applies a policy.
type Runner struct {
	Store  Store
	Policy Policy
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Log receives each scheduled run's summary; default slog.Default().
	Log *slog.Logger
	// Record, when set, keeps each scheduled run's report: serve writes it to the audit
	// trail, as the retention command does its runs.
	Record func(ctx context.Context, rep *Report) error
	// RejectsDir is the data directory's rejects folder (rejectfiles.Dir), whose files are
	// deleted once older than the policy's Rejects; "" for none.
	RejectsDir string
}

// Apply runs the policy once. With dryRun it only reports.
func (r *Runner) Apply(ctx context.Context, dryRun bool) (*Report, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	start := now()
	rep := &Report{At: start.UTC(), DryRun: dryRun, Deactivated: []int64{}, Deleted: []int64{}}
	err := r.Store.FindRetentionFacts(ctx, func(f *store.RetentionFacts) error {
		rep.Checked++
		switch r.Policy.Decide(f, start) {
		case Deactivate:
			rep.Deactivated = append(rep.Deactivated, f.LeadID)
		case Delete:
			rep.Deleted = append(rep.Deleted, f.LeadID)
		}
		return nil
	})
	if err != nil {
		rep.Duration = now().Sub(start)
		return rep, err
	}
	if !dryRun {
		if _, err := r.Store.MarkInactive(ctx, rep.Deactivated, start); err != nil {
			return rep, err
		}
		if rep.Removed, err = r.Store.DeleteInactiveLeads(ctx, rep.Deleted); err != nil {
			return rep, err
		}
	}
	rep.Rejects, err = r.expireRejects(ctx, start, dryRun)
	rep.Duration = now().Sub(start)
	return rep, err
}

// expireRejects deletes, or with dryRun counts, the rejected import rows and rejects files
// older than the policy's period.
func (r *Runner) expireRejects(ctx context.Context, now time.Time, dryRun bool) (RejectsRemoved, error) {
	var rr RejectsRemoved
	if r.Policy.Rejects <= 0 {
		return rr, nil
	}
	before := now.Add(-r.Policy.Rejects)
	var err error
	if dryRun {
		rr.Rows, err = r.Store.CountImportRejectsBefore(ctx, before)
	} else {
		rr.Rows, err = r.Store.DeleteImportRejectsBefore(ctx, before)
	}
	if err != nil {
		return rr, err
	}
	if r.RejectsDir != "" {
		ex, err := rejectfiles.Expire(r.RejectsDir, before, dryRun)
		rr.Files = ex.Files
		if err != nil {
			return rr, err
		}
	}
	return rr, nil
}

// Run applies the policy and logs what it did; it is the job serve's scheduler runs.
func (r *Runner) Run(ctx context.Context) error {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	rep, err := r.Apply(ctx, false)
	if err != nil {
		log.Error("retention run failed", "err", err)
		return err
	}
	if r.Record != nil {
		if err := r.Record(ctx, rep); err != nil {
			log.Error("retention run: record it in the audit trail", "err", err)
			return err
		}
	}
	log.Info("retention run", "checked", rep.Checked, "deactivated", len(rep.Deactivated),
		"deleted", rep.Removed.Leads, "observations_removed", rep.Removed.Observations,
		"rejected_rows_removed", rep.Rejects.Rows, "rejects_files_removed", rep.Rejects.Files, "duration", rep.Duration)
	return nil
}
