package web

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// Refused logins are aggregated in the audit trail. A refused attempt costs the attacker one
// request and the server no password check; writing an entry for each would let anyone fill
// the append-only audit table (3,000 requests were 3,000 rows and 71 MB of WAL). So the first
// refusal for a throttle key writes an entry at once, and the refusals for that key in the
// following loginWindow are counted and written as one entry when the window ends: at most
// two entries per key and window, the second carrying the count.
//
// The windows are counted in the database (store.NoteThrottleCount), shared by every serve
// process on it: the first refusal is the first on any of them, and the count is written by
// whichever process sweeps first after the window ends (sweepRefusals, every minute), or
// meets the next refusal for the key. A process that stops leaves its windows to the others,
// or to itself when it starts again; nothing is lost, the count is only written later.

// refusalNote is what a window's first refusal leaves for writing the count: the audit
// target already as the audit trail records it, so that no typed name is kept as text.
type refusalNote struct {
	Target string `json:"target"`
	IP     string `json:"ip"`
	Reason string `json:"reason"`
}

// auditRefusal records an attempt refused by the throttle, aggregated as above. A refusal
// that concerns the address only names no user: the name typed varies from attempt to
// attempt.
func (s *Server) auditRefusal(ctx context.Context, ip, name string, refusal loginRefusal) error {
	note := refusalNote{IP: ip, Reason: refusal.reason}
	if refusal.byName {
		_, err := s.db.FindUserByName(ctx, name)
		if err != nil && leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
			return err
		}
		note.Target = s.typedName(name, err == nil)
	}
	text, err := json.Marshal(note)
	if err != nil {
		return err
	}
	c, ended, err := s.db.NoteThrottleCount(ctx, refusalKey(refusal.key), string(text), s.opts.Now(), loginWindow)
	if err != nil {
		return err
	}
	if ended != nil {
		s.writeRefusals(ctx, []store.ThrottleCount{*ended})
	}
	if c.Count != 1 {
		return nil
	}
	return s.writeRefusal(ctx, note, fmt.Sprintf("refused 1 login (%s); more until %s are counted in one entry",
		note.Reason, c.Until.UTC().Format("2006-01-02 15:04 UTC")))
}

// flushRefusals writes the counts of the windows that ended by now, whichever process
// counted them.
func (s *Server) flushRefusals(ctx context.Context, now time.Time) {
	ended, err := s.db.TakeEndedThrottleNotes(ctx, now)
	if err != nil {
		s.opts.Logger.Error("take ended refused-login windows", "err", err)
		return
	}
	s.writeRefusals(ctx, ended)
}

// writeRefusals writes the count of each ended window, less its first refusal, which is on
// record already.
func (s *Server) writeRefusals(ctx context.Context, ended []store.ThrottleCount) {
	for _, c := range ended {
		if c.Count <= 1 {
			continue
		}
		var note refusalNote
		if err := json.Unmarshal([]byte(c.Note), &note); err != nil {
			s.opts.Logger.Error("refused-login window with an unreadable note", "err", err)
			continue
		}
		err := s.writeRefusal(ctx, note, fmt.Sprintf("refused %d more logins from %s to %s (%s)", c.Count-1,
			c.Start.UTC().Format("2006-01-02 15:04"), c.Until.UTC().Format("15:04 UTC"), note.Reason))
		if err != nil {
			s.opts.Logger.Error("audit refused logins", "err", err)
		}
	}
}

func (s *Server) writeRefusal(ctx context.Context, note refusalNote, detail string) error {
	return s.db.RecordAudit(ctx, &leadmailer.AuditEntry{Actor: "anonymous", Action: leadmailer.AuditLoginFailed,
		Target: note.Target, Detail: detail, IP: note.IP})
}

// sweepRefusals writes the counts of ended windows every minute until the server shuts down,
// so that an attack that stops is on record without waiting for another refusal, and removes
// what has expired: throttle counts, full rate buckets, pending uploads.
func (s *Server) sweepRefusals() {
	defer close(s.swept)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
			s.sweep(context.Background(), s.opts.Now())
		}
	}
}

// sweep is one turn of sweepRefusals.
func (s *Server) sweep(ctx context.Context, now time.Time) {
	s.flushRefusals(ctx, now)
	if _, err := s.db.PruneThrottles(ctx, now); err != nil {
		s.opts.Logger.Error("prune throttles", "err", err)
	}
	if _, err := s.db.DeleteExpiredPendingUploads(ctx, now.Add(-s.opts.SessionLifetime)); err != nil {
		s.opts.Logger.Error("delete expired uploads", "err", err)
	}
}
