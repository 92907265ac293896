// Package webhooks sends leadmailer's events to the endpoints configured as [[webhooks]]:
// the store queues a delivery per event and endpoint in the same transaction as the change
// it reports, and a Sender, run by serve, POSTs them as signed JSON, retrying with
// exponential backoff for about a day.
//
// Delivery is at least once: a delivery is marked delivered only after the endpoint answered
// 2xx, so a crash between the two sends it again, with the same event id in the
// Leadmailer-Delivery header, by which receivers dedupe.
//
// One Sender runs per data directory (serve holds the data directory's lock); Run must not
// be called twice at once. Up to Concurrency deliveries are in flight together.
package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/process"
	"github.com/leadmailer/leadmailer/store"
)

// Store is what the sender needs of the database.
type Store interface {
	RequeueWebhookDeliveries(ctx context.Context, stopped func(by string) bool) (int64, error)
	ClaimWebhookDeliveries(ctx context.Context, endpoints []string, limit int, by string) ([]*store.WebhookDelivery, error)
	MarkWebhookDelivered(ctx context.Context, id int64, code int) error
	RetryWebhookDelivery(ctx context.Context, id int64, next time.Time, code int, reason string) error
	FailWebhookDelivery(ctx context.Context, id int64, code int, reason string) error
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error)
	FindLeadByID(ctx context.Context, id int64) (*leadmailer.Lead, error)
}

// Endpoint is one receiver, with its secret resolved.
type Endpoint struct {
	URL          string
	Secret       []byte
	IncludeEmail bool
}

// Defaults of a Sender's zero fields.
const (
	DefaultConcurrency = 4
	DefaultTimeout     = 15 * time.Second
	DefaultPoll        = time.Second
	DefaultMaxAge      = 24 * time.Hour
	// KeepFor is how long delivered and failed deliveries stay listed before they are pruned.
	KeepFor = 30 * 24 * time.Hour
	// maxResponse is how much of an answer is read: only its status counts, and a receiver
	// that answers with an endless body must not hold a sender's slot, or its memory.
	maxResponse = 64 << 10
	// maxReason bounds the part of an answer's body kept as the last error, for the
	// deliveries page.
	maxReason = 200
)

// Sender delivers the queued deliveries. Set Store and Endpoints; the rest has defaults.
type Sender struct {
	Store     Store
	Endpoints []Endpoint
	// Client sends the requests; default: one with Timeout that follows no redirect (a
	// redirect is answered as a failure: the configured URL is the one to fix).
	Client      *http.Client
	Timeout     time.Duration // whole request, answer included; default DefaultTimeout
	Concurrency int           // deliveries in flight at once; default DefaultConcurrency
	Poll        time.Duration // how often the queue is looked at when idle; default DefaultPoll
	// MaxAge is how long after it was queued a delivery is retried; then it fails.
	MaxAge time.Duration
	// Backoff is the wait after failed attempt n (1, 2, ...); default: Backoff.
	Backoff func(attempt int) time.Duration
	Now     func() time.Time
	Log     *slog.Logger

	gone sync.Map // endpoint URL -> true once it answered 410 Gone
	// processName names this sender in its claims: host and process id.
	processName string
}

// Backoff is the default wait after failed attempt n: 30 s, doubling to at most 6 h, with a
// tenth of jitter so that deliveries that failed together do not all return together. Over
// a day that makes about a dozen attempts.
func Backoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < 6*time.Hour; i++ {
		d *= 2
	}
	d = min(d, 6*time.Hour)
	return d + rand.N(d/10+1)
}

