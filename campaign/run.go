// Package campaign sends campaigns: it resolves a campaign's audience into its send ledger,
// then delivers one message per queued recipient through a mailer transport, recording every
// step in the ledger so that a crash loses nobody and re-sends only what was in flight.
//
// # How a send runs
//
// One feeder reads queued ledger rows in ID order, a batch at a time, with each lead as it
// is now; a lead that is suppressed, erased, inactive or undeliverable is skipped with the
// reason. Concurrency workers render and send the rest, each waiting its turn at one global
// token bucket (the rate limit). Before a worker hands a message to the transport, the row
// is marked "sending" and that mark is committed; after the reply the row becomes sent,
// failed, or queued again for a retry. One ledger goroutine commits these writes in groups,
// so the database does not cap throughput, and a worker's "sending" mark commits together
// with its previous message's outcome: at any moment at most Concurrency rows are
// "sending", and only those are sent again (with the same Message-ID) after a crash.
//
// # Several processes
//
// Several processes on one database may run one campaign together: each leases a batch of
// queued rows at a time (store.LeasePending), sends only rows it holds, and renews its
// leases while it runs. A process that dies leaves its rows leased until the lease runs out
// (Options.Lease); then the others take them, the rows it had marked "sending" included,
// which are sent again with their Message-ID as after any crash. The campaign finishes when
// no row is queued or leased. Within one data directory the caller keeps a second process
// from running a campaign at the same time (see Lock).
//
// # Concurrency
//
// Run may be called for different campaigns at once. A Runner holds no state between runs.
package campaign

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/process"
	"github.com/leadmailer/leadmailer/store"
)

// Store is what a run needs from the database.
type Store interface {
	FindCampaign(ctx context.Context, id int64) (*leadmailer.Campaign, error)
	SetCampaignState(ctx context.Context, id int64, to leadmailer.CampaignState, reason string) (*leadmailer.Campaign, error)
	ResolveAudience(ctx context.Context, c *leadmailer.Campaign, rules store.AudienceRules) (int64, error)
	RequeueInFlight(ctx context.Context, campaignID int64, now time.Time) (int64, error)
	LeasePending(ctx context.Context, campaignID int64, owner string, now time.Time, lease time.Duration, limit int) ([]store.Pending, int64, error)
	RenewLeases(ctx context.Context, campaignID int64, owner string, until time.Time) (int64, error)
	ReleaseLeases(ctx context.Context, campaignID int64, owner string) error
	EndLeases(ctx context.Context, campaignID int64) (int64, error)
	Outstanding(ctx context.Context, campaignID int64) (int64, time.Time, error)
	NextRetry(ctx context.Context, campaignID int64) (int64, time.Time, error)
	OpenLedger(ctx context.Context) (*store.Ledger, error)
	ImportRunsByID(ctx context.Context) (map[int64]*leadmailer.ImportRun, error)
	CampaignReport(ctx context.Context, campaignID int64) (*leadmailer.CampaignReport, error)
	WithdrawFailures(ctx context.Context, campaignID int64, recipientIDs []int64) (rows, marks int64, err error)
}

// Sender hands one message to the mail server: a mailer.Transport.
type Sender interface {
	Send(ctx context.Context, m *mailer.Message) (reply string, err error)
}

// Options tune a run. Zero values take the defaults noted.
type Options struct {
	Concurrency int     // parallel sends; default 4
	Rate        float64 // messages per second over all workers; 0: no limit
	// Limiter, when set, replaces Rate: runs that share one hold their sum to its rate.
	Limiter     *rate.Limiter
	MaxAttempts int // attempts per recipient for temporary failures; default 5
	// Backoff is the wait before the first retry of a temporary failure; it doubles with
	// each attempt, up to MaxBackoff. Defaults 1 minute and 1 hour.
	Backoff, MaxBackoff time.Duration
	// MaxConsecutiveErrors failed sends in a row pause the campaign; default 20.
	MaxConsecutiveErrors int
	// MaxPermanentInRow permanent refusals of recipients in a row (550 5.1.1 and the like)
	// pause the campaign, as do more than MaxPermanentPercent % of them among the run's
	// first PermanentWindow outcomes: a relay that refuses every address looks like a list
	// of bad ones. The refusals that tripped it are queued again and the undeliverable
	// marks they wrote withdrawn. Defaults 20, 30 % and 100.
	MaxPermanentInRow   int
	MaxPermanentPercent int
	PermanentWindow     int
	// ConsentOnlyCountries: leads there are mailed only with a recorded consent.
	ConsentOnlyCountries []string
	// StatePoll is how often a run reads its campaign's state, to notice a pause or a
	// cancel from another process; default 500ms.
	StatePoll time.Duration
	// Lease is how long the rows a run has taken stay its own without being renewed: after
	// a process dies, the other processes sending the campaign wait this long before they
	// send its rows. The run renews its leases three times a lease. Default 2 minutes.
	Lease time.Duration
	// Owner names this process in the leases; default a name made of the host, the process
	// ID and a random part.
	Owner string
	// Exclusive says that no other process can be sending the campaign (the caller holds a
	// lock every sender of the database takes, as with SQLite): the leases a stopped process
	// left are ended at the start instead of waited out.
	Exclusive bool
	// Now is the clock; default time.Now.
	Now func() time.Time
	// KeepRunningOnStop leaves a campaign whose run ends with its context (a shutdown) in the
	// running state instead of pausing it, so that the next start of the process resumes it
	// as after a crash. serve sets it; the command line pauses, and says how to resume.
	KeepRunningOnStop bool
	// Progress, when set, is called after each ledger commit with the run's counts so far.
	// It is called from one goroutine and must return quickly.
	Progress func(Progress)
}

