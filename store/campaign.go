package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

const campaignColumns = `id, name, subject, html, text, body_language, countries, sources, kinds, send_at, cron,
	state, reason, created_by, created_at, started_at, last_run_at, finished_at`

func scanCampaign(row interface{ Scan(...any) error }) (*leadmailer.Campaign, error) {
	var c leadmailer.Campaign
	var countries, sources, kinds, created string
	var sendAt, started, lastRun, finished sql.NullString
	if err := row.Scan(&c.ID, &c.Name, &c.Subject, &c.HTML, &c.Text, &c.BodyLanguage, &countries, &sources, &kinds,
		&sendAt, &c.Cron, &c.State, &c.Reason, &c.CreatedBy, &created, &started, &lastRun, &finished); err != nil {
		return nil, err
	}
	c.Countries = splitList(countries, ",")
	c.Sources = splitList(sources, "\n")
	for _, k := range splitList(kinds, ",") {
		c.Kinds = append(c.Kinds, leadmailer.SourceKind(k))
	}
	var err error
	if c.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		dst **time.Time
		src sql.NullString
	}{{&c.SendAt, sendAt}, {&c.StartedAt, started}, {&c.LastRunAt, lastRun}, {&c.FinishedAt, finished}} {
		if *t.dst, err = nullTime(t.src); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

func splitList(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

func nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

// CreateCampaign stores a new campaign and sets its ID and CreatedAt. Its templates must
// have been checked by the caller.
func (db *DB) CreateCampaign(ctx context.Context, c *leadmailer.Campaign) error {
	if strings.TrimSpace(c.Name) == "" {
		return leadmailer.Errorf(leadmailer.EINVALID, "a campaign needs a name: give --name")
	}
	if c.BodyLanguage != "" && !leadmailer.ValidLanguageTag(c.BodyLanguage) {
		return leadmailer.Errorf(leadmailer.EINVALID, "body language %q is not a language tag such as en, fi, sv or en-GB", c.BodyLanguage)
	}
	for _, k := range c.Kinds {
		if !k.Valid() {
			return leadmailer.Errorf(leadmailer.EINVALID, "source kind %q is not one of upload, public, website", k)
		}
	}
	kinds := make([]string, len(c.Kinds))
	for i, k := range c.Kinds {
		kinds[i] = string(k)
	}
	c.CreatedAt = db.now().UTC()
	err := db.sql.QueryRowContext(ctx, `INSERT INTO campaigns
		(name, subject, html, text, body_language, countries, sources, kinds, send_at, cron, state, created_by, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.Name, c.Subject, c.HTML, c.Text, c.BodyLanguage, strings.Join(c.Countries, ","), strings.Join(c.Sources, "\n"),
		strings.Join(kinds, ","), nullTimeArg(c.SendAt), c.Cron, c.State, c.CreatedBy, formatTime(c.CreatedAt),
	).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("create campaign: %w", err)
	}
	return nil
}

// FindCampaign returns one campaign.
func (db *DB) FindCampaign(ctx context.Context, id int64) (*leadmailer.Campaign, error) {
	return findCampaign(ctx, db.sql, id)
}

// findCampaign reads campaign id through q, the database or a transaction that is about to
// change it.
func findCampaign(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (*leadmailer.Campaign, error) {
	c, err := scanCampaign(q.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no campaign %d: \"leadmailer campaigns list\" shows them", id)
	}
	if err != nil {
		return nil, fmt.Errorf("find campaign %d: %w", id, err)
	}
	return c, nil
}

// FindCampaigns returns the campaigns in the given states (every campaign when none are
// given), newest first.
func (db *DB) FindCampaigns(ctx context.Context, states ...leadmailer.CampaignState) ([]*leadmailer.Campaign, error) {
	query := `SELECT ` + campaignColumns + ` FROM campaigns`
	var args []any
	if len(states) > 0 {
		query += ` WHERE state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
		for _, s := range states {
			args = append(args, s)
		}
	}
	rows, err := db.sql.QueryContext(ctx, query+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("find campaigns: %w", err)
	}
	defer rows.Close()
	var cs []*leadmailer.Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, fmt.Errorf("find campaigns: %w", err)
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// SetCampaignState moves a campaign to state to, recording reason (empty clears it). It
// fails with ECONFLICT, naming both states, when the campaign's current state does not allow
// the move; the check and the change happen in one transaction, so two processes cannot both
// start a campaign. Starting a campaign sets its start times, finishing one its finish time.
func (db *DB) SetCampaignState(ctx context.Context, id int64, to leadmailer.CampaignState, reason string) (*leadmailer.Campaign, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	defer tx.Rollback()
	c, err := findCampaign(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if c.State != to && !leadmailer.CanTransition(c.State, to) {
		return nil, leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is %s: it cannot become %s", id, c.State, to)
	}
	now := db.now().UTC()
	changed := c.State != to
	c.State, c.Reason = to, reason
	switch to {
	case leadmailer.CampaignRunning:
		if c.StartedAt == nil {
			c.StartedAt = &now
		}
	case leadmailer.CampaignFinished, leadmailer.CampaignCancelled, leadmailer.CampaignMissed:
		c.FinishedAt = &now
	}
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = ?, reason = ?, started_at = ?, finished_at = ?
		WHERE id = ?`, c.State, c.Reason, nullTimeArg(c.StartedAt), nullTimeArg(c.FinishedAt), id); err != nil {
		return nil, fmt.Errorf("campaign %d: %w", id, err)
	}
	if to == leadmailer.CampaignCancelled {
		if _, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET status = 'skipped', reason = ?, done_at = ?
			WHERE campaign_id = ? AND status = 'queued'`, leadmailer.SkipCancelled, formatTime(now), id); err != nil {
			return nil, fmt.Errorf("campaign %d: %w", id, err)
		}
	}
	if changed {
		if err := db.enqueueCampaignEvent(ctx, tx, c, now); err != nil {
			return nil, err
		}
	}
	return c, tx.Commit()
}

// AudienceRules are the parts of the audience that come from the configuration rather than
// from the campaign.
type AudienceRules struct {
	// ConsentOnlyCountries: leads there are in the audience only with a consent that has
	// not been withdrawn.
	ConsentOnlyCountries []string
}

// resolveReasons are the skip reasons decided when the audience is resolved; a later
// resolution (the next occurrence of a cron campaign) looks at these rows again.
var resolveReasons = []string{leadmailer.SkipInactive, leadmailer.SkipNoConsent, leadmailer.SkipUndeliverable}

// audienceSQL returns the campaign's filter on leads l (" AND ..." or "") with its arguments,
// and an expression giving the reason lead l must not be mailed (empty when it may) with
// its own arguments.
func audienceSQL(c *leadmailer.Campaign, rules AudienceRules) (filter string, args []any, reason string, reasonArgs []any) {
	var where []string
	in := func(col string, vals []string) {
		where = append(where, col+` IN (?`+strings.Repeat(", ?", len(vals)-1)+`)`)
		for _, v := range vals {
			args = append(args, v)
		}
	}
	if len(c.Countries) > 0 {
		in("l.country", c.Countries)
	}
	if len(c.Sources) > 0 || len(c.Kinds) > 0 {
		cond := `EXISTS (SELECT 1 FROM observations o JOIN import_runs r ON r.id = o.run_id WHERE o.lead_id = l.id`
		if len(c.Sources) > 0 {
			cond += ` AND r.source IN (?` + strings.Repeat(", ?", len(c.Sources)-1) + `)`
			for _, s := range c.Sources {
				args = append(args, s)
			}
		}
		if len(c.Kinds) > 0 {
			cond += ` AND r.kind IN (?` + strings.Repeat(", ?", len(c.Kinds)-1) + `)`
			for _, k := range c.Kinds {
				args = append(args, string(k))
			}
		}
		where = append(where, cond+`)`)
	}
	if len(where) > 0 {
		filter = " AND " + strings.Join(where, " AND ")
	}
	// reason is the skip reason for lead l, or '' when l may be mailed.
	reason = `CASE
		WHEN l.state <> 'active' THEN '` + leadmailer.SkipInactive + `'
		WHEN l.undeliverable_at IS NOT NULL THEN '` + leadmailer.SkipUndeliverable + `'`
	if len(rules.ConsentOnlyCountries) > 0 {
		reason += `
		WHEN l.country IN (?` + strings.Repeat(", ?", len(rules.ConsentOnlyCountries)-1) + `)
			AND NOT EXISTS (SELECT 1 FROM consents k WHERE k.lead_id = l.id AND k.withdrawn_at IS NULL)
			THEN '` + leadmailer.SkipNoConsent + `'`
		for _, cc := range rules.ConsentOnlyCountries {
			reasonArgs = append(reasonArgs, cc)
		}
	}
	reason += ` ELSE '' END`
	return filter, args, reason, reasonArgs
}

// ResolveAudience writes the campaign's audience into its send ledger, in one transaction:
// one row per lead matching the campaign's filters that has no row yet, queued when the lead
// may be mailed and skipped with the reason otherwise (inactive, no consent, undeliverable).
// Rows skipped for those reasons by an earlier resolution are queued again when the reason
// no longer holds; rows already sent, failed or queued are left alone, so every resolution
// adds only people who have not received the campaign. It returns how many rows it queued.
func (db *DB) ResolveAudience(ctx context.Context, c *leadmailer.Campaign, rules AudienceRules) (int64, error) {
	filter, args, reason, reasonArgs := audienceSQL(c, rules)
	now := formatTime(db.now())

	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("resolve audience of campaign %d: %w", c.ID, err)
	}
	defer tx.Rollback()
	// Look again at rows skipped by an earlier resolution: the lead may be eligible now.
	requeue := `UPDATE campaign_recipients SET status = 'queued', reason = '', done_at = NULL, queued_at = ?
		WHERE campaign_id = ? AND status = 'skipped' AND reason IN (?, ?, ?)
		AND lead_id IN (SELECT l.id FROM leads l WHERE (` + reason + `) = ''` + filter + `)`
	rargs := append([]any{now, c.ID, resolveReasons[0], resolveReasons[1], resolveReasons[2]}, reasonArgs...)
	_, err = tx.ExecContext(ctx, requeue, append(rargs, args...)...)
	if err != nil {
		return 0, fmt.Errorf("resolve audience of campaign %d: %w", c.ID, err)
	}

	insert := `INSERT INTO campaign_recipients (campaign_id, lead_id, status, reason, queued_at, done_at)
		SELECT ?, id, CASE WHEN reason = '' THEN 'queued' ELSE 'skipped' END, reason, ?,
			CASE WHEN reason = '' THEN NULL ELSE ? END
		FROM (SELECT l.id, ` + reason + ` AS reason FROM leads l WHERE 1 = 1` + filter + ` ORDER BY l.id) AS audience
		WHERE true
		ON CONFLICT (campaign_id, lead_id) DO NOTHING`
	iargs := append(append([]any{c.ID, now, now}, reasonArgs...), args...)
	if _, err := tx.ExecContext(ctx, insert, iargs...); err != nil {
		return 0, fmt.Errorf("resolve audience of campaign %d: %w", c.ID, err)
	}
	var queued int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM campaign_recipients
		WHERE campaign_id = ? AND status = 'queued' AND queued_at = ?`, c.ID, now).Scan(&queued); err != nil {
		return 0, fmt.Errorf("resolve audience of campaign %d: %w", c.ID, err)
	}
	return queued, tx.Commit()
}

// SetCampaignLastRun records t as the start of the campaign's latest occurrence: a cron
// campaign's next occurrence is the first one after it.
func (db *DB) SetCampaignLastRun(ctx context.Context, id int64, t time.Time) error {
	if _, err := db.sql.ExecContext(ctx, `UPDATE campaigns SET last_run_at = ? WHERE id = ?`, formatTime(t), id); err != nil {
		return fmt.Errorf("campaign %d: %w", id, err)
	}
	return nil
}

// AudienceCheck says whether lead leadID is in the campaign's audience now: "" when it is,
// otherwise why not ("not in the campaign's filters", or a skip reason).
func (db *DB) AudienceCheck(ctx context.Context, c *leadmailer.Campaign, rules AudienceRules, leadID int64) (string, error) {
	filter, args, reason, reasonArgs := audienceSQL(c, rules)
	var why, email, businessID string
	err := db.sql.QueryRowContext(ctx, `SELECT `+reason+`, l.email, l.business_id FROM leads l WHERE l.id = ?`+filter,
		append(append(reasonArgs, leadID), args...)...).Scan(&why, &email, &businessID)
	if errors.Is(err, sql.ErrNoRows) {
		return "not in the campaign's filters", nil
	}
	if err != nil {
		return "", err
	}
	// The suppression list comes first, as when sending: it is the reason that lasts.
	found, err := db.CheckSuppression(ctx, email, businessID)
	if err != nil {
		return "", err
	}
	if len(found) > 0 {
		return leadmailer.SkipSuppressed, nil
	}
	return why, nil
}

// RequeueInFlight moves the campaign's rows left "sending" by a process that stopped
// between handing their messages to the mail server and recording the reply back to the
// queue, to be sent again with the same Message-ID. A row another live process is sending
// is leased (see LeasePending) and left alone: only rows whose lease has run out by now, or
// that were marked before leases existed, are moved. It returns how many there were.
func (db *DB) RequeueInFlight(ctx context.Context, campaignID int64, now time.Time) (int64, error) {
	n, err := requeueInFlight(ctx, db.sql, campaignID, now)
	if err != nil {
		return 0, fmt.Errorf("campaign %d: requeue messages in flight: %w", campaignID, err)
	}
	return n, nil
}

func requeueInFlight(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, campaignID int64, now time.Time) (int64, error) {
	res, err := q.ExecContext(ctx, `UPDATE campaign_recipients SET status = 'queued', leased_by = '', lease_until = NULL
		WHERE campaign_id = ? AND status = 'sending' AND (lease_until IS NULL OR lease_until <= ?)`, campaignID, formatTime(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// LeasePending leases up to limit of the campaign's queued rows whose retry time (if any)
// has come by now and that no live process holds, to owner until now+lease, and returns
// them in ID order as FindPending does. Rows another process left "sending" with its lease
// run out are queued again first (RequeueInFlight), and requeued says how many. A leased
// row is sent only by its owner (LedgerUpdate.Owner): several processes can send one
// campaign, and a process that dies leaves its rows to the others once their lease ends.
// The owner keeps its leases with RenewLeases while it sends.
//
// On PostgreSQL the rows are chosen with FOR UPDATE SKIP LOCKED: a claim never waits for
// rows another transaction is claiming, it takes the next ones. On SQLite the one writer
// makes the plain UPDATE just as safe.
func (db *DB) LeasePending(ctx context.Context, campaignID int64, owner string, now time.Time, lease time.Duration, limit int) (ps []Pending, requeued int64, err error) {
	if owner == "" {
		return nil, 0, fmt.Errorf("campaign %d: a lease needs an owner", campaignID)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("campaign %d: lease recipients: %w", campaignID, err)
	}
	defer tx.Rollback()
	if requeued, err = requeueInFlight(ctx, tx, campaignID, now); err != nil {
		return nil, 0, fmt.Errorf("campaign %d: requeue messages in flight: %w", campaignID, err)
	}
	skipLocked := ""
	if db.pg {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	// The rows due are chosen from two ranges of the index on (campaign_id, not_before, id):
	// those never tried (not_before ''), in ID order, and the retries that have come due,
	// the earliest first. Rows whose retry is not yet due lie past the second range, so a
	// claim does not read them, however many wait at low IDs; asking for "not_before <= now"
	// in ID order read every one of them again on every claim. The never-tried rows are
	// asked for as the range not_before <= '' (no text sorts below ''), in the index's order:
	// with not_before = '' PostgreSQL's planner dropped the column from the order, expected
	// the rows spread evenly over the IDs, and walked the primary key past the waiting rows
	// (9 ms instead of 0.3 ms for 500 rows past 50,000 waiting, BenchmarkLeasePending).
	at := formatTime(now)
	rows, err := tx.QueryContext(ctx, `UPDATE campaign_recipients SET leased_by = ?, lease_until = ?
		WHERE id IN (
			SELECT id FROM (SELECT id FROM campaign_recipients
				WHERE campaign_id = ? AND status = 'queued' AND not_before <= '' AND (lease_until IS NULL OR lease_until <= ?)
				ORDER BY not_before, id LIMIT ?`+skipLocked+`) AS fresh
			UNION ALL
			SELECT id FROM (SELECT id FROM campaign_recipients
				WHERE campaign_id = ? AND status = 'queued' AND not_before > '' AND not_before <= ? AND (lease_until IS NULL OR lease_until <= ?)
				ORDER BY not_before, id LIMIT ?`+skipLocked+`) AS due
			ORDER BY id LIMIT ?)
		RETURNING id, lead_id, attempts`, owner, formatTime(now.Add(lease)),
		campaignID, at, limit, campaignID, at, at, limit, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("campaign %d: lease recipients: %w", campaignID, err)
	}
	for rows.Next() {
		var p Pending
		if err := rows.Scan(&p.RecipientID, &p.LeadID, &p.Attempts); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("campaign %d: lease recipients: %w", campaignID, err)
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("campaign %d: lease recipients: %w", campaignID, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, 0, fmt.Errorf("campaign %d: lease recipients: %w", campaignID, err)
	}
	// RETURNING promises no order.
	slices.SortFunc(ps, func(a, b Pending) int { return cmp.Compare(a.RecipientID, b.RecipientID) })
	if ps, err = db.readPendingLeads(ctx, campaignID, ps); err != nil {
		return nil, 0, err
	}
	return ps, requeued, nil
}

// ownedLeases is the condition on a campaign's rows (campaign ID, owner) that an owner's run
// still holds.
const ownedLeases = `campaign_id = ? AND leased_by <> '' AND leased_by = ? AND status IN ('queued', 'sending')`

// RenewLeases extends owner's leases on the campaign's rows, queued or sending, to until.
// It returns how many rows it renewed. This and ReleaseLeases also ask for a non-empty leased_by
// beside the owner, so that SQLite uses the partial index of leased rows: it cannot tell that a bound
// owner is never empty, and read the whole campaign instead.
//
// On PostgreSQL the renewal skips rows locked by a transaction of their own: the owner's
// ledger, writing them on another connection. Waiting for them would deadlock with a ledger
// that goes on to rows the renewal holds; their lease has two renewals' time left, and the
// next renewal takes them.
func (db *DB) RenewLeases(ctx context.Context, campaignID int64, owner string, until time.Time) (int64, error) {
	where := ownedLeases
	if db.pg {
		where = `id IN (SELECT id FROM campaign_recipients WHERE ` + ownedLeases + ` FOR UPDATE SKIP LOCKED)`
	}
	res, err := db.sql.ExecContext(ctx, `UPDATE campaign_recipients SET lease_until = ? WHERE `+where,
		formatTime(until), campaignID, owner)
	if err != nil {
		return 0, fmt.Errorf("campaign %d: renew leases: %w", campaignID, err)
	}
	return res.RowsAffected()
}

// ReleaseLeases gives back owner's leases on the campaign's rows once its run has stopped
// and none of its messages is in flight: queued rows may be taken by another process at
// once, and rows still "sending" (their outcome could not be recorded) are queued again by
// the next claim or start instead of after the lease.
func (db *DB) ReleaseLeases(ctx context.Context, campaignID int64, owner string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE campaign_recipients SET leased_by = '', lease_until = NULL
		WHERE `+ownedLeases, campaignID, owner)
	if err != nil {
		return fmt.Errorf("campaign %d: release leases: %w", campaignID, err)
	}
	return nil
}

