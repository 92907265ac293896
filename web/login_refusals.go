package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Refused logins are aggregated in the audit trail. A refused attempt costs the attacker one
// request and the server no password check; writing an entry for each would let anyone fill
// the append-only audit table (3,000 requests were 3,000 rows and 71 MB of WAL). So the first
// refusal for a throttle key writes an entry at once, and the refusals for that key in the
// following loginWindow are counted and written as one entry when the window ends: at most
// two entries per key and window, the second carrying the count.
//
// The counts are kept in memory; a crash loses at most the count of one window per key, the
// first refusal being on record already.

// maxRefusalWindows bounds the memory a flood of keys can take; past it, every open window is
// written out and forgotten.
const maxRefusalWindows = 10_000

// refusalWindow counts the refusals for one throttle key after the first.
type refusalWindow struct {
	name, ip, reason string
	byName           bool
	from, until      time.Time
	more             int
}

type refusalLog struct {
	mu   sync.Mutex
	open map[string]*refusalWindow
}

// note counts a refusal for key at now. It returns the new window when this refusal is the
// first of one (to be written at once), and the windows whose counts are due to be written.
func (l *refusalLog) note(key string, now time.Time, fresh refusalWindow) (first *refusalWindow, due []*refusalWindow) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open == nil {
		l.open = map[string]*refusalWindow{}
	}
	if w := l.open[key]; w != nil {
		if now.Before(w.until) {
			w.more++
			return nil, nil
		}
		delete(l.open, key)
		if w.more > 0 {
			due = append(due, w)
		}
	}
	if len(l.open) >= maxRefusalWindows {
		due = append(due, l.takeLocked(func(*refusalWindow) bool { return true })...)
	}
	fresh.from, fresh.until = now, now.Add(loginWindow)
	l.open[key] = &fresh
	return &fresh, due
}

// take removes and returns the windows that ended by now (all of them with now zero) and
// have refusals to write.
func (l *refusalLog) take(now time.Time) []*refusalWindow {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.takeLocked(func(w *refusalWindow) bool { return now.IsZero() || !now.Before(w.until) })
}

func (l *refusalLog) takeLocked(ended func(*refusalWindow) bool) []*refusalWindow {
	var out []*refusalWindow
	for key, w := range l.open {
		if ended(w) {
			delete(l.open, key)
			if w.more > 0 {
				out = append(out, w)
			}
		}
	}
	return out
}

// auditRefusal records an attempt refused by the throttle, aggregated as above. A refusal
// that concerns the address only names no user: the name typed varies from attempt to
// attempt.
func (s *Server) auditRefusal(r *http.Request, rq *request, name string, refusal loginRefusal) {
	first, due := s.refusals.note(refusal.key, s.opts.Now(), refusalWindow{name: name, ip: rq.ip,
		reason: refusal.reason, byName: refusal.byName})
	s.writeRefusals(r.Context(), due)
	if first == nil {
		return
	}
	s.writeRefusal(r.Context(), first, fmt.Sprintf("refused 1 login (%s); more until %s are counted in one entry",
		first.reason, first.until.UTC().Format("2006-01-02 15:04 UTC")))
}

// flushRefusals writes the counts of the windows that ended by now; with now zero, of all.
func (s *Server) flushRefusals(ctx context.Context, now time.Time) {
	s.writeRefusals(ctx, s.refusals.take(now))
}

func (s *Server) writeRefusals(ctx context.Context, ws []*refusalWindow) {
	for _, w := range ws {
		s.writeRefusal(ctx, w, fmt.Sprintf("refused %d more logins from %s to %s (%s)", w.more,
			w.from.UTC().Format("2006-01-02 15:04"), w.until.UTC().Format("15:04 UTC"), w.reason))
	}
}

func (s *Server) writeRefusal(ctx context.Context, w *refusalWindow, detail string) {
	target := ""
	if w.byName {
		_, err := s.db.FindUserByName(ctx, w.name)
		target = s.typedName(w.name, err == nil)
	}
	err := s.db.RecordAudit(ctx, &leadmailer.AuditEntry{Actor: "anonymous", Action: leadmailer.AuditLoginFailed,
		Target: target, Detail: detail, IP: w.ip})
	if err != nil {
		s.opts.Logger.Error("audit refused logins", "err", err)
	}
}

// sweepRefusals writes the counts of ended windows every minute until the server shuts down,
// so that an attack that stops is on record without waiting for another refusal.
func (s *Server) sweepRefusals() {
	defer close(s.swept)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
			s.flushRefusals(context.Background(), s.opts.Now())
		}
	}
}
