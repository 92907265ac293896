package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestSendReportsPossiblyDelivered: a relay that answers the end of one message too late
// leaves its outcome unknown, and both "campaigns send" (stopped with Ctrl-C while that
// message waits for its retry) and "campaigns show" say how many may have been delivered.
func TestSendReportsPossiblyDelivered(t *testing.T) {
	const n = 10
	srv := smtptest.New(t)
	srv.FailMessage(3, smtptest.Fault{Delay: 800 * time.Millisecond})
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig(srv.URL(), "\n[sending]\nconcurrency = 1\nrate = 0\n\n[smtp.timeouts]\ndata_end = \"200ms\"\n"))
	bulkLeads(t, data, n)
	id := fmt.Sprint(createCampaign(t, data))

	c := startLeadmailer(t, "campaigns", "send", id, "--data", data)
	deadline := time.Now().Add(30 * time.Second)
	for srv.Count() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := srv.Count(); got < n {
		t.Fatalf("%d of %d messages received", got, n)
	}
	time.Sleep(300 * time.Millisecond) // the last outcomes reach the ledger
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	c.wait(t, 30*time.Second)
	if !strings.Contains(c.stdout.String(), "possibly delivered: 1 ") {
		t.Errorf("campaigns send printed %q, want it to count one message possibly delivered", c.stdout.String())
	}
	show := lm(t, data, "campaigns", "show", id).stdout
	mustContain(t, "campaigns show", show, "possibly delivered: 1 ")
}
