package web

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext checks that whatever arrives as ?next=, the login sends the browser to a path
// on this site: never to another host, never with a header-splitting line break.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/leads?q=a", "//evil.example", "/\\evil.example", "https://evil.example/",
		"/%0d%0aSet-Cookie:x", "javascript:alert(1)", "", "/imports/1", "/\t/evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/") || strings.ContainsAny(got, "\r\n") {
			t.Fatalf("safeNext(%q) = %q: not a local path", next, got)
		}
		// Browsers drop tabs and line breaks and read "\\" as "/": "/\\host" and "/\t/host"
		// are "//host" to them.
		cleaned := strings.NewReplacer("\\", "/", "\t", "", "\r", "", "\n", "").Replace(got)
		if strings.HasPrefix(cleaned, "//") {
			t.Fatalf("safeNext(%q) = %q: a browser reads it as another host", next, got)
		}
		if u, err := url.Parse(cleaned); err == nil && (u.Host != "" || u.Scheme != "") {
			t.Fatalf("safeNext(%q) = %q leads to host %q", next, got, u.Host)
		}
	})
}
