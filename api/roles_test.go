package api_test

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"golang.org/x/time/rate"
)

// endpointRoles is every endpoint with the least role that may call it: the web app's rules
// for the same pages.
var endpointRoles = []struct {
	method, path string // path as openapi.yaml writes it
	call         string // a path to call it with
	need         leadmailer.Role
}{
	{"GET", "/api/v1/leads", "/api/v1/leads", leadmailer.RoleViewer},
	{"POST", "/api/v1/leads", "/api/v1/leads", leadmailer.RoleMarketer},
	{"GET", "/api/v1/leads/{id}", "/api/v1/leads/1", leadmailer.RoleViewer},
	{"DELETE", "/api/v1/leads/{id}", "/api/v1/leads/1?reason=r", leadmailer.RoleAdmin},
	{"GET", "/api/v1/leads/{id}/export", "/api/v1/leads/1/export", leadmailer.RoleAdmin},
	{"POST", "/api/v1/imports", "/api/v1/imports?source=s", leadmailer.RoleMarketer},
	{"GET", "/api/v1/imports/{id}", "/api/v1/imports/1", leadmailer.RoleViewer},
	{"GET", "/api/v1/imports/{id}/rejects", "/api/v1/imports/1/rejects", leadmailer.RoleMarketer},
	{"GET", "/api/v1/campaigns", "/api/v1/campaigns", leadmailer.RoleMarketer},
	{"POST", "/api/v1/campaigns", "/api/v1/campaigns", leadmailer.RoleMarketer},
	{"GET", "/api/v1/campaigns/{id}", "/api/v1/campaigns/1", leadmailer.RoleMarketer},
	{"GET", "/api/v1/campaigns/{id}/preview", "/api/v1/campaigns/1/preview?lead=1", leadmailer.RoleMarketer},
	{"POST", "/api/v1/campaigns/{id}/test", "/api/v1/campaigns/1/test", leadmailer.RoleMarketer},
	{"POST", "/api/v1/campaigns/{id}/schedule", "/api/v1/campaigns/1/schedule", leadmailer.RoleMarketer},
	{"POST", "/api/v1/campaigns/{id}/send", "/api/v1/campaigns/1/send", leadmailer.RoleMarketer},
	{"POST", "/api/v1/campaigns/{id}/pause", "/api/v1/campaigns/1/pause", leadmailer.RoleMarketer},
	{"POST", "/api/v1/campaigns/{id}/resume", "/api/v1/campaigns/1/resume", leadmailer.RoleMarketer},
	{"POST", "/api/v1/campaigns/{id}/cancel", "/api/v1/campaigns/1/cancel", leadmailer.RoleMarketer},
	{"GET", "/api/v1/campaigns/{id}/report", "/api/v1/campaigns/1/report", leadmailer.RoleMarketer},
	{"GET", "/api/v1/campaigns/{id}/recipients", "/api/v1/campaigns/1/recipients", leadmailer.RoleMarketer},
	{"POST", "/api/v1/suppressions", "/api/v1/suppressions", leadmailer.RoleMarketer},
	{"DELETE", "/api/v1/suppressions", "/api/v1/suppressions?domain=virta.fi", leadmailer.RoleAdmin},
	{"GET", "/api/v1/suppressions/check", "/api/v1/suppressions/check?address=anna%40virta.fi", leadmailer.RoleMarketer},
	{"GET", "/api/v1/sources", "/api/v1/sources", leadmailer.RoleViewer},
	{"POST", "/api/v1/sources/{name}/run", "/api/v1/sources/registry/run", leadmailer.RoleMarketer},
	{"GET", "/api/v1/sources/{name}/runs", "/api/v1/sources/registry/runs", leadmailer.RoleViewer},
}

