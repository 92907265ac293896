package web

import (
	"net/http"

	"github.com/leadmailer/leadmailer"
)

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := s.db.DeleteSession(r.Context(), rq.session.TokenHash); err != nil {
		return err
	}
	if err := s.audit(r, rq, leadmailer.AuditLogout, rq.user.Name, ""); err != nil {
		return err
	}
	s.clearCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
