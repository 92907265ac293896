package bounce

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func readWebhook(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type wantReport struct {
	kind      Kind
	id        string
	address   string // first recipient, or OriginalTo for a complaint
	status    string
	messageID string
}

func checkReports(t *testing.T, got []Report, want []wantReport) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d reports %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		addr, status := g.OriginalTo, ""
		if len(g.Recipients) > 0 {
			addr, status = g.Recipients[0].Address, g.Recipients[0].Status
		}
		if g.Kind != w.kind || g.ID != w.id || addr != w.address || status != w.status || g.OriginalMessageID != w.messageID {
			t.Errorf("report %d = {%s %s %s %s %s}, want %+v", i, g.Kind, g.ID, addr, status, g.OriginalMessageID, w)
		}
	}
}

func TestParseSES(t *testing.T) {
	tests := []struct {
		file string
		want wantReport
	}{
		{"ses-bounce.json", wantReport{Hard, "ses:0102017f1f4e1e1a-5c7a1b1e-2f1d-4c6e-9d5a-8f1e2d3c4b5a-000000", "anna.virtanen@example.fi", "5.1.1", "20261206.1.7@leadmailer.example"}},
		// SES calls a full mailbox Transient: counted as soft whatever the status says.
		{"ses-transient.json", wantReport{Soft, "ses:0102017f-transient-000000", "jan.kowalski@example.pl", "4.0.0", ""}},
		{"ses-complaint.json", wantReport{Complaint, "ses:0102017f-complaint-000000", "kim.lee@hotmail.example", "", "20261206.1.23@leadmailer.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			reps, err := ParseSES(readWebhook(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			checkReports(t, reps, []wantReport{tt.want})
			if reps[0].OriginalReturnPath != "bounces+aebaacq2nuwsg5xuq6qq@bounce.leadmailer.example" {
				t.Errorf("return path = %q", reps[0].OriginalReturnPath)
			}
		})
	}
}

func TestParseSendGrid(t *testing.T) {
	reps, err := ParseSendGrid(readWebhook(t, "sendgrid-events.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkReports(t, reps, []wantReport{
		{Hard, "sendgrid:Ymx1ZS1ib3VuY2UtMQ", "lisa.berg@gmail.com", "5.1.1", "20261206.1.13@leadmailer.example"},
		// A block refuses the message, not the address: soft.
		{Soft, "sendgrid:Ymx1ZS1ibG9ja2VkLTE", "tom.baker@example.com", "4.0.0", "20261206.1.27@leadmailer.example"},
		{Soft, "sendgrid:ZGVmZXJyZWQtMQ", "eva.novak@example.cz", "4.7.0", "20261206.1.29@leadmailer.example"},
		{Complaint, "sendgrid:c3BhbXJlcG9ydC0x", "kim.lee@hotmail.example", "", "20261206.1.23@leadmailer.example"},
		{Other, "sendgrid:ZGVsaXZlcmVkLTE", "", "", "20261206.1.31@leadmailer.example"},
		{Hard, "sendgrid:ZHJvcHBlZC0x", "old@example.org", "5.1.1", ""},
	})
}

