package web

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// These tests run the whole app over real HTTP (httptest) against a real SQLite database,
// with a clock the test moves.

type testApp struct {
	t   *testing.T
	s   *Server
	ts  *httptest.Server
	db  *store.DB
	dir string

	mu  sync.Mutex
	now time.Time
}

func (a *testApp) clock() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now
}

func (a *testApp) advance(d time.Duration) {
	a.mu.Lock()
	a.now = a.now.Add(d)
	a.mu.Unlock()
}

func newTestApp(t *testing.T, opts Options) *testApp {
	t.Helper()
	a := &testApp{t: t, now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), dir: t.TempDir()}
	a.db = storetest.Open(t, a.clock)
	opts.DataDir, opts.Now = a.dir, a.clock
	s, err := New(a.db, opts)
	if err != nil {
		t.Fatal(err)
	}
	a.s = s
	a.ts = httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		a.ts.Close()
		s.Shutdown(t.Context())
	})
	return a
}

// password is every test user's password.
func password(name string) string { return "password of " + name }

func (a *testApp) addUser(name string, role leadmailer.Role) *leadmailer.User {
	a.t.Helper()
	h, err := auth.HashPassword(password(name))
	if err != nil {
		a.t.Fatal(err)
	}
	u := &leadmailer.User{Name: name, Role: role, PasswordHash: h}
	if err := a.db.CreateUser(a.t.Context(), u); err != nil {
		a.t.Fatal(err)
	}
	return u
}

// client is one browser: its own cookies, and the form token of the last page it saw.
type client struct {
	a    *testApp
	http *http.Client
	csrf string
}

func (a *testApp) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{a: a, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// login logs in as name and loads the dashboard to learn the form token.
func (a *testApp) login(name string) *client {
	a.t.Helper()
	c := a.client()
	res := c.post("/login", url.Values{"name": {name}, "password": {password(name)}})
	if res.status != http.StatusSeeOther {
		a.t.Fatalf("login %s: status %d, body:\n%s", name, res.status, res.body)
	}
	if res := c.get("/"); res.status != http.StatusOK {
		a.t.Fatalf("dashboard after login %s: status %d", name, res.status)
	}
	return c
}

type response struct {
	status int
	header http.Header
	body   string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) do(req *http.Request) response {
	c.a.t.Helper()
	res, err := c.http.Do(req)
	if err != nil {
		c.a.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		c.csrf = string(m[1])
	}
	return response{res.StatusCode, res.Header, string(body)}
}

func (c *client) get(path string) response {
	c.a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.a.ts.URL+path, nil)
	return c.do(req)
}

