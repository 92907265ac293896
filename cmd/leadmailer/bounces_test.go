package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/bounce/snstest"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// dsnMessage is a Postfix-shaped delivery status notification for one recipient, mailed to
// returnPath, about the message with Message-ID msgID.
func dsnMessage(id, returnPath, rcpt, status, msgID string) string {
	return strings.ReplaceAll(fmt.Sprintf(`Return-Path: <>
From: MAILER-DAEMON@mx.relay.example (Mail Delivery System)
To: %[2]s
Subject: Undelivered Mail Returned to Sender
Message-Id: <%[1]s@mx.relay.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.relay.example

Final-Recipient: rfc822; %[3]s
Action: failed
Status: %[4]s
Diagnostic-Code: smtp; 550 %[4]s <%[3]s>: user unknown

--B
Content-Type: text/rfc822-headers

Return-Path: <%[2]s>
From: Focus Marketing <marketing@focus.example>
To: %[3]s
Message-ID: <%[5]s>

--B--
`, id, returnPath, rcpt, status, msgID), "\n", "\r\n")
}

// arfMessage is a feedback-loop complaint about the message to rcpt.
func arfMessage(returnPath, rcpt, msgID string) string {
	return strings.ReplaceAll(fmt.Sprintf(`From: fbl@mailbox.example
To: bounces@bounces.focus.example
Subject: complaint about message from 192.0.2.1
Message-Id: <arf-1@mailbox.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1
Original-Mail-From: <%[1]s>
Original-Rcpt-To: <%[2]s>

--F
Content-Type: text/rfc822-headers

Return-Path: <%[1]s>
From: Focus Marketing <marketing@focus.example>
To: %[2]s
Message-ID: <%[3]s>

--F--
`, returnPath, rcpt, msgID), "\n", "\r\n")
}

// nestedMIME is a message of depth multipart parts, each inside the one before.
func nestedMIME(depth int) string {
	var b strings.Builder
	b.WriteString("From: x@example.org\r\nSubject: nested\r\nMIME-Version: 1.0\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"n%d\"\r\n\r\n--n%d\r\n", i, i)
	}
	return b.String()
}

const bounceConfig = `
[bounces]
domain = "bounces.focus.example"
`

// sentTo returns, for each recipient, the envelope sender and Message-ID of the message the
// relay took.
func sentTo(t *testing.T, srv *smtptest.Server) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for _, m := range srv.Messages() {
		if !strings.HasPrefix(m.From, "bounces+") || !strings.HasSuffix(m.From, "@bounces.focus.example") {
			t.Fatalf("envelope sender %q is not a return path of the bounce domain", m.From)
		}
		out[m.To[0]] = [2]string{m.From, m.MessageID}
	}
	return out
}

// recipientsByStatus returns the addresses of a campaign's rows under --status.
func recipientsByStatus(t *testing.T, data string, id int64, status string) []string {
	t.Helper()
	var rows []leadmailer.Recipient
	lmJSON(t, data, &rows, "campaigns", "recipients", fmt.Sprint(id), "--status", status, "--json")
	var out []string
	for _, r := range rows {
		out = append(out, r.Email)
	}
	return out
}