func TestVerifySendGrid(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := base64.StdEncoding.EncodeToString(der)
	body := readWebhook(t, "sendgrid-events.json")
	now := time.Unix(1796552100, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sign := func(ts string, body []byte) string {
		h := sha256.Sum256(append([]byte(ts), body...))
		sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(sig)
	}
	good := sign(ts, body)
	if err := VerifySendGrid(pub, good, ts, body, now); err != nil {
		t.Fatalf("genuine request refused: %v", err)
	}
	altered := append([]byte{}, body...)
	altered[10] ^= 1
	old := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	for name, c := range map[string]struct {
		sig, ts string
		body    []byte
	}{
		"altered body":   {good, ts, altered},
		"other time":     {good, strconv.FormatInt(now.Unix()-1, 10), body},
		"replayed later": {sign(old, body), old, body},
		"no signature":   {"", ts, body},
	} {
		if err := VerifySendGrid(pub, c.sig, c.ts, c.body, now); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
}

func TestParsePostmark(t *testing.T) {
	for _, tt := range []struct {
		file string
		want wantReport
	}{
		{"postmark-bounce.json", wantReport{Hard, "postmark:4323372036854775807", "hans.meier@contoso.de", "5.1.1", "20261206.1.11@leadmailer.example"}},
		{"postmark-spam.json", wantReport{Complaint, "postmark:42", "kim.lee@hotmail.example", "", ""}},
	} {
		reps, err := ParsePostmark(readWebhook(t, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		checkReports(t, reps, []wantReport{tt.want})
	}
}

func TestParseMailgun(t *testing.T) {
	const key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
	now := time.Unix(1796552100, 0)
	body := func(ts int64, k string) []byte {
		m := hmac.New(sha256.New, []byte(k))
		m.Write([]byte(strconv.FormatInt(ts, 10) + "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"))
		b := strings.Replace(string(readWebhook(t, "mailgun-failed.json")), "TIMESTAMP", strconv.FormatInt(ts, 10), 1)
		return []byte(strings.Replace(b, "SIGNATURE", hex.EncodeToString(m.Sum(nil)), 1))
	}
	reps, err := ParseMailgun(body(now.Unix(), key), key, now)
	if err != nil {
		t.Fatal(err)
	}
	checkReports(t, reps, []wantReport{{Hard, "mailgun:G9Bn5sl1TC6nu79C8C0bwg", "george.smith@example.co.uk", "5.1.1", "20261206.1.19@leadmailer.example"}})

	if _, err := ParseMailgun(body(now.Unix(), "another key"), key, now); !errors.Is(err, ErrSignature) {
		t.Errorf("wrong key: err = %v, want ErrSignature", err)
	}
	if _, err := ParseMailgun(body(now.Add(-time.Hour).Unix(), key), key, now); !errors.Is(err, ErrSignature) {
		t.Errorf("replayed an hour later: err = %v, want ErrSignature", err)
	}
}

// snsFixture serves a signing certificate over HTTPS, as SNS does, and signs messages with
// its key.
type snsFixture struct {
	key     *rsa.PrivateKey
	certURL string
	v       *SNSVerifier
}

func newSNSFixture(t *testing.T) *snsFixture {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(pemBytes)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return &snsFixture{key: key, certURL: srv.URL + "/SimpleNotificationService-test.pem", v: &SNSVerifier{
		Client:    srv.Client(),
		AllowHost: func(h string) bool { return h == u.Hostname() },
		TopicARNs: []string{"arn:aws:sns:eu-west-1:123456789012:ses-bounces"},
	}}
}

func (f *snsFixture) sign(t *testing.T, m *SNSMessage) {
	t.Helper()
	m.SignatureVersion, m.SigningCertURL = "2", f.certURL
	s := "Message\n" + m.Message + "\nMessageId\n" + m.MessageID + "\nTimestamp\n" + m.Timestamp + "\nTopicArn\n" + m.TopicArn + "\nType\n" + m.Type + "\n"
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
}

func TestSNSVerify(t *testing.T) {
	f := newSNSFixture(t)
	ctx := context.Background()
	m := &SNSMessage{Type: "Notification", MessageID: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
		TopicArn: "arn:aws:sns:eu-west-1:123456789012:ses-bounces", Message: string(readWebhook(t, "ses-bounce.json")),
		Timestamp: "2026-12-06T10:12:04.000Z"}
	f.sign(t, m)
	// Through JSON as it arrives.
	raw, _ := json.Marshal(m)
	got, err := ParseSNS(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.v.Verify(ctx, got); err != nil {
		t.Fatalf("genuine notification refused: %v", err)
	}
	reps, err := ParseSES([]byte(got.Message))
	if err != nil || len(reps) != 1 || reps[0].Kind != Hard {
		t.Fatalf("notification's message = %+v, %v", reps, err)
	}

	forged := *got
	forged.Message = strings.Replace(forged.Message, "anna.virtanen", "someone.else", 1)
	otherTopic := *got
	otherTopic.TopicArn = "arn:aws:sns:eu-west-1:999999999999:attacker"
	otherCert := *got
	otherCert.SigningCertURL = "https://attacker.example/cert.pem"
	for name, m := range map[string]*SNSMessage{"altered message": &forged, "other topic": &otherTopic, "certificate elsewhere": &otherCert} {
		if err := f.v.Verify(ctx, m); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
	// The real verifier accepts only SNS hosts for certificates and subscription links.
	real := &SNSVerifier{}
	for _, u := range []string{"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription", "https://sns.cn-north-1.amazonaws.com.cn/x"} {
		if err := real.CheckURL(u); err != nil {
			t.Errorf("CheckURL(%q) = %v", u, err)
		}
	}
	for _, u := range []string{"http://sns.eu-west-1.amazonaws.com/x", "https://sns.eu-west-1.amazonaws.com.attacker.example/x", "https://attacker.example/sns.eu-west-1.amazonaws.com"} {
		if err := real.CheckURL(u); err == nil {
			t.Errorf("CheckURL(%q) accepted", u)
		}
	}
}

func FuzzWebhooks(f *testing.F) {
	for _, name := range []string{"ses-bounce.json", "ses-complaint.json", "sendgrid-events.json", "postmark-bounce.json", "mailgun-failed.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "webhooks", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, parse := range []func([]byte) ([]Report, error){ParseSES, ParseSendGrid, ParsePostmark} {
			reps, err := parse(body)
			if err != nil {
				continue
			}
			for _, r := range reps {
				if (r.Kind == Hard || r.Kind == Soft) && len(r.Recipients) == 0 {
					t.Fatalf("%s report without recipients: %+v", r.Kind, r)
				}
			}
		}
		if _, err := ParseMailgun(body, "key", time.Now()); err == nil {
			t.Fatalf("unsigned Mailgun body accepted")
		}
	})
}
