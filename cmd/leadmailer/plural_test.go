package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestPlural(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0 leads"}, {1, "1 lead"}, {2, "2 leads"}, {-1, "-1 leads"}} {
		if got := plural(tc.n, "lead", "leads"); got != tc.want {
			t.Errorf("plural(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// TestCountsInPlainEnglish: commands count one thing in the singular and others in the
// plural, never as "lead(s)".
func TestCountsInPlainEnglish(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	csv := writeFile(t, t.TempDir(), "one.csv", "email,company,country\nanna.virtanen@example.fi,Esimerkki Oy,FI\n")
	lm(t, data, "import", csv, "--source", "crm")
	if got := lm(t, data, "leads", "list").stdout; !strings.HasSuffix(got, "\n1 lead\n") {
		t.Errorf("leads list with one lead ends with %q", got[strings.LastIndex(strings.TrimSuffix(got, "\n"), "\n")+1:])
	}
	out := lm(t, data, "suppress", "add", "@example.fi").stdout
	mustContain(t, "suppress add", out, "1 existing lead made inactive.")
	out = lm(t, data, "suppress", "add", "nobody@example.com").stdout
	mustContain(t, "suppress add", out, "0 existing leads made inactive.")
	for _, o := range []string{out, lm(t, data, "suppress", "list").stdout} {
		if strings.Contains(o, "(s)") {
			t.Errorf("output counts with (s): %q", o)
		}
	}
	mustContain(t, "suppress list", lm(t, data, "suppress", "list").stdout, "2 entries")
}
