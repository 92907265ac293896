package mailer_test

import (
	"bytes"
	"flag"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestGolden keeps the exact bytes of typical messages in testdata: a change in the wire
// format shows up in review. Refresh with go test ./mailer -run Golden -update.
func TestGolden(t *testing.T) {
	plain := testMessage("c7.l1@example.com")
	plain.HTML = ""
	htmlOnly := testMessage("c7.l2@example.com")
	htmlOnly.Text, htmlOnly.ReplyTo, htmlOnly.Language, htmlOnly.ListUnsubscribeURL = "", "", "", ""
	for name, m := range map[string]*mailer.Message{
		"alternative": testMessage("c7.l0@example.com"),
		"text":        plain,
		"html":        htmlOnly,
	} {
		t.Run(name, func(t *testing.T) {
			got, err := mailer.AppendMessage(nil, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			parse(t, got)
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("message differs from %s (run with -update if the change is meant):\n%s", path, got)
			}
		})
	}
}

// TestHeaderValues shows that names and subjects arrive as written, whatever they hold,
// and that CR or LF in them never adds a header.
func TestHeaderValues(t *testing.T) {
	long := strings.Repeat("Erittäin pitkä otsikko, jossa on ääkkösiä ja paljon sanoja ", 8)
	longASCII := strings.Repeat("A rather long subject line that needs folding ", 10)
	tests := []struct {
		name              string
		toName, subject   string
		wantTo, wantSubj  string // decoded; "" means same as given
		wantNoHeaderNamed string
	}{
		{name: "ascii", toName: "John Smith", subject: "Hello"},
		{name: "utf-8", toName: "Jyrki Äänekoski", subject: "Hyvää päivää – €5 alennus 🎉"},
		{name: "specials in name", toName: `Smith, John "Jr." (CEO) <boss>`, subject: "a=?b?c ?= d"},
		{name: "long utf-8", toName: strings.Repeat("Ää", 60), subject: long},
		{name: "long ascii", toName: strings.Repeat("x", 200), subject: longASCII},
		{name: "CRLF in name", toName: "Eve\r\nBcc: victim@example.net", subject: "hi",
			wantTo: "Eve  Bcc: victim@example.net", wantNoHeaderNamed: "Bcc"},
		{name: "LF in subject", toName: "Eve", subject: "hi\nX-Injected: yes",
			wantSubj: "hi X-Injected: yes", wantNoHeaderNamed: "X-Injected"},
		{name: "CR in utf-8 subject", toName: "Ève\rX-A: 1", subject: "Ünïcode\r\nX-Injected: yes",
			wantTo: "Ève X-A: 1", wantSubj: "Ünïcode  X-Injected: yes", wantNoHeaderNamed: "X-Injected"},
		{name: "invalid utf-8", toName: "bad \xff name", subject: "bad \xc3 subject",
			wantTo: "bad \uFFFD name", wantSubj: "bad \uFFFD subject"},
		{name: "empty name", toName: "", subject: "x"},
		{name: "spaces only", toName: "   ", subject: "  padded  ", wantTo: "", wantSubj: "padded"},
	}
	dec := new(mime.WordDecoder)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage("c1.l1@example.com")
			m.ToName, m.Subject = tt.toName, tt.subject
			raw, err := mailer.AppendMessage(nil, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := parse(t, raw)
			wantTo, wantSubj := tt.wantTo, tt.wantSubj
			if wantTo == "" && tt.name != "spaces only" {
				wantTo = tt.toName
			}
			if wantSubj == "" {
				wantSubj = strings.TrimSpace(tt.subject)
			}
			to, err := p.header.AddressList("To")
			if err != nil || len(to) != 1 {
				t.Fatalf("To %q does not parse as one address: %v", p.header.Get("To"), err)
			}
			if to[0].Name != wantTo || to[0].Address != m.To {
				t.Errorf("To = %q <%s>, want %q <%s>", to[0].Name, to[0].Address, wantTo, m.To)
			}
			subj, err := dec.DecodeHeader(p.header.Get("Subject"))
			if err != nil || subj != wantSubj {
				t.Errorf("Subject = %q (%v), want %q", subj, err, wantSubj)
			}
			if tt.wantNoHeaderNamed != "" && p.header.Get(tt.wantNoHeaderNamed) != "" {
				t.Errorf("a %s header was injected:\n%s", tt.wantNoHeaderNamed, raw)
			}
			for i, line := range bytes.Split(raw[:bytes.Index(raw, []byte("\r\n\r\n"))], []byte("\r\n")) {
				if len(line) > 80 {
					t.Errorf("header line %d is %d long: %q", i+1, len(line), line)
				}
			}
		})
	}
}

// TestInvalidMessages shows the checks on values that cannot be repaired by encoding:
// each is refused with EINVALID and a message naming the field.
func TestInvalidMessages(t *testing.T) {
	tests := []struct {
		name   string
		change func(*mailer.Message)
		want   string // in the error text
	}{
		{"bad from", func(m *mailer.Message) { m.From = "not an address" }, "From"},
		{"from with CRLF", func(m *mailer.Message) { m.From = "a@example.com\r\nBcc: x@example.net" }, "From"},
		{"bad reply-to", func(m *mailer.Message) { m.ReplyTo = "nope" }, "Reply-To"},
		{"to with CRLF", func(m *mailer.Message) { m.To = "a@example.com\r\nBcc: x@example.net" }, "recipient"},
		{"to with brackets", func(m *mailer.Message) { m.To = "a@example.com>, <b@example.net" }, "recipient"},
		{"to without domain", func(m *mailer.Message) { m.To = "a@" }, "recipient"},
		{"to with two @", func(m *mailer.Message) { m.To = "a@b@example.com" }, "recipient"},
		{"no message-id", func(m *mailer.Message) { m.MessageID = "" }, "Message-ID"},
		{"message-id with brackets", func(m *mailer.Message) { m.MessageID = "<a@example.com>" }, "Message-ID"},
		{"message-id with CRLF", func(m *mailer.Message) { m.MessageID = "a@example.com\r\nX: y" }, "Message-ID"},
		{"http unsubscribe", func(m *mailer.Message) { m.ListUnsubscribeURL = "http://example.com/u/1" }, "https"},
		{"unsubscribe with CRLF", func(m *mailer.Message) { m.ListUnsubscribeURL = "https://example.com/u\r\nX: y" }, "List-Unsubscribe"},
		{"unsubscribe with >", func(m *mailer.Message) { m.ListUnsubscribeURL = "https://example.com/u>, <mailto:x@example.net" }, "List-Unsubscribe"},
		{"bad language", func(m *mailer.Message) { m.Language = "fi\r\nX: y" }, "language"},
		{"no date", func(m *mailer.Message) { m.Date = time.Time{} }, "Date"},
		{"no body", func(m *mailer.Message) { m.HTML, m.Text = "", "" }, "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testMessage("c1.l1@example.com")
			tt.change(m)
			_, err := mailer.AppendMessage(nil, m, nil)
			if leadmailer.ErrorCode(err) != leadmailer.EINVALID {
				t.Fatalf("got %v (code %q), want an EINVALID error", err, leadmailer.ErrorCode(err))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name %q", err, tt.want)
			}
		})
	}
}
