package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/store"
)

// senderConfig is a configuration with the sender filled in; smtpURL may be empty for the
// outbox.
func senderConfig(smtpURL string, extra string) string {
	s := `public_url = "https://leads.focus.example"

[sender]
from = "Focus Marketing <marketing@focus.example>"
company = "Focus Oy"
postal_address = "Mannerheimintie 1, 00100 Helsinki"
privacy_policy_url = "https://focus.example/privacy"

[[sources]]
name = "partners"
title = "Partner Register of Finland"
kind = "file"
path = "partners.csv"
format = "csv"
licence = "CC BY 4.0"
fields = { company = "Company" }
`
	if smtpURL != "" {
		s += fmt.Sprintf("\n[smtp]\nurl = %q\n", smtpURL)
	}
	return s + extra
}

func writeConfig(t *testing.T, data, text string) {
	t.Helper()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, config.FileName), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// createCampaign creates a campaign with a small body and returns its ID.
func createCampaign(t *testing.T, data string, args ...string) int64 {
	t.Helper()
	html := writeFile(t, t.TempDir(), "body.html", `<p>Hello {{default "there" .Lead.FirstName}},</p><p>{{.Lead.Company}} deserves better mail.</p>`)
	var c leadmailer.Campaign
	lmJSON(t, data, &c, append([]string{"campaigns", "create", "--name", "Spring", "--subject", "Hi {{.Lead.FirstName}}", "--html", html, "--json"}, args...)...)
	if c.ID == 0 {
		t.Fatal("campaigns create --json printed no ID")
	}
	return c.ID
}

// TestCampaignCreateReportsTemplateErrors: campaigns create, run as a process of its own,
// refuses a body with a template error, one that would hide the notices (an end tag whose
// quoted attribute swallows the closing tags, a box taller than the limit), a loop bomb and a
// body over the size limit, each with a message saying where and why, and stores no campaign.
func TestCampaignCreateReportsTemplateErrors(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	dir := t.TempDir()
	tests := []struct {
		name, html string
		want       []string
	}{
		{"syntax", "<p>Hello</p>\n<p>{{.Lead.Name</p>", []string{"html body: line 2"}},
		{"unknown field", "<p>Hi</p>\n\n<p>{{.Lead.Shoe}}</p>", []string{"html body: line 3", "Shoe"}},
		// Bodies that would hide the notices or make a message without bound.
		{"quoted attribute in an end tag", `<table style="display:none"><tr><td><b></b x="></td></tr></table>">`,
			[]string{"html body: line 1, column 40: end tag </b> may hold nothing but its name"}},
		{"nested ranges over numbers", "<p>{{range 6000}}{{range 6000}}x{{end}}{{end}}</p>",
			[]string{"html body: line 1, column 4: {{range}} over the number 6000 is not allowed"}},
		{"tall box", `<div style="min-height:5000px">Hi</div>`,
			[]string{"html body: line 1, column 1: <div>: min-height: 5000px is too large (at most 1000px"}},
		{"body over the size limit", "<p>" + strings.Repeat("x", 120_345-len("<p></p>")) + "</p>",
			[]string{"the html body is 120,345 bytes; at most 100,000 bytes are allowed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html := writeFile(t, dir, strings.ReplaceAll(tt.name, " ", "-")+".html", tt.html)
			// A leadmailer process of its own, as an operator runs it.
			c := startLeadmailer(t, "campaigns", "create", "--data", data, "--name", "x", "--subject", "s", "--html", html)
			if code := c.wait(t, 30*time.Second); code != exitError {
				t.Fatalf("exit %d, want %d\n%s", code, exitError, c.stderr.String())
			}
			mustContain(t, "stderr", c.stderr.String(), tt.want...)
		})
	}
	if out := lm(t, data, "campaigns", "list", "--json").stdout; strings.TrimSpace(out) != "[]" {
		t.Errorf("campaigns stored from refused bodies: %s", out)
	}
	lm(t, data, "campaigns", "create", "--name", "x", "--subject", "s", "--html", writeFile(t, dir, "fine.html", "<p>Hi</p>"))
	if out := lm(t, data, "campaigns", "list", "--json").stdout; !strings.Contains(out, `"name":"x"`) && !strings.Contains(out, `"name": "x"`) {
		t.Errorf("a fine body is not listed: %s", out)
	}
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "create", "--name", "x", "--subject", "s",
		"--html", writeFile(t, dir, "ok.html", "<p>x</p>"), "--at", "2026-12-01T09:00", "--cron", "0 9 * * 1")
	if r.code != exitUsage {
		t.Errorf("--at with --cron: exit %d, want usage error", r.code)
	}
}

