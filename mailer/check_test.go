package mailer_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
)

// TestCheck: the readiness probe's question, whether mail could go out now, is answered by
// a real session with the relay that sends nothing, and by the outbox folder being writable.
func TestCheck(t *testing.T) {
	srv := smtptest.New(t, smtptest.WithAuth("user", "right"))
	// A port nobody listens on: take a free one and close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "smtp://" + ln.Addr().String() + "?starttls=none"
	ln.Close()
	outbox := t.TempDir()
	gone := filepath.Join(t.TempDir(), "outbox")

	tests := []struct {
		name, url, outbox string
		breakOutbox       bool
		want              string // "" for ready, else a part of the error
	}{
		{name: "relay up", url: srv.URL()},
		{name: "wrong password", url: strings.Replace(srv.URL(), ":right@", ":wrong@", 1), want: "535"},
		{name: "nobody listening", url: closedURL, want: "127.0.0.1"},
		{name: "outbox", outbox: outbox},
		{name: "outbox replaced by a file", outbox: gone, breakOutbox: true, want: "cannot be written"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := mailer.Open(tt.url, mailer.Options{OutboxDir: tt.outbox, Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			if tt.breakOutbox {
				if err := os.Remove(tt.outbox); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(tt.outbox, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err = mailer.Check(context.Background(), tr)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check: %v, want ready", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check: %v, want an error naming %q", err, tt.want)
			case strings.Contains(errString(err), "wrong"):
				t.Errorf("Check: %v shows the password", err)
			}
		})
	}
	if n := srv.Count(); n != 0 {
		t.Errorf("the relay received %d messages from checks, want none", n)
	}
	if entries, _ := os.ReadDir(outbox); len(entries) != 0 {
		t.Errorf("the outbox holds %d files after a check, want none", len(entries))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
