package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// TestTwoProcessesSendOneCampaignOneKilled runs two serve processes, each with its own
// data directory, on one PostgreSQL database, and lets both send one scheduled campaign to
// 3,000 recipients through a real SMTP server. One of them is killed with SIGKILL in the
// middle. The other goes on, takes the dead one's recipients once their lease runs out, and
// finishes the campaign: nobody is lost, everybody gets the campaign, and the only messages
// received twice are ones the dead process had in flight (the same Message-ID again), no
// more of them than its connections.
func TestTwoProcessesSendOneCampaignOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two server processes and sends 3,000 messages")
	}
	const n, concurrency, lease = 3000, 4, 3 * time.Second
	url := storetest.NewPostgresDatabase(t) // skips the test without PostgreSQL
	srv := smtptest.New(t)
	conf := senderConfig(srv.URL(), fmt.Sprintf("\n[sending]\nconcurrency = %d\nrate = 150\nlease = %q\n\n[database]\nurl = %q\n",
		concurrency, lease.String(), url))
	dataA, dataB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	writeConfig(t, dataA, conf)
	writeConfig(t, dataB, conf)
	emails := bulkLeads(t, dataA, n)
	// Every process on the database needs the data directory's key: it keys the
	// suppression hashes, the Message-IDs and the unsubscribe links.
	key, err := os.ReadFile(filepath.Join(dataA, secretFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataB, secretFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	id := createCampaign(t, dataA, "--at", time.Now().UTC().Add(-time.Minute).Format(time.RFC3339))

	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// leasedBy counts the campaign's rows leased to the process with the given ID, in the
	// given states.
	leasedBy := func(pid int, states string) int64 {
		t.Helper()
		var got int64
		err := raw.QueryRow(`SELECT count(*) FROM campaign_recipients WHERE campaign_id = $1 AND leased_by LIKE $2
			AND status IN (`+states+`)`, id, fmt.Sprintf("%%:%d/%%", pid)).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	a := startServing(t, dataA)
	b := startServing(t, dataB)
	pidA, pidB := a.cmd.Process.Pid, b.cmd.Process.Pid
	a.until(t, "both processes sending", func() bool {
		return leasedBy(pidA, "'queued', 'sending'") > 0 && leasedBy(pidB, "'queued', 'sending'") > 0
	})
	a.until(t, "a fifth of the messages received", func() bool { return srv.Count() >= n/5 })
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	atKill := srv.Count()

	// What the dead process had in flight: marked sending in its name. Its lease has not
	// run out yet, so the other process has not taken those rows.
	inFlight := map[string]bool{}
	rows, err := raw.Query(`SELECT message_id FROM campaign_recipients WHERE campaign_id = $1 AND status = 'sending'
		AND leased_by LIKE $2`, id, fmt.Sprintf("%%:%d/%%", pidA))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var mid string
		if err := rows.Scan(&mid); err != nil {
			t.Fatal(err)
		}
		inFlight[mid] = true
	}
	rows.Close()
	if len(inFlight) > concurrency {
		t.Errorf("%d rows sending in the killed process, want at most its %d connections", len(inFlight), concurrency)
	}
	stranded := leasedBy(pidA, "'queued'")

	deadline := time.Now().Add(90 * time.Second)
	var state leadmailer.CampaignState
	for {
		if err := raw.QueryRow(`SELECT state FROM campaigns WHERE id = $1`, id).Scan(&state); err != nil {
			t.Fatal(err)
		}
		if state == leadmailer.CampaignFinished || time.Now().After(deadline) {
			break
		}
		select {
		case <-b.done:
			t.Fatalf("the surviving process exited: %v\n%s", b.err, b.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if state != leadmailer.CampaignFinished {
		t.Fatalf("campaign %s 90 s after the kill, want finished (%d of %d messages received)\n%s",
			state, srv.Count(), n, b.stderr.String())
	}

	var v campaignView
	lmJSON(t, dataB, &v, "campaigns", "show", fmt.Sprint(id), "--json")
	if v.Report.Sent != n || v.Report.Queued+v.Report.Sending+v.Report.Failed != 0 {
		t.Errorf("report %+v, want all %d sent and nothing left", v.Report, n)
	}
	duplicates := 0
	for _, email := range emails {
		switch got := srv.CountRecipient(email); {
		case got == 0:
			t.Errorf("%s never received the campaign", email)
		case got > 1:
			duplicates += got - 1
		}
	}
	seen := map[string]int{}
	for _, m := range srv.Messages() {
		seen[m.MessageID]++
	}
	for mid, got := range seen {
		if got > 1 && !inFlight[mid] {
			t.Errorf("%s received %d times, but the killed process did not have it in flight", mid, got)
		}
	}
	if duplicates > len(inFlight) {
		t.Errorf("%d duplicates, more than the %d messages the killed process had in flight", duplicates, len(inFlight))
	}
	t.Logf("killed after %d of %d deliveries, with %d in flight and %d more leased; in the end %d deliveries, %d duplicates",
		atKill, n, len(inFlight), stranded, srv.Count(), duplicates)
}

// TestSendSaysWhenAnotherProcessSendsIt: "campaigns send" on a campaign another process is
// sending says so, naming how to follow or stop it, instead of telling the user to resume
// it: on SQLite the other process holds the campaign's lock in the data directory, on
// PostgreSQL it holds leases on the campaign's recipients from a data directory of its own.
func TestSendSaysWhenAnotherProcessSendsIt(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			extra := ""
			if backend == "postgres" {
				extra = fmt.Sprintf("\n[database]\nurl = %q\n", storetest.NewPostgresDatabase(t))
			}
			data := filepath.Join(t.TempDir(), "data")
			writeConfig(t, data, senderConfig("", extra))
			bulkLeads(t, data, 3)
			id := createCampaign(t, data)
			db := openTestData(t, data)
			c, err := db.SetCampaignState(t.Context(), id, leadmailer.CampaignRunning, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.ResolveAudience(t.Context(), c, store.AudienceRules{}); err != nil {
				t.Fatal(err)
			}
			send := func() result {
				return runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "send", fmt.Sprint(id))
			}
			// Left running by a process that stopped: nobody sends it, resume does.
			if r := send(); r.code == exitOK || !strings.Contains(r.stderr, "campaigns resume") {
				t.Errorf("send of a campaign nobody sends: exit %d, %q; want the hint to resume", r.code, r.stderr)
			}
			other := "db1.internal/4242/0a0b0c0d"
			if backend == "sqlite" {
				unlock, err := campaign.Lock(locksDir(data), id)
				if err != nil {
					t.Fatal(err)
				}
				defer unlock()
				other = ""
			} else if _, _, err := db.LeasePending(t.Context(), id, other, time.Now(), time.Minute, 1); err != nil {
				t.Fatal(err)
			}
			r := send()
			if r.code == exitOK || !strings.Contains(r.stderr, "already being sent by another process") ||
				!strings.Contains(r.stderr, other) || !strings.Contains(r.stderr, "campaigns pause") || strings.Contains(r.stderr, "resume") {
				t.Errorf("send of a campaign another process sends: exit %d, %q; want it to say so, naming %q", r.code, r.stderr, other)
			}
		})
	}
}
