package store

import "testing"

func TestRejectEmailKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"  ", ""},
		{" Anna@Example.FI ", "anna@example.fi"},
		{"not an address", "not an address"},
		{" Anna@@Example.fi\t", "anna@@example.fi"},
	} {
		if got := RejectEmailKey(c.in); got != c.want {
			t.Errorf("RejectEmailKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
