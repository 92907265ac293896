package campaign_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // plain driver, to change rows no store method writes yet

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/mailer/smtptest"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/store/storetest"
	"github.com/leadmailer/leadmailer/templates"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

var settings = campaign.Settings{
	Sender: templates.Sender{
		From: "Focus Marketing <marketing@focus.example>", ReplyTo: "sales@focus.example",
		Company: "Focus Oy", PostalAddress: "Mannerheimintie 1, 00100 Helsinki",
		PrivacyPolicyURL: "https://focus.example/privacy",
	},
	PublicURL:    "https://leads.focus.example",
	Signer:       unsubscribe.NewSigner([]byte("test secret, thirty-two bytes...")),
	MessageIDKey: []byte("message id key"),
}

// fixture is a database with n leads (lead0@x0.example ... in FI) and a draft campaign to
// all of them.
type fixture struct {
	db  *store.DB
	raw *sql.DB
	c   *leadmailer.Campaign
	srv *smtptest.Server
	tr  mailer.Transport
}

func newFixture(t *testing.T, n, concurrency int) *fixture {
	t.Helper()
	ctx := context.Background()
	db := storetest.Open(t, nil)
	w, err := db.BeginImport(ctx, &leadmailer.ImportRun{Source: "crm", Kind: leadmailer.KindUpload, Actor: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]leadmailer.ImportRow, n)
	for i := range rows {
		r := &rows[i]
		r.Row = int64(i + 2)
		email := fmt.Sprintf("lead%d@x%d.example", i, i%7)
		for f, v := range map[leadmailer.Field]string{leadmailer.FieldEmail: email,
			leadmailer.FieldName: fmt.Sprintf("Lead %d", i), leadmailer.FieldCountry: "FI"} {
			r.Values[f], r.Received[f] = v, v
			r.Supplied = r.Supplied.With(f)
		}
		r.EmailHash = w.SuppressionHash(email)
	}
	if _, err := w.WriteBatch(ctx, rows, leadmailer.ImportCounts{Read: int64(n)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Finish(ctx, leadmailer.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", db.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	f := &fixture{db: db, raw: raw, srv: smtptest.New(t)}
	f.c = f.newCampaign(t)
	f.tr, err = mailer.Open(f.srv.URL(), mailer.Options{Concurrency: concurrency, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.tr.Close() })
	return f
}

func (f *fixture) newCampaign(t *testing.T) *leadmailer.Campaign {
	t.Helper()
	c := &leadmailer.Campaign{Name: "spring", Subject: "Hello {{.Lead.FirstName}}",
		HTML: "<p>Hi {{default \"there\" .Lead.Name}}</p>", State: leadmailer.CampaignDraft, CreatedBy: "test"}
	if err := f.db.CreateCampaign(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) run(t *testing.T, ctx context.Context, id int64, opts campaign.Options) *campaign.Result {
	t.Helper()
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	res, err := campaign.Run(ctx, f.db, f.tr, id, settings, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := f.raw.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func recipients(t *testing.T, db *store.DB, id int64) map[string]*leadmailer.Recipient {
	t.Helper()
	got := map[string]*leadmailer.Recipient{}
	err := db.FindRecipients(context.Background(), id, "", func(r *leadmailer.Recipient) error {
		got[fmt.Sprint(r.LeadID)] = r
		if r.Email != "" {
			got[r.Email] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// checkExactlyOnce checks that every lead in want got exactly one message, with the Message-ID
// the ledger records.
func checkExactlyOnce(t *testing.T, f *fixture, id int64, n int) {
	t.Helper()
	recs := recipients(t, f.db, id)
	for i := range n {
		email := fmt.Sprintf("lead%d@x%d.example", i, i%7)
		r := recs[email]
		if r == nil || r.Status != leadmailer.RecipientSent {
			t.Errorf("%s: ledger row %+v, want sent", email, r)
			continue
		}
		if got := f.srv.CountRecipient(email); got != 1 {
			t.Errorf("%s: delivered %d times, want 1", email, got)
		}
		if got := f.srv.CountMessageID(r.MessageID); got != 1 {
			t.Errorf("%s: Message-ID %s delivered %d times, want 1", email, r.MessageID, got)
		}
	}
}

func TestRunSendsEveryRecipientOnceWithHeaders(t *testing.T) {
	const n = 300
	f := newFixture(t, n, 4)
	res := f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 4})
	if res.State != leadmailer.CampaignFinished || res.Sent != n || res.Total != n {
		t.Fatalf("result = %+v, want finished with %d sent", res, n)
	}
	checkExactlyOnce(t, f, f.c.ID, n)
	if _, peak, _ := f.srv.Conns(); peak > 4 {
		t.Errorf("peak connections = %d, want at most the concurrency 4", peak)
	}
	msgs := f.srv.Messages()
	data := string(msgs[0].Data)
	for _, want := range []string{"\r\nList-Unsubscribe: <https://leads.focus.example/u/",
		"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n", "\r\nReply-To: ", "sales@focus.example",
		"multipart/alternative", "Focus Oy"} {
		if !strings.Contains(data, want) {
			t.Errorf("message lacks %q:\n%s", want, data)
		}
	}
	if !strings.HasPrefix(msgs[0].MessageID, fmt.Sprintf("c%d.l", f.c.ID)) || !strings.HasSuffix(msgs[0].MessageID, "@focus.example") {
		t.Errorf("Message-ID = %q, want c%d.lN.HASH@focus.example", msgs[0].MessageID, f.c.ID)
	}
	if _, err := f.db.SetCampaignState(context.Background(), f.c.ID, leadmailer.CampaignRunning, ""); err == nil {
		t.Error("a finished campaign could be started again")
	}
}

func TestRunRetriesTemporaryFailures(t *testing.T) {
	const n = 20
	f := newFixture(t, n, 2)
	f.srv.FailMessage(3, smtptest.TempFail)
	f.srv.FailMessage(5, smtptest.Drop)
	f.srv.FailRecipient("lead7@x0.example", smtptest.Fault{Code: 451, Enhanced: "4.2.0", Text: "Mailbox busy", Times: 2})
	res := f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 2, MaxAttempts: 3})
	if res.State != leadmailer.CampaignFinished || res.Sent != n || res.Retried != 4 {
		t.Fatalf("result = %+v, want %d sent after 4 retries", res, n)
	}
	recs := recipients(t, f.db, f.c.ID)
	if r := recs["lead7@x0.example"]; r.Attempts != 3 || r.Status != leadmailer.RecipientSent {
		t.Errorf("lead7: %s after %d attempts, want sent at the third", r.Status, r.Attempts)
	}
	// A dropped connection after DATA means the server may have the message: it is sent
	// again, with the same Message-ID, so the receiver can tell.
	for _, m := range f.srv.Messages() {
		if m.Dropped && f.srv.CountMessageID(m.MessageID) != 2 {
			t.Errorf("dropped message %s delivered %d times, want 2 with one Message-ID", m.MessageID, f.srv.CountMessageID(m.MessageID))
		}
	}
}

func TestRunRecordsPermanentFailures(t *testing.T) {
	const n = 10
	f := newFixture(t, n, 2)
	f.srv.FailRecipient("lead1@x1.example", smtptest.UserUnknown)
	f.srv.FailRecipient("lead2@x2.example", smtptest.Reject)
	f.srv.FailRecipient("lead3@x3.example", smtptest.Fault{Code: 451, Text: "later"})
	res := f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 2, MaxAttempts: 2})
	if res.State != leadmailer.CampaignFinished || res.Sent != n-3 || res.Failed != 3 {
		t.Fatalf("result = %+v, want finished, %d sent, 3 failed", res, n-3)
	}
	recs := recipients(t, f.db, f.c.ID)
	for email, want := range map[string]string{"lead1@x1.example": "550", "lead2@x2.example": "554", "lead3@x3.example": "451"} {
		if r := recs[email]; r.Status != leadmailer.RecipientFailed || !strings.Contains(r.LastReply, want) {
			t.Errorf("%s: %s with reply %q, want failed with %s", email, r.Status, r.LastReply, want)
		}
	}
	un, _, err := f.db.IsUndeliverable(context.Background(), recs["lead1@x1.example"].LeadID)
	if err != nil || !un {
		t.Errorf("lead1 undeliverable = %v, %v; want true after 5.1.1", un, err)
	}
	// The next campaign does not mail the unknown user.
	next := f.newCampaign(t)
	f.run(t, context.Background(), next.ID, campaign.Options{Concurrency: 2})
	if r := recipients(t, f.db, next.ID)["lead1@x1.example"]; r.Status != leadmailer.RecipientSkipped || r.Reason != leadmailer.SkipUndeliverable {
		t.Errorf("next campaign: lead1 = %s %q, want skipped as undeliverable", r.Status, r.Reason)
	}
	if got := f.srv.CountRecipient("lead1@x1.example"); got != 0 {
		t.Errorf("lead1 received %d messages", got)
	}
}

func TestRunPausesAfterConsecutiveErrors(t *testing.T) {
	const n = 50
	f := newFixture(t, n, 1)
	for i := 5; i < n; i++ {
		f.srv.FailRecipient(fmt.Sprintf("lead%d@x%d.example", i, i%7), smtptest.TempFail)
	}
	res := f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 1, MaxConsecutiveErrors: 10, Backoff: time.Hour})
	if res.State != leadmailer.CampaignPaused || !strings.Contains(res.Reason, "failed sends in a row (10)") {
		t.Fatalf("result = %+v, want paused after 10 errors in a row", res)
	}
	if res.Sent != 5 || res.Retried != 10 || res.Failed != 0 {
		t.Errorf("sent %d, retried %d, failed %d; want 5, 10 and 0, the rest left queued", res.Sent, res.Retried, res.Failed)
	}
	c, _ := f.db.FindCampaign(context.Background(), f.c.ID)
	if c.State != leadmailer.CampaignPaused || c.Reason != res.Reason {
		t.Errorf("stored campaign = %s %q", c.State, c.Reason)
	}
}

func TestRunSkipsLeadsThatChangedSinceTheAudienceWasResolved(t *testing.T) {
	const n = 8
	f := newFixture(t, n, 2)
	ctx := context.Background()
	if _, err := f.db.ResolveAudience(ctx, f.c, store.AudienceRules{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetCampaignState(ctx, f.c.ID, leadmailer.CampaignRunning, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetCampaignState(ctx, f.c.ID, leadmailer.CampaignPaused, "check"); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SuppressAddress(ctx, "lead1@x1.example", "unsubscribed"); err != nil {
		t.Fatal(err)
	}
	f.exec(t, `DELETE FROM leads WHERE email = 'lead2@x2.example'`)
	f.exec(t, `UPDATE leads SET state = 'inactive' WHERE email = 'lead3@x3.example'`)
	res := f.run(t, ctx, f.c.ID, campaign.Options{Concurrency: 2})
	if res.Sent != n-3 || res.Skipped != 3 {
		t.Fatalf("result = %+v, want %d sent and 3 skipped", res, n-3)
	}
	rep, _ := f.db.CampaignReport(ctx, f.c.ID)
	for _, reason := range []string{leadmailer.SkipSuppressed, leadmailer.SkipErased, leadmailer.SkipInactive} {
		if rep.Reasons[reason] != 1 {
			t.Errorf("skipped as %q: %d, want 1", reason, rep.Reasons[reason])
		}
	}
	for _, email := range []string{"lead1@x1.example", "lead2@x2.example", "lead3@x3.example"} {
		if got := f.srv.CountRecipient(email); got != 0 {
			t.Errorf("%s received %d messages", email, got)
		}
	}
}

func TestPauseAndInterruptResendNobody(t *testing.T) {
	const n = 400
	for _, how := range []string{"pause", "interrupt"} {
		t.Run(how, func(t *testing.T) {
			f := newFixture(t, n, 4)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			paused := false
			opts := campaign.Options{Concurrency: 4, StatePoll: time.Millisecond, Progress: func(p campaign.Progress) {
				if p.Sent >= 100 && !paused {
					paused = true
					if how == "interrupt" {
						cancel()
					} else if _, err := f.db.SetCampaignState(context.Background(), f.c.ID, leadmailer.CampaignPaused, "by user"); err != nil {
						t.Error(err)
					}
				}
			}}
			res := f.run(t, ctx, f.c.ID, opts)
			if res.State != leadmailer.CampaignPaused || res.Sent >= n {
				t.Fatalf("first run = %+v, want paused part way", res)
			}
			if how == "interrupt" && res.Reason != campaign.ReasonInterrupted {
				t.Errorf("reason = %q", res.Reason)
			}
			rep, _ := f.db.CampaignReport(context.Background(), f.c.ID)
			if rep.Sending != 0 {
				t.Errorf("%d rows left sending after a clean pause", rep.Sending)
			}
			res = f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 4})
			if res.State != leadmailer.CampaignFinished || res.Requeued != 0 {
				t.Fatalf("resumed run = %+v, want finished with nothing re-sent", res)
			}
			checkExactlyOnce(t, f, f.c.ID, n)
		})
	}
}

// TestShutdownLeavesCampaignRunning is serve's stop: the campaign stays running, with nothing
// in flight, and the next run goes on without re-sending anybody.
func TestShutdownLeavesCampaignRunning(t *testing.T) {
	const n = 300
	f := newFixture(t, n, 4)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := campaign.Options{Concurrency: 4, KeepRunningOnStop: true, Progress: func(p campaign.Progress) {
		if p.Sent >= 100 {
			cancel()
		}
	}}
	res := f.run(t, ctx, f.c.ID, opts)
	if res.State != leadmailer.CampaignRunning || res.Sent >= n {
		t.Fatalf("stopped run = %+v, want still running part way", res)
	}
	if rep, _ := f.db.CampaignReport(context.Background(), f.c.ID); rep.Sending != 0 {
		t.Errorf("%d rows left sending after a clean stop", rep.Sending)
	}
	res = f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 4, KeepRunningOnStop: true})
	if res.State != leadmailer.CampaignFinished || res.Requeued != 0 {
		t.Fatalf("next run = %+v, want finished with nothing re-sent", res)
	}
	checkExactlyOnce(t, f, f.c.ID, n)
}

func TestRunHonoursTheRateLimit(t *testing.T) {
	const n = 30
	f := newFixture(t, n, 4)
	start := time.Now()
	f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 4, Rate: 100})
	// A bucket of 4 then 100/s: 26 messages wait at least 0.26 s.
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("%d messages at 100/s took %v", n, took)
	}
}