func TestCampaignPreviewIsTheMessageAsSent(t *testing.T) {
	data := importFixtures(t)
	writeConfig(t, data, senderConfig("", ""))
	id := createCampaign(t, data)
	// The lead's company came from the public partner register: the notice names it.
	var leads []leadmailer.Lead
	lmJSON(t, data, &leads, "leads", "list", "--json", "--source", "partners")
	if len(leads) == 0 {
		t.Fatal("no lead from the public source")
	}
	lead := leads[0]
	for _, tt := range []struct {
		flag string
		want []string
	}{
		{"--text", []string{"Partner Register of Finland", "CC BY 4.0", "https://leads.focus.example/u/"}},
		{"--raw", []string{"Content-Type: multipart/alternative", "Content-Transfer-Encoding: quoted-printable"}},
	} {
		r := lm(t, data, "campaigns", "preview", fmt.Sprint(id), "--lead", lead.Email, tt.flag)
		mustContain(t, "preview "+tt.flag, r.stdout, append(tt.want,
			"From: Focus Marketing <marketing@focus.example>",
			fmt.Sprintf("Message-ID: <c%d.l%d.", id, lead.ID),
			"List-Unsubscribe: <https://leads.focus.example/u/",
			"List-Unsubscribe-Post: List-Unsubscribe=One-Click")...)
	}
	// A lead outside the audience is previewed with a note saying why it will not be mailed.
	other := createCampaign(t, data, "--country", "NO")
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "preview", fmt.Sprint(other), "--lead", lead.Email)
	if r.code != exitOK || !strings.Contains(r.stderr, "not in the campaign's filters") {
		t.Errorf("preview outside the audience: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "preview", fmt.Sprint(id), "--lead", lead.Email); r.stderr != "" {
		t.Errorf("preview of a lead in the audience printed %q", r.stderr)
	}
	// Sending writes the same message, but for its Date, to the outbox.
	lm(t, data, "campaigns", "send", fmt.Sprint(id))
	matches, _ := filepath.Glob(filepath.Join(data, outboxDir, fmt.Sprintf("c%d.l%d.*.eml", id, lead.ID)))
	if len(matches) != 1 {
		t.Fatalf("outbox holds %d messages for lead %d, want 1", len(matches), lead.ID)
	}
	sent, _ := os.ReadFile(matches[0])
	preview := lm(t, data, "campaigns", "preview", fmt.Sprint(id), "--lead", lead.Email, "--raw").stdout
	if strip(t, string(sent)) != strip(t, preview) {
		t.Errorf("the sent message differs from the preview:\nsent:\n%s\npreview:\n%s", sent, preview)
	}
}

