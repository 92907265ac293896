package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
)

// TestUnknownPagesAnsweredInTheAppLayout checks that a mistyped address or a wrong method
// gets the app's own page, with the navigation for a logged-in user, and the right status.
func TestUnknownPagesAnsweredInTheAppLayout(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("vera", leadmailer.RoleViewer)
	c := a.login("vera")

	tests := []struct {
		name, method, path string
		client             *client
		status             int
		want               []string
		allow              string
	}{
		{"no such page", http.MethodGet, "/no/such/page", c, http.StatusNotFound,
			[]string{"<h1>Not Found</h1>", "There is no page at /no/such/page.", `<nav aria-label="Main">`}, ""},
		{"no such page, logged out", http.MethodGet, "/no/such/page", a.client(), http.StatusNotFound,
			[]string{"<h1>Not Found</h1>", `href="/static/app.css"`}, ""},
		{"wrong method", http.MethodGet, "/logout", c, http.StatusMethodNotAllowed,
			[]string{"<h1>Method Not Allowed</h1>", "does not take a GET request", `<nav aria-label="Main">`}, "POST"},
		{"wrong method on a page with a path value", http.MethodDelete, "/leads/1", c, http.StatusMethodNotAllowed,
			[]string{"<h1>Method Not Allowed</h1>"}, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, a.ts.URL+tt.path, nil)
			res := tt.client.do(req)
			if res.status != tt.status {
				t.Errorf("status %d, want %d", res.status, tt.status)
			}
			if ct := res.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q, want the app's HTML page", ct)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.body, w) {
					t.Errorf("page lacks %q:\n%s", w, res.body)
				}
			}
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
		})
	}
	if res := a.client().get("/no/such/page"); strings.Contains(res.body, `<nav aria-label="Main">`) {
		t.Error("the error page shows the navigation to a visitor who is not logged in")
	}
	// Routes that exist still work, path values included.
	if res := c.get("/leads/999"); res.status != http.StatusNotFound || !strings.Contains(res.body, "lead") {
		t.Errorf("an unknown lead: status %d\n%s", res.status, res.body)
	}
}

// TestFavicon checks that the icon browsers ask for is served and that pages link it.
func TestFavicon(t *testing.T) {
	a := newTestApp(t, Options{})
	res := a.client().get("/favicon.ico")
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(res.body, "<svg") {
		t.Errorf("/favicon.ico: status %d, Content-Type %q, body %.40q", res.status, res.header.Get("Content-Type"), res.body)
	}
	if login := a.client().get("/login"); !strings.Contains(login.body, `<link rel="icon" href="/favicon.ico" type="image/svg+xml">`) {
		t.Errorf("the login page does not link the icon:\n%s", login.body)
	}
}

// TestDashboardListsOnlyScheduledSources checks that the dashboard's "Scheduled sources"
// names the sources that run by themselves and leaves out the manual ones.
func TestDashboardListsOnlyScheduledSources(t *testing.T) {
	next := func(t time.Time) time.Time { return t.Add(time.Hour) }
	a := newTestApp(t, Options{Sources: []SourceInfo{
		{Name: "registry", Kind: "http", Schedule: "0 3 * * *", NextRun: next},
		{Name: "crm-export", Kind: "folder"},
	}})
	a.addUser("vera", leadmailer.RoleViewer)
	body := a.login("vera").get("/").body
	start := strings.Index(body, `<h2>Scheduled sources</h2>`)
	if start < 0 {
		t.Fatalf("dashboard has no scheduled sources:\n%s", body)
	}
	section, _, _ := strings.Cut(body[start:], "</section>")
	if !strings.Contains(section, `href="/sources/registry"`) {
		t.Errorf("scheduled sources lack registry:\n%s", section)
	}
	if strings.Contains(section, "crm-export") || strings.Contains(section, "manual") {
		t.Errorf("scheduled sources list the manual source:\n%s", section)
	}

	// With only manual sources the section is not shown at all.
	b := newTestApp(t, Options{Sources: []SourceInfo{{Name: "crm-export", Kind: "folder"}}})
	b.addUser("vera", leadmailer.RoleViewer)
	if body := b.login("vera").get("/").body; strings.Contains(body, "Scheduled sources") {
		t.Errorf("dashboard shows scheduled sources with none scheduled:\n%s", body)
	}
}
