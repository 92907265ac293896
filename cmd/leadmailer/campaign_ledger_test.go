package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// TestSendPausesWhenTheLedgerCannotBeWritten: "campaigns send" on a disk that fills up part
// way (a trigger makes SQLite say so) exits with the error and leaves the campaign paused
// with the reason, not running, so "campaigns resume" continues it.
func TestSendPausesWhenTheLedgerCannotBeWritten(t *testing.T) {
	srv := smtptest.New(t)
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig(srv.URL(), "\n[sending]\nconcurrency = 2\nrate = 0\n"))
	bulkLeads(t, data, 100)
	id := fmt.Sprint(createCampaign(t, data))
	raw, err := sql.Open("sqlite3", filepath.Join(data, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TRIGGER disk_full BEFORE UPDATE OF status ON campaign_recipients
		WHEN NEW.status = 'sent' AND (SELECT count(*) FROM campaign_recipients WHERE status = 'sent') >= 30
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "send", id)
	if r.code == exitOK || !strings.Contains(r.stderr, "disk is full") || !strings.Contains(r.stderr, "paused") {
		t.Fatalf("exit %d, stderr %q; want a failure saying the ledger failed and the campaign is paused", r.code, r.stderr)
	}
	var v campaignView
	lmJSON(t, data, &v, "campaigns", "show", id, "--json")
	if v.State != leadmailer.CampaignPaused || !strings.Contains(v.Reason, "send ledger cannot be written") {
		t.Fatalf("campaign %s (%q), want paused with the ledger's failure", v.State, v.Reason)
	}
	if _, err := raw.Exec(`DROP TRIGGER disk_full`); err != nil {
		t.Fatal(err)
	}
	lm(t, data, "campaigns", "resume", id)
	lmJSON(t, data, &v, "campaigns", "show", id, "--json")
	if v.State != leadmailer.CampaignFinished || v.Report.Sent != 100 {
		t.Errorf("after the resume: %s with %+v, want finished with 100 sent", v.State, v.Report)
	}
}
