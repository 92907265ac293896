package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/bounce"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/feedback"
	"github.com/leadmailer/leadmailer/store"
)

// deriveKey derives a key for one purpose from the data directory's secret key, so that
// no two uses share a key.
func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// messageIDKey keys the hash in campaign Message-IDs.
func messageIDKey(secret []byte) []byte { return deriveKey(secret, "leadmailer message-id v1") }

// returnPathSigner makes the per-recipient envelope senders of [bounces] domain, or is nil
// when no bounce domain is configured.
func returnPathSigner(cfg *config.Config, secret []byte) *bounce.Signer {
	if cfg.Bounces.Domain == "" {
		return nil
	}
	return bounce.NewSigner(deriveKey(secret, "leadmailer return path v1"), cfg.Bounces.Local, cfg.Bounces.Domain)
}

func bouncesCommand() *command {
	return &command{
		name:    "bounces",
		summary: "read bounces and spam complaints that a mail server hands over",
		usage: `Usage:
  leadmailer bounces ingest [--to ADDRESS] [--json] FILE|FOLDER|-

Reads what came back after the relay accepted a message: delivery status notifications
(bounces), spam-complaint feedback reports (ARF) and the older bounce texts of common
servers, and records each against the campaign message it is about. Auto-replies and
out-of-office answers are recognised and ignored.

FILE is one message or an mbox; FOLDER is a Maildir (cur/ and new/) or a folder of message
files; - reads one message from standard input, as a mail server's pipe delivers it.
Ingesting the same messages again is safe: a report recorded before is recognised.

What a report does (set in [bounces] of leadmailer.toml, see docs/bounces.md):
  hard bounce (5.x.x)  the recipient row is marked bounced, the lead undeliverable
  soft bounce (4.x.x)  counted; soft_limit of them within soft_window (3 in 30 days) mark
                       the lead undeliverable
  complaint            the address goes on the suppression list at once (reason complaint)
A burst of hard bounces from one reporting server pauses the campaign instead of marking
the leads, and a campaign whose bounce or complaint rate passes its limit pauses itself.

A report is tied to a message by the signed return path it was mailed to (set
[bounces] domain), or by the campaign Message-ID it quotes; one naming neither, or with a
token that does not verify, changes nothing.

Flags:
  --to ADDRESS  the address the message was delivered to, when it is not in the
                message's X-Original-To or Delivered-To (Postfix: ${original_recipient})
  --json        print the summary as JSON

Exit status 75 (temporary failure) when the database cannot record a report now, so that
a mail server's pipe keeps the message and tries again.

Examples:
  leadmailer bounces ingest - < bounce.eml
  leadmailer bounces ingest --to "bounces+kd3...@bounces.example.com" -
  leadmailer bounces ingest ~/Maildir/.Bounces
  leadmailer bounces ingest bounces.mbox --json
`,
		run: runBounces,
	}
}

// exitTempFail is sysexits' EX_TEMPFAIL: a mail server that pipes a message into a command
// keeps the message and retries when the command exits with it.
const exitTempFail = 75

// ingestCacheKiB is the page cache of "bounces ingest", in KiB, and ingestHeapLimit the
// memory of its Go heap, in bytes (see runBounces).
const (
	ingestCacheKiB  = 16 << 10
	ingestHeapLimit = 40 << 20
)

// tempFailError is an error after which the same input should be offered again.
type tempFailError struct{ err error }

func (e *tempFailError) Error() string { return e.err.Error() + " (try again later)" }
func (e *tempFailError) Unwrap() error { return e.err }

func runBounces(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say ingest")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	if args[0] != "ingest" {
		return usagef("no bounces command %q: say ingest", args[0])
	}
	fs, dataDir := newFlags("bounces ingest", e)
	configPath := configFlag(fs, e)
	to := fs.String("to", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("give one FILE, FOLDER, or - for standard input")
	}
	cfg, err := loadConfig(*dataDir, *configPath, e)
	if err != nil {
		return err
	}
	// The ingest passes through the ledger once, in the order the reports come: a page cache
	// of 16 MiB records as fast as one of 64 MiB and keeps the command under 100 MB.
	db, err := openDataAt(ctx, *dataDir, *configPath, e.getenv, store.Options{CacheKiB: ingestCacheKiB, Statements: 32})
	if err != nil {
		return &tempFailError{err}
	}
	defer db.Close()
	secret, err := loadSecret(filepath.Join(*dataDir, secretFile))
	if err != nil {
		return err
	}
	p := newProcessor(cfg, db, secret, slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	opts := feedback.IngestOptions{To: strings.ToLower(*to), Limits: bounceLimits(cfg)}
	var sum *feedback.Summary
	if rest[0] == "-" {
		res, err := p.IngestMessage(ctx, e.stdin, opts)
		sum = &feedback.Summary{Messages: 1}
		switch {
		case err == nil:
			sum.Recorded, sum.Duplicates, sum.Paused = res.Recorded, res.Duplicates, res.Paused
			if res.Ignored != "" {
				sum.Ignored = 1
				sum.Problems = []string{"ignored: " + res.Ignored}
			}
		case errors.Is(err, feedback.ErrForged), errors.Is(err, bounce.ErrTooLarge), errors.Is(err, bounce.ErrMalformed):
			sum.Refused = 1
			sum.Problems = []string{err.Error()}
		default:
			return &tempFailError{err}
		}
	} else {
		opts.Progress = func(s feedback.Summary) {
			fmt.Fprintf(e.stderr, "%s read: %d recorded, %d ignored, %d refused\n", plural(s.Messages, "message", "messages"), s.Recorded, s.Ignored, s.Refused)
		}
		// A folder's messages are parsed and dropped one after the other: the garbage of
		// each is most of the heap, and collecting at every doubling of a small live heap
		// was a tenth of the ingest's CPU time. Collect at five times the live heap, but
		// never let the heap pass the limit, which keeps the command's memory bounded.
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(ingestHeapLimit)
		sum, err = p.Ingest(ctx, rest[0], opts)
		if err != nil {
			if sum != nil {
				printBounceSummary(e, sum)
			}
			return &tempFailError{err}
		}
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(sum)
	}
	printBounceSummary(e, sum)
	return nil
}

