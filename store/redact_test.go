package store

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzRedactURL: a database URL's password, in its user part or as a password parameter, is
// never in what messages show of the URL, and the shown text is no longer than the URL plus
// the few bytes of its ellipses.
func FuzzRedactURL(f *testing.F) {
	for _, p := range []string{"s3cret", "p@ss/word?#", "pässwörd", "a&b=c", "%41%42"} {
		f.Add(p, "db.example:5432", "sslmode=require")
	}
	f.Fuzz(func(t *testing.T, password, host, query string) {
		if len(password) < 6 || len(host) > 200 || len(query) > 200 {
			return
		}
		user := url.UserPassword("lm", password).String()
		inUser, inQuery := strings.TrimPrefix(user, "lm:"), url.QueryEscape(password)
		forms := []struct{ url, secret string }{
			{"postgres://" + user + "@" + host + "/leads?" + query, inUser},
			{"postgres://" + host + "/leads?" + query + "&password=" + inQuery, inQuery},
			{"postgresql://" + host + "/leads?PassWord=" + inQuery + "&" + query, inQuery},
		}
		for _, form := range forms {
			u := form.url
			got := redactURL(u)
			// The secret may show where the host or query hold it too, no more often.
			without := strings.Replace(u, form.secret, "", 1)
			if strings.Count(got, form.secret) > strings.Count(without, form.secret) {
				t.Fatalf("redactURL(%q) = %q shows the password %q", u, got, form.secret)
			}
			if len(got) > len(u)+2*len("…") {
				t.Fatalf("redactURL(%q) is %d bytes, from %d", u, len(got), len(u))
			}
		}
	})
}
