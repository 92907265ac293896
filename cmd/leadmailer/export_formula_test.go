package main

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestExportNeutralisesFormulas plants spreadsheet formulas in a lead twice, once through a
// CSV import and once anonymously through the website's query form, and exports both leads:
// the CSV export shows every formula behind a single quote, in a quoted cell, and the JSON
// export keeps the values exactly. The import's rejects file is neutralised likewise.
func TestExportNeutralisesFormulas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	const formula = `=HYPERLINK("http://x")`
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig("", "\n[web]\nquery_origins = [\"https://www.focus.example\"]\n"))
	file := writeFile(t, t.TempDir(), "fair.csv", "Email,Name,Company,Phone\n"+
		`csv@example.fi,Carl,"=HYPERLINK(""http://x"")",+358401234567`+"\n"+
		`not-an-address,Eve,"=HYPERLINK(""http://x"")",-1`+"\n")
	var imported importResult
	lmJSON(t, data, &imported, "import", file, "--source", "fair", "--json")

	addr := freeAddr(t)
	base := "http://" + addr
	c := startLeadmailer(t, "serve", "--listen", addr, "--data", data)
	waitServing(t, c, base)
	form := url.Values{"email": {"web@example.fi"}, "name": {"Wendy"}, "company": {formula},
		"message": {"@SUM(1+1)"}}
	req, _ := http.NewRequest("POST", base+"/query", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://www.focus.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("query: status %d", res.StatusCode)
	}

	for _, email := range []string{"csv@example.fi", "web@example.fi"} {
		t.Run(email, func(t *testing.T) {
			out := lm(t, data, "leads", "export", email, "--format", "csv").stdout
			if !strings.Contains(out, `"'=HYPERLINK(""http://x"")"`) {
				t.Errorf("the company is not a quoted, neutralised cell:\n%s", out)
			}
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatalf("read the export: %v\n%s", err, out)
			}
			if !slices.ContainsFunc(recs, func(r []string) bool {
				return r[0] == "field" && r[1] == "company" && r[2] == "'"+formula
			}) {
				t.Errorf("no field row with company '%s:\n%s", formula, out)
			}
			for _, r := range recs {
				for _, cell := range r {
					if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
						t.Errorf("cell %q of row %q starts a formula", cell, r)
					}
				}
			}

			var x struct {
				Lead struct{ Company string } `json:"lead"`
			}
			lmJSON(t, data, &x, "leads", "export", email, "--format", "json")
			if x.Lead.Company != formula {
				t.Errorf("JSON export company = %q, want %q exactly", x.Lead.Company, formula)
			}
		})
	}
	if strings.Contains(lm(t, data, "leads", "export", "csv@example.fi", "--format", "csv").stdout, `"+358401234567"`) {
		t.Error("the phone +358... is written as it is: a spreadsheet reads it as a formula")
	}

	rejects := lm(t, data, "imports", "rejects", strconv.FormatInt(imported.Run.ID, 10)).stdout
	if !strings.Contains(string(rejects), `"'=HYPERLINK(""http://x"")"`) || !strings.Contains(string(rejects), `"'-1"`) {
		t.Errorf("rejects file:\n%s\nwant the company and phone neutralised", rejects)
	}
}