func TestBouncesIngestEndToEnd(t *testing.T) {
	srv := smtptest.New(t)
	data := filepath.Join(t.TempDir(), "data")
	writeConfig(t, data, senderConfig(srv.URL(), bounceConfig))
	csv := writeFile(t, t.TempDir(), "people.csv", "Email,Name,Company,Country\n"+
		"anna@example.fi,Anna,A Oy,FI\nbert@example.fi,Bert,B Oy,FI\ncarl@example.fi,Carl,C Oy,FI\ndora@example.fi,Dora,D Oy,FI\n")
	lm(t, data, "import", csv, "--source", "fair")
	id := createCampaign(t, data)
	lm(t, data, "campaigns", "send", fmt.Sprint(id))
	sent := sentTo(t, srv)
	if len(sent) != 4 {
		t.Fatalf("%d messages sent, want 4", len(sent))
	}

	// A DSN piped in with the envelope recipient, as Postfix's pipe transport passes it.
	anna := sent["anna@example.fi"]
	bounceMail := dsnMessage("b1", anna[0], "anna@example.fi", "5.1.1", anna[1])
	r := runCLI(t, map[string]string{"LEADMAILER_DATA": data}, bounceMail, "bounces", "ingest", "--to", anna[0], "-")
	if r.code != exitOK || !strings.Contains(r.stdout, "1 recipient recorded") {
		t.Fatalf("ingest DSN: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	show := lm(t, data, "leads", "show", "anna@example.fi").stdout
	mustContain(t, "leads show after a hard bounce", show, "Undeliverable: bounced (campaign", "5.1.1",
		"Bounces and complaints (1", "hard 5.1.1", "via ingest from mx.relay.example: marked the lead undeliverable")
	if got := recipientsByStatus(t, data, id, "bounced"); len(got) != 1 || got[0] != "anna@example.fi" {
		t.Errorf("bounced recipients = %q, want [anna@example.fi]", got)
	}
	// The same bounce again changes nothing.
	r = runCLI(t, map[string]string{"LEADMAILER_DATA": data}, bounceMail, "bounces", "ingest", "--to", anna[0], "-")
	mustContain(t, "the same DSN again", r.stdout, "0 recipients recorded, 1 already recorded")

	// A forged token is refused and marks nobody, whichever lead the report names.
	bert := sent["bert@example.fi"]
	forged := []byte(bert[0])
	at := strings.IndexByte(bert[0], '@')
	// One letter of the signature changed, to another letter of the token's alphabet.
	if forged[at-3] == 'b' {
		forged[at-3] = 'c'
	} else {
		forged[at-3] = 'b'
	}
	r = runCLI(t, map[string]string{"LEADMAILER_DATA": data}, dsnMessage("b2", string(forged), "bert@example.fi", "5.1.1", "x@y"),
		"bounces", "ingest", "--to", string(forged), "-")
	if r.code != exitOK || !strings.Contains(r.stdout, "1 refused") {
		t.Errorf("forged token: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if show := lm(t, data, "leads", "show", "bert@example.fi").stdout; strings.Contains(show, "Undeliverable") {
		t.Errorf("a forged bounce marked bert:\n%s", show)
	}

	// A Maildir with a complaint (tied by the return path it quotes), an auto-reply, a
	// hostile message and a soft bounce of carl's (tied by its Message-ID alone).
	maildir := filepath.Join(t.TempDir(), "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(maildir, sub), 0o700)
	}
	dora, carl := sent["dora@example.fi"], sent["carl@example.fi"]
	soft := strings.Replace(strings.Replace(dsnMessage("b3", "bounces@bounces.focus.example", "carl@example.fi", "4.2.2", carl[1]),
		"Action: failed", "Action: delayed", 1), "Return-Path: <bounces@bounces.focus.example>\r\n", "", 1)
	for name, msg := range map[string]string{
		"1.arf":       arfMessage(dora[0], "dora@example.fi", dora[1]),
		"2.ooo":       "From: bert@example.fi\r\nTo: " + bert[0] + "\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nAway until Monday.\r\n",
		"3.nested":    nestedMIME(200),
		"4.soft":      soft,
		".hidden.tmp": "not a message",
	} {
		writeFile(t, filepath.Join(maildir, "new"), name, msg)
	}
	r = lm(t, data, "bounces", "ingest", maildir)
	mustContain(t, "ingest Maildir", r.stdout, "4 messages read: 2 recipients recorded", "1 message ignored", "1 refused", "3.nested")
	if r := lm(t, data, "suppress", "check", "dora@example.fi").stdout; !strings.Contains(r, "complaint") {
		t.Errorf("suppress check after a complaint:\n%s", r)
	}
	if show := lm(t, data, "leads", "show", "carl@example.fi").stdout; strings.Contains(show, "Undeliverable") ||
		!strings.Contains(show, "soft 4.2.2") {
		t.Errorf("one soft bounce is counted, not marked:\n%s", show)
	}

	var c struct {
		Report leadmailer.CampaignReport `json:"report"`
	}
	lmJSON(t, data, &c, "campaigns", "show", fmt.Sprint(id), "--json")
	if rep := c.Report; rep.Sent != 4 || rep.BouncedHard != 1 || rep.BouncedSoft != 1 || rep.Complained != 1 || rep.Delivered != 3 {
		t.Errorf("campaign report = %+v; want 4 sent, 1 hard, 1 soft, 1 complaint, 3 delivered", rep)
	}
	mustContain(t, "campaigns show", lm(t, data, "campaigns", "show", fmt.Sprint(id)).stdout,
		"After sending: 3 delivered, 1 bounced hard (25.00 %), 1 bounced soft, 1 complained (25.00 %)")

	// Every action left an audit entry naming the lead by number.
	audit := lm(t, data, "audit", "--action", "lead.bounce").stdout + lm(t, data, "audit", "--action", "lead.complaint").stdout
	if n := strings.Count(audit, "lead "); n < 3 || strings.Contains(audit, "@example.fi") {
		t.Errorf("audit of bounces (%d entries) must name leads by number:\n%s", n, audit)
	}

	// An mbox, as a mail client's or procmail's bounce folder keeps it: two DSNs with LF line
	// ends, the first quoting a body line that begins "From " as mboxrd does, so that only
	// the real "From " lines split messages.
	bertDSN := strings.Replace(dsnMessage("b4", bert[0], "bert@example.fi", "5.1.1", bert[1]),
		"Your message could not be delivered.", "Your message could not be delivered.\r\n\r\n>From the relay: no such user.", 1)
	carlDSN := dsnMessage("b5", carl[0], "carl@example.fi", "5.2.1", carl[1])
	mbox := "From MAILER-DAEMON Sat Dec  5 10:00:00 2026\n" + strings.ReplaceAll(bertDSN, "\r\n", "\n") + "\n" +
		"From MAILER-DAEMON Sat Dec  5 10:01:00 2026\n" + strings.ReplaceAll(carlDSN, "\r\n", "\n") + "\n"
	r = lm(t, data, "bounces", "ingest", writeFile(t, t.TempDir(), "bounces.mbox", mbox))
	mustContain(t, "ingest mbox", r.stdout, "2 messages read: 2 recipients recorded, 0 already recorded, 0 messages ignored, 0 refused")
	got := recipientsByStatus(t, data, id, "bounced")
	slices.Sort(got)
	if want := []string{"anna@example.fi", "bert@example.fi", "carl@example.fi"}; !slices.Equal(got, want) {
		t.Errorf("bounced recipients after the mbox = %q, want %q", got, want)
	}
	mustContain(t, "leads show after the mbox", lm(t, data, "leads", "show", "carl@example.fi").stdout, "hard 5.2.1", "soft 4.2.2")
}

// snsCAEnv names a PEM file with the certificate of the HTTPS server a test runs in place of
// Amazon SNS. A serve process started from the test binary with it set fetches SNS signing
// certificates from that server alone (see trustTestSNS).
const snsCAEnv = "LEADMAILER_TEST_SNS_CA"

// trustTestSNS makes the serve process the test binary is about to become trust the test's
// SNS server, through the hook only tests can set.
func trustTestSNS() {
	file := os.Getenv(snsCAEnv)
	if file == "" {
		return
	}
	b, err := os.ReadFile(file)
	pool := x509.NewCertPool()
	if err != nil || !pool.AppendCertsFromPEM(b) {
		fmt.Fprintf(os.Stderr, "%s: no certificate in %s: %v\n", snsCAEnv, file, err)
		os.Exit(2)
	}
	snsTestHook = func(v *bounce.SNSVerifier) {
		v.Client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		v.AllowHost = func(host string) bool { return host == "127.0.0.1" }
	}
}

// TestServeReceivesBounces sends a campaign from serve through a relay that takes
// everything, then reports bounces and complaints the ways they arrive in production: a DSN
// and an ARF complaint over SMTP to the listener, and each provider's webhook over HTTPS with
// its signature. The campaign's counts and ledger then show every report.
func TestServeReceivesBounces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	srv := smtptest.New(t)
	data := filepath.Join(t.TempDir(), "data")
	listen := freeAddr(t)
	sgKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&sgKey.PublicKey)
	const mailgunKey = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
	sns := snstest.New(t)
	snsCA := writeFile(t, t.TempDir(), "sns-ca.pem", string(sns.CAPEM()))
	writeConfig(t, data, senderConfig(srv.URL(), bounceConfig+`listen = "`+listen+`"
[bounces.webhooks]
ses_topic_arns = ["`+snstest.Topic+`"]
postmark_user = "pm"
postmark_password = "${PM_PASSWORD}"
mailgun_signing_key = "`+mailgunKey+`"
sendgrid_public_key = "`+base64.StdEncoding.EncodeToString(der)+`"
`))
	csv := writeFile(t, t.TempDir(), "people.csv", "Email,Name,Company,Country\n"+
		"anna@example.fi,Anna,A Oy,FI\nbert@example.fi,Bert,B Oy,FI\ncarl@example.fi,Carl,C Oy,FI\ndora@example.fi,Dora,D Oy,FI\n"+
		"erik@example.fi,Erik,E Oy,FI\nfay@example.fi,Fay,F Oy,FI\n")
	lm(t, data, "import", csv, "--source", "fair")
	id := createCampaign(t, data, "--at", time.Now().UTC().Format(time.RFC3339))

	c := startServing(t, data, "PM_PASSWORD=s3cret-pm", snsCAEnv+"="+snsCA)
	base := c.base
	until := func(what string, cond func() bool) { t.Helper(); c.until(t, what, cond) }
	until("6 campaign messages", func() bool { return len(srv.Messages()) == 6 })
	sent := sentTo(t, srv)
	db := openTestData(t, data)
	undeliverable := func(email string) bool {
		l, err := db.FindLeadByEmail(t.Context(), email)
		if err != nil {
			t.Fatal(err)
		}
		ok, _, _ := db.IsUndeliverable(t.Context(), l.ID)
		return ok
	}

	// SMTP: the listener takes a DSN for a return path, and refuses other addresses.
	anna := sent["anna@example.fi"]
	if err := smtp.SendMail(listen, nil, "", []string{anna[0]}, []byte(dsnMessage("s1", anna[0], "anna@example.fi", "5.1.1", anna[1]))); err != nil {
		t.Fatalf("DSN to the listener: %v", err)
	}
	for _, to := range []string{"postmaster@focus.example", "bounces+aaaaaaaaaaaaaaaaaaaaaaaaaaaa@bounces.focus.example"} {
		if err := smtp.SendMail(listen, nil, "", []string{to}, []byte("Subject: x\r\n\r\nx\r\n")); err == nil || !strings.Contains(err.Error(), "550") {
			t.Errorf("mail to %s: %v; want 550", to, err)
		}
	}
	until("anna marked undeliverable", func() bool { return undeliverable("anna@example.fi") })

	// An ARF complaint mailed to erik's return path suppresses his address.
	erik := sent["erik@example.fi"]
	if err := smtp.SendMail(listen, nil, "", []string{erik[0]}, []byte(arfMessage(erik[0], "erik@example.fi", erik[1]))); err != nil {
		t.Fatalf("ARF complaint to the listener: %v", err)
	}
	if s := lm(t, data, "suppress", "check", "erik@example.fi").stdout; !strings.Contains(s, "complaint") {
		t.Errorf("suppress check after an ARF complaint over SMTP:\n%s", s)
	}

	post := func(path, body string, header http.Header) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header = header
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	// Postmark: basic auth from the webhook URL.
	pm := `{"RecordType":"Bounce","ID":77,"Type":"HardBounce","Email":"bert@example.fi","Details":"smtp;550 5.1.1 no such user","MessageID":"pm-1"}`
	if code := post("/webhooks/postmark", pm, http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("pm:wrong"))}}); code != http.StatusUnauthorized {
		t.Errorf("Postmark with a wrong password: %d, want 401", code)
	}
	if undeliverable("bert@example.fi") {
		t.Fatal("a webhook with a wrong password marked bert")
	}
	if code := post("/webhooks/postmark", pm, http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("pm:s3cret-pm"))}}); code != http.StatusNoContent {
		t.Errorf("Postmark bounce: %d, want 204", code)
	}
	if !undeliverable("bert@example.fi") {
		t.Error("Postmark bounce did not mark bert")
	}

	// Mailgun: HMAC of timestamp and token.
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(mailgunKey))
	m.Write([]byte(ts + "tok-1"))
	carl := sent["carl@example.fi"]
	mg := fmt.Sprintf(`{"signature":{"timestamp":%q,"token":"tok-1","signature":%q},"event-data":{"id":"mg-1","event":"failed","severity":"permanent",
		"recipient":"carl@example.fi","delivery-status":{"code":550,"enhanced-code":"5.1.1","message":"No such user"},
		"message":{"headers":{"message-id":%q}}}}`, ts, hex.EncodeToString(m.Sum(nil)), carl[1])
	if code := post("/webhooks/mailgun", strings.Replace(mg, `"tok-1"`, `"tok-2"`, 1), http.Header{}); code != http.StatusUnauthorized {
		t.Errorf("Mailgun with a bad signature: %d, want 401", code)
	}
	if code := post("/webhooks/mailgun", mg, http.Header{}); code != http.StatusNoContent {
		t.Errorf("Mailgun bounce: %d, want 204", code)
	}
	if !undeliverable("carl@example.fi") {
		t.Error("Mailgun bounce did not mark carl")
	}

	// SendGrid: ECDSA over timestamp and body; a spam report suppresses.
	sg := `[{"email":"dora@example.fi","event":"spamreport","sg_event_id":"sg-1"}]`
	h := sha256.Sum256([]byte(ts + sg))
	sig, _ := ecdsa.SignASN1(rand.Reader, sgKey, h[:])
	hdr := http.Header{"X-Twilio-Email-Event-Webhook-Signature": {base64.StdEncoding.EncodeToString(sig)},
		"X-Twilio-Email-Event-Webhook-Timestamp": {ts}}
	if code := post("/webhooks/sendgrid", strings.Replace(sg, "dora", "anna", 1), hdr); code != http.StatusUnauthorized {
		t.Errorf("SendGrid with an altered body: %d, want 401", code)
	}
	if code := post("/webhooks/sendgrid", sg, hdr); code != http.StatusNoContent {
		t.Errorf("SendGrid spam report: %d, want 204", code)
	}
	if ok, _ := db.IsSuppressed(t.Context(), "dora@example.fi"); !ok {
		t.Error("SendGrid spam report did not suppress dora")
	}
	if ok, _ := db.IsSuppressed(t.Context(), "anna@example.fi"); ok {
		t.Error("the altered SendGrid request suppressed anna")
	}

	// SES through SNS: serve confirms the subscription by visiting the signed link, refuses a
	// notification altered after signing, and records a genuine one.
	if code := post("/webhooks/ses", string(sns.Message(t, "SubscriptionConfirmation", "confirm")), http.Header{}); code != http.StatusNoContent || sns.Confirmed() != 1 {
		t.Errorf("SNS subscription confirmation: %d, confirmed %d times; want 204 and once", code, sns.Confirmed())
	}
	note, err := os.ReadFile("../../bounce/testdata/webhooks/ses-bounce.json")
	if err != nil {
		t.Fatal(err)
	}
	fay := sent["fay@example.fi"]
	ses := strings.NewReplacer("anna.virtanen@example.fi", "fay@example.fi",
		"bounces+aebaacq2nuwsg5xuq6qq@bounce.leadmailer.example", fay[0], "20261206.1.7@leadmailer.example", fay[1]).Replace(string(note))
	signed := string(sns.Message(t, "Notification", ses))
	if code := post("/webhooks/ses", strings.Replace(signed, "5.1.1", "5.1.2", 1), http.Header{}); code != http.StatusUnauthorized {
		t.Errorf("altered SES notification: %d, want 401", code)
	}
	if undeliverable("fay@example.fi") {
		t.Fatal("an altered SES notification marked fay")
	}
	if code := post("/webhooks/ses", signed, http.Header{}); code != http.StatusNoContent {
		t.Errorf("SES bounce: %d, want 204", code)
	}
	if !undeliverable("fay@example.fi") {
		t.Error("SES bounce did not mark fay")
	}

	var show struct {
		Report leadmailer.CampaignReport `json:"report"`
	}
	lmJSON(t, data, &show, "campaigns", "show", fmt.Sprint(id), "--json")
	if rep := show.Report; rep.Sent != 6 || rep.Delivered != 2 || rep.BouncedHard != 4 || rep.BouncedSoft != 0 || rep.Complained != 2 {
		t.Errorf("campaign report = %+v; want 6 sent, 2 delivered, 4 bounced hard, 0 soft, 2 complained", rep)
	}
	for _, tt := range []struct {
		status string
		want   []string
	}{
		{"bounced", []string{"anna@example.fi", "bert@example.fi", "carl@example.fi", "fay@example.fi"}},
		{"complained", []string{"dora@example.fi", "erik@example.fi"}},
	} {
		got := recipientsByStatus(t, data, id, tt.status)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("campaigns recipients --status %s = %q, want %q", tt.status, got, tt.want)
		}
	}
	mustContain(t, "serve output", c.stdout.String(), "Receiving bounces by SMTP on "+listen,
		"/webhooks/postmark", "/webhooks/mailgun", "/webhooks/sendgrid", "/webhooks/ses")
}