func (s *Sender) defaults() {
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	// A claim must outlast any request, or another process would send it again meanwhile.
	s.Timeout = min(s.Timeout, store.WebhookLease/2)
	s.processName = process.Name()
	if s.Client == nil {
		s.Client = &http.Client{Timeout: s.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if s.Concurrency <= 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.Poll <= 0 {
		s.Poll = DefaultPoll
	}
	if s.MaxAge <= 0 {
		s.MaxAge = DefaultMaxAge
	}
	if s.Backoff == nil {
		s.Backoff = Backoff
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
}

// Run sends deliveries until ctx ends, then waits for those in flight. It first puts back
// the deliveries a stopped process was sending, once their lease (store.WebhookLease) has
// run out, and does so again every minute; claims of senders still running, here or in
// another process on the database, are left alone.
func (s *Sender) Run(ctx context.Context) error {
	s.defaults()
	if len(s.Endpoints) == 0 {
		return nil
	}
	if err := s.requeue(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, s.Concurrency)
	done := make(chan struct{}, 1) // a delivery ended: a slot is free
	tick := time.NewTicker(s.Poll)
	defer tick.Stop()
	lastPrune, lastRequeue := time.Time{}, s.Now()
	for {
		// A sender that stopped on another process leaves its claims; they come back here
		// once their lease has run out.
		if now := s.Now(); now.Sub(lastRequeue) > time.Minute {
			if err := s.requeue(ctx); err != nil && ctx.Err() == nil {
				s.Log.Error("webhooks: requeue", "err", err)
			}
			lastRequeue = now
		}
		if now := s.Now(); now.Sub(lastPrune) > time.Hour {
			if _, err := s.Store.PruneWebhookDeliveries(ctx, now.Add(-KeepFor)); err != nil && ctx.Err() == nil {
				s.Log.Error("webhooks: prune", "err", err)
			}
			lastPrune = now
		}
		free := cap(slots) - len(slots)
		var claimed []*store.WebhookDelivery
		if endpoints := s.live(); free > 0 && len(endpoints) > 0 {
			var err error
			claimed, err = s.Store.ClaimWebhookDeliveries(ctx, endpoints, free, s.processName)
			if err != nil && ctx.Err() == nil {
				s.Log.Error("webhooks: claim deliveries", "err", err)
			}
		}
		for _, d := range claimed {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.deliver(ctx, d)
				<-slots
				select {
				case done <- struct{}{}:
				default:
				}
			}()
		}
		if len(claimed) == free && free > 0 {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-done:
		}
	}
}

// requeue puts back the deliveries of senders that stopped while sending them.
func (s *Sender) requeue(ctx context.Context) error {
	n, err := s.Store.RequeueWebhookDeliveries(ctx, process.Stopped)
	if err != nil {
		return err
	}
	if n > 0 {
		s.Log.Info("webhooks: sending again the deliveries in flight when their sender stopped", "count", n)
	}
	return nil
}

// live returns the endpoints that have not answered 410 Gone.
func (s *Sender) live() []string {
	var out []string
	for _, e := range s.Endpoints {
		if _, gone := s.gone.Load(e.URL); !gone {
			out = append(out, e.URL)
		}
	}
	return out
}

func (s *Sender) endpoint(url string) *Endpoint {
	for i := range s.Endpoints {
		if s.Endpoints[i].URL == url {
			return &s.Endpoints[i]
		}
	}
	return nil
}

// deliver makes one attempt and records its outcome.
func (s *Sender) deliver(ctx context.Context, d *store.WebhookDelivery) {
	// The outcome is recorded even when serve is stopping.
	rec := context.WithoutCancel(ctx)
	log := s.Log.With("delivery", d.ID, "event", d.EventID, "endpoint", d.Endpoint)
	ep := s.endpoint(d.Endpoint)
	code, reason, err := s.attempt(ctx, ep, d)
	switch {
	case err == nil && code >= 200 && code < 300:
		err = s.Store.MarkWebhookDelivered(rec, d.ID, code)
	case ctx.Err() != nil:
		// Stopped mid-attempt: due again at the next start, not counted as a failure.
		err = s.Store.RetryWebhookDelivery(rec, d.ID, s.Now(), code, "serve stopped during the attempt")
	case code == http.StatusGone:
		s.gone.Store(d.Endpoint, true)
		log.Error("webhooks: the endpoint answered 410 Gone: nothing more is sent to it until serve restarts; remove it from [[webhooks]] if it is retired")
		err = s.Store.FailWebhookDelivery(rec, d.ID, code, reason+" (the endpoint asked for no more deliveries)")
	default:
		next := s.Now().Add(s.Backoff(d.Attempts))
		if next.Sub(d.QueuedAt) > s.MaxAge {
			log.Warn("webhooks: giving up", "attempts", d.Attempts, "reason", reason)
			err = s.Store.FailWebhookDelivery(rec, d.ID, code, fmt.Sprintf("gave up after %d attempts: %s", d.Attempts, reason))
		} else {
			err = s.Store.RetryWebhookDelivery(rec, d.ID, next, code, reason)
		}
	}
	if err != nil {
		log.Error("webhooks: record the attempt", "err", err)
	}
}

// attempt POSTs the delivery and returns the answer's status code (0 for none) and, unless it
// was 2xx, what went wrong, in a sentence for the deliveries page.
func (s *Sender) attempt(ctx context.Context, ep *Endpoint, d *store.WebhookDelivery) (int, string, error) {
	body, err := s.body(ctx, ep, d)
	if err != nil {
		return 0, err.Error(), err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error(), err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "leadmailer-webhooks/1")
	req.Header.Set(HeaderEvent, d.EventType)
	req.Header.Set(HeaderDelivery, d.EventID)
	req.Header.Set(HeaderSignature, Sign(ep.Secret, s.Now(), body))
	resp, err := s.Client.Do(req)
	if err != nil {
		return 0, "no answer: " + errorText(err), err
	}
	defer resp.Body.Close()
	head := make([]byte, maxReason)
	n, _ := io.ReadFull(resp.Body, head)
	// Read the rest, bounded, so that the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse-int64(n)))
	reason := ""
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		reason = resp.Status
		if text := printable(head[:n]); text != "" {
			reason += ": " + text
		}
	}
	return resp.StatusCode, reason, nil
}

// body is the JSON sent: the event's id, type, time and data, with the lead's address added
// to a lead event's data for an endpoint configured with include_email.
func (s *Sender) body(ctx context.Context, ep *Endpoint, d *store.WebhookDelivery) ([]byte, error) {
	data := json.RawMessage(d.Payload)
	if ep.IncludeEmail && d.LeadID != 0 {
		l, err := s.Store.FindLeadByID(ctx, d.LeadID)
		switch {
		case leadmailer.ErrorCode(err) == leadmailer.ENOTFOUND:
			// Erased or deleted since: the event goes without the address.
		case err != nil:
			return nil, err
		default:
			var fields map[string]any
			if err := json.Unmarshal(data, &fields); err != nil {
				return nil, fmt.Errorf("delivery %d: stored payload: %w", d.ID, err)
			}
			fields["email"] = l.Email
			if data, err = json.Marshal(fields); err != nil {
				return nil, err
			}
		}
	}
	return json.Marshal(struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		CreatedAt time.Time       `json:"created_at"`
		Data      json.RawMessage `json:"data"`
	}{d.EventID, d.EventType, d.CreatedAt.UTC(), data})
}

// errorText shortens a client error: the URL it starts with is on the page already.
func errorText(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		err = ue.Unwrap()
	}
	return err.Error()
}

// printable returns b as one line of valid text, for the deliveries page.
func printable(b []byte) string {
	s := strings.ToValidUTF8(string(b), "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(strings.Join(strings.Fields(s), " "))
}
