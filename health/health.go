// Package health answers the probes of whoever runs serve: /healthz says the process is up,
// /readyz whether it can do its work now.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Store is what readiness asks of the database.
type Store interface {
	Ready(ctx context.Context) error
	FindCampaigns(ctx context.Context, states ...leadmailer.CampaignState) ([]*leadmailer.Campaign, error)
}

// Checker answers /readyz.
type Checker struct {
	Store Store
	// Mail checks the transport, such as mailer.Check on the configured one. It is asked
	// only while a campaign is running: a relay that is down matters then, and is no
	// reason to take the web app out of a load balancer otherwise.
	Mail func(ctx context.Context) error
	// MailEvery is how long a mail check's answer is reused (default 30 s): probes come
	// every few seconds, and each check is a session with the relay.
	MailEvery time.Duration
	// Timeout bounds each check; default 5 s.
	Timeout time.Duration

	mu       sync.Mutex
	mailAt   time.Time
	mailErr  error
	mailOnce bool
}

// Report is the body of /readyz.
type Report struct {
	Status string            `json:"status"` // "ready" or "unavailable"
	Checks map[string]string `json:"checks"` // "ok", "skipped: ...", or the error
}

// Live serves /healthz: a process that answers is up.
func Live(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok\n"))
}

// ServeHTTP serves /readyz: 200 when every check passes, 503 with the failing ones named.
func (c *Checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rep := c.Check(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status != "ready" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rep)
}

// Check runs the checks: the database answers with the current schema, and while a
// campaign runs, mail can go out.
func (c *Checker) Check(ctx context.Context) Report {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep := Report{Status: "ready", Checks: map[string]string{}}
	fail := func(name string, err error) {
		rep.Status = "unavailable"
		rep.Checks[name] = err.Error()
	}
	if err := c.Store.Ready(ctx); err != nil {
		fail("database", err)
		rep.Checks["mail"] = "skipped: the database is not ready"
		return rep
	}
	rep.Checks["database"] = "ok"
	running, err := c.Store.FindCampaigns(ctx, leadmailer.CampaignRunning)
	switch {
	case err != nil:
		fail("database", err)
	case c.Mail == nil:
		rep.Checks["mail"] = "skipped: no transport"
	case len(running) == 0:
		rep.Checks["mail"] = "skipped: no campaign is running"
	default:
		if err := c.mail(ctx); err != nil {
			fail("mail", err)
		} else {
			rep.Checks["mail"] = "ok"
		}
	}
	return rep
}

// mail returns the transport check's answer, reused for MailEvery.
func (c *Checker) mail(ctx context.Context) error {
	every := c.MailEvery
	if every <= 0 {
		every = 30 * time.Second
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.mailOnce || time.Since(c.mailAt) >= every {
		c.mailErr = c.Mail(ctx)
		c.mailAt, c.mailOnce = time.Now(), true
	}
	return c.mailErr
}