func (o *Options) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Minute
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Hour
	}
	if o.MaxConsecutiveErrors <= 0 {
		o.MaxConsecutiveErrors = 20
	}
	if o.MaxPermanentInRow <= 0 {
		o.MaxPermanentInRow = 20
	}
	if o.MaxPermanentPercent <= 0 {
		o.MaxPermanentPercent = 30
	}
	if o.PermanentWindow <= 0 {
		o.PermanentWindow = 100
	}
	if o.StatePoll <= 0 {
		o.StatePoll = 500 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Owner == "" {
		o.Owner = LeaseOwner()
	}
}

// LeaseOwner names this process in the leases of the rows it sends: the process and a random
// part, since a process restarted with the same ID (PID 1 in a container) must not renew
// or write the rows a dead predecessor leased.
func LeaseOwner() string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%x", process.Name(), b)
}

// DefaultLease is Options.Lease's default.
const DefaultLease = 2 * time.Minute

// Progress counts what a run has done so far. Total is the number of ledger rows that were
// queued when the run started.
type Progress struct {
	Total, Sent, Failed, Skipped, Retried int64
}

// Result is how a run ended.
type Result struct {
	Progress
	// State is the campaign's state after the run: finished, paused (by a user, an
	// interruption or too many errors, Reason says which), cancelled, or scheduled for the
	// next occurrence of a cron campaign.
	State  leadmailer.CampaignState
	Reason string
	// Requeued is how many rows a process that stopped left "sending": they were sent
	// again.
	Requeued int64
	// Withdrawn is how many permanent failures the circuit breaker blamed on the relay and
	// queued again (they are not in Failed), and Unmarked how many undeliverable marks
	// they had written it withdrew.
	Withdrawn, Unmarked int64
}

// NewLimiter returns the token bucket for perSecond messages a second (0: no limit) with a
// burst of one message per connection, for Options.Limiter.
func NewLimiter(perSecond float64, concurrency int) *rate.Limiter {
	if perSecond <= 0 {
		return rate.NewLimiter(rate.Inf, max(concurrency, 1))
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(concurrency, 1))
}

// ReasonTooManyErrors starts the pause reason of a run stopped by failed sends in a row.
const ReasonTooManyErrors = "paused after too many failed sends in a row"

// ReasonRelayRefused starts the pause reason of a run stopped by a relay that refuses this
// sender (authentication, relaying, a refused greeting or MAIL FROM): the recipients it
// stopped on are queued again, to be sent once the relay is fixed.
const ReasonRelayRefused = "paused: the mail relay refuses this sender, not the recipients"

// PausedByItself reports whether reason is that of a pause a run made on its own (errors,
// a refusing relay, the ledger), as opposed to a user's pause or an interruption: scripts
// are told with a failing exit status.
func PausedByItself(reason string) bool {
	for _, r := range []string{ReasonTooManyErrors, ReasonRelayRefused, ReasonTooManyRefused, ReasonLedgerFailed} {
		if strings.HasPrefix(reason, r) {
			return true
		}
	}
	return false
}

// ReasonTooManyRefused starts the pause reason of a run stopped by its circuit breaker on
// permanent failures.
const ReasonTooManyRefused = "paused after too many recipients refused: the relay may be refusing every address"

