package web

import (
	"net/http"
	"strings"
)

// loginShow shows the login form.
func (s *Server) loginShow(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, nil, http.StatusOK, "login", "Log in", loginForm{Next: safeNext(r.URL.Query().Get("next"))})
}

type loginForm struct {
	Name  string
	Next  string
	Error string
}

// safeNext returns next if it is a path on this site, else "/": the login form must not
// become a way to send someone elsewhere after they log in.
//
// Browsers drop tabs and line breaks from URLs and read a backslash as a slash, so "/\\host"
// and "/<tab>/host" would lead to another host: any control character or backslash is refused.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.IndexFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "/"
	}
	return next
}
