package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
	"github.com/leadmailer/leadmailer/web"
)

// These tests drive the API over real HTTP: the web app's handler with the API mounted as
// "leadmailer serve" mounts it, a real SQLite database, and every answer checked against
// openapi.yaml.

// clock is a test clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// apiTest is one running server and its database.
type apiTest struct {
	t     testing.TB
	db    *store.DB
	url   string
	clock *clock
	// dataDir is the data folder of the web app and the API.
	dataDir string
	calls   *calls
}

// callHeader numbers a call made by apiTest.do, so that do can wait for its handler.
const callHeader = "X-Test-Call"

// calls tells when the handler of each numbered call has returned. The API sends its
// answer before it records the fallback audit entry of a call, so the client has the
// answer before the entry is written: do waits for the handler, as a test that reads the
// trail right after a call needs.
type calls struct {
	mu   sync.Mutex
	next int
	done map[string]chan struct{}
}

// add numbers a new call and returns its number and a channel closed when its handler
// has returned.
func (c *calls) add() (string, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next++
	id, ch := strconv.Itoa(c.next), make(chan struct{})
	c.done[id] = ch
	return id, ch
}

// wrap runs h and then marks the call it served as done.
func (c *calls) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if ch, ok := c.done[r.Header.Get(callHeader)]; ok {
				close(ch)
				delete(c.done, r.Header.Get(callHeader))
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// start runs the web app with the API mounted. opts.Now is set to the test's clock.
func start(t testing.TB, opts api.Options) *apiTest {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	return startOn(t, opts, storetest.Open(t, clk.Now), clk)
}

// startOn is start on the database db, whose clock is clk.
func startOn(t testing.TB, opts api.Options, db *store.DB, clk *clock) *apiTest {
	t.Helper()
	dataDir := t.TempDir()
	app, err := web.New(db, web.Options{DataDir: dataDir, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	opts.Now = clk.Now
	if opts.DataDir == "" {
		opts.DataDir = dataDir
	}
	if m, ok := opts.Mail.(*testMail); ok {
		m.db = db
	}
	a := api.New(db, opts)
	app.MountPublicLimit(api.Prefix, a.MaxBody(), a.Handler())
	cs := &calls{done: map[string]chan struct{}{}}
	srv := httptest.NewServer(cs.wrap(app.Handler()))
	t.Cleanup(srv.Close)
	return &apiTest{t: t, db: db, url: srv.URL, clock: clk, dataDir: dataDir, calls: cs}
}

// beside runs a second server on a's database, through a handle of its own, with a's
// clock: what a second "leadmailer serve" on the same database is to the API.
func (a *apiTest) beside() *apiTest {
	a.t.Helper()
	return startOn(a.t, api.Options{}, storetest.Reopen(a.t, a.db, a.clock.Now), a.clock)
}

// token makes a token with role and returns it. expires may be nil.
func (a *apiTest) token(name string, role leadmailer.Role, expires *time.Time) string {
	a.t.Helper()
	tok := auth.NewAPIToken()
	if err := a.db.CreateAPIToken(context.Background(), &leadmailer.APIToken{Name: name, Role: role,
		TokenHash: auth.HashToken(tok), CreatedBy: "os:test", ExpiresAt: expires},
		&leadmailer.AuditEntry{Actor: "os:test", Action: leadmailer.AuditTokenAdd, Target: name}); err != nil {
		a.t.Fatal(err)
	}
	return tok
}

// answer is one response, its body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// decode decodes the answer's body into v.
func (r *answer) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode answer %d: %v\n%s", r.status, err, r.body)
	}
}

// apiError decodes an error answer.
func (r *answer) apiError(t testing.TB) (code, field string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("error answer %d lacks a code or message: %s", r.status, r.body)
	}
	return e.Error.Code, e.Error.Field
}

// do calls the API and checks the answer against the OpenAPI description.
func (a *apiTest) do(method, path, token string, body any, header ...string) *answer {
	a.t.Helper()
	var in []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		in = b
	case string:
		in = []byte(b)
	default:
		var err error
		if in, err = json.Marshal(b); err != nil {
			a.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, a.url+path, bytes.NewReader(in))
	if err != nil {
		a.t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	id, handled := a.calls.add()
	req.Header.Set(callHeader, id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	select {
	case <-handled:
	case <-time.After(30 * time.Second):
		a.t.Fatalf("%s %s: answered, but its handler has not returned after 30 s", method, path)
	}
	if len(resp.Cookies()) > 0 {
		a.t.Errorf("%s %s set cookies: %v", method, path, resp.Cookies())
	}
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		a.t.Errorf("%s %s allows cross-origin reads by %q", method, path, v)
	}
	req.Body = io.NopCloser(bytes.NewReader(in))
	validate(a.t, req, resp, out)
	return &answer{status: resp.StatusCode, header: resp.Header, body: out}
}

var spec = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		return nil, err
	}
	return legacyrouter.NewRouter(doc)
})

// validate fails the test unless the answer is one openapi.yaml describes for the request:
// a documented status, headers and a body matching its schema.
func validate(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	router, err := spec()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in openapi.yaml: %v", req.Method, req.URL.Path, err)
		return
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 resp.StatusCode, Header: resp.Header, Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in.SetBodyBytes(body)); err != nil {
		t.Errorf("%s %s: answer %d does not match openapi.yaml: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
}

// auditEntries returns the audit entries of actor, oldest first.
func (a *apiTest) auditEntries(actor string) []*leadmailer.AuditEntry {
	a.t.Helper()
	var es []*leadmailer.AuditEntry
	if err := a.db.FindAuditEntries(context.Background(), store.AuditFilter{Actor: actor}, func(e *leadmailer.AuditEntry) error {
		es = append([]*leadmailer.AuditEntry{e}, es...)
		return nil
	}); err != nil {
		a.t.Fatal(err)
	}
	return es
}
