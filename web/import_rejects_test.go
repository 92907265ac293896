package web

import (
	"encoding/csv"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestRejectsDownloadNeutralisesFormulas: a rejected row whose cells are spreadsheet formulas
// downloads with each such cell behind a single quote, quoted, from the database; so does a
// rejects file an older version wrote as it came, for a run with none in the database.
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
	// A run of an older version has no rejects in the database, and its file in the data
	// directory.
	if _, err := storetest.Raw(t, a.db).Exec(`DELETE FROM import_rejects`); err != nil {
		t.Fatal(err)
	}
	path := a.s.legacyRejectsPath(runID)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	check("rejects written by an older version")
}