// TestEveryEndpointRefusesTheRoleBelow calls each endpoint with no token and with a token of
// the role just below the one it needs, and checks both are refused before anything happens:
// the refusal is the answer whatever the body, and it is recorded. The table must list every
// operation of openapi.yaml, so that a new endpoint cannot be added without its role.
func TestEveryEndpointRefusesTheRoleBelow(t *testing.T) {
	runs := &fakeRuns{running: map[string]bool{}}
	a := start(t, api.Options{Mail: &testMail{smtp: smtptest.New(t)}, Sources: []api.Source{{Name: "registry", Kind: "http"}},
		RunSource: runs.start, SourceRunning: runs.isRunning})
	below := map[leadmailer.Role]string{
		leadmailer.RoleMarketer: a.token("dashboard", leadmailer.RoleViewer, nil),
		leadmailer.RoleAdmin:    a.token("crm", leadmailer.RoleMarketer, nil),
	}
	checkListsEveryOperation(t)

	refused := 0
	for _, e := range endpointRoles {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			if r := a.do(e.method, e.call, "", nil); r.status != http.StatusUnauthorized {
				t.Errorf("no token: %d, want 401", r.status)
			}
			tok, ok := below[e.need]
			if !ok {
				return // a viewer's call: every role may make it
			}
			r := a.do(e.method, e.call, tok, nil)
			if r.status != http.StatusForbidden {
				t.Fatalf("role below %s: %d %s, want 403", e.need, r.status, r.body)
			}
			if code, _ := r.apiError(t); code != api.CodeForbidden {
				t.Errorf("code %q, want %q", code, api.CodeForbidden)
			}
			refused++
		})
	}
	var recorded int
	for _, actor := range []string{"token:dashboard", "token:crm"} {
		for _, e := range a.auditEntries(actor) {
			if e.Action != leadmailer.AuditTokenRefused {
				t.Errorf("a refused call did something: %s %s %s", e.Action, e.Target, e.Detail)
				continue
			}
			recorded++
		}
	}
	if recorded != refused {
		t.Errorf("%d refusals recorded, want %d", recorded, refused)
	}
	if len(runs.actors) != 0 {
		t.Errorf("a refused call ran a source: %v", runs.actors)
	}
}

// checkListsEveryOperation fails the test unless endpointRoles lists exactly the operations
// of openapi.yaml, so that a new endpoint cannot be added without being walked.
func checkListsEveryOperation(t *testing.T) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	var documented, listed []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if path != "/api/v1/openapi.yaml" {
				documented = append(documented, method+" "+path)
			}
		}
	}
	for _, e := range endpointRoles {
		listed = append(listed, e.method+" "+e.path)
	}
	sort.Strings(documented)
	sort.Strings(listed)
	if strings.Join(documented, "\n") != strings.Join(listed, "\n") {
		t.Errorf("endpointRoles does not list the operations of openapi.yaml:\n got %q\nwant %q", listed, documented)
	}
}

