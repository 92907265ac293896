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
	mustContain(t, "leads show", lm(t, data, "leads", "show", "anna.virtanen@example.fi").stdout,
		"Provenance (1 observation, oldest first):")
	twice := writeFile(t, t.TempDir(), "twice.csv", "email,company,country\nerik@example.se,Exempel AB,SE\nerik@example.se,Exempel AB,SE\n"+
		"olga@example.no,Eksempel AS,NO\n")
	lm(t, data, "import", twice, "--source", "crm")
	mustContain(t, "imports show", lm(t, data, "imports", "show", "2").stdout,
		"Rows: 3 read, 2 inserted, 0 updated, 0 unchanged, 1 duplicate in file, 0 suppressed, 0 rejected")

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

	mustContain(t, "leads erase", lm(t, data, "leads", "erase", "olga@example.no").stdout,
		"with 1 provenance row, 0 website queries, 0 consents and 0 rejected import rows.")
	// Anna became inactive with the suppression; a retention period of 1ns deletes her now, and
	// only her, as Erik is active.
	short := writeFile(t, t.TempDir(), "short.toml", "[retention]\ninactive_after = \"730d\"\ndelete_after = \"1ns\"\n")
	mustContain(t, "retention run", lm(t, data, "retention", "run", "--config", short).stdout,
		"Checked 2 leads: 0 made inactive, 1 deleted.",
		"Deleted with them: 1 provenance row, 0 website queries, 0 consents.")
	mustContain(t, "audit", lm(t, data, "audit", "--action", "lead.erase").stdout,
		"removed 1 provenance row, 0 website queries, 0 consents, 0 rejected import rows")
	mustContain(t, "audit", lm(t, data, "audit", "--action", "retention.run").stdout,
		"deleted 1 lead (1 provenance row, 0 website queries, 0 consents)")
}
