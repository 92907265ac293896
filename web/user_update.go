package web

import (
	"net/http"
	"net/url"

	"github.com/leadmailer/leadmailer"
)

// userPassword sets a user's password and ends the user's sessions.
func (s *Server) userPassword(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	hash, err := newPassword(r, name)
	if err == nil {
		err = s.db.SetUserPassword(r.Context(), name, hash)
	}
	if leadmailer.ErrorCode(err) == leadmailer.EINVALID {
		return s.renderUsers(w, r, rq, http.StatusBadRequest, userPage{Role: string(leadmailer.RoleViewer), Error: name + ": " + err.Error()})
	}
	if err != nil {
		return err
	}
	if err := s.audit(r, rq, leadmailer.AuditUserPassword, name, ""); err != nil {
		return err
	}
	http.Redirect(w, r, "/users?done="+url.QueryEscape("Changed the password of "+name+" and ended their sessions."), http.StatusSeeOther)
	return nil
}

// userDisable disables a user and ends the user's sessions. An admin cannot disable
// themselves, so that the last admin cannot lock everyone out by mistake.
func (s *Server) userDisable(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := r.PathValue("name")
	if name == rq.user.Name {
		return s.renderUsers(w, r, rq, http.StatusBadRequest, userPage{Role: string(leadmailer.RoleViewer),
			Error: "You cannot disable yourself; ask another admin."})
	}
	if err := s.db.DisableUser(r.Context(), name); err != nil {
		return err
	}
	if err := s.audit(r, rq, leadmailer.AuditUserDisable, name, ""); err != nil {
		return err
	}
	http.Redirect(w, r, "/users?done="+url.QueryEscape("Disabled "+name+" and ended their sessions."), http.StatusSeeOther)
	return nil
}
