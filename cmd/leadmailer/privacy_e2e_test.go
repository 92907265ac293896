package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/publicweb"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

// e2eCSV is the uploaded file; olga also appears in the public register below.
const e2eCSV = `email,name,company,country
olga.objector@firm.fi,Olga Objector,Firm Oy,FI
pekka@firm.fi,Pekka Peer,Firm Oy,FI
riitta@other.fi,Riitta Rest,Other Oy,FI
`

// e2eRegister is a public register's API answer: it publishes olga's address with her
// company's business ID, and a company nobody uploaded.
const e2eRegister = `{"companies": [
	{"id": "R1", "email": "olga.objector@firm.fi", "name": "Firm Oy", "bid": "1234567-8"},
	{"id": "R2", "email": "sami@registry.fi", "name": "Registry Oy", "bid": "7654321-0"}
]}`

const e2eSource = `
[[sources]]
name = "register"
title = "Open Company Register"
kind = "http"
url = "%s/companies"
format = "json"
records = "companies"
id_field = "id"
licence = "CC BY 4.0"
rate_limit = 100
[sources.fields]
email = "email"
company = "name"
business_id = "bid"
`

// e2e is a data directory with a mail server, a public register and the public endpoints
// (one-click objection) on a real HTTP server over the same database.
type e2e struct {
	data, csv string
	smtp      *smtptest.Server
	web       *httptest.Server
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	register := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, e2eRegister)
	}))
	t.Cleanup(register.Close)
	x := &e2e{data: filepath.Join(t.TempDir(), "data"), smtp: smtptest.New(t)}
	writeConfig(t, x.data, senderConfig(x.smtp.URL(), fmt.Sprintf(e2eSource, register.URL)))
	x.csv = writeFile(t, t.TempDir(), "leads.csv", e2eCSV)

	// The endpoints as serve mounts them: the data directory's database and secret key.
	db, err := openData(t.Context(), x.data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	secret, err := loadSecret(filepath.Join(x.data, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	publicweb.New(db, publicweb.Options{Signer: unsubscribe.NewSigner(secret), Log: slog.New(slog.DiscardHandler)}).Mount(mux.Handle)
	x.web = httptest.NewServer(mux)
	t.Cleanup(x.web.Close)
	return x
}

// importBoth imports the CSV and runs the public register, returning their counts.
func (x *e2e) importBoth(t *testing.T) (csv, register leadmailer.ImportCounts) {
	t.Helper()
	var a, b importResult
	lmJSON(t, x.data, &a, "import", x.csv, "--source", "crm", "--json")
	lmJSON(t, x.data, &b, "sources", "run", "register", "--json")
	return a.Run.Counts, b.Run.Counts
}

// send creates a campaign, sends it, and returns its ID.
func (x *e2e) send(t *testing.T) int64 {
	t.Helper()
	id := createCampaign(t, x.data)
	mustContain(t, "campaigns send", lm(t, x.data, "campaigns", "send", fmt.Sprint(id)).stdout, "finished")
	return id
}

// unsubscribeURL returns the one-click link of the message campaign id sent to email, as
// the recipient's mail client sees it in the List-Unsubscribe header, moved to the test's
// HTTP server.
func (x *e2e) unsubscribeURL(t *testing.T, id int64, email string) string {
	t.Helper()
	for _, m := range x.smtp.Messages() {
		if len(m.To) != 1 || m.To[0] != email || !strings.HasPrefix(m.MessageID, fmt.Sprintf("c%d.", id)) {
			continue
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		link := strings.Trim(msg.Header.Get("List-Unsubscribe"), "<>")
		u, err := url.Parse(link)
		if err != nil || !strings.HasPrefix(u.Path, "/u/") {
			t.Fatalf("List-Unsubscribe = %q, want <https://.../u/TOKEN>", link)
		}
		return x.web.URL + u.Path
	}
	t.Fatalf("no message of campaign %d to %s", id, email)
	return ""
}

// objectOneClick posts the RFC 8058 one-click request a mail client sends.
func objectOneClick(t *testing.T, link string) {
	t.Helper()
	resp, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s, want 200", link, resp.Status)
	}
}

func (x *e2e) suppressed(t *testing.T, email string) bool {
	t.Helper()
	var check struct {
		Suppressed bool                `json:"suppressed"`
		By         []store.Suppression `json:"by"`
	}
	lmJSON(t, x.data, &check, "suppress", "check", email, "--json")
	return check.Suppressed
}

func (x *e2e) export(t *testing.T, email string) *store.LeadExport {
	t.Helper()
	var ex store.LeadExport
	lmJSON(t, x.data, &ex, "leads", "export", email)
	return &ex
}

// TestObjectorIsNeitherReimportedNorMailed is the whole path of an objection: a campaign's
// message, its one-click link posted to the real HTTP endpoint, the same CSV and the same
// public register imported again, and a second campaign. The objector is not updated by
// either import and gets no second message; everyone else does.
func TestObjectorIsNeitherReimportedNorMailed(t *testing.T) {
	t.Parallel()
	x := newE2E(t)
	const olga = "olga.objector@firm.fi"
	x.importBoth(t)
	first := x.send(t)
	for _, e := range []string{olga, "pekka@firm.fi", "riitta@other.fi", "sami@registry.fi"} {
		if got := x.smtp.CountRecipient(e); got != 1 {
			t.Fatalf("campaign %d: %s got %d messages, want 1", first, e, got)
		}
	}
	link := x.unsubscribeURL(t, first, olga)

	// A mail scanner following the link changes nothing; the button's POST objects.
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || x.suppressed(t, olga) {
		t.Fatalf("GET of the link: %s, suppressed %v; want 200 and not suppressed", resp.Status, x.suppressed(t, olga))
	}
	objectOneClick(t, link)
	objectOneClick(t, link) // a second click is no error
	if !x.suppressed(t, olga) {
		t.Fatal("the one-click objection did not suppress the address")
	}
	objected := x.export(t, olga)

	csv, register := x.importBoth(t)
	if csv.Suppressed != 1 || csv.Inserted+csv.Updated != 0 || register.Suppressed != 1 || register.Inserted+register.Updated != 0 {
		t.Errorf("re-imports: csv %+v, register %+v; want olga suppressed in each and nothing new", csv, register)
	}
	after := x.export(t, olga)
	if after.Lead == nil || after.Lead.State != leadmailer.LeadInactive || *after.Lead != *objected.Lead ||
		len(after.Provenance) != len(objected.Provenance) {
		t.Errorf("after the re-imports olga is %+v with %d provenance rows; at the objection %+v with %d; want her unchanged and inactive",
			after.Lead, len(after.Provenance), objected.Lead, len(objected.Provenance))
	}
	for _, s := range after.Suppressions {
		if s.Origin != store.OriginObjection || s.CampaignID != first {
			t.Errorf("suppression %+v, want the objection from campaign %d", s, first)
		}
	}

	second := x.send(t)
	if got := x.smtp.CountRecipient(olga); got != 1 {
		t.Errorf("olga got %d messages in all, want only the first campaign's", got)
	}
	for _, e := range []string{"pekka@firm.fi", "riitta@other.fi", "sami@registry.fi"} {
		if got := x.smtp.CountRecipient(e); got != 2 {
			t.Errorf("%s got %d messages, want 2", e, got)
		}
	}
	var show campaignView
	lmJSON(t, x.data, &show, "campaigns", "show", fmt.Sprint(second), "--json")
	if show.Report.Sent != 3 || show.Report.Skipped != 1 {
		t.Errorf("second campaign: %+v, want 3 sent and olga skipped", show.Report)
	}
}

// TestOldLinkSuppressesAfterRetentionDeleted: retention deletes a lead that got a campaign;
// the link in that old message still records the objection, by the hash the send ledger
// kept, and the next import of the same CSV does not bring the person back.
func TestOldLinkSuppressesAfterRetentionDeleted(t *testing.T) {
	t.Parallel()
	x := newE2E(t)
	const riitta = "riitta@other.fi"
	x.importBoth(t)
	first := x.send(t)
	link := x.unsubscribeURL(t, first, riitta)

	lm(t, x.data, "leads", "end-relationship", riitta)
	short := filepath.Join(t.TempDir(), "short.toml")
	if err := os.WriteFile(short, []byte("[retention]\ninactive_after = \"730d\"\ndelete_after = \"1ns\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "retention run", lm(t, x.data, "retention", "run", "--config", short).stdout, "1 deleted")
	if ex := x.export(t, riitta); ex.Lead != nil || len(ex.Campaigns) != 0 || x.suppressed(t, riitta) {
		t.Fatalf("after deletion: export %+v, suppressed %v; want nothing held and not suppressed", ex, x.suppressed(t, riitta))
	}
	var recs []leadmailer.Recipient
	lmJSON(t, x.data, &recs, "campaigns", "recipients", fmt.Sprint(first), "--json", "--status", "sent")
	if len(recs) != 4 {
		t.Errorf("campaign %d after the deletion lists %d sent, want still 4", first, len(recs))
	}

	objectOneClick(t, link)
	if !x.suppressed(t, riitta) {
		t.Fatal("the old link did not suppress the deleted lead's address")
	}
	csv, _ := x.importBoth(t)
	if csv.Suppressed != 1 || csv.Inserted != 0 {
		t.Errorf("re-import after the late objection: %+v, want riitta suppressed, nobody inserted", csv)
	}
	if ex := x.export(t, riitta); ex.Lead != nil {
		t.Errorf("the re-import brought riitta back: %+v", ex.Lead)
	}
	x.send(t)
	if got := x.smtp.CountRecipient(riitta); got != 1 {
		t.Errorf("riitta got %d messages in all, want only the first", got)
	}
}
