package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/store"
)

func TestSuppressions(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	admin := a.token("privacy", leadmailer.RoleAdmin, nil)
	viewer := a.token("dashboard", leadmailer.RoleViewer, nil)
	a.do("POST", "/api/v1/leads", crm, batch(lead("anna@virta.fi"), lead("bert@berg.fi"), with(lead("cecilia@ek.se"), "business_id", "5566778899")))
	if _, err := a.db.Suppress(t.Context(), store.SuppressionEntry{Kind: store.SuppressAddress, Value: "objector@example.com",
		Origin: store.OriginObjection, Reason: "complaint"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.EraseLead(t.Context(), "bert@berg.fi", "erasure request"); err != nil {
		t.Fatal(err)
	}

	type added struct {
		Kind, Hash, Origin string
		LeadsMadeInactive  *int64 `json:"leads_made_inactive"`
	}
	for _, tc := range []struct {
		name         string
		token        string
		body         map[string]any
		want         int
		wantInactive int64
		wantField    string
	}{
		{"address", crm, map[string]any{"address": "Anna@Virta.fi", "reason": "asked by phone"}, 201, 1, ""},
		{"the same again", crm, map[string]any{"address": "anna@virta.fi", "reason": "asked again"}, 200, -1, ""},
		{"domain", crm, map[string]any{"domain": "@competitor.example", "reason": "a rival"}, 201, 0, ""},
		{"business ID", crm, map[string]any{"business_id": "55667 78899", "reason": "the whole company"}, 201, 1, ""},
		{"two at once", crm, map[string]any{"address": "x@y.fi", "domain": "y.fi", "reason": "r"}, 400, 0, "address"},
		{"no reason", crm, map[string]any{"address": "x@y.fi"}, 400, 0, "reason"},
		{"not a domain", crm, map[string]any{"domain": "not a domain", "reason": "r"}, 400, 0, "domain"},
		{"not an address", crm, map[string]any{"address": "not an address", "reason": "r"}, 400, 0, "address"},
		{"viewer", viewer, map[string]any{"address": "x@y.fi", "reason": "r"}, 403, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do("POST", "/api/v1/suppressions", tc.token, tc.body)
			if r.status != tc.want {
				t.Fatalf("got %d, want %d: %s", r.status, tc.want, r.body)
			}
			if strings.Contains(strings.ToLower(string(r.body)), "virta.fi") || strings.Contains(string(r.body), "competitor") {
				t.Errorf("the answer echoes what was suppressed: %s", r.body)
			}
			if tc.want >= 400 {
				if _, field := r.apiError(t); field != tc.wantField {
					t.Errorf("field %q, want %q", field, tc.wantField)
				}
				return
			}
			var got added
			r.decode(t, &got)
			if got.Origin != store.OriginAdmin || len(got.Hash) != 64 {
				t.Errorf("answer %+v: want an admin entry named by its hash", got)
			}
			switch {
			case tc.wantInactive < 0 && got.LeadsMadeInactive != nil:
				t.Errorf("an entry there already made %d leads inactive", *got.LeadsMadeInactive)
			case tc.wantInactive >= 0 && (got.LeadsMadeInactive == nil || *got.LeadsMadeInactive != tc.wantInactive):
				t.Errorf("made %v leads inactive, want %d", got.LeadsMadeInactive, tc.wantInactive)
			}
		})
	}

	check := func(query string) bool {
		t.Helper()
		r := a.do("GET", "/api/v1/suppressions/check?"+query, crm, nil)
		var got struct{ Suppressed *bool }
		r.decode(t, &got)
		if r.status != 200 || got.Suppressed == nil {
			t.Fatalf("check %s: %d %s", query, r.status, r.body)
		}
		return *got.Suppressed
	}
	for query, want := range map[string]bool{
		"address=ANNA%40virta.fi":                    true,
		"address=sales%40eu.competitor.example":      true, // by a parent domain
		"address=someone%40elsewhere.example":        false,
		"address=new%40ek.se&business_id=5566778899": true,
		"address=new%40ek.se":                        false,
		"address=objector%40example.com":             true,
		"address=bert%40berg.fi":                     true, // erased
	} {
		if got := check(query); got != want {
			t.Errorf("check %s: %v, want %v", query, got, want)
		}
	}
	if r := a.do("GET", "/api/v1/suppressions/check", crm, nil); r.status != 400 {
		t.Errorf("check without an address: %d", r.status)
	}
	remove := func(token, query string) *answer {
		t.Helper()
		return a.do("DELETE", "/api/v1/suppressions?"+query, token, nil)
	}
	for _, tc := range []struct {
		name, token, query string
		want               int
		wantCode           string
	}{
		{"marketer", crm, "domain=competitor.example", 403, api.CodeForbidden},
		{"an objection", admin, "address=objector%40example.com", 409, leadmailer.ECONFLICT},
		{"an erasure", admin, "address=bert%40berg.fi", 409, leadmailer.ECONFLICT},
		{"not on the list", admin, "address=someone%40elsewhere.example", 404, leadmailer.ENOTFOUND},
		{"nothing named", admin, "reason=" + url.QueryEscape("oops"), 400, leadmailer.EINVALID},
		{"an admin's entry", admin, "domain=competitor.example&reason=" + url.QueryEscape("they became a customer"), 200, ""},
	} {
		t.Run("remove "+tc.name, func(t *testing.T) {
			r := remove(tc.token, tc.query)
			if r.status != tc.want {
				t.Fatalf("got %d, want %d: %s", r.status, tc.want, r.body)
			}
			if tc.wantCode != "" {
				if code, _ := r.apiError(t); code != tc.wantCode {
					t.Errorf("code %q, want %q", code, tc.wantCode)
				}
			}
		})
	}
	if check("address=sales%40eu.competitor.example") {
		t.Error("the removed domain still suppresses")
	}
	if !check("address=objector%40example.com") || !check("address=bert%40berg.fi") {
		t.Error("a refused removal removed the entry")
	}
	for _, e := range append(a.auditEntries("token:crm"), a.auditEntries("token:privacy")...) {
		if strings.Contains(e.Target+e.Detail, "@") || strings.Contains(e.Target+e.Detail, "competitor") {
			t.Errorf("audit entry %s %q %q names what was suppressed", e.Action, e.Target, e.Detail)
		}
	}
}

// TestSuppressionIdempotencyKey retries an addition with its Idempotency-Key: the retry gets
// the first answer, 201 with the leads it made inactive, where a retry without the key would
// get 200 for an entry there already; the key with another entry is a conflict; the trail
// holds one addition and the replay.
func TestSuppressionIdempotencyKey(t *testing.T) {
	a := start(t, api.Options{})
	crm := a.token("crm", leadmailer.RoleMarketer, nil)
	a.do("POST", "/api/v1/leads", crm, batch(lead("anna@virta.fi")))
	body := map[string]any{"address": "anna@virta.fi", "reason": "asked by phone"}
	first := a.do("POST", "/api/v1/suppressions", crm, body, "Idempotency-Key", "call-17")
	again := a.do("POST", "/api/v1/suppressions", crm, body, "Idempotency-Key", "call-17")
	if first.status != 201 || again.status != 201 || string(first.body) != string(again.body) {
		t.Fatalf("retry with the key: got %d %s, want the first answer %d %s", again.status, again.body, first.status, first.body)
	}
	if again.header.Get("Idempotent-Replayed") != "true" || first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("Idempotent-Replayed: first %q, retry %q", first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}
	var ans struct {
		LeadsMadeInactive *int64 `json:"leads_made_inactive"`
	}
	if again.decode(t, &ans); ans.LeadsMadeInactive == nil || *ans.LeadsMadeInactive != 1 {
		t.Errorf("replayed answer %s: want the one lead made inactive", again.body)
	}
	if r := a.do("POST", "/api/v1/suppressions", crm, body); r.status != 200 {
		t.Errorf("retry without the key: %d, want 200 for an entry there already", r.status)
	}
	r := a.do("POST", "/api/v1/suppressions", crm, map[string]any{"domain": "virta.fi", "reason": "the whole firm"}, "Idempotency-Key", "call-17")
	if code, field := r.apiError(t); r.status != 409 || code != leadmailer.ECONFLICT || field != "Idempotency-Key" {
		t.Errorf("same key, another entry: got %d %s %s", r.status, code, field)
	}
	if ok, err := a.db.IsSuppressed(t.Context(), "other@virta.fi"); err != nil || ok {
		t.Errorf("the refused domain was suppressed: %v %v", ok, err)
	}
	var got []string
	for _, e := range a.auditEntries("token:crm") {
		if e.Action == leadmailer.AuditSuppressionAdd || e.Target == "POST /api/v1/suppressions" {
			got = append(got, e.Action+" "+e.Detail)
		}
	}
	want := "suppression.add asked by phone|api.call 201, replayed|api.call 200|api.call 409 conflict"
	if strings.Join(got, "|") != want {
		t.Errorf("audit entries %q, want %q", strings.Join(got, "|"), want)
	}
}
