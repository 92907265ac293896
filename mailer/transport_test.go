package mailer_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

func TestOpenURLs(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		url      string
		want     string // String() of the transport, or a part of the error
		wantErr  bool
		password string // must not appear in String() or the error
	}{
		{url: "smtp://mail.example.com", want: "smtp://mail.example.com:587"},
		{url: "smtp://user:s3cret@mail.example.com:2525", want: "smtp://user@mail.example.com:2525", password: "s3cret"},
		{url: "smtp://u%40x:p%2Fw%3A@mail.example.com?starttls=required", want: "smtp://u%40x@mail.example.com:587?starttls=required", password: "p/w:"},
		{url: "smtp://mail.example.com?starttls=none", want: "smtp://mail.example.com:587?starttls=none"},
		{url: "smtps://user:s3cret@mail.example.com", want: "smtps://user@mail.example.com:465", password: "s3cret"},
		{url: "smtp://[::1]:25", want: "smtp://[::1]:25"},
		{url: "outbox://" + dir, want: "outbox://" + dir},
		{url: "", want: "outbox://" + dir},
		{url: "smtp://user:s3cret@mail.example.com:port", want: "port", wantErr: true, password: "s3cret"},
		{url: "smtp://user:s3cret@mail.example.com:70000", want: "port", wantErr: true, password: "s3cret"},
		{url: "smtp://user:s3c%zzret@mail.example.com", want: "%-escape", wantErr: true, password: "s3c%zzret"},
		{url: "smtp://user:pa ss@mail.example.com", want: "smtp://user:…@mail.example.com", wantErr: true, password: "pa ss"},
		{url: "smtp://user:s3cret@mail.example.com?starttls=maybe", want: "starttls=maybe", wantErr: true, password: "s3cret"},
		{url: "smtp://user:s3cret@mail.example.com?tls=1", want: `unknown option "tls"`, wantErr: true, password: "s3cret"},
		{url: "smtps://mail.example.com?starttls=required", want: "smtps", wantErr: true},
		{url: "http://user:s3cret@mail.example.com", want: `scheme "http"`, wantErr: true, password: "s3cret"},
		{url: "smtp://:s3cret@mail.example.com", want: "user name", wantErr: true, password: "s3cret"},
		{url: "smtp://user:s3cret@/path", want: "host is missing", wantErr: true, password: "s3cret"},
		{url: "smtp://mail.example.com/x", want: "path", wantErr: true},
		{url: "mail.example.com:25", want: "scheme", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			tr, err := mailer.Open(tt.url, mailer.Options{OutboxDir: dir})
			var got string
			if tt.wantErr {
				if err == nil {
					tr.Close()
					t.Fatalf("Open gave %s, want an error", tr)
				}
				if leadmailer.ErrorCode(err) != leadmailer.EINVALID {
					t.Errorf("error code %q, want EINVALID", leadmailer.ErrorCode(err))
				}
				got = err.Error()
				if !strings.Contains(got, tt.want) {
					t.Errorf("error %q does not contain %q", got, tt.want)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				got = tr.String()
				if got != tt.want {
					t.Errorf("String() = %q, want %q", got, tt.want)
				}
			}
			if tt.password != "" && strings.Contains(got, tt.password) {
				t.Errorf("%q shows the password", got)
			}
		})
	}
}

