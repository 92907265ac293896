package main

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/publicweb"
	"github.com/leadmailer/leadmailer/store"
)

// TestServeConfirmsWebsiteConsent runs the real serve process without an SMTP relay: a
// query from the company website with the consent box ticked for a German lead from a CSV
// file leaves the lead unmailable and puts a confirmation mail in the outbox; POSTing its link
// records the consent and its audit entry.
func TestServeConfirmsWebsiteConsent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig("", `
[sending]
consent_only_countries = ["DE"]

[web]
query_origins = ["https://www.focus.example"]
`))
	csv := writeFile(t, t.TempDir(), "people.csv", "Email,Name,Company,Country\ndora@delta.example,Dora Delta,Delta GmbH,DE\n")
	lm(t, data, "import", csv, "--source", "crm")
	addr := freeAddr(t)
	base := "http://" + addr
	c := startLeadmailer(t, "serve", "--listen", addr, "--data", data)
	waitServing(t, c, base)

	form := url.Values{"email": {"dora@delta.example"}, "name": {"Someone Else"}, "country": {"FI"},
		"consent": {"yes"}, "consent_version": {"2026-01"}}
	req, _ := http.NewRequest("POST", base+"/query", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://www.focus.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Access-Control-Allow-Origin") != "https://www.focus.example" {
		t.Fatalf("query: status %d, Access-Control-Allow-Origin %q", res.StatusCode, res.Header.Get("Access-Control-Allow-Origin"))
	}

	db := openTestData(t, data)
	consents := func() []store.Consent {
		t.Helper()
		x, err := db.ExportLead(t.Context(), "dora@delta.example")
		if err != nil {
			t.Fatal(err)
		}
		if x.Lead.Name != "Dora Delta" || x.Lead.Country != "DE" {
			t.Errorf("lead = %+v, want the CSV's name and country", x.Lead)
		}
		return x.Consents
	}
	if got := consents(); len(got) != 0 {
		t.Fatalf("consents before confirmation = %+v, want none", got)
	}

	// The answer does not wait for the mail. The outbox writes a dot-named temporary file
	// first, which the pattern leaves out.
	var files []string
	for deadline := time.Now().Add(10 * time.Second); len(files) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		files, _ = filepath.Glob(filepath.Join(data, outboxDir, "[^.]*.eml"))
	}
	if len(files) != 1 {
		t.Fatalf("outbox holds %q, want one confirmation mail", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(quotedprintable.NewReader(msg.Body))
	m := regexp.MustCompile(`https://leads\.focus\.example(/query/confirm/[A-Za-z0-9_-]+)`).FindSubmatch(text)
	if m == nil || msg.Header.Get("To") != "<dora@delta.example>" || msg.Header.Get("List-Unsubscribe") != "" {
		t.Fatalf("confirmation mail:\n%s", raw)
	}
	res, err = http.Post(base+string(m[1]), "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("confirm: status %d", res.StatusCode)
	}
	if got := consents(); len(got) != 1 || got[0].TextVersion != "2026-01" || got[0].IP != "127.0.0.1" {
		t.Errorf("consents after confirmation = %+v, want one of text 2026-01 from 127.0.0.1", got)
	}
	var entries []*leadmailer.AuditEntry
	err = db.FindAuditEntries(t.Context(), store.AuditFilter{Action: publicweb.AuditConsent}, func(e *leadmailer.AuditEntry) error {
		entries = append(entries, e)
		return nil
	})
	if err != nil || len(entries) != 1 || entries[0].Actor != "public" || entries[0].IP != "127.0.0.1" {
		t.Errorf("consent audit entries %+v, %v; want one by public from 127.0.0.1", entries, err)
	}

	c.cmd.Process.Signal(syscall.SIGTERM)
	if code := c.wait(t, 30*time.Second); code != exitOK {
		t.Fatalf("serve after SIGTERM: exit %d\nstderr:\n%s", code, c.stderr.String())
	}
}