// post sends a form with the client's form token, unless form sets "csrf" itself.
func (c *client) post(path string, form url.Values, headers ...string) response {
	c.a.t.Helper()
	if _, ok := form["csrf"]; !ok && c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.a.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

// upload posts a file as the upload form does: form token, source, kind, then the file.
func (c *client) upload(csrf, source, name string, data []byte) response {
	c.a.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if csrf != "" {
		mw.WriteField("csrf", csrf)
	}
	mw.WriteField("source", source)
	mw.WriteField("kind", "upload")
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.a.ts.URL+"/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func (a *testApp) auditEntries(filter store.AuditFilter) []*leadmailer.AuditEntry {
	a.t.Helper()
	var out []*leadmailer.AuditEntry
	if err := a.db.FindAuditEntries(a.t.Context(), filter, func(e *leadmailer.AuditEntry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		a.t.Fatal(err)
	}
	return out
}

func (a *testApp) userExists(name string) bool {
	_, err := a.db.FindUserByName(a.t.Context(), name)
	return err == nil
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "importer", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRolesEnforcedOnEveryRoute(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("vera", leadmailer.RoleViewer)
	a.addUser("mark", leadmailer.RoleMarketer)
	a.addUser("ada", leadmailer.RoleAdmin)
	clients := map[string]*client{"anonymous": a.client(), "viewer": a.login("vera"), "marketer": a.login("mark"), "admin": a.login("ada")}
	newUser := func() url.Values {
		return url.Values{"name": {"newbie"}, "role": {"viewer"}, "password": {"a long password"}, "password2": {"a long password"}}
	}
	for _, tc := range []struct {
		who, method, path string
		want              int
	}{
		{"anonymous", "GET", "/", http.StatusSeeOther},
		{"anonymous", "GET", "/leads", http.StatusSeeOther},
		{"anonymous", "POST", "/users", http.StatusUnauthorized},
		{"viewer", "GET", "/", http.StatusOK},
		{"viewer", "GET", "/leads", http.StatusOK},
		{"viewer", "GET", "/imports", http.StatusOK},
		{"viewer", "GET", "/upload", http.StatusForbidden},
		{"viewer", "POST", "/upload", http.StatusForbidden},
		{"viewer", "GET", "/imports/1/rejects.csv", http.StatusForbidden},
		{"viewer", "GET", "/users", http.StatusForbidden},
		{"viewer", "POST", "/users", http.StatusForbidden},
		{"viewer", "GET", "/audit", http.StatusForbidden},
		{"marketer", "GET", "/upload", http.StatusOK},
		{"marketer", "GET", "/users", http.StatusForbidden},
		{"marketer", "POST", "/users", http.StatusForbidden},
		{"marketer", "POST", "/users/vera/disable", http.StatusForbidden},
		{"marketer", "GET", "/audit", http.StatusForbidden},
		{"admin", "GET", "/users", http.StatusOK},
		{"admin", "GET", "/audit", http.StatusOK},
		{"admin", "GET", "/upload", http.StatusOK},
	} {
		c := clients[tc.who]
		var res response
		if tc.method == "GET" {
			res = c.get(tc.path)
		} else {
			res = c.post(tc.path, newUser())
		}
		if res.status != tc.want {
			t.Errorf("%s %s %s: status %d, want %d", tc.who, tc.method, tc.path, res.status, tc.want)
		}
	}
	if a.userExists("newbie") {
		t.Error("a refused POST /users created the user")
	}
	if res := clients["admin"].post("/users", newUser()); res.status != http.StatusSeeOther || !a.userExists("newbie") {
		t.Errorf("admin POST /users: status %d, user created %v; want 303 and created", res.status, a.userExists("newbie"))
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	c := a.login("ada")
	form := url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {"a long password"}, "password2": {"a long password"}}
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		res := c.post("/users", form, h...)
		if res.status != http.StatusForbidden {
			t.Errorf("POST /users with %s: %s: status %d, want 403", h[0], h[1], res.status)
		}
	}
	if a.userExists("mallory") {
		t.Fatal("a cross-origin POST created a user")
	}
	// The same form from our own pages goes through.
	if res := c.post("/users", form, "Sec-Fetch-Site", "same-origin"); res.status != http.StatusSeeOther {
		t.Errorf("same-origin POST: status %d, want 303", res.status)
	}
}

func TestFormTokenRequired(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	c := a.login("ada")
	form := url.Values{"name": {"mallory"}, "role": {"admin"}, "password": {"a long password"}, "password2": {"a long password"}}
	for _, token := range []string{"", "forged-token"} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("csrf", token)
		if res := c.post("/users", f); res.status != http.StatusForbidden || !strings.Contains(res.body, "did not come from this site") {
			t.Errorf("POST /users with form token %q: status %d, want 403 with an explanation", token, res.status)
		}
	}
	if res := c.upload("", "crm", "a.csv", []byte("email\na@example.com\n")); res.status != http.StatusForbidden {
		t.Errorf("upload without form token: status %d, want 403", res.status)
	}
	if a.userExists("mallory") {
		t.Error("a POST without the form token created a user")
	}
	if entries, _ := os.ReadDir(filepath.Join(a.dir, "uploads")); len(entries) > 0 {
		t.Errorf("an upload without the form token left %d files", len(entries))
	}
	// Another session's token is no good either.
	a.addUser("bob", leadmailer.RoleAdmin)
	other := a.login("bob")
	f := url.Values{"csrf": {other.csrf}}
	for k, v := range form {
		f[k] = v
	}
	if res := c.post("/users", f); res.status != http.StatusForbidden {
		t.Errorf("POST with another session's token: status %d, want 403", res.status)
	}
}

func TestLoginSameAnswerAndDummyHash(t *testing.T) {
	a := newTestApp(t, Options{})
	anna := a.addUser("anna", leadmailer.RoleViewer)
	a.addUser("dis", leadmailer.RoleViewer)
	if err := a.db.DisableUser(t.Context(), "dis"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var compared []string
	a.s.verifyPassword = func(hash, pw string) bool {
		mu.Lock()
		compared = append(compared, hash)
		mu.Unlock()
		return auth.VerifyPassword(hash, pw)
	}
	errRE := regexp.MustCompile(`<p class="error"[^>]*>([^<]*)</p>`)
	for _, tc := range []struct {
		name, pw string
		hash     string
	}{
		{"anna", "wrong password!", anna.PasswordHash},
		{"nobody", "wrong password!", auth.DummyHash()},
		{"dis", password("dis"), auth.DummyHash()},
	} {
		compared = nil
		start := time.Now()
		res := a.client().post("/login", url.Values{"name": {tc.name}, "password": {tc.pw}})
		took := time.Since(start)
		m := errRE.FindStringSubmatch(res.body)
		if res.status != http.StatusUnauthorized || m == nil || m[1] != "Wrong user name or password." {
			t.Errorf("login %s: status %d, message %q; want 401 and the one message for every failure", tc.name, res.status, m)
		}
		if len(compared) != 1 || compared[0] != tc.hash {
			t.Errorf("login %s: compared against %d hashes (%.20q); want exactly one, the %s", tc.name, len(compared), compared,
				map[bool]string{true: "dummy hash", false: "user's hash"}[tc.hash == auth.DummyHash()])
		}
		if took < 10*time.Millisecond {
			t.Errorf("login %s took %v: an argon2id compare takes tens of milliseconds", tc.name, took)
		}
	}
	got := a.auditEntries(store.AuditFilter{Action: leadmailer.AuditLoginFailed})
	if len(got) != 3 || got[0].IP != "127.0.0.1" {
		t.Errorf("failed logins audited: %d entries (first %+v), want 3 with the client's IP", len(got), got)
	}
}

func TestLoginThrottled(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("anna", leadmailer.RoleViewer)
	a.s.verifyPassword = func(hash, pw string) bool { return auth.VerifyPassword(hash, pw) }
	try := func(name, pw string) int {
		return a.client().post("/login", url.Values{"name": {name}, "password": {pw}}).status
	}
	for range 5 {
		if got := try("anna", "a wrong password"); got != http.StatusUnauthorized {
			t.Fatalf("wrong password: status %d, want 401", got)
		}
	}
	if got := try("anna", password("anna")); got != http.StatusTooManyRequests {
		t.Errorf("right password after 5 failures: status %d, want 429", got)
	}
	a.advance(16 * time.Minute)
	if got := try("anna", password("anna")); got != http.StatusSeeOther {
		t.Errorf("right password once the failures are 16 minutes old: status %d, want 303", got)
	}
	// Per address: 20 failures spread over many names block the address for every name.
	for i := range 20 {
		try("guess"+string(rune('a'+i)), "a wrong password")
	}
	if got := try("anna", password("anna")); got != http.StatusTooManyRequests {
		t.Errorf("right password from an address with 20 recent failures: status %d, want 429", got)
	}
}

func TestSessionCookieAndTimeouts(t *testing.T) {
	a := newTestApp(t, Options{PublicURL: "https://leads.example.com"})
	a.addUser("anna", leadmailer.RoleViewer)
	res := a.client().post("/login", url.Values{"name": {"anna"}, "password": {password("anna")}})
	cookie := res.header.Get("Set-Cookie")
	for _, want := range []string{"leadmailer_session=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	token := strings.TrimPrefix(strings.SplitN(cookie, ";", 2)[0], "leadmailer_session=")
	if _, err := a.db.FindSession(t.Context(), token); err == nil {
		t.Error("the session is stored under the raw token; only its hash may be stored")
	}
	if _, err := a.db.FindSession(t.Context(), auth.HashToken(token)); err != nil {
		t.Errorf("no session stored under the token's hash: %v", err)
	}

	c := a.login("anna")
	for range 3 { // used every 20 minutes, it stays alive past the 30-minute idle timeout
		a.advance(20 * time.Minute)
		if res := c.get("/leads"); res.status != http.StatusOK {
			t.Fatalf("session used every 20 minutes: status %d after %v", res.status, a.clock().Sub(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)))
		}
	}
	a.advance(31 * time.Minute)
	if res := c.get("/leads"); res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/login") {
		t.Errorf("after 31 idle minutes: status %d, Location %q; want a redirect to the login", res.status, res.header.Get("Location"))
	}

	c = a.login("anna")
	for i := 0; i < 12*3+1; i++ {
		a.advance(20 * time.Minute)
		if res := c.get("/"); res.status != http.StatusOK {
			if elapsed := time.Duration(i+1) * 20 * time.Minute; elapsed <= 12*time.Hour {
				t.Fatalf("session ended after %v of use, before the 12-hour lifetime", elapsed)
			}
			return
		}
	}
	t.Error("a session in constant use lived past its 12-hour lifetime")
}

func TestLogoutAndDisableEndSessions(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	a.addUser("bert", leadmailer.RoleViewer)
	admin, bert := a.login("ada"), a.login("bert")
	// A new password locks out whoever knew the old one.
	if res := admin.post("/users/bert/password", url.Values{"password": {"a fresh spring meadow"},
		"password2": {"a fresh spring meadow"}}); res.status != http.StatusSeeOther {
		t.Fatalf("set bert's password: status %d\n%s", res.status, res.body)
	}
	if res := bert.get("/leads"); res.status != http.StatusSeeOther {
		t.Errorf("session after a password change: status %d, want a redirect to the login", res.status)
	}
	bert = a.client()
	if res := bert.post("/login", url.Values{"name": {"bert"}, "password": {"a fresh spring meadow"}}); res.status != http.StatusSeeOther {
		t.Fatalf("login with the new password: status %d", res.status)
	}
	if res := bert.get("/leads"); res.status != http.StatusOK {
		t.Fatalf("bert's new session: status %d", res.status)
	}
	if res := admin.post("/users/ada/disable", url.Values{}); res.status != http.StatusBadRequest {
		t.Errorf("admin disabling themselves: status %d, want 400", res.status)
	}
	if res := admin.post("/users/bert/disable", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("disable bert: status %d\n%s", res.status, res.body)
	}
	if res := bert.get("/leads"); res.status != http.StatusSeeOther {
		t.Errorf("disabled user's session: status %d, want a redirect to the login", res.status)
	}
	if res := a.client().post("/login", url.Values{"name": {"bert"}, "password": {password("bert")}}); res.status != http.StatusUnauthorized {
		t.Errorf("disabled user logging in: status %d, want 401", res.status)
	}
	if res := admin.post("/logout", url.Values{}); res.status != http.StatusSeeOther {
		t.Fatalf("logout: status %d", res.status)
	}
	if res := admin.get("/users"); res.status != http.StatusSeeOther {
		t.Errorf("after logout: status %d, want a redirect to the login", res.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	a := newTestApp(t, Options{})
	res := a.client().get("/login")
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	} {
		if got := res.header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to contain %q", h, got, want)
		}
	}
	csp := res.header.Get("Content-Security-Policy")
	if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q allows inline script or lacks script-src 'self'", csp)
	}
	if strings.Contains(res.body, "<script>") || strings.Contains(res.body, " style=") || strings.Contains(res.body, " onclick=") {
		t.Error("the login page has inline script or style, which the CSP blocks")
	}
}

