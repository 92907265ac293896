package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/store"
	"golang.org/x/time/rate"
)

// One lead to push, as a client sends it.
func lead(email string) map[string]any {
	return map[string]any{"email": email, "name": "Anna Virtanen", "company": "Virta Oy", "country": "Finland"}
}

func batch(leads ...map[string]any) map[string]any {
	list := []any{}
	for _, l := range leads {
		list = append(list, l)
	}
	return map[string]any{"leads": list}
}

func TestRolesAndTokenStates(t *testing.T) {
	a := start(t, api.Options{})
	yesterday := a.clock.Now().Add(-24 * time.Hour)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	marketer := a.token("crm", leadmailer.RoleMarketer, nil)
	admin := a.token("privacy", leadmailer.RoleAdmin, nil)
	expired := a.token("old", leadmailer.RoleAdmin, &yesterday)
	revoked := a.token("gone", leadmailer.RoleAdmin, nil)
	if err := a.db.RevokeAPIToken(t.Context(), "gone", &leadmailer.AuditEntry{Actor: "os:test", Action: leadmailer.AuditTokenRevoke, Target: "gone"}); err != nil {
		t.Fatal(err)
	}
	if r := a.do("POST", "/api/v1/leads", marketer, batch(lead("anna@virta.fi"))); r.status != http.StatusOK {
		t.Fatalf("marketer upsert: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
		wantCode                  string
	}{
		{"no token", "GET", "/api/v1/leads", "", 401, api.CodeUnauthorized},
		{"unknown token", "GET", "/api/v1/leads", "lm_not-a-token", 401, api.CodeUnauthorized},
		{"revoked token", "GET", "/api/v1/leads", revoked, 401, api.CodeUnauthorized},
		{"expired token", "GET", "/api/v1/leads", expired, 401, api.CodeUnauthorized},
		{"viewer lists", "GET", "/api/v1/leads", viewer, 200, ""},
		{"viewer reads a lead", "GET", "/api/v1/leads/1", viewer, 200, ""},
		{"viewer cannot upsert", "POST", "/api/v1/leads", viewer, 403, api.CodeForbidden},
		{"marketer cannot export", "GET", "/api/v1/leads/1/export", marketer, 403, api.CodeForbidden},
		{"marketer cannot erase", "DELETE", "/api/v1/leads/1?reason=test", marketer, 403, api.CodeForbidden},
		{"admin exports", "GET", "/api/v1/leads/1/export", admin, 200, ""},
		{"admin upserts", "POST", "/api/v1/leads", admin, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = batch(lead("bert@virta.fi"))
			}
			r := a.do(tc.method, tc.path, tc.token, body)
			if r.status != tc.want {
				t.Fatalf("got %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.wantCode != "" {
				if code, _ := r.apiError(t); code != tc.wantCode {
					t.Errorf("code %q, want %q", code, tc.wantCode)
				}
			}
			if tc.want == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	// Refusals of known tokens are recorded under their names; calls that name no one are not.
	for actor, want := range map[string]string{
		"token:gone": "token.refused gone revoked", "token:old": "token.refused old expired",
		"token:dashboard": "lead.list, lead.view lead 1, token.refused dashboard needs role marketer: POST /api/v1/leads",
	} {
		var got []string
		for _, e := range a.auditEntries(actor) {
			got = append(got, strings.TrimSpace(e.Action+" "+e.Target+" "+e.Detail))
		}
		if strings.Join(got, ", ") != want {
			t.Errorf("audit entries of %s: got %q, want %q", actor, got, want)
		}
	}
}

func TestRateLimit(t *testing.T) {
	// Two calls at once, then one an hour: the clock stands still, so the third call waits.
	a := start(t, api.Options{Rate: rate.Every(time.Hour), Burst: 2})
	tok := a.token("crm", leadmailer.RoleViewer, nil)
	other := a.token("dashboard", leadmailer.RoleViewer, nil)
	for i := range 2 {
		if r := a.do("GET", "/api/v1/leads", tok, nil); r.status != 200 {
			t.Fatalf("call %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := a.do("GET", "/api/v1/leads", tok, nil)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("third call: got %d, want 429", r.status)
	}
	if code, _ := r.apiError(t); code != api.CodeRateLimited {
		t.Errorf("code %q, want %q", code, api.CodeRateLimited)
	}
	if got := r.header.Get("Retry-After"); got != "3600" {
		t.Errorf("Retry-After %q, want 3600", got)
	}
	if r := a.do("GET", "/api/v1/leads", other, nil); r.status != 200 {
		t.Errorf("another token is limited too: %d", r.status)
	}
	a.clock.Add(time.Hour)
	if r := a.do("GET", "/api/v1/leads", tok, nil); r.status != 200 {
		t.Errorf("after waiting Retry-After: %d %s", r.status, r.body)
	}
}

func TestLastUsedAtMostOnceAMinute(t *testing.T) {
	a := start(t, api.Options{})
	tok := a.token("crm", leadmailer.RoleViewer, nil)
	lastUsed := func() time.Time {
		t.Helper()
		ts, err := a.db.FindAPITokens(t.Context())
		if err != nil || len(ts) != 1 || ts[0].LastUsedAt == nil {
			t.Fatalf("tokens: %v, %v", ts, err)
		}
		return *ts[0].LastUsedAt
	}
	first := a.clock.Now()
	a.do("GET", "/api/v1/leads", tok, nil)
	a.clock.Add(59 * time.Second)
	a.do("GET", "/api/v1/leads", tok, nil)
	if got := lastUsed(); !got.Equal(first) {
		t.Errorf("last used %v after a second call within the minute, want %v kept", got, first)
	}
	a.clock.Add(2 * time.Second)
	a.do("GET", "/api/v1/leads", tok, nil)
	if got, want := lastUsed(), a.clock.Now(); !got.Equal(want) {
		t.Errorf("last used %v after a minute, want %v", got, want)
	}
}

func TestUpsertRowErrors(t *testing.T) {
	a := start(t, api.Options{})
	tok := a.token("crm", leadmailer.RoleMarketer, nil)
	if _, err := a.db.Suppress(t.Context(), store.SuppressionEntry{Kind: store.SuppressAddress, Value: "gone@virta.fi"}); err != nil {
		t.Fatal(err)
	}
	body := `{"leads": [
		{"email": "anna@virta.fi", "name": "Anna", "country": "FI"},
		{"email": "not an address", "name": "Bert"},
		{"email": "cecilia@virta.fi", "nickname": "Cissi"},
		{"email": "dora@virta.fi", "name": 12},
		{"name": "Eero Without Address"},
		{"email": "fanny@virta.fi", "country": "Atlantis"},
		{"email": "gone@virta.fi"},
		{"email": "ANNA@virta.fi", "city": "Turku"},
		"a string"
	]}`
	r := a.do("POST", "/api/v1/leads", tok, body)
	if r.status != 200 {
		t.Fatalf("upsert: %d %s", r.status, r.body)
	}
	var res struct {
		Run    leadmailer.ImportRun
		Errors []struct {
			Index       int
			Code, Field string
			Message     string
		}
	}
	r.decode(t, &res)
	var got []string
	for _, e := range res.Errors {
		got = append(got, fmt.Sprintf("%d %s %s", e.Index, e.Code, e.Field))
	}
	want := []string{"1 invalid leads[1].email", "2 invalid leads[2].nickname", "3 invalid leads[3].name",
		"4 invalid leads[4].email", "5 invalid leads[5].country", "8 invalid leads[8]"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("row errors:\n got %q\nwant %q", got, want)
	}
	c := res.Run.Counts
	if c.Read != 9 || c.Rejected != 6 || c.Inserted != 1 || c.Suppressed != 1 || c.Duplicates != 1 {
		t.Errorf("run counts %+v: want 9 read, 6 rejected, 1 inserted, 1 suppressed, 1 duplicate", c)
	}
	if res.Run.Kind != leadmailer.KindAPI || res.Run.Source != "api:crm" || res.Run.Actor != "token:crm" {
		t.Errorf("run %+v: want kind api, source api:crm, actor token:crm", res.Run)
	}
	l, err := a.db.FindLeadByEmail(t.Context(), "anna@virta.fi")
	if err != nil {
		t.Fatal(err)
	}
	// The duplicate in the batch merged into the first row, as in a CSV file.
	if l.Name != "Anna" || l.City != "Turku" || l.Country != "FI" {
		t.Errorf("stored lead %+v: want Anna of Turku, FI", l)
	}
	if _, err := a.db.FindLeadByEmail(t.Context(), "gone@virta.fi"); leadmailer.ErrorCode(err) != leadmailer.ENOTFOUND {
		t.Errorf("a suppressed address was stored: %v", err)
	}
}

func TestRequestErrors(t *testing.T) {
	a := start(t, api.Options{MaxBody: 2048, MaxBatch: 3})
	tok := a.token("crm", leadmailer.RoleMarketer, nil)
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		code, field        string
	}{
		{"unknown top-level field", "POST", "/api/v1/leads", `{"leads": [], "dry_run": true}`, 400, leadmailer.EINVALID, "dry_run"},
		{"leads missing", "POST", "/api/v1/leads", `{}`, 400, leadmailer.EINVALID, "leads"},
		{"leads not a list", "POST", "/api/v1/leads", `{"leads": {"email": "a@b.fi"}}`, 400, leadmailer.EINVALID, "leads"},
		{"not JSON", "POST", "/api/v1/leads", `email=a@b.fi`, 400, leadmailer.EINVALID, ""},
		{"empty body", "POST", "/api/v1/leads", ``, 400, leadmailer.EINVALID, ""},
		{"two values", "POST", "/api/v1/leads", `{"leads": []} {"leads": []}`, 400, leadmailer.EINVALID, ""},
		{"too many leads", "POST", "/api/v1/leads", batch(lead("a@b.fi"), lead("b@b.fi"), lead("c@b.fi"), lead("d@b.fi")), 400, leadmailer.EINVALID, "leads"},
		{"too large", "POST", "/api/v1/leads", `{"leads": [{"email": "a@b.fi", "name": "` + strings.Repeat("x", 3000) + `"}]}`, 413, api.CodeTooLarge, ""},
		{"no such lead", "GET", "/api/v1/leads/999", nil, 404, leadmailer.ENOTFOUND, ""},
		{"not a lead ID", "GET", "/api/v1/leads/anna", nil, 404, leadmailer.ENOTFOUND, ""},
		{"unknown country", "GET", "/api/v1/leads?country=Atlantis", nil, 400, leadmailer.EINVALID, "country"},
		{"unknown state", "GET", "/api/v1/leads?state=asleep", nil, 400, leadmailer.EINVALID, "state"},
		{"bad cursor", "GET", "/api/v1/leads?after=yesterday", nil, 400, leadmailer.EINVALID, "after"},
		{"limit too high", "GET", "/api/v1/leads?limit=5000", nil, 400, leadmailer.EINVALID, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(tc.method, tc.path, tok, tc.body)
			if r.status != tc.status {
				t.Fatalf("got %d, want %d: %s", r.status, tc.status, r.body)
			}
			code, field := r.apiError(t)
			if code != tc.code || field != tc.field {
				t.Errorf("got code %q field %q, want %q %q: %s", code, field, tc.code, tc.field, r.body)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	a := start(t, api.Options{})
	tok := a.token("crm", leadmailer.RoleMarketer, nil)
	body := batch(lead("anna@virta.fi"), lead("bert@virta.fi"))
	first := a.do("POST", "/api/v1/leads", tok, body, "Idempotency-Key", "batch-1")
	again := a.do("POST", "/api/v1/leads", tok, body, "Idempotency-Key", "batch-1")
	if first.status != 200 || again.status != 200 || string(first.body) != string(again.body) {
		t.Fatalf("retry with the key: got %d %s, want the first answer %d %s", again.status, again.body, first.status, first.body)
	}
	if again.header.Get("Idempotent-Replayed") != "true" || first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("Idempotent-Replayed: first %q, retry %q", first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}
	runs, err := a.db.FindImportRuns(t.Context(), "api:crm", 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("import runs: %d, %v; want 1: the retry must not import again", len(runs), err)
	}
	r := a.do("POST", "/api/v1/leads", tok, batch(lead("cecilia@virta.fi")), "Idempotency-Key", "batch-1")
	if code, field := r.apiError(t); r.status != 409 || code != leadmailer.ECONFLICT || field != "Idempotency-Key" {
		t.Errorf("same key, another body: got %d %s %s", r.status, code, field)
	}
	// A day later the key is forgotten, and the same batch is a new import.
	a.clock.Add(25 * time.Hour)
	if r := a.do("POST", "/api/v1/leads", tok, body, "Idempotency-Key", "batch-1"); r.header.Get("Idempotent-Replayed") != "" {
		t.Error("a key over a day old was replayed")
	}
}

// Paths and methods the API does not have are answered in its error shape. They are not in
// openapi.yaml, so these calls skip its check.
func TestUnknownEndpoints(t *testing.T) {
	a := start(t, api.Options{})
	tok := a.token("crm", leadmailer.RoleAdmin, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/widgets", 404, leadmailer.ENOTFOUND, ""},
		{"GET", "/api/v2/leads", 404, leadmailer.ENOTFOUND, ""},
		{"PUT", "/api/v1/leads", 405, api.CodeMethodNotAllowed, "GET, HEAD, POST"},
	} {
		req, _ := http.NewRequest(tc.method, a.url+tc.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error struct{ Code string } }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || err != nil || body.Error.Code != tc.code || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: got %d code %q Allow %q (%v), want %d %q %q", tc.method, tc.path, resp.StatusCode,
				body.Error.Code, resp.Header.Get("Allow"), err, tc.status, tc.code, tc.allow)
		}
	}
}

// A retry that arrives while the first call with its key still runs waits for it and gets
// its answer: the batch is imported once.
func TestIdempotencyKeyConcurrentRetries(t *testing.T) {
	a := start(t, api.Options{})
	tok := a.token("crm", leadmailer.RoleMarketer, nil)
	body := leadBatch(0, 500)
	answers := make(chan *answer, 4)
	for range 4 {
		go func() { answers <- a.do("POST", "/api/v1/leads", tok, body, "Idempotency-Key", "sync-1") }()
	}
	replayed := 0
	for range 4 {
		r := <-answers
		if r.status != 200 {
			t.Errorf("call: %d %s", r.status, r.body)
		}
		if r.header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	runs, err := a.db.FindImportRuns(t.Context(), "api:crm", 10)
	if err != nil || len(runs) != 1 || replayed != 3 {
		t.Errorf("%d runs (%v) and %d replayed answers; want 1 run and 3 replays", len(runs), err, replayed)
	}
}