// TestSMTPFailures sends through faults set in the server and checks what the caller is
// told: temporary or permanent, the code, the enhanced code, user unknown; and that the
// next message still goes through.
func TestSMTPFailures(t *testing.T) {
	tests := []struct {
		name        string
		set         func(*smtptest.Server)
		temporary   bool
		code        int
		enhanced    string
		userUnknown bool
		delivered   int // copies the server holds of the failed message
	}{
		{"4xx at RCPT", func(s *smtptest.Server) { s.FailRecipient("x@example.net", smtptest.TempFail) }, true, 451, "4.3.0", false, 0},
		{"550 5.1.1 at RCPT", func(s *smtptest.Server) { s.FailRecipient("x@example.net", smtptest.UserUnknown) }, false, 550, "5.1.1", true, 0},
		{"5xx after DATA", func(s *smtptest.Server) { s.FailMessage(1, smtptest.Reject) }, false, 554, "5.7.1", false, 0},
		{"550 5.1.1 after DATA", func(s *smtptest.Server) { s.FailMessage(1, smtptest.UserUnknown) }, false, 550, "5.1.1", true, 0},
		{"4xx after DATA", func(s *smtptest.Server) { s.FailMessage(1, smtptest.TempFail) }, true, 451, "4.3.0", false, 0},
		{"drop after DATA", func(s *smtptest.Server) { s.FailMessage(1, smtptest.Drop) }, true, 0, "", false, 1},
		{"stall after DATA", func(s *smtptest.Server) { s.FailMessage(1, smtptest.Stall) }, true, 0, "", false, 0},
		{"stall for a recipient", func(s *smtptest.Server) { s.FailRecipient("x@example.net", smtptest.Stall) }, true, 0, "", false, 0},
		{"4xx once for a recipient", func(s *smtptest.Server) {
			f := smtptest.TempFail
			f.Times = 1
			s.FailRecipient("x@example.net", f)
		}, true, 451, "4.3.0", false, 0},
	}
	for _, pipelining := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/pipelining=%v", tt.name, pipelining), func(t *testing.T) {
				srv := newServer(t, pipelining)
				tt.set(srv)
				tr, err := mailer.Open(srv.URL(), mailer.Options{Concurrency: 1, Timeout: 300 * time.Millisecond, Timeouts: short})
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				m := testMessage("fail@example.com")
				m.To = "x@example.net"
				_, err = tr.Send(context.Background(), m)
				var se *mailer.SendError
				if !errors.As(err, &se) {
					t.Fatalf("Send: %v, want a *SendError", err)
				}
				if se.Temporary != tt.temporary || mailer.IsTemporary(err) != tt.temporary {
					t.Errorf("Temporary = %v, want %v (%v)", se.Temporary, tt.temporary, err)
				}
				if se.Code != tt.code || se.Enhanced != tt.enhanced {
					t.Errorf("code %d %q, want %d %q (%v)", se.Code, se.Enhanced, tt.code, tt.enhanced, err)
				}
				if mailer.IsUserUnknown(err) != tt.userUnknown {
					t.Errorf("IsUserUnknown = %v, want %v", !tt.userUnknown, tt.userUnknown)
				}
				if got := srv.CountMessageID("fail@example.com"); got != tt.delivered {
					t.Errorf("server holds %d copies of the failed message, want %d", got, tt.delivered)
				}
				// The transport recovers: the next message, to a recipient without a fault,
				// is delivered.
				if _, err := tr.Send(context.Background(), testMessage("next@example.com")); err != nil {
					t.Fatalf("next message after the failure: %v", err)
				}
				if got := srv.CountMessageID("next@example.com"); got != 1 {
					t.Errorf("next message received %d times, want 1", got)
				}
			})
		}
	}
}

