package bounce

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCorpus(t *testing.T) {
	tests := []struct {
		file       string
		kind       Kind
		format     string
		recipients []Recipient // Diagnostic is checked for containing the given text
		messageID  string
		feedback   string
	}{
		{"postfix-hard.eml", Hard, "dsn", []Recipient{{Address: "anna.virtanen@example.fi", Action: "failed", Status: "5.1.1", Diagnostic: "User unknown in virtual mailbox table"}}, "20261206.1.7@leadmailer.example", ""},
		{"postfix-delayed.eml", Soft, "dsn", []Recipient{{Address: "jan.kowalski@example.pl", Action: "delayed", Status: "4.4.1", Diagnostic: "Connection timed out"}}, "20261206.1.9@leadmailer.example", ""},
		{"o365-dsn.eml", Hard, "dsn", []Recipient{{Address: "hans.meier@contoso.de", Action: "failed", Status: "5.1.10", Diagnostic: "RecipientNotFound"}}, "20261206.1.11@leadmailer.example", ""},
		{"gmail-dsn.eml", Hard, "dsn", []Recipient{{Address: "lisa.berg@gmail.com", Action: "failed", Status: "5.1.1", Diagnostic: "does not exist"}}, "20261206.1.13@leadmailer.example", ""},
		// Gmail's text-only form, marked auto-replied as Gmail marks it: a bounce, not an auto-reply.
		{"gmail-text.eml", Hard, "text:gmail", []Recipient{{Address: "mikko.laine@example.fi", Action: "failed", Status: "5.1.1", Diagnostic: "User unknown in local recipient table"}}, "20261206.1.33@leadmailer.example", ""},
		{"dsn-base64.eml", Hard, "dsn", []Recipient{{Address: "taro.yamada@example.jp", Action: "failed", Status: "5.2.2", Diagnostic: "Mailbox full"}}, "", ""},
		{"dsn-relayed.eml", Other, "dsn", nil, "", ""},
		{"qmail.eml", Hard, "text:qmail", []Recipient{
			{Address: "pekka.nieminen@example.net", Action: "failed", Status: "5.1.1", Diagnostic: "no mailbox here"},
			{Address: "mari.korhonen@example.net", Action: "failed", Status: "5.2.2", Diagnostic: "Mailbox full"},
		}, "20261206.1.15@leadmailer.example", ""},
		{"sendmail.eml", Hard, "text:sendmail", []Recipient{{Address: "olof.svensson@legacy.example.org", Action: "failed", Status: "5.1.1", Diagnostic: "User unknown"}}, "20261206.1.17@leadmailer.example", ""},
		{"exim.eml", Hard, "text:exim", []Recipient{{Address: "george.smith@example.co.uk", Action: "failed", Status: "5.1.1", Diagnostic: "No such user"}}, "20261206.1.19@leadmailer.example", ""},
		{"exchange-legacy.eml", Hard, "text:exchange", []Recipient{{Address: "juergen.mueller@corp.example.com", Action: "failed", Status: "5.1.1", Diagnostic: "RecipNotFound"}}, "20261206.1.21@leadmailer.example", ""},
		{"generic-de.eml", Hard, "text:generic", []Recipient{{Address: "petra.schulz@beispiel.de", Action: "failed", Status: "5.7.1", Diagnostic: "Empfänger abgelehnt"}}, "", ""},
		{"arf-abuse.eml", Complaint, "arf", nil, "20261206.1.23@leadmailer.example", "abuse"},
		{"arf-headers-only.eml", Complaint, "arf", nil, "20261206.1.25@leadmailer.example", "abuse"},
		{"autoreply-rfc3834.eml", AutoReply, "", nil, "", ""},
		{"autoreply-outlook.eml", AutoReply, "", nil, "", ""},
		{"human-reply.eml", Other, "", nil, "", ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, err := Parse(f)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if rep.Kind != tt.kind || rep.Format != tt.format {
				t.Errorf("kind, format = %q, %q; want %q, %q", rep.Kind, rep.Format, tt.kind, tt.format)
			}
			if rep.OriginalMessageID != tt.messageID {
				t.Errorf("original Message-ID = %q, want %q", rep.OriginalMessageID, tt.messageID)
			}
			if rep.FeedbackType != tt.feedback {
				t.Errorf("feedback type = %q, want %q", rep.FeedbackType, tt.feedback)
			}
			if len(rep.Recipients) != len(tt.recipients) {
				t.Fatalf("recipients = %+v, want %+v", rep.Recipients, tt.recipients)
			}
			for i, want := range tt.recipients {
				got := rep.Recipients[i]
				if got.Address != want.Address || got.Action != want.Action || got.Status != want.Status ||
					!strings.Contains(got.Diagnostic, want.Diagnostic) {
					t.Errorf("recipient %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
	// Every sample in testdata has a row, so that a new sample is not silently untested.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("testdata/%s has no expectation in TestParseCorpus", filepath.Base(f))
		}
	}
}

func TestParseARFReturnPath(t *testing.T) {
	f, err := os.Open("testdata/arf-abuse.eml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OriginalReturnPath != "bounces+aebaacq2nuwsg5xuq6qq@bounce.leadmailer.example" || rep.OriginalTo != "kim.lee@hotmail.example" {
		t.Errorf("return path, to = %q, %q", rep.OriginalReturnPath, rep.OriginalTo)
	}
}

// TestParseHostile feeds messages built to cost time or memory: each is refused or read
// within the limits, never followed to its end.
func TestParseHostile(t *testing.T) {
	deep := func(n int) string {
		var b strings.Builder
		b.WriteString("From: MAILER-DAEMON@x.example\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i-1, i)
		}
		return b.String()
	}
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("From: MAILER-DAEMON@x.example\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n")
		for i := 0; i < n; i++ {
			b.WriteString("--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n")
		}
		b.WriteString("--b--\r\n")
		return b.String()
	}
	huge := "From: MAILER-DAEMON@x.example\r\nSubject: Undelivered\r\nContent-Type: text/plain\r\n\r\n" + strings.Repeat("x", 11<<20)
	hugeHeader := "X-Junk: " + strings.Repeat("a", 2<<20) + "\r\n\r\nbody"
	tests := []struct {
		name string
		msg  string
		want error
	}{
		{"nesting", deep(50), errTooComplex},
		{"parts", many(1000), errTooComplex},
		{"header", hugeHeader, nil}, // any error: the header passes go-message's bound
		{"body", huge, nil},         // read up to the part limit, then classified
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Parse(strings.NewReader(tt.msg))
			switch {
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("err = %v, want %v", err, tt.want)
			case tt.name == "header" && err == nil:
				t.Fatalf("a 2 MB header was accepted")
			case tt.name == "body" && (err != nil || rep.Kind != Other):
				t.Fatalf("got %+v, %v; want an Other report", rep, err)
			}
		})
	}
}