func TestLeadViewsAndSearchesAudited(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("mark", leadmailer.RoleMarketer)
	a.addUser("vera", leadmailer.RoleViewer)
	m := a.login("mark")
	runID := importThroughWeb(t, a, m, "bad-rows.csv", "fair", nil, nil)

	v := a.login("vera")
	res := v.get("/leads?q=good")
	if res.status != http.StatusOK || !strings.Contains(res.body, "good1@example.com") || !strings.Contains(res.body, "good2@example.com") {
		t.Fatalf("search: status %d; want both good leads listed\n%s", res.status, res.body)
	}
	lead, err := a.db.FindLeadByEmail(t.Context(), "good1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	res = v.get("/leads/" + itoa(lead.ID))
	if res.status != http.StatusOK || !strings.Contains(res.body, "Good One") || !strings.Contains(res.body, "bad-rows.csv, row 2") {
		t.Errorf("lead page: status %d; want the name and its provenance (file, row)\n%s", res.status, res.body)
	}
	entries := a.auditEntries(store.AuditFilter{Actor: "user:vera", Action: "lead."})
	if len(entries) != 2 {
		t.Fatalf("vera's lead entries: %d, want 2", len(entries))
	}
	if e := entries[0]; e.Action != leadmailer.AuditLeadView || e.Target != leadTarget(lead.ID) || e.IP != "127.0.0.1" {
		t.Errorf("view entry %+v: want lead.view of lead %d from 127.0.0.1", e, lead.ID)
	}
	if e := entries[1]; e.Action != leadmailer.AuditLeadSearch || e.Detail != `q="good"` {
		t.Errorf("search entry %+v: want lead.search with q=\"good\"", e)
	}

	// The rejects file holds personal data: marketers download it, and that is audited.
	res = m.get("/imports/" + itoa(runID) + "/rejects.csv")
	if res.status != http.StatusOK || !strings.Contains(res.body, "not-an-email") {
		t.Errorf("rejects download: status %d\n%s", res.status, res.body)
	}
	if got := a.auditEntries(store.AuditFilter{Action: leadmailer.AuditRejectsGet}); len(got) != 1 || got[0].Actor != "user:mark" {
		t.Errorf("rejects download audit entries: %+v", got)
	}

	// And the chain of everything the app recorded holds, until someone edits a row.
	if _, brk, err := a.db.VerifyAudit(t.Context()); brk != nil || err != nil {
		t.Fatalf("VerifyAudit: %v %v", brk, err)
	}
}

// importThroughWeb uploads a fixture, sets the given column mapping on the preview, imports
// it and waits for the import to end, returning the run's ID.
// checkPreview, when not nil, is given the preview page.
func importThroughWeb(t *testing.T, a *testApp, c *client, fixture, source string, mapping map[string]string,
	checkPreview func(body string)) int64 {
	t.Helper()
	return importFileThroughWeb(t, a, c, fixture, readFixture(t, fixture), source, mapping, checkPreview)
}

// importFileThroughWeb is importThroughWeb for a file the test made: name holding content.
func importFileThroughWeb(t *testing.T, a *testApp, c *client, name string, content []byte, source string,
	mapping map[string]string, checkPreview func(body string)) int64 {
	t.Helper()
	res := c.upload(c.csrf, source, name, content)
	if res.status != http.StatusSeeOther {
		t.Fatalf("upload %s: status %d\n%s", name, res.status, res.body)
	}
	preview := res.header.Get("Location")
	res = c.get(preview)
	if res.status != http.StatusOK {
		t.Fatalf("preview: status %d\n%s", res.status, res.body)
	}
	if checkPreview != nil {
		checkPreview(res.body)
	}
	form := previewForm(t, res.body)
	for header, field := range mapping {
		found := false
		for i, h := range form["header"] {
			if h == header {
				form.Set("col"+itoa(int64(i)), field)
				found = true
			}
		}
		if !found {
			t.Fatalf("preview has no column %q: %v", header, form["header"])
		}
	}
	form.Set("action", "import")
	res = c.post(preview, form)
	if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/imports/") {
		t.Fatalf("import: status %d, Location %q\n%s", res.status, res.header.Get("Location"), res.body)
	}
	a.s.wg.Wait() // the import runs in the background
	id, _ := parseID(strings.TrimPrefix(res.header.Get("Location"), "/imports/"))
	return id
}