// TestSMTPRelayFaults sends through relays that refuse this sender rather than the
// recipient, and through per-recipient refusals that look alike, and checks which of them
// the caller is told are the relay's (keep the recipient, stop the campaign).
func TestSMTPRelayFaults(t *testing.T) {
	tests := []struct {
		name      string
		opts      []smtptest.Option
		set       func(*smtptest.Server)
		url       func(*smtptest.Server) string // default the server's URL
		relay     bool
		temporary bool
		code      int
	}{
		{name: "554 5.7.1 relay access denied at RCPT", relay: true, code: 554, set: func(s *smtptest.Server) {
			s.FailRecipient("x@example.net", smtptest.Fault{Code: 554, Enhanced: "5.7.1", Text: "<x@example.net>: Relay access denied"})
		}},
		{name: "550 relaying denied without enhanced code", relay: true, code: 550, set: func(s *smtptest.Server) {
			s.FailRecipient("x@example.net", smtptest.Fault{Code: 550, Text: "Relaying denied"})
		}},
		{name: "530 authentication required at MAIL", relay: true, code: 530, opts: []smtptest.Option{smtptest.WithAuth("u", "p")},
			url: func(s *smtptest.Server) string { return "smtp://" + s.Addr + "?starttls=none" }},
		{name: "535 authentication failed", relay: true, code: 535, opts: []smtptest.Option{smtptest.WithAuth("u", "p")},
			url: func(s *smtptest.Server) string { return "smtp://u:wrong@" + s.Addr + "?starttls=none" }},
		{name: "554 greeting", relay: true, code: 554, opts: []smtptest.Option{smtptest.WithGreeting(smtptest.Fault{Code: 554, Enhanced: "5.7.1", Text: "no service for you"})}},
		{name: "553 to MAIL FROM", relay: true, code: 553, set: func(s *smtptest.Server) {
			s.FailMail(smtptest.Fault{Code: 553, Enhanced: "5.7.1", Text: "Sender address rejected: not owned by user"})
		}},
		{name: "530 5.7.0 at RCPT", relay: true, code: 530, set: func(s *smtptest.Server) {
			s.FailRecipient("x@example.net", smtptest.Fault{Code: 530, Enhanced: "5.7.0", Text: "Must issue a STARTTLS command first"})
		}},
		{name: "451 to MAIL FROM", relay: true, temporary: true, code: 451, set: func(s *smtptest.Server) {
			s.FailMail(smtptest.Fault{Code: 451, Enhanced: "4.3.0", Text: "local error"})
		}},
		{name: "550 5.1.1 user unknown is the recipient's", code: 550, set: func(s *smtptest.Server) {
			s.FailRecipient("x@example.net", smtptest.UserUnknown)
		}},
		{name: "552 5.2.2 mailbox full is the recipient's", code: 552, set: func(s *smtptest.Server) {
			s.FailRecipient("x@example.net", smtptest.Fault{Code: 552, Enhanced: "5.2.2", Text: "Mailbox full"})
		}},
		{name: "550 5.7.1 recipient policy is the recipient's", code: 550, set: func(s *smtptest.Server) {
			s.FailRecipient("x@example.net", smtptest.Fault{Code: 550, Enhanced: "5.7.1", Text: "<x@example.net>: Recipient address rejected: Access denied"})
		}},
		{name: "554 5.7.1 after DATA is the message's", code: 554, set: func(s *smtptest.Server) { s.FailMessage(1, smtptest.Reject) }},
	}
	for _, pipelining := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/pipelining=%v", tt.name, pipelining), func(t *testing.T) {
				srv := newServer(t, pipelining, tt.opts...)
				if tt.set != nil {
					tt.set(srv)
				}
				u := srv.URL()
				if tt.url != nil {
					u = tt.url(srv)
				}
				tr, err := mailer.Open(u, mailer.Options{Concurrency: 1, Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				m := testMessage("relay@example.com")
				m.To = "x@example.net"
				_, err = tr.Send(context.Background(), m)
				var se *mailer.SendError
				if !errors.As(err, &se) {
					t.Fatalf("Send: %v, want a *SendError", err)
				}
				if se.Relay != tt.relay || mailer.IsRelayFault(err) != tt.relay {
					t.Errorf("Relay = %v, want %v (%v)", se.Relay, tt.relay, err)
				}
				if se.Temporary != tt.temporary {
					t.Errorf("Temporary = %v, want %v (%v)", se.Temporary, tt.temporary, err)
				}
				if se.Code != tt.code {
					t.Errorf("code %d, want %d (%v)", se.Code, tt.code, err)
				}
				if tt.relay && mailer.IsUserUnknown(err) {
					t.Errorf("a relay fault marks the recipient undeliverable: %v", err)
				}
				if srv.Count() != 0 {
					t.Errorf("server holds %d messages", srv.Count())
				}
			})
		}
	}
}

