package web

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

// The users page refuses, for a new user and for a password change, the passwords a guesser
// tries first: common ones, and the user's own name with a year.
func TestUserPagesRefuseCommonAndNamePasswords(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("ada", leadmailer.RoleAdmin)
	a.addUser("bert", leadmailer.RoleViewer)
	c := a.login("ada")
	for _, tc := range []struct {
		path, name, pw, want string
	}{
		{"/users", "christina", "password123", "common"},
		{"/users", "christina", "christina2024", "user name"},
		{"/users/bert/password", "", "password123", "common"},
		{"/users/bert/password", "", "Bert2024bert", "user name"},
	} {
		res := c.post(tc.path, url.Values{"name": {tc.name}, "role": {"viewer"}, "password": {tc.pw}, "password2": {tc.pw}})
		if res.status != http.StatusBadRequest || !strings.Contains(res.body, tc.want) {
			t.Errorf("POST %s with password %q: status %d; want 400 saying %q", tc.path, tc.pw, res.status, tc.want)
		}
	}
	if a.userExists("christina") {
		t.Error("a refused password still added the user")
	}
	if got := a.auditEntries(store.AuditFilter{Action: leadmailer.AuditUserPassword}); len(got) != 0 {
		t.Errorf("a refused password change was recorded as done: %+v", got)
	}
	if res := a.client().post("/login", url.Values{"name": {"bert"}, "password": {password("bert")}}); res.status != http.StatusSeeOther {
		t.Errorf("bert's old password after refused changes: status %d, want 303", res.status)
	}
}

// A failed login whose name is no user's is recorded with a keyed hash of the name: people
// type their password into the name field, and the database must not keep it. A known user's
// name is kept as it is, so an admin sees whose account was tried.
func TestFailedLoginUnknownNameNotStored(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("anna", leadmailer.RoleViewer)
	const typed = "Tr0ub4dor-and-3-horses"
	for _, name := range []string{typed, typed, "anna"} {
		if res := a.client().post("/login", url.Values{"name": {name}, "password": {"wrong password here"}}); res.status != http.StatusUnauthorized {
			t.Fatalf("failed login as %q: status %d, want 401", name, res.status)
		}
	}
	got := a.auditEntries(store.AuditFilter{Action: leadmailer.AuditLoginFailed})
	if len(got) != 3 {
		t.Fatalf("%d failed logins audited, want 3", len(got))
	}
	var targets []string
	for _, e := range got {
		targets = append(targets, e.Target)
	}
	// Newest first.
	if targets[0] != "anna" || !strings.HasPrefix(targets[1], "unknown name ") || targets[1] != targets[2] {
		t.Errorf("audit targets %q: want the same hash twice for the unknown name, then anna", targets)
	}
	// Nothing of the typed text is anywhere in the database's files.
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(a.db.Path() + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(typed))) {
			t.Errorf("%s holds the name typed at a failed login in clear text", "leadmailer.db"+suffix)
		}
	}
}