// A test message is mailed like a campaign message: with [bounces] domain set, its envelope
// sender is a signed return path naming the campaign and no lead, so that a bounce of it is
// recognised and marks nobody; without a bounce domain, the From address is the sender.
func TestCampaignsTestReturnPath(t *testing.T) {
	for _, tt := range []struct {
		name, extra string
		signed      bool
	}{
		{"bounce domain", bounceConfig, true},
		{"no bounce domain", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.New(t)
			data := filepath.Join(t.TempDir(), "data")
			writeConfig(t, data, senderConfig(srv.URL(), tt.extra))
			id := createCampaign(t, data)
			lm(t, data, "campaigns", "test", fmt.Sprint(id), "--to", "me@focus.example")
			msgs := srv.Messages()
			if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "me@focus.example" {
				t.Fatalf("relay got %+v; want one message to me@focus.example", msgs)
			}
			from := msgs[0].From
			if !tt.signed {
				if from != "marketing@focus.example" {
					t.Errorf("envelope sender %q; want the From address marketing@focus.example", from)
				}
				return
			}
			if !strings.HasPrefix(from, "bounces+") || !strings.HasSuffix(from, "@bounces.focus.example") {
				t.Fatalf("envelope sender %q; want bounces+TOKEN@bounces.focus.example", from)
			}
			secret, err := loadSecret(filepath.Join(data, secretFile))
			if err != nil {
				t.Fatal(err)
			}
			signer := returnPathSigner(&config.Config{Bounces: config.Bounces{Domain: "bounces.focus.example", Local: "bounces"}}, secret)
			c, lead, err := signer.Parse(from)
			if err != nil || c != id || lead != 0 {
				t.Errorf("return path %q parses to campaign %d, lead %d, err %v; want campaign %d, lead 0", from, c, lead, err, id)
			}
		})
	}
}