// ReasonLedgerFailed starts the pause reason of a run stopped because the send ledger could
// not be written (the database locked for too long, a full disk): nothing more is sent that
// the ledger cannot record first.
const ReasonLedgerFailed = "paused: the send ledger cannot be written"

// ReasonInterrupted is the pause reason of a run stopped by its context (Ctrl-C, shutdown).
const ReasonInterrupted = "interrupted: resume to send to the rest"

// Run sends campaign id. A campaign that is not yet running (draft, scheduled, missed, or
// paused before it ever started) has its audience resolved into the ledger first; a running
// one (left so by a crash) or a paused one continues with its ledger as it is, after its rows
// left "sending" are queued again. Run returns when every recipient has an outcome, when the campaign is paused or
// cancelled (by another process too: the state is read between batches), when too many sends
// in a row fail, or when ctx is done; the messages in flight are always finished and
// recorded first. Only a failure of the database or the templates is an error.
func Run(ctx context.Context, db Store, tr Sender, id int64, s Settings, opts Options) (*Result, error) {
	opts.defaults()
	c, err := db.FindCampaign(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.State == leadmailer.CampaignFinished || c.State == leadmailer.CampaignCancelled {
		return nil, leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is %s: there is nothing to send", id, c.State)
	}
	b, err := NewBuilder(c, s, func() (map[int64]*leadmailer.ImportRun, error) { return db.ImportRunsByID(ctx) })
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	// The audience is in the ledger before the campaign is marked running, so that a crash
	// in between leaves a campaign that starts afresh rather than one that runs empty.
	fresh := c.StartedAt == nil || (c.State != leadmailer.CampaignRunning && c.State != leadmailer.CampaignPaused)
	if fresh {
		if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{ConsentOnlyCountries: opts.ConsentOnlyCountries}); err != nil {
			return nil, err
		}
	}
	if c, err = db.SetCampaignState(ctx, id, leadmailer.CampaignRunning, ""); err != nil {
		return nil, err
	}
	res := &Result{}
	if opts.Exclusive {
		res.Requeued, err = db.EndLeases(ctx, id)
	} else {
		res.Requeued, err = db.RequeueInFlight(ctx, id, opts.Now())
	}
	if err != nil {
		return nil, err
	}
	rep, err := db.CampaignReport(ctx, id)
	if err != nil {
		return nil, err
	}
	r := &run{db: db, tr: tr, c: c, b: b, opts: opts, res: res, breaker: newBreaker(opts)}
	r.res.Total = rep.Queued
	if err := r.send(ctx); err != nil {
		return nil, r.pauseAfter(ctx, err)
	}
	if blamed := r.breaker.blame(); len(blamed) > 0 {
		// The ledger has recorded the refusals; they are undone together, even when ctx
		// is done, so that no lead keeps a mark the relay's fault wrote.
		n, marks, err := db.WithdrawFailures(context.WithoutCancel(ctx), id, blamed)
		if err != nil {
			return nil, err
		}
		r.res.Failed -= n
		r.res.Withdrawn, r.res.Unmarked = n, marks
	}
	return r.finish(ctx)
}

type run struct {
	db   Store
	tr   Sender
	c    *leadmailer.Campaign
	b    *Builder
	opts Options
	res  *Result

	ledger *ledgerWriter
	// stop ends feeding: set on pause, cancel or too many errors, with the reason.
	stopOnce   sync.Once
	stopFeed   context.CancelFunc
	stopState  leadmailer.CampaignState
	stopReason string

	consecutive atomic.Int64
	breaker     *breaker
}

func (r *run) stop(state leadmailer.CampaignState, reason string) {
	r.stopOnce.Do(func() {
		r.stopState, r.stopReason = state, reason
		r.stopFeed()
	})
}

type job struct {
	p store.Pending
}

// errLeaseLost is what a worker's "sending" mark commits to when the row has gone to
// another process: its lease ran out while this one could not renew it.
var errLeaseLost = errors.New("the row's lease has gone to another process")

