package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// idempotencyWindow is how long the answer to a POST with an Idempotency-Key is kept: a
// client retrying later than that is starting something new.
const idempotencyWindow = 24 * time.Hour

// idempotencyAbandoned is how long a key claimed by a call that never answered stays
// claimed: the process that ran it died. It outlasts the longest call, an import of the
// largest upload the API accepts.
const idempotencyAbandoned = time.Hour

// idempotent answers a POST that creates something: an import run, a campaign, a
// suppression. Without an Idempotency-Key header it runs do and sends its answer. With one,
// a retry with the same key and request within idempotencyWindow gets the first answer again
// (marked Idempotent-Replayed) instead of creating a second thing, and the same key with
// another request is a conflict. hash identifies the request: a digest of its body and of
// whatever else decides what it creates. An error from do is answered and not kept, so a
// retry tries again. Keys are the token's own, whatever the endpoint: callers put the
// endpoint into hash, so one key used on two endpoints is a conflict.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, c *call, hash string, do func() (int, []byte, error)) error {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		status, answer, err := do()
		if err != nil {
			return err
		}
		writeBody(w, status, answer)
		return nil
	}
	if len(key) > 255 {
		return fieldErrorf("Idempotency-Key", "the Idempotency-Key header is longer than 255 characters")
	}
	// Within this process a retry waits for the first call; across processes the claim in
	// the database answers it with a conflict until the first call has answered.
	unlock := s.lockKey(c.token.ID, key)
	defer unlock()
	now := s.opts.Now()
	kept, err := s.db.ClaimIdempotencyKey(r.Context(), c.token.ID, key, hash, now.Add(-idempotencyWindow), now.Add(-idempotencyAbandoned))
	switch {
	case err != nil:
		return err
	case kept != nil && kept.RequestHash != hash:
		return &apiError{status: http.StatusConflict, code: leadmailer.ECONFLICT, field: "Idempotency-Key",
			msg: "this Idempotency-Key was used with another request; use a new key for a new one"}
	case kept != nil && kept.Running():
		w.Header().Set("Retry-After", "1")
		return &apiError{status: http.StatusConflict, code: leadmailer.ECONFLICT, field: "Idempotency-Key",
			msg: "a call with this Idempotency-Key is still running on another leadmailer process; send it again once that one has answered"}
	case kept != nil:
		w.Header().Set("Idempotent-Replayed", "true")
		writeBody(w, kept.Status, kept.Body)
		return nil
	}
	status, answer, err := do()
	if err != nil {
		if rerr := s.db.ReleaseIdempotencyKey(context.WithoutCancel(r.Context()), c.token.ID, key); rerr != nil {
			s.opts.Logger.Error("give back idempotency key", "token", c.token.Name, "err", rerr)
		}
		return err
	}
	// The thing is created; failing to keep its answer must not make the client send the
	// request again as if it were not, so the failure is logged and the answer sent.
	if err := s.db.SaveIdempotentResponse(context.WithoutCancel(r.Context()), c.token.ID, key,
		&store.IdempotentResponse{RequestHash: hash, Status: status, Body: answer}); err != nil {
		s.opts.Logger.Error("keep answer for idempotency key", "token", c.token.Name, "err", err)
	}
	writeBody(w, status, answer)
	return nil
}

// keyLock serialises the calls that carry one idempotency key, so that a retry arriving
// while the first call still runs waits for its answer instead of creating the thing twice.
type keyLock struct {
	mu    sync.Mutex
	users int // calls holding or waiting for mu
}

// lockKey locks token id's key and returns its unlock.
func (s *Server) lockKey(id int64, key string) func() {
	k := strconv.FormatInt(id, 10) + "\x00" + key
	s.mu.Lock()
	l, ok := s.keys[k]
	if !ok {
		l = &keyLock{}
		s.keys[k] = l
	}
	l.users++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.users--; l.users == 0 {
			delete(s.keys, k)
		}
		s.mu.Unlock()
	}
}

// requestHash is the hash of a call that creates something from its path, query and body,
// for idempotent.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\x00"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}
