package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
)

// loginCheck checks a user name and password and starts a session. A wrong password and an
// unknown or disabled user get the same answer after the same work (one argon2id compare), so
// the form does not tell which names exist. Failures are counted per client address, per name
// and address, and per name (see loginGuard); an attempt over a limit is refused without
// checking.
//
// The login form is the one form anyone can post without a session, so it is read only when
// it is small and urlencoded, as the login page sends it: a multipart body would be parsed
// into memory and temporary files before anything is checked.
func (s *Server) loginCheck(w http.ResponseWriter, r *http.Request) {
	rq := &request{ip: s.opts.ClientIP(r)}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		s.fail(w, r, rq, errLoginForm)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, loginBodyLimit)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, rq, formError(err))
		return
	}
	name := r.PostFormValue("name")
	if len(name) > 64 {
		name = name[:64]
	}
	password := r.PostFormValue("password")
	form := loginForm{Name: name, Next: safeNext(r.PostFormValue("next"))}

	refusal, refused, err := s.logins.check(r.Context(), name, rq.ip)
	if err != nil {
		s.fail(w, r, rq, err)
		return
	}
	if refused {
		if err := s.auditRefusal(r.Context(), rq.ip, name, refusal); err != nil {
			s.opts.Logger.Error("audit refused login", "err", err)
		}
		form.Error = fmt.Sprintf("%s Try again in %d minutes.", refusal.message, int(refusal.wait.Round(time.Minute).Minutes())+1)
		s.render(w, r, nil, http.StatusTooManyRequests, "login", "Log in", form)
		return
	}

	u, err := s.db.FindUserByName(r.Context(), name)
	if err != nil && leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		s.fail(w, r, rq, err)
		return
	}
	if err != nil {
		u = nil
	}
	if !auth.CheckLogin(u, password, s.verifyPassword) {
		if err := s.logins.failed(r.Context(), name, rq.ip); err != nil {
			s.fail(w, r, rq, err)
			return
		}
		if err := s.audit(r, rq, leadmailer.AuditLoginFailed, s.typedName(name, u != nil), "wrong password, or no such active user"); err != nil {
			s.fail(w, r, rq, err)
			return
		}
		form.Error = "Wrong user name or password."
		s.render(w, r, nil, http.StatusUnauthorized, "login", "Log in", form)
		return
	}
	if err := s.logins.succeeded(r.Context(), name, rq.ip); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	// Logins are rare enough to sweep ended sessions here, with no background job.
	if _, err := s.db.DeleteExpiredSessions(r.Context(), s.opts.Now().Add(-s.opts.SessionLifetime),
		s.opts.Now().Add(-s.opts.IdleTimeout)); err != nil {
		s.fail(w, r, rq, err)
		return
	}

	// A fresh token on every login: a token planted before login is worth nothing after it.
	token := auth.NewToken()
	now := s.opts.Now().UTC()
	sess := &leadmailer.Session{TokenHash: auth.HashToken(token), UserID: u.ID, CSRFToken: auth.NewToken(),
		CreatedAt: now, LastSeenAt: now, IP: rq.ip}
	if err := s.db.CreateSession(r.Context(), sess); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	rq.user, rq.session = u, sess
	if err := s.audit(r, rq, leadmailer.AuditLogin, u.Name, ""); err != nil {
		s.fail(w, r, rq, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", HttpOnly: true,
		Secure: s.secureCookies(r), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, form.Next, http.StatusSeeOther)
}

var errLoginForm = &httpError{status: http.StatusUnsupportedMediaType,
	msg: "Log in with the form on the login page: it sends the name and password urlencoded, and nothing else is read."}

// typedName is how the audit trail records the name typed at a failed login: the name itself
// when a user has it, and otherwise a keyed hash of it, since a name that is no user's is
// often a password typed into the wrong field.
func (s *Server) typedName(name string, known bool) string {
	if known {
		return name
	}
	mac := hmac.New(sha256.New, s.opts.NameKey)
	mac.Write([]byte(name))
	return "unknown name " + hex.EncodeToString(mac.Sum(nil))[:16]
}