func (r *run) send(ctx context.Context) error {
	l, err := r.db.OpenLedger(ctx)
	if err != nil {
		return err
	}
	defer l.Close()
	r.ledger = newLedgerWriter(l, r.opts.Progress, &r.res.Progress)
	defer r.ledger.close()

	feedCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.stopFeed = cancel

	limiter := r.opts.Limiter
	if limiter == nil {
		limiter = NewLimiter(r.opts.Rate, r.opts.Concurrency)
	}

	// A batch is read about twice a second at the configured rate, so that a pause from
	// another process takes effect quickly even on a slow campaign.
	batch := 500
	if r.opts.Rate > 0 {
		batch = min(max(int(r.opts.Rate/2), 2*r.opts.Concurrency, 8), 500)
	}
	jobs := make(chan job, batch)
	var outstanding sync.WaitGroup
	var workers sync.WaitGroup
	for range r.opts.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			r.work(feedCtx, jobs, limiter, &outstanding)
		}()
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		r.watch(feedCtx)
	}()
	renewCtx, stopRenewing := context.WithCancel(context.WithoutCancel(ctx))
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		r.renew(renewCtx)
	}()
	ferr := r.feed(feedCtx, jobs, batch, &outstanding)
	close(jobs)
	workers.Wait()
	cancel()
	<-watched
	ledgerErr := r.ledger.flush()
	stopRenewing()
	<-renewed
	// What this run leased and did not reach, or could not record, goes back at once, for
	// another process or the next run, rather than when the lease runs out: none of its
	// messages is in flight now.
	if err := r.db.ReleaseLeases(context.WithoutCancel(ctx), r.c.ID, r.opts.Owner); err != nil && ledgerErr == nil {
		ledgerErr = err
	}
	if ledgerErr != nil {
		return ledgerErr
	}
	if ferr != nil && !errors.Is(ferr, context.Canceled) {
		return ferr
	}
	return r.ledger.err()
}

// watch stops the run when the campaign's state changes under it: paused or cancelled by
// another process.
func (r *run) watch(ctx context.Context) {
	t := time.NewTicker(r.opts.StatePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, err := r.db.FindCampaign(ctx, r.c.ID)
		if err == nil && c.State != leadmailer.CampaignRunning {
			r.stop(c.State, c.Reason)
			return
		}
	}
}

// renew keeps the run's leases until ctx ends, renewing them three times a lease so that
// one slow or failed renewal does not let them run out.
func (r *run) renew(ctx context.Context) {
	t := time.NewTicker(r.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A failure is tried again at the next tick; the "sending" marks check the lease,
		// so rows lost meanwhile are not sent twice.
		r.db.RenewLeases(ctx, r.c.ID, r.opts.Owner, r.opts.Now().Add(r.opts.Lease))
	}
}

// emptyPoll is the shortest wait between two claims that found nothing to lease, so that
// clocks a little apart between processes cannot make a run spin.
const emptyPoll = 100 * time.Millisecond

// feed leases queued rows and hands them to the workers until none is outstanding or
// feeding stops. A row is leased to this run until its outcome is recorded, so no claim
// hands it out again; a row queued again for a retry is leased afresh when it comes due.
// When nothing can be leased now, the feeder waits for the first retry to come due or the
// first lease of another process to run out (that process may have died), and stops when
// no row is left queued or in flight anywhere.
func (r *run) feed(ctx context.Context, jobs chan<- job, batch int, outstanding *sync.WaitGroup) error {
	err := r.feedUntilDone(ctx, jobs, batch, outstanding)
	if err != nil && ctx.Err() != nil {
		// The run was stopped: a query it cut off fails with whatever the driver says, such
		// as sql.ErrTxDone for the lease's transaction that database/sql rolled back, which
		// is the stop, not a fault of the database.
		return ctx.Err()
	}
	return err
}

func (r *run) feedUntilDone(ctx context.Context, jobs chan<- job, batch int, outstanding *sync.WaitGroup) error {
	empty := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := r.db.FindCampaign(ctx, r.c.ID)
		if err != nil {
			return err
		}
		if c.State != leadmailer.CampaignRunning {
			r.stop(c.State, c.Reason)
			return nil
		}
		ps, requeued, err := r.db.LeasePending(ctx, r.c.ID, r.opts.Owner, r.opts.Now(), r.opts.Lease, batch)
		if err != nil {
			return err
		}
		r.res.Requeued += requeued
		if len(ps) == 0 {
			// Every row this run leased has its outcome once the workers are done and the
			// ledger is flushed; what is still outstanding waits for a retry or is another
			// process's.
			outstanding.Wait()
			if err := r.ledger.flush(); err != nil {
				return err
			}
			n, next, err := r.db.Outstanding(ctx, r.c.ID)
			if err != nil || n == 0 {
				return err
			}
			wait := min(next.Sub(r.opts.Now()), r.opts.Lease)
			if empty {
				wait = max(wait, emptyPoll)
			}
			empty = true
			if wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
			continue
		}
		empty = false
		for _, p := range ps {
			outstanding.Add(1)
			select {
			case jobs <- job{p: p}:
			case <-ctx.Done():
				outstanding.Done()
				return ctx.Err()
			}
		}
	}
}

