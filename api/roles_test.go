package api_test

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
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
