package web

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/clientip"
	"github.com/leadmailer/leadmailer/store"
)

// behindProxy starts the app as if behind a reverse proxy at trusted (the test client
// connects from 127.0.0.1), with anna as a user. Password checks are a plain comparison, so
// that a hundred failed logins do not take a hundred argon2id hashes.
func behindProxy(t *testing.T, trusted ...string) *testApp {
	t.Helper()
	res, err := clientip.New(trusted, "")
	if err != nil {
		t.Fatal(err)
	}
	a := newTestApp(t, Options{ClientIP: res.IP})
	anna := a.addUser("anna", leadmailer.RoleViewer)
	a.s.verifyPassword = func(hash, pw string) bool { return hash == anna.PasswordHash && pw == password("anna") }
	return a
}

// loginFrom posts anna's login form as the proxy would forward it from the client at xff.
func (a *testApp) loginFrom(xff, name, pw string) int {
	a.t.Helper()
	return a.client().post("/login", url.Values{"name": {name}, "password": {pw}}, "X-Forwarded-For", xff).status
}

// Behind the proxy, everyone's TCP address is the proxy's. An attacker's 20 wrong passwords
// for anna block the attacker, not anna logging in from her own address.
func TestLoginThrottlePerClientBehindTrustedProxy(t *testing.T) {
	a := behindProxy(t, "127.0.0.1")
	const attacker, user = "203.0.113.9", "198.51.100.7"
	for i := range 20 {
		want := http.StatusUnauthorized
		if i >= loginPairLimit {
			want = http.StatusTooManyRequests
		}
		if got := a.loginFrom(attacker, "anna", "guess number "+itoa(int64(i))); got != want {
			t.Fatalf("attacker's wrong password %d: status %d, want %d", i+1, got, want)
		}
	}
	if got := a.loginFrom(user, "anna", password("anna")); got != http.StatusSeeOther {
		t.Errorf("anna from her own address after the attacker's 20 failures: status %d, want 303", got)
	}
	if got := a.loginFrom(attacker, "anna", password("anna")); got != http.StatusTooManyRequests {
		t.Errorf("the attacker's address with the right password: status %d, want 429", got)
	}
	for _, e := range a.auditEntries(store.AuditFilter{Action: leadmailer.AuditLoginFailed}) {
		if e.IP != attacker {
			t.Errorf("failed login audited from %q, want the attacker's address %s", e.IP, attacker)
		}
	}
	if got := a.auditEntries(store.AuditFilter{Action: leadmailer.AuditLogin}); len(got) != 1 || got[0].IP != user {
		t.Errorf("logins audited: %+v, want one from %s", got, user)
	}
}

// A peer that is not a trusted proxy cannot pick its address by header: its X-Forwarded-For
// is ignored, so rotating it does not escape the per-address limit, nor land in the audit
// trail.
func TestLoginUntrustedPeerForwardedForIgnored(t *testing.T) {
	a := behindProxy(t, "10.0.0.0/8")
	for i := range loginClientLimit {
		if got := a.loginFrom("203.0.113."+itoa(int64(i+1)), "name"+itoa(int64(i)), "wrong"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, got)
		}
	}
	if got := a.loginFrom("198.51.100.7", "anna", password("anna")); got != http.StatusTooManyRequests {
		t.Errorf("from the same peer with yet another X-Forwarded-For: status %d, want 429", got)
	}
	for _, e := range a.auditEntries(store.AuditFilter{Action: leadmailer.AuditLoginFailed}) {
		if e.IP != "127.0.0.1" {
			t.Fatalf("failed login audited from %q, want the peer 127.0.0.1", e.IP)
		}
	}
}

// A guess at anna's password from many addresses at once (a hundred failures in the window)
// keeps new addresses out of her account, but not the address she logged in from before, and
// only until the failures age.
func TestLoginAccountUnderGuessingFromManyAddresses(t *testing.T) {
	a := behindProxy(t, "127.0.0.1")
	const home, elsewhere = "198.51.100.7", "192.0.2.77"
	if got := a.loginFrom(home, "anna", password("anna")); got != http.StatusSeeOther {
		t.Fatalf("anna's first login: status %d", got)
	}
	for i := range loginAccountLimit {
		xff := "203.0.113." + itoa(int64(i/4+1)) // 4 guesses each, under the per-address limits
		if got := a.loginFrom(xff, "anna", "guess "+itoa(int64(i))); got != http.StatusUnauthorized {
			t.Fatalf("guess %d from %s: status %d, want 401", i+1, xff, got)
		}
	}
	if got := a.loginFrom(elsewhere, "anna", password("anna")); got != http.StatusTooManyRequests {
		t.Errorf("anna from a new address during the attack: status %d, want 429", got)
	}
	if got := a.loginFrom(home, "anna", password("anna")); got != http.StatusSeeOther {
		t.Errorf("anna from the address she logged in from before: status %d, want 303", got)
	}
	a.advance(loginWindow + time.Minute)
	if got := a.loginFrom(elsewhere, "anna", password("anna")); got != http.StatusSeeOther {
		t.Errorf("anna from the new address once the failures aged: status %d, want 303", got)
	}
}