var (
	headerRE = regexp.MustCompile(`name="header" value="([^"]*)"`)
	selectRE = regexp.MustCompile(`(?s)<select id="(\w+)" name="(\w+)">(.*?)</select>`)
	chosenRE = regexp.MustCompile(`<option(?: value="([^"]*)")? selected>([^<]*)</option>`)
)

// previewForm reads the preview page's form fields as a browser would submit them.
func previewForm(t *testing.T, body string) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range headerRE.FindAllStringSubmatch(body, -1) {
		f.Add("header", unescape(m[1]))
	}
	for _, m := range selectRE.FindAllStringSubmatch(body, -1) {
		if c := chosenRE.FindStringSubmatch(m[3]); c != nil {
			v := c[1]
			if v == "" {
				v = c[2]
			}
			f.Set(m[2], unescape(v))
		} else {
			f.Set(m[2], "")
		}
	}
	if m := regexp.MustCompile(`id="source" name="source" value="([^"]*)"`).FindStringSubmatch(body); m != nil {
		f.Set("source", unescape(m[1]))
	}
	return f
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'").Replace(s)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func parseID(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func TestLeadListPagesAndFilters(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("vera", leadmailer.RoleViewer)
	var csv strings.Builder
	csv.WriteString("email,name,company,country\n")
	for i := range 120 {
		country := "FI"
		if i%4 == 0 {
			country = "SE"
		}
		fmt.Fprintf(&csv, "lead%03d@example.com,Lead %d,Company %d,%s\n", i, i, i%7, country)
	}
	if _, err := importer.Import(t.Context(), a.db, strings.NewReader(csv.String()), importer.Options{Source: "crm"}); err != nil {
		t.Fatal(err)
	}
	c := a.login("vera")
	linkRE := regexp.MustCompile(`href="/leads/\d+">([^<]+)<`)
	nextRE := regexp.MustCompile(`rel="next" href="([^"]+)"`)
	var seen []string
	path, pages := "/leads", 0
	for path != "" {
		res := c.get(unescape(path))
		if res.status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.status)
		}
		pages++
		for _, m := range linkRE.FindAllStringSubmatch(res.body, -1) {
			seen = append(seen, m[1])
		}
		path = ""
		if m := nextRE.FindStringSubmatch(res.body); m != nil {
			path = m[1]
		}
	}
	if pages != 3 || len(seen) != 120 || seen[0] != "lead000@example.com" || seen[119] != "lead119@example.com" {
		t.Errorf("paging through 120 leads: %d pages, %d leads (%v ... %v); want 3 pages of every lead in order", pages, len(seen), seen[:1], seen[len(seen)-1:])
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"?country=SE", 30},
		{"?country=Sweden", 30},
		{"?q=LEAD01", 10},
		{"?q=Company%203", 17},
		{"?q=lead01&country=SE", 2},
		{"?source=crm&state=active&q=lead11", 10},
		{"?source=other", 0},
		{"?state=inactive", 0},
	} {
		res := c.get("/leads" + tc.query)
		if got := len(linkRE.FindAllString(res.body, -1)); got != tc.want {
			t.Errorf("/leads%s: %d leads, want %d", tc.query, got, tc.want)
		}
	}
	if res := c.get("/leads?country=Atlantis"); !strings.Contains(res.body, "is not a country") {
		t.Error("an unknown country is not explained")
	}
}

