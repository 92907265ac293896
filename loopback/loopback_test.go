package loopback

import (
	"net"
	"net/url"
	"runtime"
	"strings"
	"testing"
)

func TestIsHTTPURL(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:8080/u/1", true},
		{"http://127.0.0.1", true},
		{"http://127.1.2.3/u", true}, // all of 127.0.0.0/8 is this machine
		{"http://localhost/u/1", true},
		{"HTTP://LOCALHOST:8080/u/1", true},
		{"http://[::1]:8080/u/1", true},
		{"http://[0:0:0:0:0:0:0:1]/u", true},
		{"http://someone@localhost/u", true}, // still this machine; callers refuse credentials if they must

		{"https://127.0.0.1/u", false}, // https needs no exception
		{"ftp://localhost/u", false},
		{"http://example.com/u", false},
		{"http://127.0.0.1.evil.example/u", false},
		{"http://localhost.evil.example", false},
		{"http://localhost.evil.example:8080/u", false},
		{"http://evil-localhost/u", false},
		{"http://localhost./u", false},
		{"http://127.0.0.1:80@evil.example/u", false}, // userinfo, the host is evil.example
		{"http://localhost:8080@evil.example/u", false},
		{"http://[::1]@evil.example/u", false},
		{"http://evil.example/?http://127.0.0.1/", false},
		{"http://evil.example#@127.0.0.1", false},
		{"http://128.0.0.1/u", false},
		{"http://126.255.255.255/u", false},
		{"http://0.0.0.0/u", false},
		{"http://127.1/u", false},      // short form: not an address netip accepts
		{"http://0177.0.0.1/u", false}, // octal
		{"http://[::ffff:127.0.0.1]/u", false},
		{"http://[::1%25lo]/u", false},
		{"http://[::2]/u", false},
		{"http://localhost:port/u", false},
		{"http:///u", false},
		{"http:localhost", false},
		{"//localhost/u", false},
		{"localhost/u", false},
		{"/u/1", false},
		{"", false},
		{"http://local\x00host/", false},
	}
	for _, tt := range tests {
		if got := IsHTTPURL(tt.url); got != tt.want {
			t.Errorf("IsHTTPURL(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

// TestIsHTTPURLMemory: a long hostile input costs memory in proportion to its length, not
// more; the configuration and the mailer pass it text from outside.
func TestIsHTTPURLMemory(t *testing.T) {
	s := "http://localhost/" + strings.Repeat("%41", 1<<18) // 768 KiB that unescapes
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	IsHTTPURL(s)
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(2*len(s)); got > limit {
		t.Errorf("IsHTTPURL of %d bytes allocated %d bytes, want at most %d", len(s), got, limit)
	}
}

// FuzzIsHTTPURL checks IsHTTPURL against the net package's own idea of loopback: whatever
// it accepts parses as http with a host of localhost or a loopback IP.
func FuzzIsHTTPURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080/u", "http://localhost.evil.example",
		"http://127.0.0.1:80@evil.example/", "http://[::1]/", "http://[::1%25x]/", "HTTP://LocalHost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !IsHTTPURL(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", s, err)
		}
		if !strings.EqualFold(u.Scheme, "http") {
			t.Fatalf("accepted %q with scheme %q", s, u.Scheme)
		}
		host := u.Hostname()
		if ip := net.ParseIP(host); !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("accepted %q, whose host %q is not this machine", s, host)
		}
	})
}
