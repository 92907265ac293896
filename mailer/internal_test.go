package mailer

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// BenchmarkBuild measures building a message as a transport does: with the From address
// cache and a reused buffer. Compare BenchmarkAppendMessage (no cache) and
// BenchmarkGoMailMsg (go-mail's Msg).
func BenchmarkBuild(b *testing.B) {
	m := &Message{
		From:               "Focus Marketing <marketing@example.com>",
		ReplyTo:            "sales@example.com",
		To:                 "lead1@example.net",
		ToName:             "Jyrki Äänekoski",
		Subject:            "Tarjous: uusi palvelu yrityksellesi",
		Text:               strings.Repeat("Tässä on kappale tekstiä, joka kertoo palvelustamme.\n", 19),
		HTML:               "<html><body>" + strings.Repeat("<p>Tässä on kappale tekstiä, joka kertoo palvelustamme ja sen hyödyistä yrityksellenne.</p>\n", 25) + "</body></html>",
		MessageID:          "c1.l1@example.com",
		Date:               time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC),
		ListUnsubscribeURL: "https://mail.example.com/u/AbC-123_xyz",
		Language:           "fi",
	}
	var cache addrCache
	b.ReportAllocs()
	for b.Loop() {
		buf := getBuf()
		out, _, err := appendMessage(*buf, m, nil, &cache)
		if err != nil {
			b.Fatal(err)
		}
		*buf = out
		putBuf(buf)
	}
}

func TestFileName(t *testing.T) {
	tests := map[string]string{
		"c1.l42@example.com": "c1.l42@example.com.eml",
		"../../etc/passwd@x": "%2E.%2F..%2Fetc%2Fpasswd@x.eml",
		"a/b@x":              "a%2Fb@x.eml",
		"a%2Fb@x":            "a%252Fb@x.eml",
		".hidden@x":          "%2Ehidden@x.eml",
	}
	for id, want := range tests {
		if got := fileName(id); got != want {
			t.Errorf("fileName(%q) = %q, want %q", id, got, want)
		}
	}
}

// BenchmarkBuildDKIM measures building and signing with RSA-2048 and Ed25519 keys.
func BenchmarkBuildDKIM(b *testing.B) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for name, key := range map[string]crypto.Signer{"rsa2048": rsaKey, "ed25519": edKey} {
		b.Run(name, func(b *testing.B) {
			m := &Message{From: "marketing@example.com", To: "lead@example.net", Subject: "Hei",
				Text: strings.Repeat("Tässä on kappale tekstiä.\n", 40), HTML: strings.Repeat("<p>Tässä on kappale tekstiä.</p>\n", 70),
				MessageID: "c1.l1@example.com", Date: time.Now(), ListUnsubscribeURL: "https://example.com/u/x"}
			d := &DKIM{Domain: "example.com", Selector: "s", PrivateKey: key}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := appendMessage(nil, m, d, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWriteData checks both ways of writing message data: as it is for a built message,
// and dot-stuffed for anything else. The server must receive exactly what was given,
// with line ends made CRLF.
func TestWriteData(t *testing.T) {
	tests := []struct {
		name      string
		msg, want string
	}{
		{"built", "Subject: x\r\n\r\nbody\r\n=2Edot\r\n", "Subject: x\r\n\r\nbody\r\n=2Edot\r\n"},
		{"leading dot", "Subject: x\r\n\r\n.dot\r\n..two\r\n.\r\n", "Subject: x\r\n\r\n.dot\r\n..two\r\n.\r\n"},
		{"bare LF", "Subject: x\n\nline\n", "Subject: x\r\n\r\nline\r\n"},
		{"no final CRLF", "Subject: x\r\n\r\nline", "Subject: x\r\n\r\nline\r\n"},
	}
	for _, pipelining := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/pipelining=%v", tt.name, pipelining), func(t *testing.T) {
				var opts []smtptest.Option
				if !pipelining {
					opts = append(opts, smtptest.WithoutPipelining())
				}
				srv := smtptest.New(t, opts...)
				cfg, err := parseSMTPURL(srv.URL())
				if err != nil {
					t.Fatal(err)
				}
				tr, err := newSMTP(cfg, Options{Concurrency: 1, Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				cn, err := tr.connect(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				defer cn.close(true)
				if cn.pipelining != pipelining {
					t.Fatalf("connection pipelining %v, want %v", cn.pipelining, pipelining)
				}
				env := envelope{from: "a@example.com", to: "b@example.com"}
				st := &step{raw: cn.raw, to: &tr.timeouts}
				if pipelining {
					_, _, err = transactPipelined(cn, st, []byte(tt.msg), env)
				} else {
					_, _, err = transact(cn.c, st, []byte(tt.msg), env)
				}
				if err != nil {
					t.Fatal(err)
				}
				got := srv.Messages()
				if len(got) != 1 {
					t.Fatalf("server received %d messages, want 1", len(got))
				}
				if string(got[0].Data) != tt.want {
					t.Errorf("server received %q, want %q", got[0].Data, tt.want)
				}
			})
		}
	}
}