// EndLeases ends every lease of the campaign's rows, for a caller that knows no other
// process is sending it (on SQLite the campaign's lock file covers every process on the
// database): rows a stopped process left "sending" are queued again, as RequeueInFlight
// does once their lease has run out, and rows it had leased are released. It returns how
// many rows were sending.
func (db *DB) EndLeases(ctx context.Context, campaignID int64) (int64, error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("campaign %d: end leases: %w", campaignID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET status = 'queued', leased_by = '', lease_until = NULL
		WHERE campaign_id = ? AND status = 'sending'`, campaignID)
	if err != nil {
		return 0, fmt.Errorf("campaign %d: requeue messages in flight: %w", campaignID, err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `UPDATE campaign_recipients SET leased_by = '', lease_until = NULL
		WHERE campaign_id = ? AND status = 'queued' AND leased_by <> ''`, campaignID); err != nil {
		return 0, fmt.Errorf("campaign %d: end leases: %w", campaignID, err)
	}
	return n, tx.Commit()
}

// CampaignSenders returns the processes holding a live lease on the campaign's rows now:
// those sending it, in name order.
func (db *DB) CampaignSenders(ctx context.Context, campaignID int64) ([]string, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT DISTINCT leased_by FROM campaign_recipients
		WHERE campaign_id = ? AND leased_by <> '' AND lease_until > ? ORDER BY leased_by`, campaignID, formatTime(db.now()))
	if err != nil {
		return nil, fmt.Errorf("campaign %d: senders: %w", campaignID, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("campaign %d: senders: %w", campaignID, err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Outstanding returns how many of the campaign's rows have no outcome yet (queued, or
// sending in this or another process), and the earliest time one of them may be leased:
// when its retry comes due, or when the lease that holds it runs out unless renewed. The
// time is zero when one may be leased now or none is outstanding. A campaign is finished
// only when none is.
func (db *DB) Outstanding(ctx context.Context, campaignID int64) (int64, time.Time, error) {
	var n int64
	var next sql.NullString
	err := db.sql.QueryRowContext(ctx, `SELECT count(*),
		min(CASE WHEN lease_until IS NOT NULL AND lease_until > not_before THEN lease_until ELSE not_before END)
		FROM campaign_recipients WHERE campaign_id = ? AND status IN ('queued', 'sending')`, campaignID).Scan(&n, &next)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("campaign %d: outstanding recipients: %w", campaignID, err)
	}
	if !next.Valid || next.String == "" {
		return n, time.Time{}, nil
	}
	t, err := parseTime(next.String)
	return n, t, err
}

// Pending is a queued ledger row with its lead, read just before the message is sent.
type Pending struct {
	RecipientID int64
	LeadID      int64
	Attempts    int
	// Lead is nil when the lead has been erased.
	Lead *leadmailer.Lead
	// Skip is why the lead must not be mailed now (inactive, undeliverable, suppressed,
	// erased), or "".
	Skip string
	// RecipientHash is the suppression hash of the lead's address, "" when erased: the
	// ledger keeps it with the message (LedgerUpdate.RecipientHash).
	RecipientHash string
}

// FindPending returns up to limit queued rows of the campaign with an ID above afterID whose
// retry time (if any) has come by now, in ID order, each with its lead as it is now and the
// reason it must be skipped, if one holds. The suppression list is checked as the privacy
// code checks it everywhere (CheckSuppression): by address, by the address's domain and
// parent domains, and by business ID; a suppressed lead is skipped as suppressed even when
// it is also inactive, since suppression is the reason that lasts.
func (db *DB) FindPending(ctx context.Context, campaignID, afterID int64, now time.Time, limit int) ([]Pending, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, lead_id, attempts FROM campaign_recipients
		WHERE campaign_id = ? AND status = 'queued' AND id > ? AND not_before <= ?
		ORDER BY id LIMIT ?`, campaignID, afterID, formatTime(now), limit)
	if err != nil {
		return nil, fmt.Errorf("campaign %d: find queued recipients: %w", campaignID, err)
	}
	var ps []Pending
	for rows.Next() {
		var p Pending
		if err := rows.Scan(&p.RecipientID, &p.LeadID, &p.Attempts); err != nil {
			rows.Close()
			return nil, err
		}
		ps = append(ps, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return db.readPendingLeads(ctx, campaignID, ps)
}

// readPendingLeads fills in the lead of each of the campaign's rows ps, and the reason it
// must be skipped, as FindPending describes.
func (db *DB) readPendingLeads(ctx context.Context, campaignID int64, ps []Pending) ([]Pending, error) {
	if len(ps) == 0 {
		return ps, nil
	}
	byLead := make(map[int64]int, len(ps))
	for i, p := range ps {
		byLead[p.LeadID] = i
	}
	args := make([]any, len(ps))
	for i, p := range ps {
		args[i] = p.LeadID
	}
	marks := "?" + strings.Repeat(", ?", len(ps)-1)
	lrows, err := db.sql.QueryContext(ctx, `SELECT `+leadColumns+`, l.undeliverable_at IS NOT NULL
		FROM leads l WHERE l.id IN (`+marks+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("campaign %d: read leads: %w", campaignID, err)
	}
	// covered maps the hash of each suppression entry that would cover a lead of the batch
	// (its address, its domains, its business ID) to those leads.
	covered := map[string][]int{}
	hasher, hashes := newOrgCheck(db.suppressionKey), make([]string, 0, 4)
	for lrows.Next() {
		var undeliverable bool
		l, err := scanLead(scanAppend{lrows, &undeliverable})
		if err != nil {
			lrows.Close()
			return nil, fmt.Errorf("campaign %d: read leads: %w", campaignID, err)
		}
		i := byLead[l.ID]
		p := &ps[i]
		p.Lead = l
		switch {
		case l.State != leadmailer.LeadActive:
			p.Skip = leadmailer.SkipInactive
		case undeliverable:
			p.Skip = leadmailer.SkipUndeliverable
		}
		hashes = coveringHashes(hasher, hashes[:0], l.Email, l.BusinessID)
		p.RecipientHash = hashes[0]
		for _, h := range hashes {
			covered[h] = append(covered[h], i)
		}
	}
	lrows.Close()
	if err := lrows.Err(); err != nil {
		return nil, err
	}
	for i := range ps {
		if ps[i].Lead == nil {
			ps[i].Skip = leadmailer.SkipErased
		}
	}
	if len(covered) == 0 {
		return ps, nil
	}
	// The suppression list is read as it is now, in the database, not from a copy: an entry
	// another process has just committed already keeps its leads from being mailed.
	args = args[:0]
	for h := range covered {
		args = append(args, h)
	}
	srows, err := db.sql.QueryContext(ctx, `SELECT hash FROM suppressions WHERE hash IN (?`+
		strings.Repeat(", ?", len(args)-1)+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("campaign %d: check suppression list: %w", campaignID, err)
	}
	defer srows.Close()
	for srows.Next() {
		var h string
		if err := srows.Scan(&h); err != nil {
			return nil, err
		}
		for _, i := range covered[h] {
			ps[i].Skip = leadmailer.SkipSuppressed
		}
	}
	return ps, srows.Err()
}

// scanAppend scans a lead row followed by extra columns.
type scanAppend struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (s scanAppend) Scan(dest ...any) error { return s.row.Scan(append(dest, s.extra)...) }

// NextRetry returns how many of the campaign's rows are still queued, and the earliest time
// one of them may be tried (zero when one may be tried now or none is queued).
func (db *DB) NextRetry(ctx context.Context, campaignID int64) (int64, time.Time, error) {
	var n int64
	var next sql.NullString
	err := db.sql.QueryRowContext(ctx, `SELECT count(*), min(not_before) FROM campaign_recipients
		WHERE campaign_id = ? AND status = 'queued'`, campaignID).Scan(&n, &next)
	if err != nil || !next.Valid || next.String == "" {
		return n, time.Time{}, err
	}
	t, err := parseTime(next.String)
	return n, t, err
}

// LedgerUpdate is one change to a ledger row.
type LedgerUpdate struct {
	RecipientID int64
	Status      leadmailer.RecipientStatus
	Reason      string
	Attempts    int
	Reply       string
	MessageID   string
	// NotBefore is when a row queued again for a retry may be tried.
	NotBefore time.Time
	// OutcomeUnknown records that the server may have accepted the message although the
	// send failed (see CampaignReport.PossiblyDelivered); it is never unset.
	OutcomeUnknown bool
	// Undeliverable marks the lead LeadID undeliverable, with Reply as the reason.
	Undeliverable bool
	LeadID        int64
	// RecipientHash, with status sending, is recorded as the row's recipient_hash: the
	// suppression hash of the address the message goes to, kept after retention deletes the
	// lead so that the message's unsubscribe link still suppresses the address.
	RecipientHash string
	// Subject, with status sending, is the subject as rendered for this recipient.
	Subject string
	// Owner, when set, is the process that leased the row (LeasePending): the update is
	// written only while the row is still leased to it, and a "sending" mark only on a row
	// still queued. Write sets LeaseLost on an update that found the row gone to another
	// process (its lease ran out): a message whose mark is lost must not be sent.
	Owner     string
	LeaseLost bool
}

// Ledger writes ledger updates in batches, on a connection of its own with its statements
// prepared once. It is not safe for concurrent use: one goroutine owns it.
type Ledger struct {
	db    *DB
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

// OpenLedger returns a writer for ledger updates. Close it when done.
func (db *DB) OpenLedger(ctx context.Context) (*Ledger, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	// A commit of the ledger reaches the disk before its messages leave: with the
	// database's synchronous = NORMAL, a power cut could take back "sending" marks of
	// messages already handed to the relay, and those would be sent again. PostgreSQL's
	// commits are durable unless its operator turned synchronous_commit off; the ledger's
	// turn it back on for this session, for the same reason.
	durable := `PRAGMA synchronous = FULL`
	if db.pg {
		durable = `SET synchronous_commit = on`
	}
	if _, err := conn.ExecContext(ctx, durable); err != nil {
		conn.Close()
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	return &Ledger{db: db, conn: conn, stmts: map[string]*sql.Stmt{}}, nil
}

// Close releases the ledger's connection, with the database's own durability setting back.
func (l *Ledger) Close() error {
	for _, s := range l.stmts {
		s.Close()
	}
	restore := `PRAGMA synchronous = NORMAL`
	if l.db.pg {
		restore = `RESET synchronous_commit`
	}
	if _, err := l.conn.ExecContext(context.Background(), restore); err != nil {
		// A pooled connection must not keep FULL for other work: drop it instead.
		l.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return l.conn.Close()
}

func (l *Ledger) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, ok := l.stmts[query]
	if !ok {
		var err error
		if stmt, err = l.conn.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		l.stmts[query] = stmt
	}
	return stmt.ExecContext(ctx, args...)
}

// Write commits updates in one transaction, in order, and sets LeaseLost on those of a row
// no longer leased to their Owner.
func (l *Ledger) Write(ctx context.Context, updates []LedgerUpdate) error {
	// The ledger must record what happened even when the caller is being cancelled: the
	// messages were sent.
	ctx = context.WithoutCancel(ctx)
	// PostgreSQL breaks a deadlock by aborting one of its transactions: the ledger's may lose
	// to another writer of the same leads (an import, another process's ledger), and a lost
	// write must not pause the campaign, so it runs again. The transaction rolled back whole,
	// so running it again writes each update once.
	var err error
	for try := 0; try < ledgerTries; try++ {
		if err = l.writeOnce(ctx, updates); err == nil || !pgRetryable(err) {
			break
		}
		time.Sleep(time.Duration(try+1) * 10 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("write ledger: %w", err)
	}
	return nil
}

// ledgerTries is how many times Write runs a transaction PostgreSQL aborted to break a
// deadlock before it gives up.
const ledgerTries = 5

func (l *Ledger) writeOnce(ctx context.Context, updates []LedgerUpdate) error {
	if _, err := l.conn.ExecContext(ctx, l.db.beginWrite()); err != nil {
		return err
	}
	if err := l.write(ctx, updates); err != nil {
		l.conn.ExecContext(ctx, `ROLLBACK`)
		return err
	}
	if _, err := l.conn.ExecContext(ctx, `COMMIT`); err != nil {
		return err
	}
	return nil
}

func (l *Ledger) write(ctx context.Context, updates []LedgerUpdate) error {
	now := formatTime(l.db.now())
	for i := range updates {
		u := &updates[i]
		u.LeaseLost = false
		// A leased row is written only by its owner; every outcome gives the lease back.
		leased, args := "", []any(nil)
		if u.Owner != "" {
			leased, args = " AND leased_by = ?", []any{u.Owner}
		}
		var res sql.Result
		var err error
		switch u.Status {
		case leadmailer.RecipientSending:
			if u.Owner != "" {
				leased = " AND status = 'queued'" + leased
			}
			res, err = l.exec(ctx, `UPDATE campaign_recipients SET status = 'sending', message_id = ?,
				sending_at = ?, recipient_hash = ?, subject = ? WHERE id = ?`+leased,
				append([]any{u.MessageID, now, u.RecipientHash, u.Subject, u.RecipientID}, args...)...)
		case leadmailer.RecipientQueued:
			res, err = l.exec(ctx, `UPDATE campaign_recipients SET status = 'queued', attempts = ?, last_reply = ?,
				not_before = ?, outcome_unknown = `+l.db.greatest("outcome_unknown", "?")+`, leased_by = '', lease_until = NULL
				WHERE id = ?`+leased,
				append([]any{u.Attempts, u.Reply, formatTime(u.NotBefore), boolInt(u.OutcomeUnknown), u.RecipientID}, args...)...)
		default:
			res, err = l.exec(ctx, `UPDATE campaign_recipients SET status = ?, reason = ?, attempts = ?,
				last_reply = ?, done_at = ?, outcome_unknown = `+l.db.greatest("outcome_unknown", "?")+`, leased_by = '', lease_until = NULL
				WHERE id = ?`+leased,
				append([]any{u.Status, u.Reason, u.Attempts, u.Reply, now, boolInt(u.OutcomeUnknown), u.RecipientID}, args...)...)
		}
		if err != nil {
			return fmt.Errorf("recipient %d: %w", u.RecipientID, err)
		}
		if u.Owner != "" {
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("recipient %d: %w", u.RecipientID, err)
			} else if n == 0 {
				u.LeaseLost = true
				continue
			}
		}
		if u.Undeliverable {
			if _, err := l.exec(ctx, `UPDATE leads SET undeliverable_at = ?, undeliverable_reason = ?
				WHERE id = ? AND undeliverable_at IS NULL`, now, u.Reply, u.LeadID); err != nil {
				return fmt.Errorf("lead %d: %w", u.LeadID, err)
			}
		}
	}
	return nil
}

// WithdrawFailures queues again the campaign's failed rows recipientIDs as if they had not
// been tried: they failed in a burst that the campaign's circuit breaker blames on the relay
// (one that refuses every address with "550 5.1.1", say), not on the recipients. The
// undeliverable marks those very failures wrote are withdrawn: a lead's mark is the burst's
// when it carries the row's reply and time, which the ledger writes together; a mark from an
// earlier campaign or a bounce stays. It returns how many rows it queued and how many marks
// it withdrew.
func (db *DB) WithdrawFailures(ctx context.Context, campaignID int64, recipientIDs []int64) (rows, marks int64, err error) {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("campaign %d: withdraw failures: %w", campaignID, err)
	}
	defer tx.Rollback()
	now := formatTime(db.now())
	// SQLite allows 32766 parameters a statement; chunks stay well below.
	for len(recipientIDs) > 0 {
		chunk := recipientIDs[:min(len(recipientIDs), 500)]
		recipientIDs = recipientIDs[len(chunk):]
		args := []any{campaignID}
		for _, id := range chunk {
			args = append(args, id)
		}
		in := `(?` + strings.Repeat(", ?", len(chunk)-1) + `)`
		res, err := tx.ExecContext(ctx, `UPDATE leads SET undeliverable_at = NULL, undeliverable_reason = ''
			WHERE undeliverable_at IS NOT NULL AND EXISTS (SELECT 1 FROM campaign_recipients r
				WHERE r.lead_id = leads.id AND r.campaign_id = ? AND r.id IN `+in+` AND r.status = 'failed'
				AND r.done_at = leads.undeliverable_at AND r.last_reply = leads.undeliverable_reason)`, args...)
		if err != nil {
			return 0, 0, fmt.Errorf("campaign %d: withdraw undeliverable marks: %w", campaignID, err)
		}
		n, _ := res.RowsAffected()
		marks += n
		res, err = tx.ExecContext(ctx, `UPDATE campaign_recipients SET status = 'queued', reason = '', done_at = NULL,
			attempts = `+db.greatest("attempts - 1", "0")+`, not_before = ? WHERE campaign_id = ? AND id IN `+in+` AND status = 'failed'`,
			append([]any{now}, args...)...)
		if err != nil {
			return 0, 0, fmt.Errorf("campaign %d: queue failures again: %w", campaignID, err)
		}
		n, _ = res.RowsAffected()
		rows += n
	}
	return rows, marks, tx.Commit()
}

// CampaignReport counts the campaign's ledger rows by status and its skipped rows by reason.
func (db *DB) CampaignReport(ctx context.Context, campaignID int64) (*leadmailer.CampaignReport, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT status, reason, count(*), sum(outcome_unknown) FROM campaign_recipients
		WHERE campaign_id = ? GROUP BY status, reason`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("campaign %d report: %w", campaignID, err)
	}
	defer rows.Close()
	r := &leadmailer.CampaignReport{Reasons: map[string]int64{}}
	for rows.Next() {
		var status leadmailer.RecipientStatus
		var reason string
		var n, unknown int64
		if err := rows.Scan(&status, &reason, &n, &unknown); err != nil {
			return nil, err
		}
		r.Total += n
		r.PossiblyDelivered += unknown
		switch status {
		case leadmailer.RecipientQueued:
			r.Queued += n
		case leadmailer.RecipientSending:
			r.Sending += n
		case leadmailer.RecipientSent:
			r.Sent += n
		case leadmailer.RecipientFailed:
			r.Failed += n
		case leadmailer.RecipientSkipped:
			r.Skipped += n
			r.Reasons[reason] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("campaign %d report: %w", campaignID, err)
	}
	// Only sent rows are counted: a row a crash left sending may have bounced too, but the
	// rates are of what the ledger knows was sent.
	err = db.sql.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE bounce = 'hard'), count(*) FILTER (WHERE bounce = 'soft'),
		count(*) FILTER (WHERE bounce = 'complaint') FROM campaign_recipients WHERE campaign_id = ? AND status = 'sent' AND bounce != ''`,
		campaignID).Scan(&r.BouncedHard, &r.BouncedSoft, &r.Complained)
	if err != nil {
		return nil, fmt.Errorf("campaign %d report: %w", campaignID, err)
	}
	r.Delivered = r.Sent - r.BouncedHard
	if r.Sent > 0 {
		r.BounceRate = float64(r.BouncedHard) / float64(r.Sent)
		r.ComplaintRate = float64(r.Complained) / float64(r.Sent)
	}
	return r, nil
}

// FindRecipients calls fn for each ledger row of the campaign, in ID order, with the lead's
// current address (empty when erased); status "" means every row. fn must not use the
// database.
func (db *DB) FindRecipients(ctx context.Context, campaignID int64, status leadmailer.RecipientStatus, fn func(*leadmailer.Recipient) error) error {
	query := `SELECT r.id, r.campaign_id, r.lead_id, coalesce(l.email, ''), r.status, r.reason, r.attempts,
		r.last_reply, r.message_id, r.queued_at, r.sending_at, r.done_at, r.bounce, r.bounce_status, r.bounce_diagnostic
		FROM campaign_recipients r LEFT JOIN leads l ON l.id = r.lead_id
		WHERE r.campaign_id = ?`
	args := []any{campaignID}
	switch status {
	case "":
	case leadmailer.RecipientBounced:
		query += ` AND r.bounce = 'hard'`
	case leadmailer.RecipientComplained:
		query += ` AND r.bounce = 'complaint'`
	default:
		query += ` AND r.status = ?`
		args = append(args, status)
	}
	rows, err := db.sql.QueryContext(ctx, query+` ORDER BY r.id`, args...)
	if err != nil {
		return fmt.Errorf("campaign %d recipients: %w", campaignID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r leadmailer.Recipient
		var queued string
		var sending, done sql.NullString
		if err := rows.Scan(&r.ID, &r.CampaignID, &r.LeadID, &r.Email, &r.Status, &r.Reason, &r.Attempts,
			&r.LastReply, &r.MessageID, &queued, &sending, &done, &r.Bounce, &r.BounceStatus, &r.BounceDiagnostic); err != nil {
			return fmt.Errorf("campaign %d recipients: %w", campaignID, err)
		}
		if r.QueuedAt, err = parseTime(queued); err != nil {
			return err
		}
		if r.SendingAt, err = nullTime(sending); err != nil {
			return err
		}
		if r.DoneAt, err = nullTime(done); err != nil {
			return err
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ImportRunsByID returns every import run, by ID: the provenance of the values a campaign
// mails about.
func (db *DB) ImportRunsByID(ctx context.Context) (map[int64]*leadmailer.ImportRun, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+runColumns+` FROM import_runs`)
	if err != nil {
		return nil, fmt.Errorf("read import runs: %w", err)
	}
	defer rows.Close()
	runs := map[int64]*leadmailer.ImportRun{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("read import runs: %w", err)
		}
		runs[r.ID] = r
	}
	return runs, rows.Err()
}

// IsUndeliverable reports whether a lead has been marked undeliverable, and why.
func (db *DB) IsUndeliverable(ctx context.Context, leadID int64) (bool, string, error) {
	var at sql.NullString
	var reason string
	err := db.sql.QueryRowContext(ctx, `SELECT undeliverable_at, undeliverable_reason FROM leads WHERE id = ?`, leadID).Scan(&at, &reason)
	if err != nil {
		return false, "", fmt.Errorf("lead %d: %w", leadID, err)
	}
	return at.Valid, reason, nil
}
