package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestServeMountsTheAPI runs serve and pushes and reads a lead with a token from "tokens add":
// the API is reachable next to the web app, past its login and cross-origin checks, and a
// revoked token is refused at the next call.
func TestServeMountsTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	data := t.TempDir()
	token := strings.TrimSpace(lm(t, data, "tokens", "add", "crm", "--role", "marketer").stdout)
	addr := freeAddr(t)
	base := "http://" + addr
	c := startLeadmailer(t, "serve", "--listen", addr, "--data", data)
	waitServing(t, c, base)

	call := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		// A browser on another site would send this; the API answers it all the same,
		// since it trusts the token, not an ambient cookie.
		req.Header.Set("Origin", "https://elsewhere.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %v", method, path, res.StatusCode, err)
		}
		return res.StatusCode, out
	}
	if status, out := call("POST", "/api/v1/leads", `{"leads": [{"email": "anna@example.com", "name": "Anna"}]}`); status != 200 {
		t.Fatalf("upsert: %d %v", status, out)
	}
	status, out := call("GET", "/api/v1/leads", "")
	if leads, _ := out["leads"].([]any); status != 200 || len(leads) != 1 {
		t.Fatalf("list: %d %v", status, out)
	}
	// A CSV file larger than the bound on other public bodies goes through: the API is
	// mounted with the upload limit, and the import answers with its run.
	var csv strings.Builder
	csv.WriteString("email,name,company\n")
	for i := 0; csv.Len() < 9<<20; i++ {
		fmt.Fprintf(&csv, "lead%07d@example.com,Lead Number %d,Example Company With A Long Name Oy\n", i, i)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/imports?source=big-list", strings.NewReader(csv.String()))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var imported struct {
		Run struct{ Counts struct{ Inserted int } }
	}
	json.NewDecoder(res.Body).Decode(&imported)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || imported.Run.Counts.Inserted < 100_000 {
		t.Errorf("import of %d bytes: %d, %d inserted", csv.Len(), res.StatusCode, imported.Run.Counts.Inserted)
	}
	if status, out := call("POST", "/api/v1/campaigns", `{"name": "Winter", "subject": "Hello {{.Lead.Name}}", "html": "<p>Hi</p>"}`); status != 201 || out["state"] != "draft" {
		t.Errorf("create campaign: %d %v", status, out)
	}
	if status, out := call("GET", "/api/v1/sources", ""); status != 200 || out["sources"] == nil {
		t.Errorf("list sources: %d %v", status, out)
	}
	lm(t, data, "tokens", "revoke", "crm")
	if status, out := call("GET", "/api/v1/leads", ""); status != 401 {
		t.Errorf("revoked token: %d %v, want 401", status, out)
	}
}
