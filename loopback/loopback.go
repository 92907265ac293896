// Package loopback tells whether a URL is plain http on this machine, the one case where
// leadmailer lets http stand in for https: a public_url, unsubscribe link or webhook
// receiver used to try leadmailer out. The configuration and the mailer both ask, and must
// give the same answer, or a public_url the configuration accepts would make every message
// fail to build.
//
// It has no state and is safe for concurrent use.
package loopback

import (
	"net/netip"
	"net/url"
	"strings"
)

// IsHTTPURL reports whether s is an http URL whose host is this machine: localhost, an
// address in 127.0.0.0/8, or ::1. The URL is parsed rather than matched by prefix, so a
// look-alike host such as http://localhost.example.com or a user name in front of another
// host (http://127.0.0.1:80@example.com) does not count.
func IsHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" { // Parse lowercases the scheme
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		// A zone (http://[::1%25lo]) names an interface, which a link must not depend on.
		return false
	}
	// An IPv4-mapped ::ffff:127.0.0.1 stays refused, as it always was: a trial needs only
	// the forms the documentation names, and each extra spelling is one more to get wrong.
	return (ip.Is4() || ip == netip.IPv6Loopback()) && ip.IsLoopback()
}
