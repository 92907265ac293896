// Package clientip tells which address a request came from when leadmailer runs behind
// reverse proxies. Only the proxies named as trusted may say so: a request from any other
// peer is from that peer, whatever its headers claim, since anyone can send an
// X-Forwarded-For header.
//
// Behind trusted proxies, the client is the rightmost address of the proxy header that is
// not itself a trusted proxy: each proxy appends the address it got the request from, so
// everything left of the first untrusted hop was written by the client and proves nothing.
//
// A *Resolver is read-only after New and safe for concurrent use.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The headers a proxy may pass the client's address in.
const (
	XForwardedFor = "X-Forwarded-For"
	Forwarded     = "Forwarded" // RFC 7239
)

// Resolver finds a request's client address.
type Resolver struct {
	trusted []netip.Prefix
	header  string
}

// New returns a resolver that believes header (XForwardedFor or Forwarded; empty means
// XForwardedFor) from peers within the trusted CIDRs ("10.0.0.0/8", "::1/128"; a bare
// address is a prefix of its full length). With no trusted CIDRs, every request is from its
// TCP peer.
func New(trusted []string, header string) (*Resolver, error) {
	r := &Resolver{header: XForwardedFor}
	switch {
	case header == "" || strings.EqualFold(header, XForwardedFor):
	case strings.EqualFold(header, Forwarded):
		r.header = Forwarded
	default:
		return nil, fmt.Errorf("proxy header %q: use %q or %q", header, XForwardedFor, Forwarded)
	}
	for _, s := range trusted {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		r.trusted = append(r.trusted, p)
	}
	return r, nil
}

// ParsePrefix parses a CIDR such as "10.0.0.0/8", or a bare address as the prefix holding
// only it.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as \"10.0.0.0/8\" or \"fd00::/8\"", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or a CIDR such as \"10.0.0.0/8\"", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// IP returns the address r came from, without a port.
func (res *Resolver) IP(r *http.Request) string {
	peer, ok := parseHost(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if res == nil || !res.isTrusted(peer) {
		return peer.String()
	}
	hops := res.hops(r.Header)
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHost(hops[i])
		if !ok {
			// "unknown", an obfuscated name, or garbage: nothing left of it can be
			// placed, so the last proxy that could be is the client as far as we know.
			break
		}
		client = a
		if !res.isTrusted(a) {
			break
		}
	}
	return client.String()
}

func (res *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// hops lists the addresses of the proxy header, leftmost (the first hop) first. Several
// header lines count as one list joined in order (RFC 9110 section 5.3).
func (res *Resolver) hops(h http.Header) []string {
	var out []string
	for _, line := range h.Values(res.header) {
		for _, elem := range strings.Split(line, ",") {
			elem = strings.TrimSpace(elem)
			if res.header == Forwarded {
				elem = forwardedFor(elem)
			}
			out = append(out, elem)
		}
	}
	return out
}

// forwardedFor returns the for= parameter of one Forwarded element
// (for=192.0.2.60;proto=https;by=203.0.113.43), unquoted; "" when it has none.
func forwardedFor(elem string) string {
	for _, pair := range strings.Split(elem, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
			return strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	return ""
}

// parseHost parses an address with or without a port: "192.0.2.1", "192.0.2.1:8080",
// "2001:db8::1", "[2001:db8::1]:8080". IPv4-mapped IPv6 addresses are returned as IPv4, so
// that one client has one key whichever way it is written.
func parseHost(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if i := strings.IndexByte(s, '%'); i >= 0 {
		s = s[:i] // an IPv6 zone names an interface of the sender, not the client
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
