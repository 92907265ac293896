package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Webhook delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySending   = "sending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event queued for one endpoint.
type WebhookDelivery struct {
	ID        int64
	EventID   string
	EventType string
	// Payload is the event's data object, JSON. It holds no address: see LeadID.
	Payload string
	// LeadID is the lead a lead event is about; 0 for other events.
	LeadID         int64
	Endpoint       string
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	LastStatusCode int
	LastError      string
	CreatedAt      time.Time
	QueuedAt       time.Time
	DeliveredAt    *time.Time
}

// webhookEvent is an event as the store methods that report one enqueue it.
type webhookEvent struct {
	// ID is derived from the thing reported, so that enqueueing it twice is harmless.
	ID     string
	Type   string
	LeadID int64
	Data   any // marshalled as the payload
}

// execFunc runs a statement: (*sql.Tx).ExecContext, (*sql.Conn).ExecContext or a batch's
// prepared exec.
type execFunc func(ctx context.Context, query string, args ...any) (sql.Result, error)

// enqueueEvent queues ev, within the caller's transaction, for every endpoint subscribed to
// its type. With no subscriber it writes nothing.
func (db *DB) enqueueEvent(ctx context.Context, exec execFunc, ev webhookEvent) error {
	payload, err := json.Marshal(ev.Data)
	if err != nil {
		return fmt.Errorf("webhook event %s: %w", ev.ID, err)
	}
	var lead any
	if ev.LeadID != 0 {
		lead = ev.LeadID
	}
	now := formatTime(db.now())
	_, err = exec(ctx, `INSERT INTO webhook_deliveries
		(event_id, event_type, payload, lead_id, endpoint, status, next_attempt_at, created_at, queued_at)
		SELECT ?, ?, ?, ?, endpoint, 'pending', ?, ?, ? FROM webhook_subscriptions WHERE event_type = ? ORDER BY endpoint
		ON CONFLICT (endpoint, event_id) DO NOTHING`,
		ev.ID, ev.Type, string(payload), lead, now, now, now, ev.Type)
	if err != nil {
		return fmt.Errorf("queue webhook event %s: %w", ev.ID, err)
	}
	return nil
}

// SetWebhookSubscriptions replaces the endpoints' subscriptions with subs, endpoint URL to
// event types: serve calls it with the configuration's [[webhooks]] when it starts.
// Deliveries already queued for an endpoint no longer configured stay, listed, unsent.
func (db *DB) SetWebhookSubscriptions(ctx context.Context, subs map[string][]string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_subscriptions`); err != nil {
			return err
		}
		for endpoint, events := range subs {
			for _, ev := range events {
				if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_subscriptions (event_type, endpoint) VALUES (?, ?)
					ON CONFLICT DO NOTHING`, ev, endpoint); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set webhook subscriptions: %w", err)
	}
	return nil
}

const deliveryColumns = `id, event_id, event_type, payload, coalesce(lead_id, 0), endpoint, status, attempts,
	next_attempt_at, last_status_code, last_error, created_at, queued_at, delivered_at`

func scanDelivery(row interface{ Scan(...any) error }) (*WebhookDelivery, error) {
	var d WebhookDelivery
	var next, created, queued string
	var delivered sql.NullString
	if err := row.Scan(&d.ID, &d.EventID, &d.EventType, &d.Payload, &d.LeadID, &d.Endpoint, &d.Status, &d.Attempts,
		&next, &d.LastStatusCode, &d.LastError, &created, &queued, &delivered); err != nil {
		return nil, err
	}
	var err error
	if d.NextAttemptAt, err = parseTime(next); err != nil {
		return nil, err
	}
	if d.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if d.QueuedAt, err = parseTime(queued); err != nil {
		return nil, err
	}
	if d.DeliveredAt, err = nullTime(delivered); err != nil {
		return nil, err
	}
	return &d, nil
}

// WebhookLease is how long a claim of a delivery holds: longer than any request may take
// (webhooks.DefaultTimeout, or a configured timeout), so that a live sender's claim never
// runs out under it. A stopped sender's claims go back to the queue when it has run out.
const WebhookLease = 5 * time.Minute