func TestAuditPageFilters(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	a.addUser("vera", leadmailer.RoleViewer)
	a.login("vera").get("/leads?q=x")
	c := a.login("ada")
	rowRE := regexp.MustCompile(`(?s)<tr><td>\d+</td>.*?</tr>`)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"?user=vera", []string{"lead.search", "login"}},
		{"?user=vera&action=lead.", []string{"lead.search"}},
		{"?action=login", []string{"login", "login"}},
		{"?since=2026-12-01", nil},
		{"?until=2026-11-30&user=vera&action=login", []string{"login"}},
	} {
		res := c.get("/audit" + tc.query)
		var got []string
		for _, row := range rowRE.FindAllString(res.body, -1) {
			cells := regexp.MustCompile(`<td[^>]*>([^<]*)</td>`).FindAllStringSubmatch(row, -1)
			got = append(got, cells[3][1])
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("/audit%s: actions %v, want %v", tc.query, got, tc.want)
		}
	}
	// API tokens' entries can be found too: calls refused for a revoked or expired token,
	// and the calls recorded by route and status.
	body := c.get("/audit").body
	for _, action := range []string{leadmailer.AuditTokenRefused, leadmailer.AuditAPICall} {
		if !strings.Contains(body, `<option>`+action+`</option>`) {
			t.Errorf("the action filter does not offer %s", action)
		}
	}
}

// Endpoints for the public (one-click unsubscribe from a mail client, a query from the
// company's website) need no login and accept cross-origin POSTs; everything else keeps both
// protections.
func TestMountPublic(t *testing.T) {
	a := newTestApp(t, Options{})
	a.s.MountPublic("POST /unsubscribe/{token}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("unsubscribed " + r.PathValue("token")))
	}))
	res := a.client().post("/unsubscribe/abc", url.Values{"List-Unsubscribe": {"One-Click"}}, "Sec-Fetch-Site", "cross-site")
	if res.status != http.StatusOK || res.body != "unsubscribed abc" {
		t.Errorf("cross-origin POST to a public endpoint: %d %q", res.status, res.body)
	}
	if got := res.header.Get("Content-Security-Policy"); got == "" {
		t.Error("a public endpoint's answer lacks the security headers")
	}
	if res := a.client().post("/logout", url.Values{}, "Sec-Fetch-Site", "cross-site"); res.status != http.StatusForbidden {
		t.Errorf("cross-origin POST elsewhere: status %d, want 403", res.status)
	}
}
