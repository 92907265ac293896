package web

import (
	"net/http"

	"github.com/leadmailer/leadmailer"
)

type userPage struct {
	Users   []*leadmailer.User
	Roles   []leadmailer.Role
	Name    string
	Role    string
	Error   string
	Message string
}

// userList lists the users, with forms to add one, change a password and disable one.
func (s *Server) userList(w http.ResponseWriter, r *http.Request, rq *request) error {
	return s.renderUsers(w, r, rq, http.StatusOK, userPage{Role: string(leadmailer.RoleViewer), Message: r.URL.Query().Get("done")})
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, rq *request, status int, p userPage) error {
	users, err := s.db.FindUsers(r.Context())
	if err != nil {
		return err
	}
	p.Users, p.Roles = users, leadmailer.Roles()
	s.render(w, r, rq, status, "user_list", "Users", p)
	return nil
}
