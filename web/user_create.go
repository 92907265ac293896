package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
)

// userCreate adds a user with the password the admin chose; the admin passes it on, and the
// user can have it changed later.
func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, rq *request) error {
	p := userPage{Name: strings.TrimSpace(r.PostFormValue("name")), Role: r.PostFormValue("role")}
	hash, err := newPassword(r, p.Name)
	if err == nil {
		u := &leadmailer.User{Name: p.Name, Role: leadmailer.Role(p.Role), PasswordHash: hash}
		if err = s.db.CreateUser(r.Context(), u); err == nil {
			if err := s.audit(r, rq, leadmailer.AuditUserCreate, u.Name, "role "+p.Role); err != nil {
				return err
			}
			http.Redirect(w, r, "/users?done="+url.QueryEscape("Added "+u.Name+"."), http.StatusSeeOther)
			return nil
		}
	}
	if code := leadmailer.ErrorCode(err); code != leadmailer.EINVALID && code != leadmailer.ECONFLICT {
		return err
	}
	p.Error = err.Error()
	return s.renderUsers(w, r, rq, statusOf(err), p)
}

// newPassword reads the password and its repetition from a form, checks it as the password of
// the user called name, and hashes it.
func newPassword(r *http.Request, name string) (string, error) {
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		return "", leadmailer.Errorf(leadmailer.EINVALID, "the two passwords differ")
	}
	if err := auth.CheckNewPassword(name, pw); err != nil {
		return "", err
	}
	return auth.HashPassword(pw)
}