// work sends the messages of jobs. Once ctx is done it leaves the remaining jobs queued in
// the ledger; a message it has started is always finished and recorded.
func (r *run) work(ctx context.Context, jobs <-chan job, limiter *rate.Limiter, outstanding *sync.WaitGroup) {
	committed := make(chan error, 1)
	for j := range jobs {
		r.one(ctx, j.p, limiter, committed)
		outstanding.Done()
	}
}

func (r *run) one(ctx context.Context, p store.Pending, limiter *rate.Limiter, committed chan error) {
	if ctx.Err() != nil {
		return
	}
	if p.Skip != "" {
		r.ledger.add(store.LedgerUpdate{RecipientID: p.RecipientID, Status: leadmailer.RecipientSkipped,
			Reason: p.Skip, Attempts: p.Attempts, Owner: r.opts.Owner}, nil)
		return
	}
	m, err := r.b.Message(p.Lead, r.opts.Now())
	if err != nil {
		// The message is not sent: its lead makes the template fail, or the notice check.
		r.ledger.add(store.LedgerUpdate{RecipientID: p.RecipientID, Status: leadmailer.RecipientFailed,
			Reason: leadmailer.SkipRender, Reply: err.Error(), Attempts: p.Attempts, Owner: r.opts.Owner}, nil)
		return
	}
	if err := limiter.Wait(ctx); err != nil {
		return
	}
	// The address's suppression hash is committed with the mark, before the message with
	// its unsubscribe link leaves: the link works even after retention deletes the lead.
	r.ledger.add(store.LedgerUpdate{RecipientID: p.RecipientID, Status: leadmailer.RecipientSending,
		MessageID: m.MessageID, RecipientHash: p.RecipientHash, Subject: m.Subject, Owner: r.opts.Owner}, committed)
	if err := <-committed; errors.Is(err, errLeaseLost) {
		return // another process sends it
	} else if err != nil {
		// Nothing is sent that the ledger cannot record first.
		r.stop(leadmailer.CampaignPaused, ReasonLedgerFailed+": "+err.Error())
		return
	}
	// The send is finished even when ctx ends meanwhile: abandoning it would leave the
	// server with a message the ledger cannot account for. The transport's timeout bounds it.
	reply, err := r.tr.Send(context.WithoutCancel(ctx), m)
	attempts := p.Attempts + 1
	u := store.LedgerUpdate{RecipientID: p.RecipientID, Attempts: attempts, Reply: reply, LeadID: p.LeadID,
		OutcomeUnknown: mailer.IsUnknownOutcome(err), Owner: r.opts.Owner}
	switch {
	case err == nil:
		r.consecutive.Store(0)
		r.breaker.delivered()
		u.Status = leadmailer.RecipientSent
	case mailer.IsRelayFault(err):
		// The relay would say the same for anybody: the recipient keeps its attempts and
		// its place in the queue.
		u.Status, u.Reply, u.Attempts = leadmailer.RecipientQueued, err.Error(), p.Attempts
		u.NotBefore = r.opts.Now()
		if mailer.IsTemporary(err) {
			u.NotBefore = r.opts.Now().Add(r.backoff(attempts))
		} else {
			r.stop(leadmailer.CampaignPaused, fmt.Sprintf("%s; fix the relay settings and resume: %v", ReasonRelayRefused, err))
		}
	case mailer.IsUnknownOutcome(err) && attempts < r.opts.MaxAttempts:
		// The server had the whole message and did not say whether it took it: sending
		// again soon is likely to deliver it twice. The retry waits the longest backoff
		// and goes with the same Message-ID, by which receivers can tell a copy.
		u.Status, u.Reply = leadmailer.RecipientQueued, err.Error()
		u.NotBefore = r.opts.Now().Add(r.opts.MaxBackoff)
	case mailer.IsTemporary(err) && attempts < r.opts.MaxAttempts:
		u.Status, u.Reply = leadmailer.RecipientQueued, err.Error()
		u.NotBefore = r.opts.Now().Add(r.backoff(attempts))
	case mailer.IsUserUnknown(err):
		// One unknown address says nothing about the relay: it does not count as an error
		// in a row.
		u.Status, u.Reply, u.Undeliverable = leadmailer.RecipientFailed, err.Error(), true
	default:
		u.Status, u.Reply = leadmailer.RecipientFailed, err.Error()
	}
	switch {
	case unbuildable(err):
		// Not a send: it says nothing about the relay, neither as a refusal nor as an error
		// in a row.
	case u.Status == leadmailer.RecipientFailed:
		if tripped, how := r.breaker.refused(p.RecipientID); tripped {
			r.stop(leadmailer.CampaignPaused, fmt.Sprintf("%s (%s); they are queued again: check the relay and resume; the last: %v",
				ReasonTooManyRefused, how, err))
		}
	case err != nil:
		if n := r.consecutive.Add(1); n >= int64(r.opts.MaxConsecutiveErrors) {
			r.stop(leadmailer.CampaignPaused, fmt.Sprintf("%s (%d); the last: %v", ReasonTooManyErrors, n, err))
		}
	}
	r.ledger.add(u, nil)
}

