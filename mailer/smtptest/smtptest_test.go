package smtptest_test

import (
	"errors"
	"net/smtp"
	"net/textproto"
	"testing"

	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

const msg = "Message-ID: <m1@example.com>\r\nSubject: hi\r\n\r\nbody\r\n"

// send sends msg to rcpt with the standard library's client and returns the SMTP code of
// a refusal, or 0.
func send(t *testing.T, srv *smtptest.Server, rcpt string) int {
	t.Helper()
	err := smtp.SendMail(srv.Addr, nil, "from@example.com", []string{rcpt}, []byte(msg))
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		return tpe.Code
	}
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return 0
}

func TestRecordsAndFaults(t *testing.T) {
	srv := smtptest.New(t)
	once := smtptest.TempFail
	once.Times = 2
	srv.FailRecipient("flaky@example.com", once)
	srv.FailRecipient("gone@example.com", smtptest.UserUnknown)
	srv.FailMessage(6, smtptest.Reject)

	steps := []struct {
		rcpt string
		code int
	}{
		{"a@example.com", 0},       // DATA 1
		{"flaky@example.com", 451}, // refused at RCPT: no DATA
		{"flaky@example.com", 451},
		{"flaky@example.com", 0}, // DATA 2: the fault was for two messages
		{"gone@example.com", 550},
		{"gone@example.com", 550}, // Times 0: always
		{"b@example.com", 0},      // DATA 3
		{"c@example.com", 0},      // DATA 4
		{"d@example.com", 0},      // DATA 5
		{"e@example.com", 554},    // DATA 6
	}
	for i, s := range steps {
		if got := send(t, srv, s.rcpt); got != s.code {
			t.Errorf("step %d to %s: code %d, want %d", i+1, s.rcpt, got, s.code)
		}
	}
	if got := srv.Count(); got != 5 {
		t.Errorf("Count() = %d, want 5", got)
	}
	if got := srv.CountMessageID("m1@example.com"); got != 5 {
		t.Errorf("CountMessageID = %d, want 5", got)
	}
	if got := srv.CountRecipient("FLAKY@example.com"); got != 1 {
		t.Errorf("CountRecipient(flaky) = %d, want 1", got)
	}
	if got := srv.CountRecipient("gone@example.com"); got != 0 {
		t.Errorf("CountRecipient(gone) = %d, want 0", got)
	}
	m := srv.Messages()[0]
	if m.From != "from@example.com" || len(m.To) != 1 || m.To[0] != "a@example.com" || string(m.Data) != msg || m.TLS || m.Dropped {
		t.Errorf("first message recorded as %+v", m)
	}
	if _, peak, total := srv.Conns(); total != len(steps) || peak < 1 {
		t.Errorf("Conns: peak %d total %d, want total %d", peak, total, len(steps))
	}
}

func TestDrop(t *testing.T) {
	srv := smtptest.New(t)
	srv.FailMessage(1, smtptest.Drop)
	err := smtp.SendMail(srv.Addr, nil, "from@example.com", []string{"a@example.com"}, []byte(msg))
	var tpe *textproto.Error
	if err == nil || errors.As(err, &tpe) {
		t.Fatalf("dropped connection: %v, want a network error without a reply", err)
	}
	if m := srv.Messages(); len(m) != 1 || !m[0].Dropped {
		t.Errorf("dropped message recorded as %+v, want one with Dropped set", m)
	}
}

func TestWithoutPipelining(t *testing.T) {
	for _, opts := range [][]smtptest.Option{nil, {smtptest.WithoutPipelining()}} {
		srv := smtptest.New(t, opts...)
		c, err := smtp.Dial(srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Hello("localhost"); err != nil {
			t.Fatal(err)
		}
		got, _ := c.Extension("PIPELINING")
		if want := opts == nil; got != want {
			t.Errorf("options %d: PIPELINING offered: %v, want %v", len(opts), got, want)
		}
		if ok, _ := c.Extension("8BITMIME"); !ok {
			t.Errorf("options %d: 8BITMIME is missing: the EHLO reply was damaged", len(opts))
		}
		c.Quit()
	}
}