// RequeueWebhookDeliveries puts back to pending the deliveries whose sender stopped: their
// lease ran out, or stopped reports their sender's process (as ClaimWebhookDeliveries was
// given it) gone. It may or may not have sent them, so they go again, with the same event id.
// Claims of senders still running, in this process or another on the database, are left
// alone.
func (db *DB) RequeueWebhookDeliveries(ctx context.Context, stopped func(by string) bool) (int64, error) {
	now := formatTime(db.now())
	rows, err := db.sql.QueryContext(ctx, `SELECT id, leased_by, lease_until FROM webhook_deliveries WHERE status = 'sending'`)
	if err != nil {
		return 0, fmt.Errorf("requeue webhook deliveries: %w", err)
	}
	type claim struct {
		id         int64
		by, expiry string
	}
	var claims []claim
	for rows.Next() {
		var c claim
		if err := rows.Scan(&c.id, &c.by, &c.expiry); err != nil {
			rows.Close()
			return 0, fmt.Errorf("requeue webhook deliveries: %w", err)
		}
		claims = append(claims, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("requeue webhook deliveries: %w", err)
	}
	var n int64
	for _, c := range claims {
		if c.expiry >= now && (stopped == nil || !stopped(c.by)) {
			continue
		}
		res, err := db.sql.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending'
			WHERE id = ? AND status = 'sending' AND leased_by = ? AND lease_until = ?`, c.id, c.by, c.expiry)
		if err != nil {
			return n, fmt.Errorf("requeue webhook delivery %d: %w", c.id, err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	return n, nil
}

// ClaimWebhookDeliveries marks as sending, and returns, up to limit pending deliveries to
// the given endpoints that are due, oldest due first, leased for WebhookLease to the sender
// process named by. Each claim counts as an attempt.
//
// On PostgreSQL the rows are chosen with FOR UPDATE SKIP LOCKED, as LeasePending chooses
// recipients: a claim never waits for deliveries another process's transaction is claiming
// or updating, it takes the next due ones, so one slow transaction does not stall every
// sender on the database. On SQLite the one writer makes the plain UPDATE just as safe.
func (db *DB) ClaimWebhookDeliveries(ctx context.Context, endpoints []string, limit int, by string) ([]*WebhookDelivery, error) {
	if len(endpoints) == 0 || limit <= 0 {
		return nil, nil
	}
	now := db.now()
	args := []any{formatTime(now.Add(WebhookLease)), by, formatTime(now)}
	for _, e := range endpoints {
		args = append(args, e)
	}
	args = append(args, limit)
	skipLocked := ""
	if db.pg {
		skipLocked = " FOR UPDATE SKIP LOCKED"
	}
	// The outer status test repeats the inner one, so that a row another process claimed
	// since the subquery read it is not claimed again: the update re-reads a changed row
	// against the outer condition, which that claim made false.
	rows, err := db.sql.QueryContext(ctx, `UPDATE webhook_deliveries SET status = 'sending', attempts = attempts + 1,
		lease_until = ?, leased_by = ?
		WHERE id IN (SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= ?
			AND endpoint IN (?`+strings.Repeat(", ?", len(endpoints)-1)+`)
			ORDER BY next_attempt_at, id LIMIT ?`+skipLocked+`)
		AND status = 'pending'
		RETURNING `+deliveryColumns, args...)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []*WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("claim webhook deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// MarkWebhookDelivered records that the endpoint answered a delivery with 2xx status code.
func (db *DB) MarkWebhookDelivered(ctx context.Context, id int64, code int) error {
	now := formatTime(db.now())
	_, err := db.sql.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'delivered', last_status_code = ?,
		last_error = '', delivered_at = ? WHERE id = ?`, code, now, id)
	if err != nil {
		return fmt.Errorf("webhook delivery %d: mark delivered: %w", id, err)
	}
	return nil
}

// RetryWebhookDelivery records a failed attempt (code is the endpoint's answer, 0 when there
// was none) and makes the delivery due again at next.
func (db *DB) RetryWebhookDelivery(ctx context.Context, id int64, next time.Time, code int, reason string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?,
		last_status_code = ?, last_error = ? WHERE id = ?`, formatTime(next), code, reason, id)
	if err != nil {
		return fmt.Errorf("webhook delivery %d: schedule retry: %w", id, err)
	}
	return nil
}

// FailWebhookDelivery records a last failed attempt: the delivery is not tried again unless
// replayed.
func (db *DB) FailWebhookDelivery(ctx context.Context, id int64, code int, reason string) error {
	_, err := db.sql.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'failed', last_status_code = ?,
		last_error = ? WHERE id = ?`, code, reason, id)
	if err != nil {
		return fmt.Errorf("webhook delivery %d: mark failed: %w", id, err)
	}
	return nil
}

