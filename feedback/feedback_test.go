package feedback_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"net"
	"net/http"
	"net/http/httptest"
	"net/smtp"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/bounce/snstest"
	"github.com/leadmailer/leadmailer/feedback"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// sentTo makes a database whose campaign sent one message to each address, as after a send
// through a relay that took everything, and returns it with the campaign's ID.
func sentTo(t testing.TB, emails ...string) (*store.DB, int64) {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, nil)
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload, Actor: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var rows []leadmailer.ImportRow
	for i, email := range emails {
		r := leadmailer.ImportRow{Row: int64(i + 2)}
		r.Values[leadmailer.FieldEmail], r.Received[leadmailer.FieldEmail] = email, email
		r.Supplied = r.Supplied.With(leadmailer.FieldEmail)
		r.EmailHash = w.SuppressionHash(email)
		rows = append(rows, r)
	}
	if _, err := w.WriteBatch(ctx, rows, leadmailer.ImportCounts{Read: int64(len(rows))}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	c := &leadmailer.Campaign{Name: "spring", Subject: "Hi", HTML: "<p>Hi</p>", State: leadmailer.CampaignDraft, CreatedBy: "test"}
	if err := db.CreateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ResolveAudience(ctx, c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE campaign_recipients SET status = 'sent', sending_at = '2026-12-06T10:00:00.000000Z'`); err != nil {
		t.Fatal(err)
	}
	return db, c.ID
}

func undeliverable(t *testing.T, db *store.DB, email string) bool {
	t.Helper()
	l, err := db.FindLeadByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	ok, _, err := db.IsUndeliverable(context.Background(), l.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// snsVerifier checks SES notifications against sns, a stand-in SNS on this machine.
func snsVerifier(sns *snstest.Server) *bounce.SNSVerifier {
	u, _ := url.Parse(sns.URL)
	return &bounce.SNSVerifier{Client: sns.Client(), TopicARNs: []string{snstest.Topic},
		AllowHost: func(h string) bool { return h == u.Hostname() }}
}

// Amazon SES reports through SNS: the subscription is confirmed by visiting the signed link,
// a signed notification marks the lead, and a notification altered after signing, or for
// another topic, changes nothing.
func TestSESWebhook(t *testing.T) {
	db, _ := sentTo(t, "anna.virtanen@example.fi", "bert@example.fi")
	sns := snstest.New(t)
	w := &feedback.Webhooks{Processor: &feedback.Processor{Store: db, Policy: store.DefaultBouncePolicy}, SES: snsVerifier(sns)}
	mux := http.NewServeMux()
	if paths := w.Mount(mux.Handle); len(paths) != 1 || paths[0] != "/webhooks/ses" {
		t.Fatalf("mounted %q; want only the SES route", paths)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(body []byte) int {
		t.Helper()
		res, err := http.Post(srv.URL+"/webhooks/ses", "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(sns.Message(t, "SubscriptionConfirmation", "confirm")); code != http.StatusNoContent || sns.Confirmed() != 1 {
		t.Errorf("subscription confirmation: %d, confirmed %d times; want 204 and once", code, sns.Confirmed())
	}
	note, err := os.ReadFile("../bounce/testdata/webhooks/ses-bounce.json")
	if err != nil {
		t.Fatal(err)
	}
	signed := sns.Message(t, "Notification", string(note))
	altered := bytes.Replace(signed, []byte("anna.virtanen"), []byte("bert"), 1)
	if code := post(altered); code != http.StatusUnauthorized {
		t.Errorf("altered notification: %d, want 401", code)
	}
	otherTopic := bytes.Replace(signed, []byte("123456789012:ses-bounces"), []byte("999999999999:ses-bounces"), 1)
	if code := post(otherTopic); code != http.StatusUnauthorized {
		t.Errorf("notification for another topic: %d, want 401", code)
	}
	if undeliverable(t, db, "bert@example.fi") || undeliverable(t, db, "anna.virtanen@example.fi") {
		t.Fatal("a refused notification marked a lead")
	}
	if code := post(signed); code != http.StatusNoContent {
		t.Errorf("genuine notification: %d, want 204", code)
	}
	if !undeliverable(t, db, "anna.virtanen@example.fi") {
		t.Error("the SES bounce did not mark the lead")
	}
	if code := post(bytes.Repeat([]byte("x"), 6<<20)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("6 MiB body: %d, want 413", code)
	}
}

func newListener(t *testing.T, p *feedback.Processor, maxBytes int64) string {
	t.Helper()
	s, err := feedback.NewServer(p, feedback.ServerOptions{Local: "bounces", MaxBytes: maxBytes, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return ln.Addr().String()
}

// The listener is no open inbox: it takes mail only for verified return paths and the bare
// bounce address, refuses a message over its size, and cuts off a client that stalls.
func TestListenerLimits(t *testing.T) {
	db, c := sentTo(t, "anna@example.fi")
	l, _ := db.FindLeadByEmail(context.Background(), "anna@example.fi")
	signer := bounce.NewSigner([]byte("key"), "bounces", "bounces.example.com")
	addr := newListener(t, &feedback.Processor{Store: db, ReturnPaths: signer, Policy: store.DefaultBouncePolicy}, 64<<10)
	rp := signer.Address(c, l.ID)
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 5000)
	for _, tt := range []struct {
		to, msg, want string
	}{
		{"anna@example.fi", "Subject: x\r\n\r\nx\r\n", "550"},
		{"bounces+" + strings.Repeat("a", 20) + "@bounces.example.com", "Subject: x\r\n\r\nx\r\n", "550"},
		{rp, big, "552"},
	} {
		err := smtp.SendMail(addr, nil, "", []string{tt.to}, []byte(tt.msg))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("mail to %s (%d bytes): %v; want %s", tt.to, len(tt.msg), err, tt.want)
		}
	}
	if err := smtp.SendMail(addr, nil, "", []string{"bounces@bounces.example.com"}, []byte("Subject: hello\r\n\r\nhi\r\n")); err != nil {
		t.Errorf("mail to the bare bounce address: %v", err)
	}
	// A client that opens a session and says nothing is cut off by the read timeout.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	r.ReadString('\n') // greeting
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	for {
		if _, err := r.ReadString('\n'); err != nil {
			break
		}
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("a silent client stayed connected %s; want cut off after the 2 s timeout", d)
	}
	if undeliverable(t, db, "anna@example.fi") {
		t.Error("refused mail marked the lead")
	}
}

// A database that cannot record answers 451, so that the reporting server tries again, and
// the report is recorded when it does.
func TestListenerTemporaryFailure(t *testing.T) {
	db, c := sentTo(t, "anna@example.fi")
	l, _ := db.FindLeadByEmail(context.Background(), "anna@example.fi")
	signer := bounce.NewSigner([]byte("key"), "bounces", "bounces.example.com")
	addr := newListener(t, &feedback.Processor{Store: db, ReturnPaths: signer, Policy: store.DefaultBouncePolicy}, 1<<20)
	rp := signer.Address(c, l.ID)
	dsn, err := os.ReadFile("../bounce/testdata/postfix-hard.eml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// Another writer holds the database.
	tx, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE leads SET updated_at = updated_at`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(addr, nil, "", []string{rp}, dsn) }()
	var sendErr error
	select {
	case sendErr = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("no answer within 30 s while the database was locked")
	}
	tx.Rollback()
	if sendErr == nil || !strings.Contains(sendErr.Error(), "451") {
		t.Fatalf("DSN while the database is locked: %v; want 451", sendErr)
	}
	if err := smtp.SendMail(addr, nil, "", []string{rp}, dsn); err != nil {
		t.Fatalf("DSN again: %v", err)
	}
	if !undeliverable(t, db, "anna@example.fi") {
		t.Error("the retried DSN did not mark the lead")
	}
}

// Ingesting a folder twice records each report once.
func TestIngestFolderTwice(t *testing.T) {
	db, c := sentTo(t, "anna@example.fi")
	l, _ := db.FindLeadByEmail(context.Background(), "anna@example.fi")
	signer := bounce.NewSigner([]byte("key"), "bounces", "bounces.example.com")
	p := &feedback.Processor{Store: db, ReturnPaths: signer, Policy: store.DefaultBouncePolicy}
	dsn, _ := os.ReadFile("../bounce/testdata/postfix-hard.eml")
	dir := t.TempDir()
	msg := "X-Original-To: " + signer.Address(c, l.ID) + "\r\n" + string(dsn)
	os.WriteFile(filepath.Join(dir, "1.eml"), []byte(msg), 0o600)
	for i, want := range [][2]int{{1, 0}, {0, 1}} {
		sum, err := p.Ingest(context.Background(), dir, feedback.IngestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Recorded != want[0] || sum.Duplicates != want[1] {
			t.Errorf("ingest #%d: %+v; want %d recorded, %d duplicates", i+1, sum, want[0], want[1])
		}
	}
}
