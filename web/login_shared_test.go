package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer/clientip"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// Two servers on one database, as two serve processes behind one proxy: failed logins
// alternating between them trip the throttle at the same count as on one, for the pair and
// for the address, and the refusal is recorded once.
func TestLoginThrottleSharedBetweenServers(t *testing.T) {
	a := behindProxy(t, "127.0.0.1")
	res, _ := clientip.New([]string{"127.0.0.1"}, "")
	second, err := New(storetest.Reopen(t, a.db, a.clock), Options{DataDir: t.TempDir(), Now: a.clock, ClientIP: res.IP})
	if err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(second.Handler())
	t.Cleanup(func() { ts2.Close(); second.Shutdown(t.Context()) })
	second.verifyPassword = a.s.verifyPassword
	bases := []string{a.ts.URL, ts2.URL}

	try := func(i int, xff, name, pw string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", bases[i%2]+"/login", strings.NewReader(url.Values{"name": {name}, "password": {pw}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", xff)
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for i := range loginPairLimit {
		if got := try(i, "203.0.113.9", "anna", "wrong"); got != http.StatusUnauthorized {
			t.Fatalf("failure %d on server %d: status %d, want 401", i+1, i%2+1, got)
		}
	}
	for i := range 2 {
		if got := try(i, "203.0.113.9", "anna", password("anna")); got != http.StatusTooManyRequests {
			t.Errorf("right password on server %d after %d failures on both: status %d, want 429", i+1, loginPairLimit, got)
		}
	}
	for i := range loginClientLimit {
		try(i, "198.51.100.7", "name"+itoa(int64(i)), "wrong")
	}
	for i := range 2 {
		if got := try(i, "198.51.100.7", "anna", password("anna")); got != http.StatusTooManyRequests {
			t.Errorf("server %d, address with %d failures on both: status %d, want 429", i+1, loginClientLimit, got)
		}
	}
	if entries, total := a.refusalCounts(); len(entries) != 2 || total != 2 {
		t.Errorf("%d refused-login entries counting %d, want one first entry per throttled key", len(entries), total)
	}
}
