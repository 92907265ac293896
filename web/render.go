package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

// pageTemplate is one page: the layout with the page's "content".
type pageTemplate = template.Template

var funcs = template.FuncMap{
	"time": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		case *time.Time:
			if t == nil {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		}
		return fmt.Sprint(t)
	},
	"allows": func(u *leadmailer.User, role string) bool {
		return u != nil && u.Role.Allows(leadmailer.Role(role))
	},
	"query": func(pairs ...string) template.URL {
		v := url.Values{}
		for i := 0; i+1 < len(pairs); i += 2 {
			if pairs[i+1] != "" {
				v.Set(pairs[i], pairs[i+1])
			}
		}
		return template.URL("?" + v.Encode())
	},
	"label": fieldLabel,
	// count puts n before the noun in the number it takes, its digits grouped as num groups
	// them: "1 consent", "2 consents", "12 345 consents".
	"count": func(n int64, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return groupDigits(n) + " " + many
	},
	"num": groupDigits,
}

// groupDigits writes n with its digits in threes, "12 345", the narrow no-break space
// between them keeping a number on one line. Every count on a page goes through it, so a
// table cell and the sentence under it print the same number the same way.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[0] != '-' {
			b.WriteRune('\u202f')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// fieldLabel names a lead field for people.
func fieldLabel(name string) string {
	switch name {
	case "email":
		return "E-mail"
	case "business_id":
		return "Business ID"
	case "job_title":
		return "Job title"
	case "first_name":
		return "First name → name"
	case "last_name":
		return "Last name → name"
	case "-":
		return "— not stored —"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

func parseTemplates() (map[string]*pageTemplate, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*pageTemplate{}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, name)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}

// page is what every page template gets.
type page struct {
	Title string
	User  *leadmailer.User
	CSRF  string
	Nav   string // the current section, for the navigation bar
	Data  any
}

// render writes a page with status. It renders into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, rq *request, status int, name, title string, data any) {
	p := page{Title: title, Data: data, Nav: strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 2)[0]}
	if rq != nil && rq.session != nil {
		p.User, p.CSRF = rq.user, rq.session.CSRFToken
	}
	var buf bytes.Buffer
	if err := s.tmpl[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.opts.Logger.Error("render page", slog.String("page", name), slog.Any("err", err))
		http.Error(w, "The page could not be shown; the error was logged.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func writeJSON(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}