func TestRunRetriesAStalledServer(t *testing.T) {
	const n = 5
	f := newFixture(t, n, 1)
	f.srv.FailMessage(2, smtptest.Stall)
	short := mailer.Timeouts{Greeting: 300 * time.Millisecond, Command: 300 * time.Millisecond,
		Data: 300 * time.Millisecond, Block: 300 * time.Millisecond, DataEnd: 300 * time.Millisecond}
	tr, err := mailer.Open(f.srv.URL(), mailer.Options{Concurrency: 1, Timeout: 300 * time.Millisecond, Timeouts: short})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// A stall after the message's end is an unknown outcome: it waits the longest backoff.
	res, err := campaign.Run(context.Background(), f.db, tr, f.c.ID, settings, campaign.Options{Concurrency: 1,
		Backoff: time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != leadmailer.CampaignFinished || res.Sent != n || res.Retried != 1 {
		t.Fatalf("result = %+v, want all %d sent after one retry of the stalled message", res, n)
	}
	if rep, _ := f.db.CampaignReport(context.Background(), f.c.ID); rep.PossiblyDelivered != 1 {
		t.Errorf("report counts %d possibly delivered, want the stalled one", rep.PossiblyDelivered)
	}
	retried := 0
	for key, r := range recipients(t, f.db, f.c.ID) {
		if strings.Contains(key, "@") && r.Attempts == 2 {
			retried++
		}
	}
	if retried != 1 {
		t.Errorf("%d ledger rows record two attempts, want 1", retried)
	}
}

func TestLockKeepsASecondSenderOut(t *testing.T) {
	dir := t.TempDir()
	unlock, err := campaign.Lock(dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := campaign.Lock(dir, 7); leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
		t.Errorf("second lock: %v, want a conflict", err)
	}
	other, err := campaign.Lock(dir, 8)
	if err != nil {
		t.Errorf("another campaign's lock: %v", err)
	} else {
		other()
	}
	unlock()
	again, err := campaign.Lock(dir, 7)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}

// TestRelayRefusalKeepsEveryRecipient is a relay that refuses this sender, not the
// recipients: the run pauses with the reason, nobody is failed or marked undeliverable,
// and a resume once the relay is fixed sends to all of them, once.
func TestRelayRefusalKeepsEveryRecipient(t *testing.T) {
	const n = 60
	tests := []struct {
		name   string
		opts   []smtptest.Option
		break_ func(*smtptest.Server)
		url    func(*smtptest.Server) string
	}{
		{name: "554 5.7.1 relay access denied", break_: func(s *smtptest.Server) {
			s.FailAllRecipients(smtptest.Fault{Code: 554, Enhanced: "5.7.1", Text: "Relay access denied"})
		}},
		{name: "530 authentication required", opts: []smtptest.Option{smtptest.WithAuth("u", "p")},
			url: func(s *smtptest.Server) string { return "smtp://" + s.Addr + "?starttls=none" }},
		{name: "535 authentication failed", opts: []smtptest.Option{smtptest.WithAuth("u", "p")},
			url: func(s *smtptest.Server) string { return "smtp://u:old@" + s.Addr + "?starttls=none" }},
		{name: "554 greeting", opts: []smtptest.Option{smtptest.WithGreeting(smtptest.Fault{Code: 554, Enhanced: "5.7.1", Text: "Client host rejected"})}},
		{name: "550 to MAIL FROM", break_: func(s *smtptest.Server) {
			s.FailMail(smtptest.Fault{Code: 550, Enhanced: "5.7.1", Text: "Sender address rejected"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, n, 4)
			broken := smtptest.New(t, tt.opts...)
			if tt.break_ != nil {
				tt.break_(broken)
			}
			u := broken.URL()
			if tt.url != nil {
				u = tt.url(broken)
			}
			tr, err := mailer.Open(u, mailer.Options{Concurrency: 4, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			res, err := campaign.Run(context.Background(), f.db, tr, f.c.ID, settings, campaign.Options{Concurrency: 4, Backoff: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if res.State != leadmailer.CampaignPaused || !strings.HasPrefix(res.Reason, campaign.ReasonRelayRefused) || !campaign.PausedByItself(res.Reason) {
				t.Fatalf("result = %+v, want paused because the relay refuses", res)
			}
			rep, _ := f.db.CampaignReport(context.Background(), f.c.ID)
			if rep.Failed != 0 || rep.Queued != n {
				t.Errorf("after the refusal: %d failed, %d queued; want 0 and %d", rep.Failed, rep.Queued, n)
			}
			for key, r := range recipients(t, f.db, f.c.ID) {
				if un, _, _ := f.db.IsUndeliverable(context.Background(), r.LeadID); un {
					t.Errorf("%s marked undeliverable by a relay refusal", key)
				}
				if r.Attempts != 0 {
					t.Errorf("%s: %d attempts counted against it, want 0", key, r.Attempts)
				}
			}
			// The relay is fixed (here: the healthy server of the fixture); resume.
			res = f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 4})
			if res.State != leadmailer.CampaignFinished || res.Sent != n {
				t.Fatalf("resumed run = %+v, want all %d sent", res, n)
			}
			checkExactlyOnce(t, f, f.c.ID, n)
		})
	}
}

// TestBrokenRelayRefusingEveryAddress is a relay that answers "550 5.1.1" to every
// recipient: the run's circuit breaker pauses it, nobody ends failed, the undeliverable
// marks the burst wrote are withdrawn (an older one stays), and once the relay is fixed a
// resume sends to everybody once.
func TestBrokenRelayRefusingEveryAddress(t *testing.T) {
	const n = 690
	f := newFixture(t, n, 4)
	ctx := context.Background()
	f.exec(t, `UPDATE leads SET undeliverable_at = '2026-01-02T03:04:05.000000Z', undeliverable_reason = 'bounced in January'
		WHERE email = 'lead5@x5.example'`)
	f.srv.FailAllRecipients(smtptest.UserUnknown)
	res := f.run(t, ctx, f.c.ID, campaign.Options{Concurrency: 4})
	if res.State != leadmailer.CampaignPaused || !strings.HasPrefix(res.Reason, campaign.ReasonTooManyRefused) ||
		!strings.Contains(res.Reason, "20 in a row") {
		t.Fatalf("result = %+v, want paused by the breaker after 20 refusals in a row", res)
	}
	if res.Withdrawn < 20 || res.Unmarked != res.Withdrawn || res.Failed != 0 {
		t.Errorf("withdrawn %d, unmarked %d, failed %d; want at least 20 withdrawn and unmarked, none failed", res.Withdrawn, res.Unmarked, res.Failed)
	}
	rep, _ := f.db.CampaignReport(ctx, f.c.ID)
	if rep.Failed != 0 || rep.Queued != n-1 || rep.Skipped != 1 {
		t.Errorf("report %+v: want 0 failed, %d queued, 1 skipped", rep, n-1)
	}
	var marked []string
	rows, err := f.raw.Query(`SELECT email, undeliverable_reason FROM leads WHERE undeliverable_at IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var email, why string
		rows.Scan(&email, &why)
		marked = append(marked, email+": "+why)
	}
	rows.Close()
	if len(marked) != 1 || marked[0] != "lead5@x5.example: bounced in January" {
		t.Errorf("leads marked undeliverable: %q, want only the January bounce", marked)
	}
	for key, r := range recipients(t, f.db, f.c.ID) {
		if strings.Contains(key, "@") && r.Attempts != 0 {
			t.Errorf("%s: %d attempts left counted, want 0", key, r.Attempts)
		}
	}

	f.srv.FailAllRecipients(smtptest.Fault{})
	res = f.run(t, ctx, f.c.ID, campaign.Options{Concurrency: 4})
	if res.State != leadmailer.CampaignFinished || res.Sent != n-1 {
		t.Fatalf("resumed run = %+v, want finished with %d sent", res, n-1)
	}
	if got := f.srv.CountRecipient("lead5@x5.example"); got != 0 {
		t.Errorf("the lead marked in January received %d messages", got)
	}
}

// TestBreakerOnTheShareOfRefusals: refusals mixed with deliveries never make 20 in a row,
// but more than 30 % of the first 100 trip the breaker all the same; a list with a few bad
// addresses does not.
func TestBreakerOnTheShareOfRefusals(t *testing.T) {
	const n = 300
	tests := []struct {
		name   string
		every  int // every nth lead is refused
		paused bool
		failed int64
	}{
		{"half refused", 2, true, 0},
		{"one in twenty refused", 20, false, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, n, 1)
			for i := 0; i < n; i += tt.every {
				f.srv.FailRecipient(fmt.Sprintf("lead%d@x%d.example", i, i%7), smtptest.UserUnknown)
			}
			res := f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 1})
			if paused := res.State == leadmailer.CampaignPaused; paused != tt.paused || res.Failed != tt.failed {
				t.Fatalf("result = %+v, want paused %v with %d failed", res, tt.paused, tt.failed)
			}
			if tt.paused && !strings.Contains(res.Reason, "31 of the first 100") {
				t.Errorf("reason %q, want 31 of the first 100", res.Reason)
			}
			var marked int64
			f.raw.QueryRow(`SELECT count(*) FROM leads WHERE undeliverable_at IS NOT NULL`).Scan(&marked)
			if marked != tt.failed {
				t.Errorf("%d leads marked undeliverable, want %d", marked, tt.failed)
			}
		})
	}
}

// TestRetriesHonourTheirBackoff: a recipient refused once with a 4xx early in a long pass is
// sent again once its backoff has passed, not after everybody else.
func TestRetriesHonourTheirBackoff(t *testing.T) {
	const n, rate = 500, 100
	f := newFixture(t, n, 2)
	f.srv.FailRecipient("lead3@x3.example", smtptest.Fault{Code: 451, Enhanced: "4.2.0", Text: "Mailbox busy", Times: 1})
	// 100 messages a second: the pass takes 5 s, the backoff 200 ms.
	res := f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 2, Rate: rate, Backoff: 200 * time.Millisecond})
	if res.State != leadmailer.CampaignFinished || res.Sent != n || res.Retried != 1 {
		t.Fatalf("result = %+v, want all %d sent after one retry", res, n)
	}
	pos := -1
	for i, m := range f.srv.Messages() {
		if m.To[0] == "lead3@x3.example" {
			pos = i
		}
	}
	// The feeder looks for due retries once a second; by then it may hold a batch read
	// and a channel full of jobs, each half a second's worth at this rate. So the retry
	// goes out within about rate*(1 s + backoff) + 2 batches = 220 messages, never later
	// than that even on a slow machine (the rate is a ceiling, not a floor), and far
	// from the end of the pass, where it would land if retries waited for the pass.
	if limit := 300; pos < 0 || pos >= limit {
		t.Errorf("the retry was delivered as message %d of %d; want within the first %d (backoff 200 ms, 1 s check, batches of %d)", pos+1, n, limit, rate/2)
	}
	checkExactlyOnce(t, f, f.c.ID, n)
}

// TestLedgerFailurePausesTheCampaign: when the ledger cannot record outcomes (here a full
// disk, as a trigger makes SQLite report it), nothing more is sent, the campaign is paused
// with the reason rather than left running, and a resume once the disk has room finishes it
// with no more than the messages in flight sent twice.
func TestLedgerFailurePausesTheCampaign(t *testing.T) {
	const n, concurrency = 200, 4
	f := newFixture(t, n, concurrency)
	f.exec(t, `CREATE TRIGGER disk_full BEFORE UPDATE OF status ON campaign_recipients
		WHEN NEW.status = 'sent' AND (SELECT count(*) FROM campaign_recipients WHERE status = 'sent') >= 50
		BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`)
	_, err := campaign.Run(context.Background(), f.db, f.tr, f.c.ID, settings, campaign.Options{Concurrency: concurrency})
	if err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("Run: %v, want the ledger's failure", err)
	}
	c, _ := f.db.FindCampaign(context.Background(), f.c.ID)
	if c.State != leadmailer.CampaignPaused || !strings.HasPrefix(c.Reason, campaign.ReasonLedgerFailed) ||
		!strings.Contains(c.Reason, "disk is full") || !campaign.PausedByItself(c.Reason) {
		t.Fatalf("campaign %s %q, want paused because the ledger cannot be written", c.State, c.Reason)
	}
	if got := f.srv.Count(); got >= n {
		t.Errorf("the server received %d messages: sending went on without the ledger", got)
	}
	f.exec(t, `DROP TRIGGER disk_full`)
	res := f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: concurrency})
	if res.State != leadmailer.CampaignFinished {
		t.Fatalf("resumed run = %+v, want finished", res)
	}
	twice := 0
	for i := range n {
		switch got := f.srv.CountRecipient(fmt.Sprintf("lead%d@x%d.example", i, i%7)); {
		case got == 2:
			twice++
		case got != 1:
			t.Errorf("lead%d received %d messages", i, got)
		}
	}
	// The outcomes of the failed commit are lost; those rows stay "sending", at most one a
	// worker, and only they are sent again.
	if twice > concurrency {
		t.Errorf("%d recipients got the message twice, want at most %d", twice, concurrency)
	}
}

// TestUnknownOutcomeWaitsTheLongestBackoff: a relay that takes longer than data_end to
// answer the end of a message may have accepted it. The recipient is counted as possibly
// delivered and retried only after the longest backoff, not at once.
func TestUnknownOutcomeWaitsTheLongestBackoff(t *testing.T) {
	const n = 10
	f := newFixture(t, n, 1)
	f.srv.FailMessage(3, smtptest.Fault{Delay: 500 * time.Millisecond})
	tr, err := mailer.Open(f.srv.URL(), mailer.Options{Concurrency: 1, Timeouts: mailer.Timeouts{DataEnd: 150 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	opts := campaign.Options{Concurrency: 1, Backoff: time.Millisecond, MaxBackoff: time.Hour, Progress: func(p campaign.Progress) {
		if p.Sent == n-1 {
			cancel() // the rest is sent; the feeder would now wait for the retry
		}
	}}
	res, err := campaign.Run(ctx, f.db, tr, f.c.ID, settings, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != n-1 || res.Retried != 1 {
		t.Fatalf("result = %+v, want %d sent and one retry waiting", res, n-1)
	}
	var notBefore, messageID string
	var unknown int
	if err := f.raw.QueryRow(`SELECT not_before, outcome_unknown, message_id FROM campaign_recipients WHERE status = 'queued'`).Scan(&notBefore, &unknown, &messageID); err != nil {
		t.Fatal(err)
	}
	at, _ := time.Parse(time.RFC3339Nano, notBefore)
	if at.Before(start.Add(59*time.Minute)) || unknown != 1 {
		t.Errorf("the unanswered message is retried at %s (outcome_unknown %d); want after the longest backoff, an hour", notBefore, unknown)
	}
	rep, _ := f.db.CampaignReport(context.Background(), f.c.ID)
	if rep.PossiblyDelivered != 1 {
		t.Errorf("report counts %d possibly delivered, want 1", rep.PossiblyDelivered)
	}

	// An hour later the retry goes, with the same Message-ID; the row stays counted.
	f.exec(t, `UPDATE campaign_recipients SET not_before = '' WHERE status = 'queued'`)
	res = f.run(t, context.Background(), f.c.ID, campaign.Options{Concurrency: 1})
	if res.State != leadmailer.CampaignFinished || res.Sent != 1 {
		t.Fatalf("resumed run = %+v, want the retry sent", res)
	}
	if rep, _ = f.db.CampaignReport(context.Background(), f.c.ID); rep.PossiblyDelivered != 1 || rep.Sent != n {
		t.Errorf("report %+v, want %d sent of which 1 possibly twice", rep, n)
	}
	// The slow relay records the first copy once its delay is over.
	for deadline := time.Now().Add(2 * time.Second); f.srv.CountMessageID(messageID) < 2 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := f.srv.CountMessageID(messageID); got != 2 {
		t.Errorf("the slow relay's message %s was received %d times, want 2 with one Message-ID", messageID, got)
	}
}

// TestSlowRelayIsWaitedFor: a relay that takes longer to answer the end of a message than
// any other step may take (here 400 ms against 200 ms) delivers each message once: the
// reply to the final dot has its own, longer timeout, and nothing is retried.
func TestSlowRelayIsWaitedFor(t *testing.T) {
	const n, slow = 40, 22
	f := newFixture(t, n, 4)
	for i := 1; i <= slow; i++ {
		f.srv.FailMessage(i, smtptest.Fault{Delay: 400 * time.Millisecond})
	}
	step := 200 * time.Millisecond
	tr, err := mailer.Open(f.srv.URL(), mailer.Options{Concurrency: 4, Timeout: step,
		Timeouts: mailer.Timeouts{Greeting: step, Command: step, Data: step, Block: step}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	res, err := campaign.Run(context.Background(), f.db, tr, f.c.ID, settings, campaign.Options{Concurrency: 4, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.State != leadmailer.CampaignFinished || res.Sent != n || res.Retried != 0 {
		t.Fatalf("result = %+v, want all %d sent with no retry", res, n)
	}
	checkExactlyOnce(t, f, f.c.ID, n)
}

// TestUnbuildableMessagesDoNotTripTheBreaker: leads whose message cannot be built (here an
// address the importer would not take, changed in the database since) fail with the reason,
// one after another, more than the breaker's limit in a row; that is the leads' problem, not
// the relay's, so the campaign finishes. A relay refusing every address afterwards still
// trips the breaker, which queues again only the refusals it blames on the relay.
func TestUnbuildableMessagesDoNotTripTheBreaker(t *testing.T) {
	const n, bad = 60, 25 // bad > MaxPermanentInRow (20)
	f := newFixture(t, n, 1)
	ctx := context.Background()
	for i := range bad {
		f.exec(t, `UPDATE leads SET email = ? WHERE email = ?`,
			fmt.Sprintf("lead%d(old)@x%d.example", i, i%7), fmt.Sprintf("lead%d@x%d.example", i, i%7))
	}
	res := f.run(t, ctx, f.c.ID, campaign.Options{Concurrency: 1})
	if res.State != leadmailer.CampaignFinished || res.Failed != bad || res.Sent != n-bad {
		t.Fatalf("result = %+v, want finished with %d failed and %d sent", res, bad, n-bad)
	}
	recs := recipients(t, f.db, f.c.ID)
	for i := range bad {
		r := recs[fmt.Sprintf("lead%d(old)@x%d.example", i, i%7)]
		if r == nil || r.Status != leadmailer.RecipientFailed || !strings.Contains(r.LastReply, "recipient") {
			t.Errorf("unbuildable lead %d: %+v, want failed with the build error", i, r)
		}
	}
	if got := f.srv.Count(); got != n-bad {
		t.Errorf("the server received %d messages, want %d", got, n-bad)
	}

	// The same leads first, then a relay refusing everybody: the refusals alone trip it.
	next := f.newCampaign(t)
	f.srv.FailAllRecipients(smtptest.UserUnknown)
	res = f.run(t, ctx, next.ID, campaign.Options{Concurrency: 1})
	if res.State != leadmailer.CampaignPaused || !strings.HasPrefix(res.Reason, campaign.ReasonTooManyRefused) ||
		!strings.Contains(res.Reason, "20 in a row") {
		t.Fatalf("result = %+v, want paused by the breaker after 20 refusals in a row", res)
	}
	if res.Withdrawn != 20 || res.Failed != bad {
		t.Errorf("withdrawn %d, failed %d; want the 20 refusals withdrawn and the %d unbuildable failed", res.Withdrawn, res.Failed, bad)
	}
	rep, _ := f.db.CampaignReport(ctx, next.ID)
	if rep.Failed != bad || rep.Queued != n-bad {
		t.Errorf("report %+v: want %d failed, %d queued", rep, bad, n-bad)
	}
}

// TestLockedLedgerPausesTheCampaign: another connection holds SQLite's write lock (BEGIN
// IMMEDIATE) for longer than the store's busy timeout (10 s) in the middle of a send. The
// "sending" mark that cannot be committed stops the run: the campaign is paused with the
// reason, every message the relay received has its mark in the ledger, and once the lock
// is released a resume sends the rest exactly once; only the messages in flight when the
// ledger failed, recorded as "sending", go again, with the same Message-ID.
func TestLockedLedgerPausesTheCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the store's 10 s busy timeout")
	}
	const n, concurrency, before = 200, 4, 50
	const hold = 12 * time.Second // the store's busy timeout and a margin
	f := newFixture(t, n, concurrency)
	ctx := context.Background()
	lock, err := f.raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	locked := make(chan error, 1)
	var once sync.Once
	opts := campaign.Options{Concurrency: concurrency, Progress: func(p campaign.Progress) {
		if p.Sent >= before {
			// Called by the ledger between two commits: the next one meets the lock.
			once.Do(func() {
				_, err := lock.ExecContext(ctx, `BEGIN IMMEDIATE`)
				locked <- err
			})
		}
	}}
	released := make(chan struct{})
	go func() {
		defer close(released)
		if err := <-locked; err != nil {
			t.Errorf("BEGIN IMMEDIATE: %v", err)
			return
		}
		time.Sleep(hold)
		if _, err := lock.ExecContext(ctx, `ROLLBACK`); err != nil {
			t.Errorf("ROLLBACK: %v", err)
		}
	}()
	_, err = campaign.Run(ctx, f.db, f.tr, f.c.ID, settings, opts)
	<-released
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("Run: %v, want the ledger's failure: the database is locked", err)
	}
	c, _ := f.db.FindCampaign(ctx, f.c.ID)
	if c.State != leadmailer.CampaignPaused || !strings.HasPrefix(c.Reason, campaign.ReasonLedgerFailed) ||
		!strings.Contains(c.Reason, "database is locked") {
		t.Fatalf("campaign %s %q, want paused because the ledger cannot be written", c.State, c.Reason)
	}
	first := f.srv.Messages()
	if len(first) < before || len(first) >= n {
		t.Fatalf("the server received %d messages before the pause, want from %d to fewer than %d", len(first), before, n)
	}
	recs := recipients(t, f.db, f.c.ID)
	inFlight := map[string]bool{}
	for _, m := range first {
		r := recs[m.To[0]]
		if r == nil || (r.Status != leadmailer.RecipientSent && r.Status != leadmailer.RecipientSending) || r.MessageID != m.MessageID {
			t.Errorf("%s was delivered (Message-ID %s) with ledger row %+v: want its sending mark recorded", m.To[0], m.MessageID, r)
			continue
		}
		if r.Status == leadmailer.RecipientSending {
			inFlight[m.To[0]] = true
		}
	}
	if len(inFlight) > concurrency {
		t.Errorf("%d rows left sending, want at most one a worker (%d)", len(inFlight), concurrency)
	}
	delivered := map[string]int{}
	for _, m := range first {
		delivered[m.To[0]]++
	}

	res := f.run(t, ctx, f.c.ID, campaign.Options{Concurrency: concurrency})
	if res.State != leadmailer.CampaignFinished {
		t.Fatalf("resumed run = %+v, want finished", res)
	}
	recs = recipients(t, f.db, f.c.ID)
	for i := range n {
		email := fmt.Sprintf("lead%d@x%d.example", i, i%7)
		want := 1
		if inFlight[email] {
			want = 2 // its outcome was never recorded: sent again after the crash rule
		}
		if got := f.srv.CountRecipient(email); got != want {
			t.Errorf("%s: delivered %d times (%d before the pause), want %d", email, got, delivered[email], want)
		}
		if r := recs[email]; r == nil || r.Status != leadmailer.RecipientSent || f.srv.CountMessageID(r.MessageID) != want {
			t.Errorf("%s: ledger row %+v, want sent with its one Message-ID on every copy", email, r)
		}
	}
}
