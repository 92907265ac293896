package main

import (
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/auth"
	"github.com/leadmailer/leadmailer/store"
)

func TestTokensAddListRevoke(t *testing.T) {
	data := t.TempDir()
	r := lm(t, data, "tokens", "add", "crm", "--role", "marketer", "--expires", "90d")
	token := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(token, leadmailer.APITokenPrefix) || len(token) != len(leadmailer.APITokenPrefix)+43 {
		t.Fatalf("tokens add printed %q, want lm_ and 43 characters", r.stdout)
	}
	mustContain(t, "tokens add message", r.stderr, "Added token crm with role marketer", "cannot be shown again")
	lm(t, data, "tokens", "add", "dashboard", "--role", "viewer")

	db := openTestData(t, data)
	stored, err := db.FindAPITokenByHash(t.Context(), auth.HashToken(token))
	if err != nil || stored.Name != "crm" || stored.ExpiresAt == nil {
		t.Fatalf("the printed token does not find its stored hash: %+v, %v", stored, err)
	}

	list := lm(t, data, "tokens", "list").stdout
	mustContain(t, "tokens list", squash(list), "NAME ROLE STATUS CREATED EXPIRES LAST USED", "crm marketer active", "dashboard viewer active")
	if !strings.Contains(squash(list), "never never") {
		t.Errorf("tokens list: dashboard should never expire and never have been used; got:\n%s", list)
	}
	lm(t, data, "tokens", "revoke", "crm")
	var listed []struct {
		Name, Status string
	}
	lmJSON(t, data, &listed, "tokens", "list", "--json")
	if len(listed) != 2 || listed[0].Name != "crm" || listed[0].Status != leadmailer.TokenRevoked || listed[1].Status != leadmailer.TokenActive {
		t.Errorf("tokens list --json after revoke: %+v", listed)
	}
	for _, out := range []string{list, lm(t, data, "tokens", "list", "--json").stdout} {
		if strings.Contains(out, token) || strings.Contains(out, stored.TokenHash) {
			t.Errorf("tokens list shows the token or its hash:\n%s", out)
		}
	}

	var actions []string // newest first
	if err := db.FindAuditEntries(t.Context(), store.AuditFilter{Action: "token."}, func(e *leadmailer.AuditEntry) error {
		actions = append(actions, e.Action+" "+e.Target)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(actions, ", "), "token.revoke crm, token.add dashboard, token.add crm"; got != want {
		t.Errorf("audit trail: got %s, want %s", got, want)
	}
}

func TestTokensUsage(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{"tokens"},
		{"tokens", "add", "crm"},
		{"tokens", "add", "crm", "--role", "owner"},
		{"tokens", "add", "crm", "--role", "viewer", "--expires", "soon"},
		{"tokens", "add", "--role", "viewer"},
		{"tokens", "drop", "crm"},
	} {
		if r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (usage)\n%s", args, r.code, exitUsage, r.stderr)
		}
	}
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "tokens", "revoke", "nobody")
	if r.code == exitOK {
		t.Error("revoking a token that does not exist succeeded")
	}
}
