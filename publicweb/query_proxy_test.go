package publicweb_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/clientip"
	"github.com/leadmailer/leadmailer/publicweb"
)

// The query limiter counts per client as serve's clientip.Resolver finds it: behind a trusted
// proxy each visitor has a limit of their own, and a peer that is not a trusted proxy cannot
// escape its limit by changing X-Forwarded-For.
func TestQueryLimiterUsesTrustedProxyHeader(t *testing.T) {
	for _, tc := range []struct {
		name      string
		trusted   string
		otherGets int
	}{
		{"behind a trusted proxy", "127.0.0.1", 200},
		{"from an untrusted peer", "10.0.0.0/8", 429},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := clientip.New([]string{tc.trusted}, "")
			if err != nil {
				t.Fatal(err)
			}
			s := newServer(t, publicweb.Options{QueryBurst: 2, QueryEvery: time.Hour, ClientIP: res.IP})
			post := func(xff string) int {
				return postQuery(t, s, url.Values{"email": {"visitor@example.org"}},
					map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": xff}).status
			}
			for range 2 {
				if got := post("203.0.113.9"); got != 200 {
					t.Fatalf("query within the burst: status %d, want 200", got)
				}
			}
			if got := post("203.0.113.9"); got != 429 {
				t.Errorf("a third query from 203.0.113.9: status %d, want 429", got)
			}
			if got := post("198.51.100.7"); got != tc.otherGets {
				t.Errorf("a query naming another client: status %d, want %d", got, tc.otherGets)
			}
		})
	}
}
