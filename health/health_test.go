package health_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer/health"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/store"
)

// TestReadiness: /readyz is 503, naming the check, when the database holds another schema or
// when a campaign runs and the relay cannot be reached; the relay is not asked otherwise.
func TestReadiness(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "leadmailer.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := sql.Open("sqlite3", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	relay := smtptest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := "smtp://" + ln.Addr().String() + "?starttls=none"
	ln.Close()
	url := relay.URL()
	checks := 0
	checker := &health.Checker{Store: db, MailEvery: time.Nanosecond, Mail: func(ctx context.Context) error {
		checks++
		tr, err := mailer.Open(url, mailer.Options{Timeout: time.Second})
		if err != nil {
			return err
		}
		defer tr.Close()
		return mailer.Check(ctx, tr)
	}}
	srv := httptest.NewServer(checker)
	defer srv.Close()
	probe := func() (int, health.Report) {
		t.Helper()
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var rep health.Report
		if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, rep
	}

	if code, rep := probe(); code != http.StatusOK || rep.Checks["database"] != "ok" || !strings.HasPrefix(rep.Checks["mail"], "skipped") || checks != 0 {
		t.Errorf("idle: %d %+v after %d mail checks, want ready without asking the relay", code, rep, checks)
	}

	exec(`INSERT INTO campaigns (id, name, subject, html, state, created_by, created_at) VALUES (1, 'Spring', 's', '<p>x</p>', 'running', 'anna', '2026-12-01T11:00:00.000000Z')`)
	if code, rep := probe(); code != http.StatusOK || rep.Checks["mail"] != "ok" {
		t.Errorf("sending, relay up: %d %+v, want ready", code, rep)
	}
	url = downURL
	if code, rep := probe(); code != http.StatusServiceUnavailable || rep.Status != "unavailable" || !strings.Contains(rep.Checks["mail"], ln.Addr().String()) {
		t.Errorf("sending, relay down: %d %+v, want 503 naming the relay", code, rep)
	}
	if relay.Count() != 0 {
		t.Errorf("the relay received %d messages from probes", relay.Count())
	}

	exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_newer.sql', '2026-12-01T11:00:00.000000Z')`)
	if code, rep := probe(); code != http.StatusServiceUnavailable || !strings.Contains(rep.Checks["database"], "schema version 9999") {
		t.Errorf("newer schema: %d %+v, want 503 naming the schema version", code, rep)
	}
}

func TestLive(t *testing.T) {
	rec := httptest.NewRecorder()
	health.Live(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "ok\n" {
		t.Errorf("/healthz: %d %q", rec.Code, rec.Body.String())
	}
}