func TestParseTooLargeBeforeAnything(t *testing.T) {
	lim := DefaultLimits
	lim.MaxBytes = 1 << 10
	msg := "X-Junk: " + strings.Repeat("a", 4<<10) + "\r\n\r\n"
	if _, err := ParseWithLimits(strings.NewReader(msg), lim); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	lim := Limits{MaxBytes: 1 << 20, MaxParts: 64, MaxDepth: 5, MaxPartBytes: 64 << 10}
	f.Fuzz(func(t *testing.T, msg []byte) {
		rep, err := ParseWithLimits(bytes.NewReader(msg), lim)
		if err != nil {
			return
		}
		switch rep.Kind {
		case Hard, Soft:
			if len(rep.Recipients) == 0 {
				t.Fatalf("%s report with no recipient", rep.Kind)
			}
		case Complaint, AutoReply, Other:
		default:
			t.Fatalf("unknown kind %q", rep.Kind)
		}
		for _, r := range rep.Recipients {
			// A DSN may leave the address out; the return path still names the recipient.
			if r.Address != strings.ToLower(r.Address) || r.Address != "" && !strings.Contains(r.Address, "@") {
				t.Fatalf("recipient address %q", r.Address)
			}
			if len(r.Diagnostic) > 500 {
				t.Fatalf("diagnostic of %d bytes", len(r.Diagnostic))
			}
		}
	})
}

// The reporter is what burst protection groups bounces by, so it must name the reporting
// host, not whoever the message claims in its text.
func TestParseReporter(t *testing.T) {
	tests := []struct{ file, reporter string }{
		{"postfix-hard.eml", "mx.leadmailer.example"},
		{"gmail-dsn.eml", "googlemail.com"},
		{"qmail.eml", "mail.example.net"},
	}
	for _, tt := range tests {
		f, err := os.Open(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Parse(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if rep.Reporter != tt.reporter {
			t.Errorf("%s: reporter = %q, want %q", tt.file, rep.Reporter, tt.reporter)
		}
	}
}