// strip removes what differs between two renderings of one message: the Date header and the
// MIME boundary.
func strip(t *testing.T, msg string) string {
	t.Helper()
	var out []string
	boundary := ""
	for _, l := range strings.Split(msg, "\r\n") {
		if i := strings.Index(l, `boundary="`); i >= 0 {
			boundary = strings.TrimSuffix(l[i+len(`boundary="`):], `"`)
		}
		if strings.HasPrefix(l, "Date: ") {
			continue
		}
		if boundary != "" {
			l = strings.ReplaceAll(l, boundary, "BOUNDARY")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestCampaignSendThroughSMTPAndReport(t *testing.T) {
	srv := smtptest.New(t)
	data := importFixtures(t)
	writeConfig(t, data, senderConfig(srv.URL(), ""))
	id := createCampaign(t, data)
	sid := fmt.Sprint(id)

	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "resume", sid)
	if r.code != exitError || !strings.Contains(r.stderr, "is draft, not paused") {
		t.Errorf("resume of a draft: exit %d, %s", r.code, r.stderr)
	}
	out := lm(t, data, "campaigns", "send", sid).stdout
	mustContain(t, "send output", out, "finished")

	var show campaignView
	lmJSON(t, data, &show, "campaigns", "show", sid, "--json")
	rep := show.Report
	if show.State != leadmailer.CampaignFinished || rep.Sent == 0 || rep.Sent+rep.Skipped+rep.Failed != rep.Total {
		t.Fatalf("show = %+v %+v", show.Campaign, rep)
	}
	if int(rep.Sent) != srv.Count() {
		t.Errorf("ledger says %d sent, the server got %d", rep.Sent, srv.Count())
	}
	var recs []leadmailer.Recipient
	lmJSON(t, data, &recs, "campaigns", "recipients", sid, "--json", "--status", "sent")
	for _, rc := range recs {
		if srv.CountMessageID(rc.MessageID) != 1 || srv.CountRecipient(rc.Email) != 1 || rc.Attempts != 1 {
			t.Errorf("%s: %d deliveries of %s after %d attempts, want 1", rc.Email, srv.CountMessageID(rc.MessageID), rc.MessageID, rc.Attempts)
		}
	}
	text := lm(t, data, "campaigns", "show", sid).stdout
	for reason, n := range rep.Reasons {
		mustContain(t, "show", text, fmt.Sprintf("skipped, %s: %d", reason, n))
	}
	for _, tt := range []struct{ args, want string }{
		{"pause " + sid, "is finished: it cannot become paused"},
		{"send " + sid, "is finished"},
		{"cancel 99", "no campaign 99"},
	} {
		r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", append([]string{"campaigns"}, strings.Fields(tt.args)...)...)
		if r.code != exitError || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("campaigns %s: exit %d, stderr %q; want %q", tt.args, r.code, r.stderr, tt.want)
		}
	}

	// A test message goes to the given address, personalised as the lead, naming no lead.
	lead := recs[0].Email
	lm(t, data, "campaigns", "test", sid, "--to", "me@focus.example", "--as", lead)
	if srv.CountRecipient("me@focus.example") != 1 || srv.CountRecipient(lead) != 1 {
		t.Errorf("test message: me got %d, the lead %d (want 1 and still 1)", srv.CountRecipient("me@focus.example"), srv.CountRecipient(lead))
	}
}

func TestSendRefusesUntilSenderIsConfigured(t *testing.T) {
	data := importFixtures(t)
	lm(t, data, "init")
	id := createCampaign(t, data)
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "send", fmt.Sprint(id))
	if r.code != exitError || !strings.Contains(r.stderr, "sender.company") {
		t.Errorf("exit %d, stderr %q; want a refusal naming sender.company", r.code, r.stderr)
	}
	if exists(t, filepath.Join(data, outboxDir)) {
		t.Error("something was written to the outbox")
	}
}