// TestSMTPStepTimeouts: each step of the exchange has its own timeout, so a relay slow to
// answer the end of a message is waited for (one copy, no resend), and a reply to the end
// that does not come in time is reported as an unknown outcome, unlike a slow MAIL.
func TestSMTPStepTimeouts(t *testing.T) {
	const ms = time.Millisecond
	quick := mailer.Timeouts{Greeting: 2 * time.Second, Command: 200 * ms, Data: 200 * ms, Block: 200 * ms}
	tests := []struct {
		name    string
		dataEnd time.Duration
		set     func(*smtptest.Server)
		ok      bool
		unknown bool
		stage   string
	}{
		{"slow reply to the final dot, within data_end", 2 * time.Second,
			func(s *smtptest.Server) { s.FailMessage(1, smtptest.Fault{Delay: 600 * ms}) }, true, false, ""},
		{"no reply to the final dot within data_end", 200 * ms,
			func(s *smtptest.Server) { s.FailMessage(1, smtptest.Fault{Delay: 600 * ms}) }, false, true, "end of data"},
		{"no reply to MAIL FROM within command", 2 * time.Second,
			func(s *smtptest.Server) { s.FailMail(smtptest.Fault{Delay: 600 * ms}) }, false, false, "MAIL"},
	}
	for _, pipelining := range []bool{true, false} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/pipelining=%v", tt.name, pipelining), func(t *testing.T) {
				srv := newServer(t, pipelining)
				tt.set(srv)
				to := quick
				to.DataEnd = tt.dataEnd
				tr, err := mailer.Open(srv.URL(), mailer.Options{Concurrency: 1, Timeout: time.Second, Timeouts: to})
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				start := time.Now()
				_, err = tr.Send(context.Background(), testMessage("slow@example.com"))
				took := time.Since(start)
				if tt.ok {
					if err != nil {
						t.Fatalf("Send: %v, want the slow relay waited for", err)
					}
					if took < 600*ms {
						t.Errorf("Send took %v, less than the relay's delay", took)
					}
					if got := srv.CountMessageID("slow@example.com"); got != 1 {
						t.Errorf("server holds %d copies, want 1", got)
					}
					return
				}
				var se *mailer.SendError
				if !errors.As(err, &se) || !se.Temporary || se.Stage != tt.stage || se.Unknown != tt.unknown || mailer.IsUnknownOutcome(err) != tt.unknown {
					t.Fatalf("Send: %+v, want a temporary failure at %s, unknown outcome %v", err, tt.stage, tt.unknown)
				}
				if took > time.Second {
					t.Errorf("Send took %v, want the step's timeout", took)
				}
			})
		}
	}
}

// short are step timeouts for tests of a server that stalls.
var short = mailer.Timeouts{Greeting: 300 * time.Millisecond, Command: 300 * time.Millisecond,
	Data: 300 * time.Millisecond, Block: 300 * time.Millisecond, DataEnd: 300 * time.Millisecond}

// newServer starts a test server that offers PIPELINING or not.
func newServer(t *testing.T, pipelining bool, opts ...smtptest.Option) *smtptest.Server {
	if !pipelining {
		opts = append(opts, smtptest.WithoutPipelining())
	}
	return smtptest.New(t, opts...)
}

