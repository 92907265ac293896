package web

import (
	"encoding/csv"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestRejectsDownloadNeutralisesFormulas: a rejected row whose cells are spreadsheet formulas
// downloads with each such cell behind a single quote, quoted; so does a rejects file an
// older version wrote as it came.
func TestRejectsDownloadNeutralisesFormulas(t *testing.T) {
	a := newTestApp(t, Options{})
	a.addUser("mark", "marketer")
	m := a.login("mark")
	runID := importThroughWeb(t, a, m, "formula-rows.csv", "fair", nil, nil)

	wantRow := []string{"not-an-email", "Eve", `'=HYPERLINK("http://x","Open")`, `'@SUM(1+1)`}
	check := func(what string) {
		t.Helper()
		res := m.get("/imports/" + itoa(runID) + "/rejects.csv")
		if res.status != http.StatusOK {
			t.Fatalf("%s: status %d\n%s", what, res.status, res.body)
		}
		if !strings.Contains(res.body, `"'=HYPERLINK(""http://x"",""Open"")"`) {
			t.Errorf("%s: the formula is not a quoted, neutralised cell:\n%s", what, res.body)
		}
		recs, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, res.body)
		}
		for _, rec := range recs[1:] {
			for _, want := range wantRow {
				if !slices.Contains(rec, want) {
					t.Errorf("%s: row %q lacks %q", what, rec, want)
				}
			}
		}
		if len(recs) != 2 {
			t.Errorf("%s: %d records, want a header and one rejected row", what, len(recs))
		}
	}
	check("rejects written now")

	old := "row,reason,email,name,company,phone\n" +
		`3,email: not an address,not-an-email,Eve,"=HYPERLINK(""http://x"",""Open"")",@SUM(1+1)` + "\n"
	if err := os.WriteFile(a.s.rejectsPath(runID), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	check("rejects written by an older version")
}
