package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Bounce kinds, as stored.
const (
	BounceHard      = "hard"
	BounceSoft      = "soft"
	BounceComplaint = "complaint"
)

// What RecordBounce did about a report, as stored in bounces.action.
const (
	BounceMarked     = "marked"     // the lead is now undeliverable
	BounceCounted    = "counted"    // recorded; a soft bounce under the limit, or a lead marked before
	BounceSuppressed = "suppressed" // a complaint: the address is on the suppression list
	BounceHeld       = "held"       // part of a burst from one reporter: the lead was not marked
	BounceDuplicate  = "duplicate"  // the same report was recorded before; nothing changed
	BounceNotSent    = "not sent"   // the campaign sent the lead nothing; nothing changed
)

// BounceEvent is one recipient's bounce or complaint, tied to a campaign's ledger row.
type BounceEvent struct {
	// Key identifies the report and recipient, so that a report delivered twice is counted
	// once: the report's own ID and the address.
	Key        string
	CampaignID int64
	LeadID     int64
	Kind       string // BounceHard, BounceSoft or BounceComplaint
	Status     string // enhanced status code, such as "5.1.1"
	Diagnostic string // the remote server's words; may quote the address
	Reporter   string // the reporting host or provider
	Via        string // how the report arrived: "smtp", "ingest", "webhook:ses"…
	Format     string // how it was read: "dsn", "arf", "text:qmail", "sendgrid"…
}

// BouncePolicy is what RecordBounce does with bounces beyond the single report.
type BouncePolicy struct {
	// SoftLimit soft bounces of one lead within SoftWindow make it undeliverable.
	SoftLimit  int
	SoftWindow time.Duration
	// BurstCount hard bounces for one campaign from one reporter within BurstWindow are a
	// fault at that reporter (a relay rejecting everything after accepting it), not as many
	// bad addresses: the campaign pauses, and the marks of the burst are withdrawn.
	BurstCount  int
	BurstWindow time.Duration
	// A campaign whose hard-bounce or complaint rate (of its sent messages) crosses these
	// pauses, once it has sent at least RateMinSent messages. Zero: no pause.
	BounceRate, ComplaintRate float64
	RateMinSent               int64
}

// DefaultBouncePolicy is what a mailbox provider expects of a bulk sender: stop after a few
// soft bounces, and stop a campaign whose complaints pass 0.3 % or bounces 5 %.
var DefaultBouncePolicy = BouncePolicy{
	SoftLimit: 3, SoftWindow: 30 * 24 * time.Hour,
	BurstCount: 50, BurstWindow: 10 * time.Minute,
	BounceRate: 0.05, ComplaintRate: 0.003, RateMinSent: 100,
}

// BounceOutcome says what recording a bounce did.
type BounceOutcome struct {
	Action string // BounceMarked, BounceCounted, BounceSuppressed, BounceHeld or BounceDuplicate
	// Paused is the reason the campaign was paused by this report; empty when it was not.
	Paused string
	// Withdrawn is how many undeliverable marks a burst took back.
	Withdrawn int64
}

// Bounce is one recorded bounce or complaint, as a lead's page and `leads show` list it.
type Bounce struct {
	ID         int64     `json:"id"`
	CampaignID int64     `json:"campaign_id"`
	LeadID     int64     `json:"lead_id"`
	Kind       string    `json:"kind"`
	Status     string    `json:"status,omitempty"`
	Diagnostic string    `json:"diagnostic,omitempty"`
	Reporter   string    `json:"reporter,omitempty"`
	Via        string    `json:"via"`
	Format     string    `json:"format,omitempty"`
	Action     string    `json:"action"`
	ReceivedAt time.Time `json:"received_at"`
}

// RecordBounce records a bounce or complaint for the ledger row of e's campaign and lead and
// acts on it by policy p: a hard bounce marks the lead undeliverable, the SoftLimit-th soft
// bounce within SoftWindow does too, a complaint suppresses the address (reason
// "complaint") at once. A hard bounce that makes a burst from one reporter pauses the
// campaign and withdraws the burst's marks instead; a report that makes the campaign's
// bounce or complaint rate cross its limit pauses the campaign. Each recorded report
// leaves an audit entry (lead.bounce or lead.complaint) naming the lead by number.
//
// It fails with ENOTFOUND when the campaign sent the lead nothing, so that a report about a
// message leadmailer did not send changes nothing.
func (db *DB) RecordBounce(ctx context.Context, e BounceEvent, p BouncePolicy) (*BounceOutcome, error) {
	outs, err := db.RecordBounces(ctx, []BounceEvent{e}, p)
	if err != nil {
		return nil, err
	}
	if outs[0].Action == BounceNotSent {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "campaign %d sent lead %d nothing", e.CampaignID, e.LeadID)
	}
	return outs[0], nil
}