func TestSchedulerStartsDueCampaigns(t *testing.T) {
	data := importFixtures(t)
	writeConfig(t, data, senderConfig("", "\n[sending]\nmissed_after = \"1h\"\n"))
	now := time.Now().UTC()
	id := func(args ...string) string { return fmt.Sprint(createCampaign(t, data, args...)) }
	due := id("--at", now.Add(-10*time.Minute).Format(time.RFC3339))
	missed := id("--at", now.Add(-2*time.Hour).Format(time.RFC3339))
	later := id("--at", now.Add(time.Hour).Format(time.RFC3339))
	weekly := id("--cron", "* * * * *")

	ctx := context.Background()
	db, err := openData(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg, err := loadConfig(data, "", &env{getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	s := newCampaignScheduler(db, cfg, data, slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
	tick := func(at time.Time) {
		t.Helper()
		if err := s.Tick(ctx, at); err != nil {
			t.Fatal(err)
		}
		s.Wait()
	}
	state := func(id string) (leadmailer.CampaignState, *leadmailer.CampaignReport) {
		var v campaignView
		lmJSON(t, data, &v, "campaigns", "show", id, "--json")
		return v.State, v.Report
	}
	// A campaign paused before its time and resumed is back on its schedule.
	lm(t, data, "campaigns", "pause", later)
	mustContain(t, "resume", lm(t, data, "campaigns", "resume", later).stdout, "scheduled again")

	tick(now.Add(2 * time.Minute))
	for id, want := range map[string]leadmailer.CampaignState{due: leadmailer.CampaignFinished,
		missed: leadmailer.CampaignMissed, later: leadmailer.CampaignScheduled, weekly: leadmailer.CampaignScheduled} {
		if got, _ := state(id); got != want {
			t.Errorf("campaign %s: %s, want %s", id, got, want)
		}
	}
	_, first := state(weekly)
	if first.Sent == 0 {
		t.Fatal("the cron campaign's first occurrence sent nothing")
	}
	// The next occurrence mails only the leads imported since.
	lm(t, data, "import", writeFile(t, t.TempDir(), "new.csv", "email,name,country\nnew.lead@example.fi,New Lead,FI\n"), "--source", "crm")
	tick(now.Add(4 * time.Minute))
	_, second := state(weekly)
	if second.Sent != first.Sent+1 {
		t.Errorf("second occurrence: %d sent in all, want %d (one new lead)", second.Sent, first.Sent+1)
	}
	matches, _ := filepath.Glob(filepath.Join(data, outboxDir, "c"+weekly+".l*.eml"))
	if int64(len(matches)) != second.Sent {
		t.Errorf("outbox holds %d messages of the cron campaign, want %d: nobody twice", len(matches), second.Sent)
	}
}

// bulkLeads writes n leads as CSV and imports them.
func bulkLeads(t *testing.T, data string, n int) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bulk.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "email,name,company,country")
	emails := make([]string, n)
	for i := range n {
		emails[i] = fmt.Sprintf("lead%d@example%d.fi", i, i%13)
		fmt.Fprintf(w, "%s,Lead %d,Company %d Oy,FI\n", emails[i], i, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	lm(t, data, "import", path, "--source", "crm")
	return emails
}

// TestCampaignKilledMidwayResumes kills a sending process with SIGKILL, resumes the campaign
// and counts what the SMTP server received: every recipient at least once, and the only
// messages received twice are ones the ledger had marked "sending" at the kill, no more of
// them than the concurrency.
func TestCampaignKilledMidwayResumes(t *testing.T) {
	const n, concurrency = 2000, 4
	srv := smtptest.New(t)
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig(srv.URL(), fmt.Sprintf("\n[sending]\nconcurrency = %d\nrate = 1000\n", concurrency)))
	emails := bulkLeads(t, data, n)
	id := fmt.Sprint(createCampaign(t, data))

	child := startLeadmailer(t, "campaigns", "send", id, "--data", data)
	deadline := time.Now().Add(30 * time.Second)
	for srv.Count() < n/4 {
		select {
		case <-child.done:
			t.Fatalf("the send finished before it could be killed\nstderr:\n%s", child.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages after 30s", srv.Count())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := child.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	child.wait(t, 10*time.Second)
	atKill := srv.Count()

	inFlight := map[string]bool{}
	lmRecipients := func(status string) []leadmailer.Recipient {
		var recs []leadmailer.Recipient
		lmJSON(t, data, &recs, "campaigns", "recipients", id, "--json", "--status", status)
		return recs
	}
	for _, r := range lmRecipients("sending") {
		inFlight[r.MessageID] = true
	}
	if len(inFlight) > concurrency {
		t.Errorf("%d rows sending at the kill, want at most the concurrency %d", len(inFlight), concurrency)
	}
	out := lm(t, data, "campaigns", "resume", id).stdout
	mustContain(t, "resume output", out, "finished")

	duplicates := 0
	for _, email := range emails {
		switch got := srv.CountRecipient(email); {
		case got == 0:
			t.Errorf("%s never received the campaign", email)
		case got > 1:
			duplicates += got - 1
		}
	}
	for _, r := range lmRecipients("sent") {
		if got := srv.CountMessageID(r.MessageID); got > 1 && !inFlight[r.MessageID] {
			t.Errorf("%s received %d times, but was not in flight at the kill", r.MessageID, got)
		}
	}
	if duplicates > len(inFlight) {
		t.Errorf("%d duplicates, more than the %d messages in flight", duplicates, len(inFlight))
	}
	t.Logf("killed after %d of %d deliveries; %d rows were sending; after resume: %d deliveries, every recipient >= 1, %d duplicates",
		atKill, n, len(inFlight), srv.Count(), duplicates)
}

// TestSendThroughPostfixSink is an end-to-end send through Postfix's smtp-sink, a real SMTP
// server outside the process.
func TestSendThroughPostfixSink(t *testing.T) {
	sink, err := exec.LookPath("smtp-sink")
	if err != nil {
		if sink, err = exec.LookPath("/usr/sbin/smtp-sink"); err != nil {
			t.Skip("smtp-sink is not installed (Debian package postfix)")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"-c", addr, "64"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	cmd := exec.Command(sink, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatalf("smtp-sink does not listen on %s", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}

	const n = 500
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig("smtp://"+addr+"?starttls=none", "\n[sending]\nconcurrency = 4\nrate = 0\n"))
	bulkLeads(t, data, n)
	id := fmt.Sprint(createCampaign(t, data))
	lm(t, data, "campaigns", "send", id)
	var v campaignView
	lmJSON(t, data, &v, "campaigns", "show", id, "--json")
	if v.State != leadmailer.CampaignFinished || v.Report.Sent != n {
		t.Fatalf("campaign %s with %+v, want finished with %d sent", v.State, v.Report, n)
	}
	var recs []leadmailer.Recipient
	lmJSON(t, data, &recs, "campaigns", "recipients", id, "--json")
	if !strings.HasPrefix(recs[0].LastReply, "2.0.0") && !strings.Contains(recs[0].LastReply, "Ok") {
		t.Errorf("last reply %q, want smtp-sink's 250 reply", recs[0].LastReply)
	}
}

func TestSendSignsWithConfiguredDKIMKey(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := writeFile(t, t.TempDir(), "dkim.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	srv := smtptest.New(t)
	data := importFixtures(t)
	writeConfig(t, data, senderConfig(srv.URL(), fmt.Sprintf("\n[smtp.dkim]\ndomain = \"focus.example\"\nselector = \"lm1\"\nkey_file = %q\n", keyFile)))
	id := createCampaign(t, data)
	lm(t, data, "campaigns", "send", fmt.Sprint(id))
	msgs := srv.Messages()
	if len(msgs) == 0 {
		t.Fatal("nothing sent")
	}
	head, _, _ := strings.Cut(string(msgs[0].Data), "\r\n\r\n")
	mustContain(t, "headers", head, "DKIM-Signature: ", "d=focus.example", "s=lm1", ":List-Unsubscribe:List-Unsubscribe-Post:")

	writeFile(t, filepath.Dir(keyFile), "dkim.pem", "not a key")
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "test", fmt.Sprint(id), "--to", "me@focus.example")
	if r.code != exitError || !strings.Contains(r.stderr, "smtp.dkim.key_file") {
		t.Errorf("bad key: exit %d, stderr %q; want an error naming smtp.dkim.key_file", r.code, r.stderr)
	}
}

// TestCampaignSendPausesOnInterrupt stops a sending process with SIGINT, as Ctrl-C does: it
// exits cleanly with the campaign paused and nothing in flight, and resuming sends everyone
// else exactly once.
func TestCampaignSendPausesOnInterrupt(t *testing.T) {
	const n = 1000
	srv := smtptest.New(t)
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig(srv.URL(), "\n[sending]\nconcurrency = 4\nrate = 500\n"))
	emails := bulkLeads(t, data, n)
	id := fmt.Sprint(createCampaign(t, data))

	child := startLeadmailer(t, "campaigns", "send", id, "--data", data)
	for srv.Count() < n/5 {
		select {
		case <-child.done:
			t.Fatalf("the send finished before it could be interrupted\nstderr:\n%s", child.stderr.String())
		default:
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := child.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := child.wait(t, 30*time.Second); code != exitOK {
		t.Fatalf("exit %d after SIGINT, want 0\nstderr:\n%s", code, child.stderr.String())
	}
	mustContain(t, "output", child.stdout.String(), "paused (interrupted", "campaigns resume "+id)
	var v campaignView
	lmJSON(t, data, &v, "campaigns", "show", id, "--json")
	if v.State != leadmailer.CampaignPaused || v.Report.Sending != 0 || v.Report.Sent != int64(srv.Count()) {
		t.Fatalf("after SIGINT: %s, %+v; the server got %d; want paused, nothing in flight, ledger = server", v.State, v.Report, srv.Count())
	}
	lm(t, data, "campaigns", "resume", id)
	for _, email := range emails {
		if got := srv.CountRecipient(email); got != 1 {
			t.Errorf("%s received %d messages, want 1", email, got)
		}
	}
}

func TestSchedulerResumesCampaignLeftRunning(t *testing.T) {
	data := importFixtures(t)
	writeConfig(t, data, senderConfig("", ""))
	id := createCampaign(t, data)
	ctx := context.Background()
	db, err := openData(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// What a killed sender leaves: the campaign running, one row handed to the server.
	c, err := db.SetCampaignState(ctx, id, leadmailer.CampaignRunning, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	ps, err := db.FindPending(ctx, id, 0, time.Now(), 1)
	if err != nil || len(ps) != 1 {
		t.Fatalf("pending: %v, %v", ps, err)
	}
	l, err := db.OpenLedger(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = l.Write(ctx, []store.LedgerUpdate{{RecipientID: ps[0].RecipientID, Status: leadmailer.RecipientSending, MessageID: "x@y"}})
	l.Close()
	if err != nil {
		t.Fatal(err)
	}

	cfg, err := loadConfig(data, "", &env{getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	s := newCampaignScheduler(db, cfg, data, slog.New(slog.NewTextHandler(io.Discard, nil)), "test")
	if err := s.Tick(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	var v campaignView
	lmJSON(t, data, &v, "campaigns", "show", fmt.Sprint(id), "--json")
	if v.State != leadmailer.CampaignFinished || v.Report.Queued+v.Report.Sending != 0 || v.Report.Sent == 0 {
		t.Fatalf("after the tick: %s %+v, want finished with nothing left", v.State, v.Report)
	}
	matches, _ := filepath.Glob(filepath.Join(data, outboxDir, fmt.Sprintf("c%d.l%d.*.eml", id, ps[0].LeadID)))
	if len(matches) != 1 {
		t.Errorf("the outbox holds %d messages for the row that was in flight, want 1: it is sent again", len(matches))
	}
}

func TestSendFailsWhenTheRelayRefusesEverything(t *testing.T) {
	for _, fault := range []smtptest.Fault{smtptest.Reject, smtptest.UserUnknown} {
		t.Run(fmt.Sprint(fault.Code), func(t *testing.T) {
			srv := smtptest.New(t)
			data := filepath.Join(t.TempDir(), "data")
			writeConfig(t, data, senderConfig(srv.URL(), "\n[sending]\nconcurrency = 1\nrate = 0\n"))
			bulkLeads(t, data, 40)
			srv.FailAllRecipients(fault)
			id := fmt.Sprint(createCampaign(t, data))
			r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "send", id)
			if r.code != exitError || !strings.Contains(r.stderr, "too many recipients refused") || !strings.Contains(r.stderr, fmt.Sprint(fault.Code)) {
				t.Fatalf("exit %d, stderr %q; want a failure naming the refusals and the reply", r.code, r.stderr)
			}
			mustContain(t, "send output", r.stdout, "20 refusals were blamed on the relay and queued again")
			var v campaignView
			lmJSON(t, data, &v, "campaigns", "show", id, "--json")
			if v.State != leadmailer.CampaignPaused || v.Report.Failed != 0 || v.Report.Queued != 40 {
				t.Errorf("campaign %s with %+v; want paused with all 40 queued again", v.State, v.Report)
			}
			// The relay is fixed: the resume sends to everybody, none of them marked.
			srv.FailAllRecipients(smtptest.Fault{})
			lm(t, data, "campaigns", "resume", id)
			lmJSON(t, data, &v, "campaigns", "show", id, "--json")
			if v.State != leadmailer.CampaignFinished || v.Report.Sent != 40 || srv.Count() != 40 {
				t.Errorf("after the resume: campaign %s with %+v, server holds %d; want 40 sent once", v.State, v.Report, srv.Count())
			}
		})
	}
}

// TestLeadsDeliverableClearsTheMark: a lead a relay refused with 5.1.1 is skipped by the next
// campaign until "leads deliverable" withdraws the mark, which the audit trail records.
func TestLeadsDeliverableClearsTheMark(t *testing.T) {
	srv := smtptest.New(t)
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig(srv.URL(), "\n[sending]\nconcurrency = 1\nrate = 0\n"))
	emails := bulkLeads(t, data, 5)
	srv.FailRecipient(emails[2], smtptest.Fault{Code: 550, Enhanced: "5.1.1", Text: "User unknown", Times: 1})
	lm(t, data, "campaigns", "send", fmt.Sprint(createCampaign(t, data)))
	second := fmt.Sprint(createCampaign(t, data))
	lm(t, data, "campaigns", "send", second)
	if got := srv.CountRecipient(emails[2]); got != 0 {
		t.Fatalf("the refused lead received %d messages before its mark was cleared", got)
	}

	r := lm(t, data, "leads", "deliverable", emails[2])
	mustContain(t, "leads deliverable", r.stdout, "no longer marked undeliverable", "User unknown")
	if r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "leads", "deliverable", emails[2]); r.code == exitOK {
		t.Errorf("clearing a mark twice succeeded: %q", r.stdout)
	}
	a := lm(t, data, "audit", "--action", leadmailer.AuditLeadDeliverable)
	mustContain(t, "audit", a.stdout, leadmailer.AuditLeadDeliverable, "lead ")
	if strings.Contains(a.stdout, emails[2]) {
		t.Errorf("the audit entry names the address:\n%s", a.stdout)
	}
	lm(t, data, "campaigns", "send", fmt.Sprint(createCampaign(t, data)))
	if got := srv.CountRecipient(emails[2]); got != 1 {
		t.Errorf("after the mark was cleared the lead received %d messages, want 1", got)
	}
}

// TestCampaignBodyLanguage: a campaign written in English to Finnish leads is sent as
// English (Content-Language and <html lang>), with its notices in Finnish; without
// --body-language the message says the notice language.
func TestCampaignBodyLanguage(t *testing.T) {
	data := importFixtures(t)
	writeConfig(t, data, senderConfig("", ""))
	var leads []leadmailer.Lead
	lmJSON(t, data, &leads, "leads", "list", "--json", "--country", "FI")
	if len(leads) == 0 {
		t.Fatal("no Finnish lead")
	}
	lead := leads[0]
	english := createCampaign(t, data, "--body-language", "en")
	var shown struct {
		leadmailer.Campaign
	}
	lmJSON(t, data, &shown, "campaigns", "show", fmt.Sprint(english), "--json")
	if shown.BodyLanguage != "en" {
		t.Errorf("campaigns show: body language %q, want en", shown.BodyLanguage)
	}
	raw := lm(t, data, "campaigns", "preview", fmt.Sprint(english), "--lead", lead.Email, "--raw").stdout
	mustContain(t, "preview of the English campaign", raw, "Content-Language: en\r\n", `<html lang=3D"en">`, "Oikeutesi kielt=C3=A4=C3=A4 suoramarkkinointi")
	plain := createCampaign(t, data)
	raw = lm(t, data, "campaigns", "preview", fmt.Sprint(plain), "--lead", lead.Email, "--raw").stdout
	mustContain(t, "preview of a campaign without a body language", raw, "Content-Language: fi\r\n", `<html lang=3D"fi">`)

	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, "", "campaigns", "create", "--name", "x", "--subject", "s",
		"--html", writeFile(t, t.TempDir(), "b.html", "<p>x</p>"), "--body-language", "English")
	if r.code != exitError || !strings.Contains(r.stderr, "body language") {
		t.Errorf("--body-language English: exit %d, stderr %q; want an error naming the body language", r.code, r.stderr)
	}
}