func TestSMTPConnectFailures(t *testing.T) {
	// A port nobody listens on: take a server's port and close the server.
	tr, err := mailer.Open("smtp://127.0.0.1:1?starttls=none", mailer.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, err = tr.Send(context.Background(), testMessage("a@example.com"))
	if !mailer.IsTemporary(err) || !strings.Contains(err.Error(), "smtp://127.0.0.1:1") {
		t.Errorf("connection refused: %v, want a temporary *SendError naming the server", err)
	}

	srv := smtptest.New(t, smtptest.WithAuth("user", "right"))
	bad := strings.Replace(srv.URL(), ":right@", ":wrong@", 1)
	tr2, err := mailer.Open(bad, mailer.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr2.Close()
	_, err = tr2.Send(context.Background(), testMessage("a@example.com"))
	var se *mailer.SendError
	if !errors.As(err, &se) || !se.Relay || se.Stage != "connect" || strings.Contains(err.Error(), "wrong") {
		t.Errorf("wrong password: %v, want a connect-stage relay fault without the password", err)
	}
	if srv.Count() != 0 {
		t.Errorf("server accepted %d messages without authentication", srv.Count())
	}
}

func TestSMTPAuthAndTLS(t *testing.T) {
	tests := []struct {
		name string
		opts []smtptest.Option
	}{
		{"plain with auth", []smtptest.Option{smtptest.WithAuth("user@example.com", "p@ss:w/rd")}},
		{"starttls", []smtptest.Option{smtptest.WithTLS()}},
		{"starttls with auth", []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth("user", "secret")}},
		{"implicit tls with auth", []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.WithAuth("user", "secret")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.New(t, tt.opts...)
			u := srv.URL()
			if strings.Contains(tt.name, "plain with auth") {
				u = "smtp://user%40example.com:p%40ss%3Aw%2Frd@" + srv.Addr + "?starttls=none"
			}
			tr, err := mailer.Open(u, mailer.Options{Timeout: 5 * time.Second, TLSConfig: srv.ClientTLSConfig()})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if _, err := tr.Send(context.Background(), testMessage("tls@example.com")); err != nil {
				t.Fatalf("send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("server holds %d messages, want 1", len(msgs))
			}
			wantTLS := srv.ClientTLSConfig() != nil
			if msgs[0].TLS != wantTLS {
				t.Errorf("message went over TLS: %v, want %v", msgs[0].TLS, wantTLS)
			}
		})
	}

	t.Run("untrusted certificate", func(t *testing.T) {
		srv := smtptest.New(t, smtptest.WithTLS())
		tr, err := mailer.Open(srv.URL(), mailer.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		_, err = tr.Send(context.Background(), testMessage("tls@example.com"))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("self-signed certificate without trust: %v, want a certificate error", err)
		}
		if srv.Count() != 0 {
			t.Errorf("message sent over an unverified connection")
		}
	})
	t.Run("starttls required but not offered", func(t *testing.T) {
		srv := smtptest.New(t)
		tr, err := mailer.Open("smtp://"+srv.Addr+"?starttls=required", mailer.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		_, err = tr.Send(context.Background(), testMessage("tls@example.com"))
		if err == nil || !strings.Contains(err.Error(), "STARTTLS") || srv.Count() != 0 {
			t.Errorf("starttls=required to a server without it: %v, %d messages; want a STARTTLS error and none", err, srv.Count())
		}
	})
	t.Run("opportunistic uses starttls when offered", func(t *testing.T) {
		srv := smtptest.New(t, smtptest.WithTLS())
		tr, err := mailer.Open("smtp://"+srv.Addr, mailer.Options{Timeout: 5 * time.Second, TLSConfig: srv.ClientTLSConfig()})
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		if _, err := tr.Send(context.Background(), testMessage("tls@example.com")); err != nil {
			t.Fatal(err)
		}
		if m := srv.Messages(); len(m) != 1 || !m[0].TLS {
			t.Errorf("message not sent over TLS")
		}
	})
}

// TestConcurrency sends from many goroutines and checks that every message arrives once
// and the pool never opens more connections than configured.
func TestConcurrency(t *testing.T) {
	const conc, senders, perSender = 3, 12, 25
	srv := smtptest.New(t)
	tr, err := mailer.Open(srv.URL(), mailer.Options{Concurrency: conc, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, senders*perSender)
	for g := range senders {
		wg.Go(func() {
			for i := range perSender {
				m := testMessage(fmt.Sprintf("c1.l%d@example.com", g*perSender+i))
				m.To = fmt.Sprintf("lead%d@example.net", g*perSender+i)
				if _, err := tr.Send(context.Background(), m); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if got := srv.Count(); got != senders*perSender {
		t.Errorf("server received %d messages, want %d", got, senders*perSender)
	}
	for i := range senders * perSender {
		if n := srv.CountRecipient(fmt.Sprintf("lead%d@example.net", i)); n != 1 {
			t.Errorf("lead%d received %d messages, want 1", i, n)
		}
	}
	if _, peak, total := srv.Conns(); peak > conc || total > conc {
		t.Errorf("peak %d / total %d connections, want at most %d", peak, total, conc)
	}
	if _, err := tr.Send(context.Background(), testMessage("late@example.com")); !errors.Is(err, mailer.ErrClosed) || !mailer.IsTemporary(err) {
		t.Errorf("Send after Close: %v, want a temporary error wrapping ErrClosed", err)
	}
}

// TestCancel shows that cancelling the context ends a stalled send at once, as a
// temporary failure, and that the pool recovers.
func TestCancel(t *testing.T) {
	srv := smtptest.New(t)
	srv.FailMessage(1, smtptest.Stall)
	tr, err := mailer.Open(srv.URL(), mailer.Options{Concurrency: 1, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := tr.Send(ctx, testMessage("stalled@example.com"))
		done <- err
	}()
	<-srv.Stalled() // the server holds the message and will not answer
	cancel()
	select {
	case err := <-done:
		if !mailer.IsTemporary(err) || !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled send: %v, want a temporary error wrapping context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the context did not end the send")
	}
	if _, err := tr.Send(context.Background(), testMessage("after@example.com")); err != nil {
		t.Errorf("send after a cancelled one: %v", err)
	}
}

func TestDKIM(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]crypto.Signer{"rsa": rsaKey, "ed25519": edKey} {
		t.Run(name, func(t *testing.T) {
			srv := smtptest.New(t)
			d := &mailer.DKIM{Domain: "example.com", Selector: "lm1", PrivateKey: key}
			tr, err := mailer.Open(srv.URL(), mailer.Options{DKIM: d})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			m := testMessage("dkim@example.com")
			m.ToName = "Jyrki Äänekoski" // folded encoded-words must verify too
			if _, err := tr.Send(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			raw := srv.Messages()[0].Data
			record := dkimRecord(t, key)
			verifs, err := dkim.VerifyWithOptions(strings.NewReader(string(raw)), &dkim.VerifyOptions{
				LookupTXT: func(domain string) ([]string, error) {
					if domain != "lm1._domainkey.example.com" {
						return nil, fmt.Errorf("no record for %s", domain)
					}
					return []string{record}, nil
				},
			})
			if err != nil || len(verifs) != 1 {
				t.Fatalf("verify: %v, %d signatures", err, len(verifs))
			}
			v := verifs[0]
			if v.Err != nil || v.Domain != "example.com" {
				t.Fatalf("signature does not verify: %v (domain %q)", v.Err, v.Domain)
			}
			for _, h := range []string{"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} {
				if !containsFold(v.HeaderKeys, h) {
					t.Errorf("signature does not cover %s: %v", h, v.HeaderKeys)
				}
			}
			// A changed List-Unsubscribe breaks the signature.
			tampered := strings.Replace(string(raw), "/u/AbC-123_xyz", "/u/evil", 1)
			verifs, _ = dkim.VerifyWithOptions(strings.NewReader(tampered), &dkim.VerifyOptions{
				LookupTXT: func(string) ([]string, error) { return []string{record}, nil },
			})
			if len(verifs) != 1 || verifs[0].Err == nil {
				t.Error("signature still verifies after List-Unsubscribe was changed")
			}
		})
	}
}

func dkimRecord(t *testing.T, key crypto.Signer) string {
	t.Helper()
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
	}
	t.Fatalf("unknown key type %T", key)
	return ""
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// TestStaleConnection shows that a pooled connection the server closed while idle is
// replaced without failing the message, and without sending it twice.
func TestStaleConnection(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			testStaleConnection(t, newServer(t, pipelining))
		})
	}
}

func testStaleConnection(t *testing.T, srv *smtptest.Server) {
	tr, err := mailer.Open(srv.URL(), mailer.Options{Concurrency: 1, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Send(context.Background(), testMessage("first@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.CloseConns()
	if _, err := tr.Send(context.Background(), testMessage("second@example.com")); err != nil {
		t.Fatalf("send over a connection the server closed: %v", err)
	}
	if n := srv.CountMessageID("second@example.com"); n != 1 {
		t.Errorf("second message received %d times, want 1", n)
	}
	if _, _, total := srv.Conns(); total != 2 {
		t.Errorf("%d connections, want 2 (the first one closed by the server)", total)
	}
}

func TestParseDKIMKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name    string
		pem     []byte
		wantErr string
	}{
		{"pkcs1 rsa", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}), ""},
		{"pkcs8 rsa", pkcs8(rsaKey), ""},
		{"pkcs8 ed25519", pkcs8(edKey), ""},
		{"ecdsa", pkcs8(ecKey), "cannot sign DKIM"},
		{"public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), "not a private key"},
		{"not pem", []byte("hello"), "no PEM block"},
		{"garbage", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}), "DKIM key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := mailer.ParseDKIMKey(tt.pem)
			if tt.wantErr == "" {
				if err != nil || k == nil {
					t.Fatalf("ParseDKIMKey: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || leadmailer.ErrorCode(err) != leadmailer.EINVALID {
				t.Errorf("ParseDKIMKey: %v, want EINVALID containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestReply421 shows that a 421 reply (the server is closing the channel) fails the
// message as temporary and that the connection is not used again.
func TestReply421(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			srv := newServer(t, pipelining)
			srv.FailRecipient("x@example.net", smtptest.Fault{Code: 421, Enhanced: "4.3.2", Text: "Shutting down", Times: 1})
			tr, err := mailer.Open(srv.URL(), mailer.Options{Concurrency: 1, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			m := testMessage("a@example.com")
			m.To = "x@example.net"
			_, err = tr.Send(context.Background(), m)
			var se *mailer.SendError
			if !errors.As(err, &se) || !se.Temporary || se.Code != 421 || se.Stage != "RCPT" {
				t.Fatalf("Send: %#v, want a temporary 421 at RCPT", err)
			}
			if _, err := tr.Send(context.Background(), m); err != nil {
				t.Fatalf("second send: %v", err)
			}
			if _, _, total := srv.Conns(); total != 2 {
				t.Errorf("%d connections, want 2: the one that got 421 must not be reused", total)
			}
		})
	}
}

// FuzzOpenURL checks that whatever the URL, Open neither panics nor shows the password:
// the text between "user:" and the last "@" of the authority, and its decoded form.
func FuzzOpenURL(f *testing.F) {
	for _, s := range []string{"smtp://u:secret@host:25", "smtps://u:se%zzcret@h", "smtp://u:p@ss:word@h:x",
		"smtp://u:secret@h?starttls=bad", "smtp://u:secret@[::1", "outbox://", "smtp://u:sec ret@h/p#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.HasPrefix(raw, "outbox://") || raw == "" {
			return // a folder, no password
		}
		tr, err := mailer.Open(raw, mailer.Options{Timeout: time.Millisecond})
		var shown string
		if err != nil {
			shown = err.Error()
		} else {
			shown = tr.String()
			tr.Close()
		}
		_, rest, ok := strings.Cut(raw, "://")
		if !ok {
			return
		}
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			rest = rest[:i]
		}
		at := strings.LastIndexByte(rest, '@')
		if at < 0 {
			return
		}
		_, pass, ok := strings.Cut(rest[:at], ":")
		if !ok || len(pass) < 4 || strings.Count(raw, pass) != 1 {
			return // too short, or also elsewhere in the URL: cannot tell it apart
		}
		if strings.Contains(shown, pass) {
			t.Errorf("%q shows the password %q", shown, pass)
		}
		if dec, err := url.PathUnescape(pass); err == nil && len(dec) >= 4 && !strings.Contains(raw, dec) && strings.Contains(shown, dec) {
			t.Errorf("%q shows the password %q", shown, dec)
		}
	})
}
