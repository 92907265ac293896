package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// legacyRejects is a rejects file as older versions left them in DATA/rejects.
const legacyRejects = `"row","reason","email","name","company","country","business_id","job_title","website","phone","city"
"2","country: ""Narnia"" is not a country","anna.virtanen@example.fi","Anna Virtanen","Virtanen Oy","Narnia","","","","",""
"3","country: ""Narnia"" is not a country","bob@example.fi","Bob","Bob Oy","Narnia","","","","",""
"4","name is too long","  ANNA.Virtanen@example.FI","Anna V","","","","","","",""
`

// TestEraseReachesRejectsFiles: erasure removes the person's rows from the rejects files in
// the data directory, says how many went, and leaves everyone else's.
func TestEraseReachesRejectsFiles(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		email, want, left string
	}{
		{"anna.virtanen@example.fi", "and 2 rejected import rows (2 of them in 1 rejects file).", "bob@example.fi"},
		{"Bob@example.fi", "No lead had this address; erased 1 rejected import row (1 of them in 1 rejects file) that had it.", "Anna Virtanen"},
	} {
		t.Run(c.email, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			lm(t, data, "import", "--source", "crm", fixture(t, "contacts.csv"))
			old := writeFile(t, filepath.Join(data, "rejects"), "old-20250101T000000.csv", legacyRejects)

			mustContain(t, "erase", lm(t, data, "leads", "erase", c.email).stdout, c.want)
			b, err := os.ReadFile(old)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); strings.Contains(strings.ToLower(got), strings.ToLower(strings.TrimSpace(c.email))) || !strings.Contains(got, c.left) {
				t.Errorf("rejects file after erasing %s:\n%s\nwant it without the address and still with %q", c.email, got, c.left)
			}
			mustContain(t, "audit", lm(t, data, "audit", "--action", "lead.erase").stdout, "rejected import row")
		})
	}
}
