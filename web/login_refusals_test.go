package web

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/store"
)

var refusedCountRE = regexp.MustCompile(`^refused (\d+) `)

// refusalCounts returns the refused-login entries and the number of refusals they carry.
func (a *testApp) refusalCounts() (entries []*leadmailer.AuditEntry, total int) {
	a.t.Helper()
	for _, e := range a.auditEntries(store.AuditFilter{Action: leadmailer.AuditLoginFailed}) {
		if !strings.HasPrefix(e.Detail, "refused") {
			continue
		}
		m := refusedCountRE.FindStringSubmatch(e.Detail)
		if m == nil {
			a.t.Fatalf("refused-login entry %q carries no count", e.Detail)
		}
		n, _ := strconv.Atoi(m[1])
		entries, total = append(entries, e), total+n
	}
	return entries, total
}

// A flood of refused logins cannot fill the append-only audit trail: 3,000 attempts from a
// throttled address write two entries, the first at once and one with the count when the
// window ends, even when the server that counted them stopped in the meantime.
func TestRefusedLoginsAggregatedInAudit(t *testing.T) {
	for _, end := range []string{"window ends", "server stops"} {
		t.Run(end, func(t *testing.T) {
			a := behindProxy(t, "127.0.0.1")
			const attacker = "203.0.113.9"
			for i := range loginClientLimit {
				a.loginFrom(attacker, "guess"+itoa(int64(i)), "wrong")
			}
			const refused = 3000
			for i := range refused {
				if got := a.loginFrom(attacker, "anna"+itoa(int64(i%7)), "wrong"); got != http.StatusTooManyRequests {
					t.Fatalf("attempt %d while throttled: status %d, want 429", i+1, got)
				}
			}
			if entries, total := a.refusalCounts(); len(entries) != 1 || total != 1 {
				t.Fatalf("during the window: %d refused-login entries counting %d, want the first one only", len(entries), total)
			}
			switch end {
			case "window ends":
				a.advance(loginWindow)
				a.s.flushRefusals(t.Context(), a.clock())
			case "server stops":
				// The window outlives the process that counted it: the next one on the
				// database writes the count once the window ends.
				if err := a.s.Shutdown(t.Context()); err != nil {
					t.Fatal(err)
				}
				if entries, total := a.refusalCounts(); len(entries) != 1 || total != 1 {
					t.Fatalf("after the server stopped in the window: %d entries counting %d, want the first one only", len(entries), total)
				}
				next, err := New(a.db, Options{DataDir: a.dir, Now: a.clock})
				if err != nil {
					t.Fatal(err)
				}
				a.advance(loginWindow)
				next.sweep(t.Context(), a.clock())
				next.Shutdown(t.Context())
			}
			entries, total := a.refusalCounts()
			if len(entries) != 2 || total != refused {
				t.Fatalf("%d refused-login entries counting %d refusals, want 2 counting %d", len(entries), total, refused)
			}
			for _, e := range entries {
				if e.IP != attacker || e.Target != "" {
					t.Errorf("entry %+v: want the attacker's address and no name (names varied)", e)
				}
			}
			all := a.auditEntries(store.AuditFilter{})
			if len(all) > loginClientLimit+2 {
				t.Errorf("%d audit entries for %d failed and %d refused logins", len(all), loginClientLimit, refused)
			}
		})
	}
}

// Once a window's count is written, the next refusal opens a new window with its own first
// entry; refusals under different keys are counted apart.
func TestRefusedLoginWindowsPerKey(t *testing.T) {
	a := behindProxy(t, "127.0.0.1")
	for range loginPairLimit {
		a.loginFrom("203.0.113.1", "anna", "wrong")
		a.loginFrom("203.0.113.2", "nobody-here", "wrong")
	}
	for range 3 {
		a.loginFrom("203.0.113.1", "anna", "wrong")
		a.loginFrom("203.0.113.2", "nobody-here", "wrong")
	}
	a.advance(loginWindow - time.Minute) // the failures are still in the throttle's window
	a.s.flushRefusals(t.Context(), a.clock())
	if _, total := a.refusalCounts(); total != 2 {
		t.Fatalf("refusals on record before the windows end: %d, want the 2 firsts", total)
	}
	a.advance(time.Minute)
	a.loginFrom("203.0.113.1", "anna", password("anna")) // the throttle let go: a normal login
	a.s.flushRefusals(t.Context(), a.clock())
	entries, total := a.refusalCounts()
	if len(entries) != 4 || total != 6 {
		t.Fatalf("%d refused-login entries counting %d, want 4 counting 6", len(entries), total)
	}
	for _, e := range entries {
		if e.Target != "anna" && !strings.HasPrefix(e.Target, "unknown name ") {
			t.Errorf("refusal for a name recorded with target %q, want anna or a hashed unknown name", e.Target)
		}
	}
}