// RecordBounces is RecordBounce for many events, in one transaction: everything they change,
// with their audit entries, is committed together or not at all. An event about a message
// the campaign did not send has the outcome BounceNotSent.
func (db *DB) RecordBounces(ctx context.Context, events []BounceEvent, p BouncePolicy) ([]*BounceOutcome, error) {
	for _, e := range events {
		switch e.Kind {
		case BounceHard, BounceSoft, BounceComplaint:
		default:
			return nil, leadmailer.Errorf(leadmailer.EINVALID, "bounce kind %q: want hard, soft or complaint", e.Kind)
		}
	}
	outs := make([]*BounceOutcome, len(events))
	now := db.now().UTC()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		st := &batchStmts{tx: tx}
		defer st.close()
		for i, e := range events {
			out, err := db.recordBounce(ctx, st, e, p, now)
			if err != nil {
				return fmt.Errorf("record %s bounce of lead %d in campaign %d: %w", e.Kind, e.LeadID, e.CampaignID, err)
			}
			outs[i] = out
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, out := range outs {
		if out.Paused != "" {
			if err := db.pauseForBounces(ctx, events[i].CampaignID, out.Paused); err != nil {
				return nil, err
			}
		}
	}
	return outs, nil
}

func (db *DB) recordBounce(ctx context.Context, st *batchStmts, e BounceEvent, p BouncePolicy, now time.Time) (*BounceOutcome, error) {
	tx := st.tx
	out := &BounceOutcome{}
	var email string
	err := func() error {
		var rowID int64
		var status leadmailer.RecipientStatus
		var before string
		// marked: the lead is undeliverable already, or gone (deleted by retention), so that
		// this report marks nothing.
		var marked bool
		err := st.scan(ctx, `SELECT r.id, r.status, r.bounce, coalesce(l.email, ''),
				l.id IS NULL OR l.undeliverable_at IS NOT NULL
			FROM campaign_recipients r LEFT JOIN leads l ON l.id = r.lead_id
			WHERE r.campaign_id = ? AND r.lead_id = ?`, []any{e.CampaignID, e.LeadID}, &rowID, &status, &before, &email, &marked)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (status == leadmailer.RecipientQueued || status == leadmailer.RecipientSkipped) {
			out.Action = BounceNotSent
			return nil
		}
		if err != nil {
			return err
		}

		// The action is decided before the report is inserted, so that the row is written
		// once with it.
		action := BounceCounted
		markReason := ""
		switch e.Kind {
		case BounceComplaint:
			action = BounceSuppressed
		case BounceHard:
			if p.BurstCount > 0 {
				// Counting stops at the burst size: a large campaign may have many bounces
				// from one big provider within the window.
				var n int
				if err := st.scan(ctx, `SELECT count(*) FROM (SELECT 1 FROM bounces WHERE campaign_id = ?
					AND reporter = ? AND kind = 'hard' AND received_at >= ? LIMIT ?) AS burst`, []any{e.CampaignID, e.Reporter,
					formatTime(now.Add(-p.BurstWindow)), p.BurstCount}, &n); err != nil {
					return err
				}
				if n+1 >= p.BurstCount {
					action = BounceHeld
				}
			}
			if action != BounceHeld && !marked {
				action = BounceMarked
				markReason = fmt.Sprintf("bounced (campaign %d): %s", e.CampaignID, joinNonEmpty(e.Status, e.Diagnostic))
			}
		case BounceSoft:
			if p.SoftLimit > 0 && !marked {
				var n int
				if err := st.scan(ctx, `SELECT count(*) FROM bounces WHERE lead_id = ? AND kind = 'soft'
					AND received_at >= ?`, []any{e.LeadID, formatTime(now.Add(-p.SoftWindow))}, &n); err != nil {
					return err
				}
				if n+1 >= p.SoftLimit { // this report is not counted yet
					action = BounceMarked
					markReason = fmt.Sprintf("%d soft bounces within %s, the last (campaign %d): %s", n+1, days(p.SoftWindow),
						e.CampaignID, joinNonEmpty(e.Status, e.Diagnostic))
				}
			}
		}
		// RETURNING rather than LastInsertId, which PostgreSQL's driver does not offer; a
		// duplicate report inserts nothing and so returns no row.
		var bounceID int64
		err = st.scan(ctx, `INSERT INTO bounces (report_key, campaign_id, lead_id, kind, status, diagnostic,
			reporter, via, format, action, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (report_key) DO NOTHING RETURNING id`,
			[]any{e.Key, e.CampaignID, e.LeadID, e.Kind, e.Status, e.Diagnostic, e.Reporter, e.Via, e.Format, action, formatTime(now)},
			&bounceID)
		if errors.Is(err, sql.ErrNoRows) {
			out.Action = BounceDuplicate
			return nil
		}
		if err != nil {
			return err
		}
		// A complaint or a hard bounce says more than a soft one; a soft bounce after either
		// leaves the row as it was.
		counted := false
		if e.Kind != BounceSoft || before == "" || before == BounceSoft {
			counted = before != e.Kind
			if _, err := st.exec(ctx, `UPDATE campaign_recipients SET bounce = ?, bounce_status = ?,
				bounce_diagnostic = ?, bounced_at = ? WHERE id = ?`,
				e.Kind, e.Status, e.Diagnostic, formatTime(now), rowID); err != nil {
				return err
			}
			if err := countBounce(ctx, st, e.CampaignID, before, e.Kind); err != nil {
				return err
			}
		}

		switch {
		case action == BounceHeld:
			out.Paused = fmt.Sprintf("%d or more hard bounces from %s within %s: that looks like a fault at %s, not as many bad addresses; "+
				"no lead was marked undeliverable for them. Check the reports (campaigns recipients %d --status bounced), then resume",
				p.BurstCount, orUnknown(e.Reporter), p.BurstWindow, orUnknown(e.Reporter), e.CampaignID)
			res, err := tx.ExecContext(ctx, `UPDATE leads SET undeliverable_at = NULL, undeliverable_reason = ''
				WHERE id IN (SELECT lead_id FROM bounces WHERE campaign_id = ? AND reporter = ? AND action = 'marked' AND kind = 'hard')
				AND undeliverable_reason LIKE ?`,
				e.CampaignID, e.Reporter, fmt.Sprintf("bounced (campaign %d)%%", e.CampaignID))
			if err != nil {
				return err
			}
			if out.Withdrawn, err = res.RowsAffected(); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE bounces SET action = 'held' WHERE campaign_id = ? AND reporter = ?
				AND action = 'marked' AND kind = 'hard'`, e.CampaignID, e.Reporter); err != nil {
				return err
			}
		case action == BounceMarked:
			// The lead was read in this transaction: it is not marked yet. The condition
			// keeps an earlier mark's reason should that ever not hold.
			if _, err := st.exec(ctx, `UPDATE leads SET undeliverable_at = ?, undeliverable_reason = ?
				WHERE id = ? AND undeliverable_at IS NULL`,
				formatTime(now), markReason, e.LeadID); err != nil {
				return err
			}
		}
		out.Action = action
		if e.Kind == BounceComplaint {
			if err := db.suppressComplaint(ctx, tx, e, email); err != nil {
				return err
			}
		}
		if out.Paused == "" && counted {
			reason, err := db.bounceRateCrossed(ctx, st, e, p)
			if err != nil {
				return err
			}
			out.Paused = reason
		}
		if err := db.enqueueBounceEvent(ctx, st, e, bounceID, action); err != nil {
			return err
		}
		return db.auditBounce(ctx, tx, e, out, now)
	}()
	return out, err
}

// countBounce moves one ledger row's outcome from before ("" for none) to kind in the
// campaign's counts.
func countBounce(ctx context.Context, st *batchStmts, campaignID int64, before, kind string) error {
	if before == kind {
		return nil
	}
	dec := ""
	if before != "" {
		dec = ", " + before + " = campaign_bounce_counts." + before + " - 1"
	}
	// kind and before are among the three column names, checked by RecordBounce.
	_, err := st.exec(ctx, `INSERT INTO campaign_bounce_counts (campaign_id, `+kind+`) VALUES (?, 1)
		ON CONFLICT (campaign_id) DO UPDATE SET `+kind+` = campaign_bounce_counts.`+kind+` + 1`+dec, campaignID)
	return err
}

// sentCacheFor is how long a campaign's sent count is reused: the rate check after each
// bounce needs it, and counting a large campaign's ledger for every bounce made ingesting
// slow down with the campaign's size. A few seconds' staleness moves a rate by a hair.
const sentCacheFor = 10 * time.Second

// sentCount returns how many of the campaign's messages the ledger records as sent.
// It reads through the batch's transaction: through the pool it took a second connection,
// with a page cache of its own, for the length of an ingest.
func (db *DB) sentCount(ctx context.Context, st *batchStmts, campaignID int64) (int64, error) {
	db.sent.mu.Lock()
	c, ok := db.sent.m[campaignID]
	db.sent.mu.Unlock()
	now := db.now()
	if ok && now.Sub(c.at) < sentCacheFor && now.Sub(c.at) >= 0 {
		return c.n, nil
	}
	var n int64
	if err := st.scan(ctx, `SELECT count(*) FROM campaign_recipients WHERE campaign_id = ? AND status = 'sent'`,
		[]any{campaignID}, &n); err != nil {
		return 0, fmt.Errorf("campaign %d sent count: %w", campaignID, err)
	}
	db.sent.mu.Lock()
	if db.sent.m == nil {
		db.sent.m = map[int64]sentCount{}
	}
	db.sent.m[campaignID] = sentCount{n: n, at: now}
	db.sent.mu.Unlock()
	return n, nil
}

// sentCache holds recent sent counts by campaign.
type sentCache struct {
	mu sync.Mutex
	m  map[int64]sentCount
}

type sentCount struct {
	n  int64
	at time.Time
}

// suppressComplaint puts the complaining address on the suppression list. A lead deleted by
// retention since is suppressed by the hash the ledger kept; an erased one is suppressed
// already.
func (db *DB) suppressComplaint(ctx context.Context, tx *sql.Tx, e BounceEvent, email string) error {
	if email != "" {
		entry := SuppressionEntry{Kind: SuppressAddress, Value: email, Origin: OriginObjection, Reason: "complaint", CampaignID: e.CampaignID}
		hash, match, args, err := db.entryMatch(entry)
		if err != nil {
			return err
		}
		_, err = db.suppress(ctx, tx, entry, hash, match, args)
		return err
	}
	var hash string
	err := tx.QueryRowContext(ctx, `SELECT recipient_hash FROM campaign_recipients WHERE campaign_id = ? AND lead_id = ?`,
		e.CampaignID, e.LeadID).Scan(&hash)
	if err != nil || hash == "" {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO suppressions (hash, kind, origin, reason, campaign_id, created_at)
		VALUES (?, 'address', 'objection', 'complaint', ?, ?) ON CONFLICT (hash) DO NOTHING`,
		hash, e.CampaignID, formatTime(db.now()))
	return err
}

// auditBounce records what a report did to a lead, by lead number, never by address, and
// the pause it caused.
func (db *DB) auditBounce(ctx context.Context, tx *sql.Tx, e BounceEvent, out *BounceOutcome, now time.Time) error {
	if out.Action == BounceDuplicate || out.Action == BounceNotSent {
		return nil
	}
	action := leadmailer.AuditLeadBounce
	if e.Kind == BounceComplaint {
		action = leadmailer.AuditLeadComplaint
	}
	detail := fmt.Sprintf("campaign %d: %s %s from %s via %s (%s): %s", e.CampaignID, e.Kind, e.Status,
		orDash(e.Reporter), e.Via, orDash(e.Format), out.Action)
	if out.Withdrawn > 0 {
		detail += fmt.Sprintf("; %d undeliverable marks of the burst withdrawn", out.Withdrawn)
	}
	entries := []*leadmailer.AuditEntry{{Time: now, Actor: "bounces", Action: action, Target: fmt.Sprintf("lead %d", e.LeadID), Detail: detail}}
	if out.Paused != "" {
		entries = append(entries, &leadmailer.AuditEntry{Time: now, Actor: "bounces", Action: leadmailer.AuditCampaignPause,
			Target: fmt.Sprintf("campaign %d", e.CampaignID), Detail: out.Paused})
	}
	for _, a := range entries {
		if err := db.recordAudit(ctx, tx, a); err != nil {
			return err
		}
	}
	return nil
}

// bounceRateCrossed returns why the campaign must pause when the report just recorded made
// its hard-bounce or complaint rate cross the policy's limit, or "". Only the report that
// crosses pauses: a user who resumes the campaign knowingly is not stopped again by every
// later bounce.
func (db *DB) bounceRateCrossed(ctx context.Context, st *batchStmts, e BounceEvent, p BouncePolicy) (string, error) {
	limit := p.BounceRate
	what := "hard-bounce"
	if e.Kind == BounceComplaint {
		limit, what = p.ComplaintRate, "complaint"
	}
	if limit <= 0 || e.Kind == BounceSoft {
		return "", nil
	}
	var n int64
	err := st.scan(ctx, `SELECT `+e.Kind+` FROM campaign_bounce_counts WHERE campaign_id = ?`, []any{e.CampaignID}, &n)
	if err != nil {
		return "", fmt.Errorf("campaign %d bounce rate: %w", e.CampaignID, err)
	}
	sent, err := db.sentCount(ctx, st, e.CampaignID)
	if err != nil {
		return "", err
	}
	if sent < p.RateMinSent || sent == 0 {
		return "", nil
	}
	before, after := float64(n-1)/float64(sent), float64(n)/float64(sent)
	if before > limit || after <= limit {
		return "", nil
	}
	return fmt.Sprintf("%s rate %.2f %% (%d of %d sent) passed the limit of %.2f %%: mailbox providers block senders above it. "+
		"Clean the list, then resume", what, after*100, n, sent, limit*100), nil
}

// pauseForBounces pauses a campaign that is still sending or scheduled; one that finished
// keeps its state, and the reason goes nowhere but the caller's log.
func (db *DB) pauseForBounces(ctx context.Context, campaignID int64, reason string) error {
	c, err := db.FindCampaign(ctx, campaignID)
	if err != nil {
		return err
	}
	if !leadmailer.CanTransition(c.State, leadmailer.CampaignPaused) {
		return nil
	}
	_, err = db.SetCampaignState(ctx, campaignID, leadmailer.CampaignPaused, reason)
	if leadmailer.ErrorCode(err) == leadmailer.ECONFLICT {
		return nil // it finished or was cancelled meanwhile
	}
	return err
}

// FindBounces returns a lead's recorded bounces and complaints, newest first.
func (db *DB) FindBounces(ctx context.Context, leadID int64) ([]Bounce, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, campaign_id, lead_id, kind, status, diagnostic, reporter, via,
		format, action, received_at FROM bounces WHERE lead_id = ? ORDER BY id DESC`, leadID)
	if err != nil {
		return nil, fmt.Errorf("bounces of lead %d: %w", leadID, err)
	}
	defer rows.Close()
	var out []Bounce
	for rows.Next() {
		var b Bounce
		var at string
		if err := rows.Scan(&b.ID, &b.CampaignID, &b.LeadID, &b.Kind, &b.Status, &b.Diagnostic, &b.Reporter, &b.Via,
			&b.Format, &b.Action, &at); err != nil {
			return nil, fmt.Errorf("bounces of lead %d: %w", leadID, err)
		}
		if b.ReceivedAt, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown reporter"
	}
	return s
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// LastSend returns the campaign that most recently sent lead leadID a message, for a report
// that names only the address; ENOTFOUND when none did.
func (db *DB) LastSend(ctx context.Context, leadID int64) (int64, error) {
	var id int64
	err := db.sql.QueryRowContext(ctx, `SELECT campaign_id FROM campaign_recipients
		WHERE lead_id = ? AND status IN ('sent', 'sending') ORDER BY sending_at DESC, id DESC LIMIT 1`, leadID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, leadmailer.Errorf(leadmailer.ENOTFOUND, "no campaign sent lead %d a message", leadID)
	}
	if err != nil {
		return 0, fmt.Errorf("last send to lead %d: %w", leadID, err)
	}
	return id, nil
}

// batchStmts prepares each statement of a batch of bounces once, in the batch's transaction:
// preparing was a quarter of the CPU time of recording a bounce, and a batch runs the same
// few statements hundreds of times.
type batchStmts struct {
	tx *sql.Tx
	m  map[string]*sql.Stmt
}

func (b *batchStmts) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := b.m[query]; ok {
		return s, nil
	}
	s, err := b.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if b.m == nil {
		b.m = map[string]*sql.Stmt{}
	}
	b.m[query] = s
	return s, nil
}

func (b *batchStmts) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := b.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// scan runs a query of one row and scans it into dest; sql.ErrNoRows when there is none.
func (b *batchStmts) scan(ctx context.Context, query string, args []any, dest ...any) error {
	s, err := b.prepare(ctx, query)
	if err != nil {
		return err
	}
	return s.QueryRowContext(ctx, args...).Scan(dest...)
}

func (b *batchStmts) close() {
	for _, s := range b.m {
		s.Close()
	}
}