// FindWebhookDeliveries returns up to limit deliveries, the newest first.
func (db *DB) FindWebhookDeliveries(ctx context.Context, limit int) ([]*WebhookDelivery, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries
		ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("find webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []*WebhookDelivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("find webhook deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// FindWebhookDelivery returns one delivery, or an ENOTFOUND error.
func (db *DB) FindWebhookDelivery(ctx context.Context, id int64) (*WebhookDelivery, error) {
	d, err := scanDelivery(db.sql.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, leadmailer.Errorf(leadmailer.ENOTFOUND, "no webhook delivery %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook delivery %d: %w", id, err)
	}
	return d, nil
}

// ReplayWebhookDelivery queues a delivery again, due now, with the same event id and a new
// day of retries, together with its audit entry. One being sent is an ECONFLICT error.
func (db *DB) ReplayWebhookDelivery(ctx context.Context, id int64, audit *leadmailer.AuditEntry) error {
	now := formatTime(db.now())
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0,
			next_attempt_at = ?, queued_at = ?, delivered_at = NULL WHERE id = ? AND status <> 'sending'`, now, now, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			if _, err := db.FindWebhookDelivery(ctx, id); err != nil {
				return err
			}
			return leadmailer.Errorf(leadmailer.ECONFLICT, "webhook delivery %d is being sent: replay it once the attempt ends", id)
		}
		return db.recordAudit(ctx, tx, audit)
	})
	if err != nil {
		return fmt.Errorf("replay webhook delivery %d: %w", id, err)
	}
	return nil
}

// PruneWebhookDeliveries deletes the delivered and failed deliveries created before before,
// and returns how many.
func (db *DB) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := db.sql.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed')
		AND created_at < ?`, formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}

// The events' payloads. Their field names are part of the webhook contract (docs/webhooks.md).

type importEventData struct {
	Run        int64                   `json:"import_run_id"`
	Source     string                  `json:"source"`
	Kind       leadmailer.SourceKind   `json:"kind"`
	FileName   string                  `json:"file_name,omitempty"`
	Status     leadmailer.RunStatus    `json:"status"`
	Counts     leadmailer.ImportCounts `json:"counts"`
	StartedAt  time.Time               `json:"started_at"`
	FinishedAt time.Time               `json:"finished_at"`
}

type campaignEventData struct {
	Campaign int64                    `json:"campaign_id"`
	Name     string                   `json:"name"`
	State    leadmailer.CampaignState `json:"state"`
	Reason   string                   `json:"reason,omitempty"`
}

type leadEventData struct {
	Lead     int64  `json:"lead_id"`
	Campaign int64  `json:"campaign_id,omitempty"`
	Kind     string `json:"kind,omitempty"`   // bounces: hard or soft
	Status   string `json:"status,omitempty"` // bounces: the enhanced status code, such as 5.1.1
	Action   string `json:"action,omitempty"` // bounces: what leadmailer did (marked, counted...)
}

// campaignEventTypes maps the campaign states a webhook reports to their event type.
var campaignEventTypes = map[leadmailer.CampaignState]string{
	leadmailer.CampaignRunning:   leadmailer.EventCampaignStarted,
	leadmailer.CampaignPaused:    leadmailer.EventCampaignPaused,
	leadmailer.CampaignFinished:  leadmailer.EventCampaignFinished,
	leadmailer.CampaignCancelled: leadmailer.EventCampaignCancelled,
}

// enqueueCampaignEvent queues the event of campaign c's move to its current state, if the
// state has one. A campaign may pause and start many times; the time of the move tells
// the events apart.
func (db *DB) enqueueCampaignEvent(ctx context.Context, tx *sql.Tx, c *leadmailer.Campaign, at time.Time) error {
	typ, ok := campaignEventTypes[c.State]
	if !ok {
		return nil
	}
	return db.enqueueEvent(ctx, tx.ExecContext, webhookEvent{
		ID:   fmt.Sprintf("campaign-%d-%s-%d", c.ID, c.State, at.UnixMicro()),
		Type: typ,
		Data: campaignEventData{Campaign: c.ID, Name: c.Name, State: c.State, Reason: c.Reason},
	})
}

// enqueueBounceEvent queues the event of a recorded bounce or complaint, named by the
// bounce's row, which a duplicate report does not make.
func (db *DB) enqueueBounceEvent(ctx context.Context, st *batchStmts, e BounceEvent, bounceID int64, action string) error {
	typ, data := leadmailer.EventLeadBounced, leadEventData{Lead: e.LeadID, Campaign: e.CampaignID, Kind: e.Kind, Status: e.Status, Action: action}
	if e.Kind == BounceComplaint {
		typ, data.Kind, data.Status = leadmailer.EventLeadComplained, "", ""
	}
	return db.enqueueEvent(ctx, st.exec, webhookEvent{ID: fmt.Sprintf("bounce-%d", bounceID), Type: typ, LeadID: e.LeadID, Data: data})
}
