package mailer_test

import (
	"bytes"
	"flag"
	"io"
	"mime"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"slices"
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
		{"http unsubscribe on a look-alike host", func(m *mailer.Message) { m.ListUnsubscribeURL = "http://localhost.example.com/u/1" }, "https"},
		{"http unsubscribe on a look-alike address", func(m *mailer.Message) { m.ListUnsubscribeURL = "http://127.0.0.1.example.com/u/1" }, "https"},
		{"http unsubscribe with a loopback user name", func(m *mailer.Message) { m.ListUnsubscribeURL = "http://127.0.0.1:80@example.com/u/1" }, "https"},
		{"http unsubscribe with a localhost user name", func(m *mailer.Message) { m.ListUnsubscribeURL = "http://localhost:8080@example.com/u/1" }, "https"},
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

// FuzzHeaderValues builds messages with arbitrary names and subjects: the message must
// parse, hold exactly the headers the builder writes (no value can add one), keep lines
// short, and give back the name and subject with control characters turned to spaces.
func FuzzHeaderValues(f *testing.F) {
	for _, s := range [][2]string{
		{"Maija Virtanen", "Hei"},
		{"Eve\r\nBcc: x@example.net", "a\nX-Injected: 1"},
		{`"quoted" \ name`, "=?utf-8?q?not_really?="},
		{strings.Repeat("Ä", 100), strings.Repeat("word ", 300)},
		{"\xff\xfe", "\x00\x1b[31m"},
	} {
		f.Add(s[0], s[1])
	}
	wantKeys := []string{"Content-Language", "Content-Type", "Date", "From", "List-Unsubscribe",
		"List-Unsubscribe-Post", "Message-Id", "Mime-Version", "Reply-To", "Return-Path", "Subject", "To"}
	dec := new(mime.WordDecoder)
	f.Fuzz(func(t *testing.T, name, subject string) {
		m := testMessage("c1.l1@example.com")
		m.ToName, m.Subject = name, subject
		raw, err := mailer.AppendMessage(nil, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		head := raw[:bytes.Index(raw, []byte("\r\n\r\n"))+2]
		for _, line := range bytes.SplitAfter(head, []byte("\r\n")) {
			body := bytes.TrimSuffix(line, []byte("\r\n"))
			if bytes.ContainsAny(body, "\r\n") || len(body) > 80 {
				t.Fatalf("bad header line %q", line)
			}
		}
		p := parse(t, raw)
		var keys []string
		for k := range p.header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, wantKeys) {
			t.Fatalf("headers %v, want %v", keys, wantKeys)
		}
		to, err := p.header.AddressList("To")
		if err != nil || len(to) != 1 || to[0].Address != m.To {
			t.Fatalf("To %q: %v %v", p.header.Get("To"), to, err)
		}
		if want := clean(name); to[0].Name != want {
			t.Errorf("name %q, want %q", to[0].Name, want)
		}
		subj, err := dec.DecodeHeader(p.header.Get("Subject"))
		if want := clean(subject); err != nil || subj != want {
			t.Errorf("subject %q (%v), want %q", subj, err, want)
		}
	})
}

// clean is what a header value becomes: controls are spaces, invalid UTF-8 is U+FFFD,
// and readers drop the spaces around it.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return ' '
		}
		return r
	}, s)
	return strings.Trim(s, " ")
}

// FuzzBody checks the quoted-printable bodies: decoding gives back the text with every
// line break as CRLF, and no line is longer than 76.
func FuzzBody(f *testing.F) {
	for _, s := range []string{"Hei,\n\nTämä on viesti.\n", "trailing space \nand tab\t\r\n", ".\nFrom here\n",
		strings.Repeat("x", 200), strings.Repeat("= ", 100), "a\rb\r\n\n\r", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m := testMessage("c1.l1@example.com")
		m.HTML, m.Text = "", body
		if body == "" {
			m.Text = " "
		}
		raw, err := mailer.AppendMessage(nil, m, nil)
		if err != nil {
			t.Fatal(err)
		}
		enc := raw[bytes.Index(raw, []byte("\r\n\r\n"))+4:]
		for _, line := range bytes.Split(enc, []byte("\r\n")) {
			if len(line) > 76 || bytes.ContainsAny(line, "\r\n") {
				t.Fatalf("bad body line %q", line)
			}
			if n := len(line); n > 0 && (line[n-1] == ' ' || line[n-1] == '\t') {
				t.Fatalf("line ends with whitespace: %q", line)
			}
			if bytes.HasPrefix(line, []byte(".")) || bytes.HasPrefix(line, []byte("From ")) {
				t.Fatalf("line starts with %q", line)
			}
		}
		got, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(enc)))
		if err != nil {
			t.Fatal(err)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n")
		if string(got) != want+"\r\n" { // the builder ends the message with CRLF
			t.Errorf("decoded %q, want %q", got, want)
		}
	})
}

// TestLoopbackUnsubscribeURL: a public_url on this machine, which the configuration allows
// for a trial, gives messages that can be built; it must not make every message fail.
func TestLoopbackUnsubscribeURL(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080/u/1", "http://localhost/u/1", "http://[::1]:8080/u/1", "HTTP://LOCALHOST:8080/u/1"} {
		m := testMessage("c1.l1@example.com")
		m.ListUnsubscribeURL = u
		b, err := mailer.AppendMessage(nil, m, nil)
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		if !strings.Contains(string(b), "<"+u+">") {
			t.Errorf("%s: not in the List-Unsubscribe header", u)
		}
	}
}
