package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
)

// cookieName is the session cookie's name.
const cookieName = "leadmailer_session"

// request is what the app knows about a logged-in request.
type request struct {
	session *leadmailer.Session
	user    *leadmailer.User
	ip      string
}

// handlerFunc is a page handler; an error it returns is answered by fail.
type handlerFunc func(w http.ResponseWriter, r *http.Request, rq *request) error

// Request body limits. A form is a few fields; a campaign carries its templates; the upload
// route has its own bound (Options.MaxUpload). A body over its limit is answered 413 and not
// read further, so no request can make the server read, hold or spool more than this.
const (
	formBodyLimit     = 256 << 10
	campaignBodyLimit = 2 << 20
	// A login is a name, a password of up to 1,024 bytes (3 KiB percent-encoded) and the
	// page to return to.
	loginBodyLimit = 8 << 10
	// publicBodyLimit bounds the endpoints mounted with MountPublic; each sets a tighter
	// bound of its own (a website query 32 KiB, a bounce webhook 5 MiB).
	publicBodyLimit = 8 << 20
)

// route registers h at pattern for logged-in users whose role allows need, with bodies up to
// formBodyLimit. Every POST must carry the session's form token, whatever its content type:
// a multipart form is read like any other (within the body limit), so a forged multipart
// request is refused like a forged urlencoded one.
func (s *Server) route(pattern string, need leadmailer.Role, h handlerFunc) {
	s.handle(pattern, need, formBodyLimit, true, h)
}

// routeLimit is route with another body limit.
func (s *Server) routeLimit(pattern string, need leadmailer.Role, limit int64, h handlerFunc) {
	s.handle(pattern, need, limit, true, h)
}

// routeUpload registers a file upload: its body may be as large as the upload limit, and the
// handler itself checks the form token, which the form sends as its first part, before it
// reads the file: reading the whole form first would spool the file to disk for a forged
// request.
func (s *Server) routeUpload(pattern string, need leadmailer.Role, h handlerFunc) {
	s.handle(pattern, need, s.opts.MaxUpload+1<<20, false, h)
}

func (s *Server) handle(pattern string, need leadmailer.Role, limit int64, checkToken bool, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		rq, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		if !rq.user.Role.Allows(need) {
			s.fail(w, r, rq, errForbidden(need))
			return
		}
		if checkToken && r.Method == http.MethodPost {
			// ParseMultipartForm alone would hide a urlencoded body's error behind
			// ErrNotMultipart.
			err := r.ParseForm()
			if err == nil {
				err = r.ParseMultipartForm(formMemory)
			}
			if err != nil && !errors.Is(err, http.ErrNotMultipart) {
				s.fail(w, r, rq, formError(err))
				return
			}
			if !auth.TokensEqual(r.PostFormValue("csrf"), rq.session.CSRFToken) {
				s.fail(w, r, rq, errBadFormToken)
				return
			}
		}
		if err := h(w, r, rq); err != nil {
			s.fail(w, r, rq, err)
		}
	})
}

// formMemory is how much of a multipart form is held in memory. It is above every body limit
// but the upload's, so a multipart form never spools to temporary files.
const formMemory = campaignBodyLimit + 1<<20

// formError says why a form could not be read: too large (413), or malformed (400).
func formError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &httpError{status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("The form is larger than %d KiB, which is more than this page accepts.", mbe.Limit>>10)}
	}
	return leadmailer.Errorf(leadmailer.EINVALID, "the form could not be read: %v", err)
}

// authenticate finds the request's session, ending it if it has idled or lived too long. With
// no valid session it sends the browser to the login page and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*request, bool) {
	rq := &request{ip: s.opts.ClientIP(r)}
	c, err := r.Cookie(cookieName)
	if err == nil && c.Value != "" {
		hash := auth.HashToken(c.Value)
		sess, err := s.db.FindSession(r.Context(), hash)
		now := s.opts.Now()
		switch {
		case err != nil && leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND:
			s.fail(w, r, rq, err)
			return nil, false
		case err != nil:
		case now.Sub(sess.CreatedAt) > s.opts.SessionLifetime || now.Sub(sess.LastSeenAt) > s.opts.IdleTimeout:
			s.db.DeleteSession(r.Context(), hash)
		default:
			// Writing on every request would make every page view a write transaction;
			// a minute's precision is plenty for a 30-minute idle timeout.
			if now.Sub(sess.LastSeenAt) > time.Minute {
				if err := s.db.TouchSession(r.Context(), hash, now); err != nil {
					s.fail(w, r, rq, err)
					return nil, false
				}
			}
			rq.session, rq.user = sess, sess.User
			return rq, true
		}
	}
	s.clearCookie(w, r)
	if r.Method == http.MethodGet && r.Header.Get("Accept") != "application/json" {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	} else {
		http.Error(w, "Your session has ended; log in again.", http.StatusUnauthorized)
	}
	return nil, false
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode})
}

// peerIP is the address of the TCP peer, without the port: the client when no proxy is in
// front.
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// audit records an action by the request's user. Pages that show personal data call it before
// rendering and fail if it fails: no one reads data without leaving a trace.
func (s *Server) audit(r *http.Request, rq *request, action, target, detail string) error {
	actor := "anonymous"
	if rq.user != nil {
		actor = "user:" + rq.user.Name
	}
	return s.db.RecordAudit(r.Context(), &leadmailer.AuditEntry{Actor: actor, Action: action, Target: target,
		Detail: detail, IP: rq.ip})
}

var errBadFormToken = &httpError{status: http.StatusForbidden,
	msg: "The form was out of date or did not come from this site. Go back, reload the page and try again."}

func errForbidden(need leadmailer.Role) error {
	return &httpError{status: http.StatusForbidden,
		msg: "This page needs the " + string(need) + " role. Ask an admin if your work needs it."}
}

// httpError is an error with its own status, for answers that are not a store error.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// statusOf maps an error to its HTTP status: the one table that does.
func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	switch leadmailer.ErrorCode(err) {
	case leadmailer.EINVALID:
		return http.StatusBadRequest
	case leadmailer.ENOTFOUND:
		return http.StatusNotFound
	case leadmailer.ECONFLICT:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// fail answers a failed request with an error page. Internal errors are logged, and the user
// sees only that something went wrong.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, rq *request, err error) {
	status := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.opts.Logger.Error("request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		msg = "Something went wrong on the server; the error was logged. Try again, or ask an admin."
	}
	if r.Header.Get("Accept") == "application/json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		writeJSON(w, map[string]string{"error": msg})
		return
	}
	s.render(w, r, rq, status, "error", "Error", map[string]any{"Status": status, "StatusText": http.StatusText(status), "Message": msg})
}