// unbuildable reports whether err is the transport's refusal to build the message (an
// address it cannot write, an empty body): that is the lead's or the template's problem,
// which the relay never saw, so it is no sign of a relay refusing everybody and is kept out
// of the breaker's count.
func unbuildable(err error) bool {
	var se *mailer.SendError
	return err != nil && !errors.As(err, &se) && leadmailer.ErrorCode(err) == leadmailer.EINVALID
}

// pauseTries and pauseWait bound how long a run that failed keeps trying to record its
// pause: a database locked for a while may let the pause through a little later.
const (
	pauseTries = 20
	pauseWait  = 500 * time.Millisecond
)

// pauseAfter pauses the campaign after its run failed with err (the ledger or the database
// could not be written), so that it is not left "running" with nobody sending it; it
// returns err, with the pause's own failure when even that could not be written. The rows
// left "sending" are sent again, with their Message-ID, on resume.
func (r *run) pauseAfter(ctx context.Context, err error) error {
	ctx = context.WithoutCancel(ctx)
	reason := r.stopReason
	if !strings.HasPrefix(reason, ReasonLedgerFailed) {
		reason = ReasonLedgerFailed + ": " + err.Error()
	}
	var perr error
	for range pauseTries {
		var c *leadmailer.Campaign
		if c, perr = r.db.FindCampaign(ctx, r.c.ID); perr == nil {
			if c.State != leadmailer.CampaignRunning {
				return err // paused or cancelled meanwhile by somebody else
			}
			if _, perr = r.db.SetCampaignState(ctx, r.c.ID, leadmailer.CampaignPaused, reason); perr == nil {
				return fmt.Errorf("campaign %d paused: %w", r.c.ID, err)
			}
		}
		time.Sleep(pauseWait)
	}
	return fmt.Errorf("campaign %d: %w (and it could not be paused: %v)", r.c.ID, err, perr)
}

// backoff is the wait before the retry that follows attempt number attempts.
func (r *run) backoff(attempts int) time.Duration {
	b := r.opts.Backoff << (max(attempts, 1) - 1)
	if b > r.opts.MaxBackoff || b <= 0 {
		b = r.opts.MaxBackoff
	}
	return b
}

// finish sets the campaign's state after a run.
func (r *run) finish(ctx context.Context) (*Result, error) {
	// The state is written even when ctx is done: that is how an interrupted run is paused.
	wctx := context.WithoutCancel(ctx)
	state, reason := r.stopState, r.stopReason
	switch {
	case state != "":
		// Stopped by a pause, a cancel, or too many errors.
	case ctx.Err() != nil && r.opts.KeepRunningOnStop:
		state = leadmailer.CampaignRunning
	case ctx.Err() != nil:
		state, reason = leadmailer.CampaignPaused, ReasonInterrupted
	default:
		n, _, err := r.db.NextRetry(wctx, r.c.ID)
		if err != nil {
			return nil, err
		}
		state = leadmailer.CampaignFinished
		if n > 0 {
			state, reason = leadmailer.CampaignPaused, ReasonInterrupted
		} else if r.c.Cron != "" {
			state = leadmailer.CampaignScheduled
		}
	}
	c, err := r.db.FindCampaign(wctx, r.c.ID)
	if err != nil {
		return nil, err
	}
	if c.State == leadmailer.CampaignRunning && state != leadmailer.CampaignRunning {
		if _, err := r.db.SetCampaignState(wctx, r.c.ID, state, reason); err != nil {
			return nil, err
		}
	} else {
		state, reason = c.State, c.Reason
	}
	r.res.State, r.res.Reason = state, reason
	return r.res, nil
}
