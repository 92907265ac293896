package clientip

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestIP(t *testing.T) {
	proxies := []string{"10.0.0.0/8", "192.0.2.10", "fd00::/8"}
	for _, tc := range []struct {
		name    string
		header  string // which header the resolver believes
		peer    string
		headers map[string][]string
		want    string
	}{
		{"no proxy header", "", "10.0.0.5:4000", nil, "10.0.0.5"},
		{"untrusted peer's header is ignored", "", "203.0.113.9:4000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "203.0.113.9"},
		{"trusted proxy names the client", "", "10.0.0.5:4000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"a client's own entries left of the real one are ignored", "", "10.0.0.5:4000",
			map[string][]string{"X-Forwarded-For": {"1.1.1.1, 2.2.2.2, 198.51.100.7"}}, "198.51.100.7"},
		{"a chain of trusted proxies is walked", "", "10.0.0.5:4000",
			map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.7, 192.0.2.10, 10.1.1.1"}}, "198.51.100.7"},
		{"several header lines are one list", "", "10.0.0.5:4000",
			map[string][]string{"X-Forwarded-For": {"1.1.1.1", "198.51.100.7, 10.9.9.9"}}, "198.51.100.7"},
		{"only proxies: the leftmost", "", "10.0.0.5:4000",
			map[string][]string{"X-Forwarded-For": {"10.2.2.2, 10.3.3.3"}}, "10.2.2.2"},
		{"garbage stops the walk at the last proxy", "", "10.0.0.5:4000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.7, not-an-ip"}}, "10.0.0.5"},
		{"a port is dropped", "", "10.0.0.5:4000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.7:51234"}}, "198.51.100.7"},
		{"IPv6 client", "", "[fd00::1]:4000",
			map[string][]string{"X-Forwarded-For": {"2001:db8::7"}}, "2001:db8::7"},
		{"IPv4-mapped peer is IPv4", "", "[::ffff:10.0.0.5]:4000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "198.51.100.7"},
		{"Forwarded is not read when X-Forwarded-For is the header", "", "10.0.0.5:4000",
			map[string][]string{"Forwarded": {"for=198.51.100.7"}}, "10.0.0.5"},
		{"Forwarded", "Forwarded", "10.0.0.5:4000",
			map[string][]string{"Forwarded": {`for=1.1.1.1, for="[2001:db8::7]:4711";proto=https;by=10.0.0.5`}}, "2001:db8::7"},
		{"Forwarded with an obfuscated hop", "Forwarded", "10.0.0.5:4000",
			map[string][]string{"Forwarded": {"for=198.51.100.7, for=_hidden"}}, "10.0.0.5"},
		{"X-Forwarded-For is not read when Forwarded is the header", "Forwarded", "10.0.0.5:4000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.7"}}, "10.0.0.5"},
	} {
		res, err := New(proxies, tc.header)
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{RemoteAddr: tc.peer, Header: http.Header(tc.headers)}
		if got := res.IP(r); got != tc.want {
			t.Errorf("%s: IP = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestNoTrustedProxies(t *testing.T) {
	var res *Resolver
	r := &http.Request{RemoteAddr: "127.0.0.1:80", Header: http.Header{"X-Forwarded-For": {"198.51.100.7"}}}
	if got := res.IP(r); got != "127.0.0.1" {
		t.Errorf("nil resolver: IP = %q, want the peer", got)
	}
	res, _ = New(nil, "")
	if got := res.IP(r); got != "127.0.0.1" {
		t.Errorf("no trusted proxies: IP = %q, want the peer", got)
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		cidrs  []string
		header string
	}{
		{[]string{"10.0.0.0/33"}, ""},
		{[]string{"proxy.example.com"}, ""},
		{[]string{"10.0.0.1"}, "X-Real-IP"},
	} {
		if _, err := New(tc.cidrs, tc.header); err == nil {
			t.Errorf("New(%q, %q): no error", tc.cidrs, tc.header)
		}
	}
}

// Whatever a client writes in the headers, the answer is the peer or an address in them.
func FuzzIP(f *testing.F) {
	f.Add("198.51.100.7, 10.0.0.1", `for="[2001:db8::1]:80";by=x, for=unknown`)
	f.Add("", "")
	f.Add(",,,", `for=";;"`)
	res, _ := New([]string{"127.0.0.0/8", "10.0.0.0/8"}, "")
	fwd, _ := New([]string{"127.0.0.0/8", "10.0.0.0/8"}, Forwarded)
	f.Fuzz(func(t *testing.T, xff, forwarded string) {
		r := &http.Request{RemoteAddr: "127.0.0.1:1234", Header: http.Header{"X-Forwarded-For": {xff}, "Forwarded": {forwarded}}}
		for _, res := range []*Resolver{res, fwd} {
			got := res.IP(r)
			if _, err := netip.ParseAddr(got); err != nil {
				t.Fatalf("IP = %q, not an address", got)
			}
		}
	})
}