// TestEveryCallIsAudited walks every operation of openapi.yaml with a token allowed to call
// it, once where what it names exists and once where it does not, and checks that each call,
// answered or refused, leaves at least one audit entry naming the token, and none naming an
// address or the query.
func TestEveryCallIsAudited(t *testing.T) {
	checkListsEveryOperation(t)
	runs := &fakeRuns{running: map[string]bool{}}
	// No rate limit: the walk makes more calls than a token's burst, and a call over the
	// limit is refused before anything is recorded.
	a := start(t, api.Options{Mail: &testMail{smtp: smtptest.New(t)}, Sources: []api.Source{{Name: "registry", Kind: "http"}},
		RunSource: runs.start, SourceRunning: runs.isRunning, Rate: rate.Inf})
	admin := a.token("desk", leadmailer.RoleAdmin, nil)
	// Lead 1, import run 1 and campaign 1, which the table's paths name.
	if r := a.do("POST", "/api/v1/leads", admin, batch(lead("anna@virta.fi"))); r.status != http.StatusOK {
		t.Fatalf("push a lead: %d %s", r.status, r.body)
	}
	if r := a.do("POST", "/api/v1/campaigns", admin, newCampaign("Winter")); r.status != http.StatusCreated {
		t.Fatalf("create a campaign: %d %s", r.status, r.body)
	}

	// The reads that record nothing of their own must be answered, not only refused, so
	// that their fallback entry is seen for an answered call.
	answered := map[string]bool{
		"GET /api/v1/imports/{id}": true, "GET /api/v1/campaigns": true, "GET /api/v1/campaigns/{id}": true,
		"GET /api/v1/campaigns/{id}/report": true, "GET /api/v1/sources": true, "GET /api/v1/sources/{name}/runs": true,
	}
	missing := strings.NewReplacer("/1", "/999999", "/registry/", "/anna@virta.fi/")
	statuses := map[int]int{}
	for _, pass := range []struct {
		name string
		path func(string) string
	}{
		{"exists", func(p string) string { return p }},
		{"missing", missing.Replace},
	} {
		for _, e := range endpointRoles {
			t.Run(pass.name+" "+e.method+" "+e.path, func(t *testing.T) {
				before := len(a.auditEntries("token:desk"))
				r := a.do(e.method, pass.path(e.call), admin, nil)
				statuses[r.status]++
				if pass.name == "exists" && answered[e.method+" "+e.path] && r.status != http.StatusOK {
					t.Errorf("%d %s, want 200", r.status, r.body)
				}
				es := a.auditEntries("token:desk")
				if len(es) == before {
					t.Fatalf("answered %d and recorded nothing", r.status)
				}
				for _, en := range es[before:] {
					text := en.Target + " " + en.Detail
					if strings.Contains(text, "@") || strings.Contains(text, "?") {
						t.Errorf("audit entry %s %q %q names an address or the query", en.Action, en.Target, en.Detail)
					}
				}
				last := es[len(es)-1]
				if last.Action == leadmailer.AuditAPICall && !strings.HasPrefix(last.Detail, strconv.Itoa(r.status)) {
					t.Errorf("recorded status %q, answered %d", last.Detail, r.status)
				}
			})
		}
	}
	// The walk saw both answers and refusals for bad input.
	var ok, refused int
	for status, n := range statuses {
		switch {
		case status < 300:
			ok += n
		case status >= 400 && status < 500:
			refused += n
		}
	}
	if ok == 0 || refused == 0 {
		t.Errorf("statuses %v: want both answers and refusals", statuses)
	}
}

// TestUnknownQueryParameters calls every operation with a query parameter it does not take,
// and checks it is refused by name before anything happens, as an unknown field of a JSON
// body is; and that every parameter openapi.yaml documents for it is taken, not refused as
// unknown (its value may still be refused).
func TestUnknownQueryParameters(t *testing.T) {
	checkListsEveryOperation(t)
	runs := &fakeRuns{running: map[string]bool{}}
	a := start(t, api.Options{Mail: &testMail{smtp: smtptest.New(t)}, Sources: []api.Source{{Name: "registry", Kind: "http"}},
		RunSource: runs.start, SourceRunning: runs.isRunning, Rate: rate.Inf})
	admin := a.token("desk", leadmailer.RoleAdmin, nil)
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	with := func(call, query string) string {
		if strings.Contains(call, "?") {
			return call + "&" + query
		}
		return call + "?" + query
	}
	for _, e := range endpointRoles {
		t.Run(e.method+" "+e.path, func(t *testing.T) {
			r := a.do(e.method, with(e.call, "zzz=1"), admin, nil)
			code, field := r.apiError(t)
			if r.status != http.StatusBadRequest || code != leadmailer.EINVALID || field != "zzz" {
				t.Errorf("unknown parameter zzz: %d %s %q, want 400 invalid naming zzz", r.status, code, field)
			}
			item := doc.Paths.Find(e.path)
			op := item.GetOperation(e.method)
			for _, p := range append(item.Parameters, op.Parameters...) {
				if p.Value.In != "query" || strings.Contains(e.call, p.Value.Name+"=") {
					continue
				}
				r := a.do(e.method, with(e.call, p.Value.Name+"=1"), admin, nil)
				if r.status == http.StatusBadRequest && strings.Contains(string(r.body), "unknown parameter") {
					t.Errorf("documented parameter %s refused as unknown: %s", p.Value.Name, r.body)
				}
			}
		})
	}
	if len(runs.actors) != 0 {
		t.Errorf("a refused call ran a source: %v", runs.actors)
	}
}