func printBounceSummary(e *env, s *feedback.Summary) {
	fmt.Fprintf(e.stdout, "%s read: %s recorded, %d already recorded, %s ignored, %d refused.\n",
		plural(s.Messages, "message", "messages"), plural(s.Recorded, "recipient", "recipients"), s.Duplicates,
		plural(s.Ignored, "message", "messages"), s.Refused)
	for _, p := range s.Problems {
		fmt.Fprintf(e.stdout, "  %s\n", p)
	}
	for _, p := range s.Paused {
		fmt.Fprintf(e.stdout, "Campaign paused: %s\n", p)
	}
}

// bounceLimits bounds each bounce message by [bounces] max_message_kb.
func bounceLimits(cfg *config.Config) bounce.Limits {
	lim := bounce.DefaultLimits
	lim.MaxBytes = int64(cfg.Bounces.MaxMessageKB) << 10
	return lim
}

// bouncePolicy is the store's policy from [bounces].
func bouncePolicy(b config.Bounces) store.BouncePolicy {
	return store.BouncePolicy{
		SoftLimit: b.SoftLimit, SoftWindow: b.SoftWindow.D(),
		BurstCount: b.BurstCount, BurstWindow: b.BurstWindow.D(),
		BounceRate: b.BounceRate, ComplaintRate: b.ComplaintRate, RateMinSent: int64(b.RateMinSent),
	}
}

// newProcessor is the one path every bounce takes, whichever way it arrived.
func newProcessor(cfg *config.Config, db *store.DB, secret []byte, log *slog.Logger) *feedback.Processor {
	key := messageIDKey(secret)
	return &feedback.Processor{
		Store: db, ReturnPaths: returnPathSigner(cfg, secret), Policy: bouncePolicy(cfg.Bounces), Log: log,
		MessageID: func(id string) (int64, int64, bool) { return campaign.ParseMessageID(key, id) },
	}
}

// snsTestHook, when not nil, adjusts serve's SNS verifier before it is used. Only this
// package's tests set it, in a serve process they start from the test binary, so that an SES
// notification signed with a test certificate can reach a real serve; no configuration key
// or environment variable of the leadmailer command can set it, so a production build always
// trusts only Amazon's SNS hosts.
var snsTestHook func(*bounce.SNSVerifier)

// startBounces starts what [bounces] configures in serve: the inbound SMTP listener and the
// providers' webhooks, mounted with mount. The returned stop waits for sessions in progress.
func startBounces(cfg *config.Config, db *store.DB, secret []byte, log *slog.Logger, e *env,
	mount func(pattern string, h http.Handler)) (stop func(context.Context) error, err error) {
	p := newProcessor(cfg, db, secret, log)
	hooks, err := cfg.Bounces.Webhooks.Resolve(func(name string) (string, bool) {
		v := e.getenv(name)
		return v, v != ""
	})
	if err != nil {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "%v", err)
	}
	w := &feedback.Webhooks{Processor: p, SendGridPublicKey: hooks.SendGridPublicKey,
		PostmarkUser: hooks.PostmarkUser, PostmarkPassword: hooks.PostmarkPassword, MailgunSigningKey: hooks.MailgunSigningKey}
	if len(hooks.SESTopicARNs) > 0 {
		w.SES = &bounce.SNSVerifier{TopicARNs: hooks.SESTopicARNs, Client: &http.Client{Timeout: 30 * time.Second}}
		if snsTestHook != nil {
			snsTestHook(w.SES)
		}
	}
	for _, path := range w.Mount(mount) {
		fmt.Fprintf(e.stdout, "Receiving bounce webhooks at %s\n", path)
	}
	if cfg.Bounces.Listen == "" {
		return func(context.Context) error { return nil }, nil
	}
	srv, err := feedback.NewServer(p, feedback.ServerOptions{Local: cfg.Bounces.Local, MaxBytes: int64(cfg.Bounces.MaxMessageKB) << 10})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Bounces.Listen)
	if err != nil {
		return nil, fmt.Errorf("[bounces] listen on %s: %w", cfg.Bounces.Listen, err)
	}
	fmt.Fprintf(e.stdout, "Receiving bounces by SMTP on %s for %s\n", ln.Addr(), cfg.Bounces.Domain)
	go func() {
		if err := srv.Serve(ln); err != nil {
			log.Error("bounce listener", "err", err)
		}
	}()
	return srv.Shutdown, nil
}
