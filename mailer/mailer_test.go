package mailer_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// testMessage returns a typical personalised message; id makes the Message-ID.
func testMessage(id string) *mailer.Message {
	return &mailer.Message{
		From:               "Focus Marketing <marketing@example.com>",
		ReplyTo:            "sales@example.com",
		To:                 "maija.virtanen@example.fi",
		ToName:             "Maija Virtanen",
		Subject:            "Tarjous: uusi palvelu yrityksellesi",
		Text:               "Hei Maija,\n\nTämä on viesti.\n",
		HTML:               "<p>Hei Maija,</p>\n<p>Tämä on viesti.</p>\n",
		MessageID:          id,
		Date:               time.Date(2026, 12, 1, 8, 30, 0, 0, time.UTC),
		ListUnsubscribeURL: "https://mail.example.com/u/AbC-123_xyz",
		Language:           "fi",
	}
}

// parsed is a message read back with net/mail and mime/multipart.
type parsed struct {
	header     mail.Header
	text, html string
	partTypes  []string
}

func parse(t *testing.T, raw []byte) parsed {
	t.Helper()
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d bytes long", i+1, len(line))
		}
		if bytes.IndexByte(line, '\n') >= 0 {
			t.Errorf("line %d has a bare LF: %q", i+1, line)
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	p := parsed{header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	readPart := func(ctype, cte string, body io.Reader) {
		if cte != "quoted-printable" {
			t.Errorf("part %s has Content-Transfer-Encoding %q, want quoted-printable", ctype, cte)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(body))
		if err != nil {
			t.Fatalf("part %s: %v", ctype, err)
		}
		pt, _, _ := mime.ParseMediaType(ctype)
		p.partTypes = append(p.partTypes, pt)
		switch pt {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	if mt != "multipart/alternative" {
		readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		readPart(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part)
	}
	return p
}

func TestAppendMessageHeaders(t *testing.T) {
	raw, err := mailer.AppendMessage(nil, testMessage("c1.l42@example.com"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := parse(t, raw)
	dec := new(mime.WordDecoder)
	for name, want := range map[string]string{
		"From":                  `"Focus Marketing" <marketing@example.com>`,
		"Reply-To":              "<sales@example.com>",
		"To":                    `"Maija Virtanen" <maija.virtanen@example.fi>`,
		"Subject":               "Tarjous: uusi palvelu yrityksellesi",
		"Message-Id":            "<c1.l42@example.com>",
		"Date":                  "Tue, 01 Dec 2026 08:30:00 +0000",
		"Mime-Version":          "1.0",
		"Content-Language":      "fi",
		"List-Unsubscribe":      "<https://mail.example.com/u/AbC-123_xyz>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	} {
		got := p.header.Get(name)
		switch name {
		case "From", "To", "Reply-To":
			a, err := p.header.AddressList(name)
			if err != nil || len(a) != 1 {
				t.Errorf("%s: %q does not parse as one address: %v", name, got, err)
				continue
			}
			got = a[0].String()
		case "Subject":
			got, _ = dec.DecodeHeader(got)
		}
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if want := []string{"text/plain", "text/html"}; strings.Join(p.partTypes, ",") != strings.Join(want, ",") {
		t.Errorf("parts %v, want %v (text first)", p.partTypes, want)
	}
	if want := "Hei Maija,\r\n\r\nTämä on viesti.\r\n"; p.text != want {
		t.Errorf("text part %q, want %q", p.text, want)
	}
	if want := "<p>Hei Maija,</p>\r\n<p>Tämä on viesti.</p>\r\n"; p.html != want {
		t.Errorf("html part %q, want %q", p.html, want)
	}
	again, _ := mailer.AppendMessage(nil, testMessage("c1.l42@example.com"), nil)
	if !bytes.Equal(raw, again) {
		t.Error("building the same message twice gave different bytes")
	}
}

func TestSendSMTP(t *testing.T) {
	srv := smtptest.New(t)
	tr, err := mailer.Open(srv.URL(), mailer.Options{Concurrency: 2, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, id := range []string{"a@example.com", "b@example.com", "a@example.com"} {
		reply, err := tr.Send(context.Background(), testMessage(id))
		if err != nil {
			t.Fatalf("send %s: %v", id, err)
		}
		if !strings.Contains(reply, "OK") {
			t.Errorf("reply %q", reply)
		}
	}
	if got := srv.CountMessageID("a@example.com"); got != 2 {
		t.Errorf("a@example.com received %d times, want 2", got)
	}
	msgs := srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("server has %d messages, want 3", len(msgs))
	}
	if msgs[0].From != "marketing@example.com" || len(msgs[0].To) != 1 || msgs[0].To[0] != "maija.virtanen@example.fi" {
		t.Errorf("envelope %q -> %q", msgs[0].From, msgs[0].To)
	}
	parse(t, msgs[0].Data)
	if _, _, total := srv.Conns(); total != 1 {
		t.Errorf("%d connections for 3 sequential messages, want 1 reused", total)
	}
}

func TestOutbox(t *testing.T) {
	dir := t.TempDir()
	tr, err := mailer.Open("outbox://"+dir, mailer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage("c1.l42@example.com")
	for range 2 {
		if _, err := tr.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 || filepath.Base(files[0]) != "c1.l42@example.com.eml" {
		t.Fatalf("outbox holds %v, want one c1.l42@example.com.eml", files)
	}
	raw, _ := os.ReadFile(files[0])
	p := parse(t, raw)
	if got := p.header.Get("Message-Id"); got != "<c1.l42@example.com>" {
		t.Errorf("Message-Id %q", got)
	}
}
