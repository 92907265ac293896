package web

import (
	"bytes"
	"net/http"

	"github.com/leadmailer/leadmailer/auth"
)

// serveMux routes r through the app's routes. A request that matches none (no such page, or
// a method the page does not take) gets the app's own error page instead of the mux's plain
// text, so that the user keeps the navigation and a way back.
func (s *Server) serveMux(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern != "" {
		// ServeHTTP, not the handler just found: only ServeHTTP sets the path values.
		s.mux.ServeHTTP(w, r)
		return
	}
	// The mux's own answer says which of 404 and 405 it is, and for 405 which methods the
	// page takes (the Allow header).
	rec := &statusRecorder{header: http.Header{}}
	s.mux.ServeHTTP(rec, r)
	var msg string
	switch rec.status {
	case http.StatusNotFound:
		msg = "There is no page at " + r.URL.Path + ". The address may be mistyped, or what it showed was removed."
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		msg = "The page at " + r.URL.Path + " does not take a " + r.Method + " request. Open it from a link or button in the app."
	default:
		// Not an answer about routing (a redirect to the canonical path, say): pass it on.
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
		return
	}
	if r.Header.Get("Accept") == "application/json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.status)
		writeJSON(w, map[string]string{"error": msg})
		return
	}
	s.render(w, r, s.visitor(r), rec.status, "error", http.StatusText(rec.status), map[string]any{
		"Status": rec.status, "StatusText": http.StatusText(rec.status), "Message": msg})
}

// visitor returns the logged-in user's request for r, or nil, without the side effects of
// authenticate: an error page neither sends anyone to the login form nor extends a session.
func (s *Server) visitor(r *http.Request) *request {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	sess, err := s.db.FindSession(r.Context(), auth.HashToken(c.Value))
	if err != nil {
		return nil
	}
	now := s.opts.Now()
	if now.Sub(sess.CreatedAt) > s.opts.SessionLifetime || now.Sub(sess.LastSeenAt) > s.opts.IdleTimeout {
		return nil
	}
	return &request{session: sess, user: sess.User, ip: s.opts.ClientIP(r)}
}

// statusRecorder keeps a response in memory.
type statusRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *statusRecorder) Header() http.Header { return rec.header }

func (rec *statusRecorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *statusRecorder) Write(b []byte) (int, error) {
	rec.WriteHeader(http.StatusOK)
	return rec.body.Write(b)
}
