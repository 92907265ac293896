package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/api"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/clientip"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/publicweb"
	"github.com/leadmailer/leadmailer/rejectfiles"
	"github.com/leadmailer/leadmailer/retention"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/unsubscribe"
	"github.com/leadmailer/leadmailer/web"
)

// campaignTick is how often serve looks for campaigns that are due.
const campaignTick = 15 * time.Second

func serveCommand() *command {
	return &command{
		name:    "serve",
		summary: "serve the web app, run the schedule and send campaigns",
		usage: `Usage: leadmailer serve [--config FILE] [--listen ADDR] [--public-url URL] [--max-upload MIB]

Serves the web app: log in, see the dashboard, search leads and see where every value came
from, upload CSV files with a preview of how they will be read, follow imports, run sources,
create, preview, test, schedule and follow campaigns, export and erase a person's data,
manage users and read the audit trail. Create the first user with "leadmailer init --admin NAME".

Next to the app it runs the schedule of the configuration: every source with a schedule,
the retention policy at [retention] schedule, and the campaigns: a campaign scheduled with
--at starts at its time, a --cron campaign at each occurrence, and one left running when
the previous serve stopped resumes at once. It also serves the public endpoints the mail
links to: the one-click opt-out at /u/TOKEN, website queries at POST /query, and the
confirmation of a consent ticked on the query form at /query/confirm/TOKEN, whose mail goes
through the configured transport. Programs call the JSON API at /api/v1/ with a token from
"leadmailer tokens add" (see /api/v1/openapi.yaml).

It listens on [web] listen of the configuration, or 127.0.0.1:8080. To reach it from other
machines, put it behind a reverse proxy that terminates HTTPS, or give it a certificate and
key ([web] tls_cert_file and tls_key_file) to answer HTTPS itself, and give --public-url
https://... (or public_url in the configuration): cookies are then marked Secure, and links in
mail point there. SIGINT or SIGTERM stops it cleanly: requests in flight finish, campaigns
sending finish the messages in flight and stay running, so the next start of serve goes on
with them (as it does after a crash), source runs get a few seconds to finish and are
otherwise recorded as failed, and imports still running end as failed runs that importing the
file again completes.

Flags:
  --config FILE       configuration file (default leadmailer.toml in the data directory, or LEADMAILER_CONFIG)
  --listen ADDR       address to listen on (default [web] listen; :0 picks a free port)
  --public-url URL    the address users and recipients reach the app at (default public_url)
  --max-upload MIB    largest CSV upload, in MiB (default 200)
  --data DIR          data directory (default ./leadmailer-data, or LEADMAILER_DATA)

Examples:
  leadmailer serve
  leadmailer serve --listen 0.0.0.0:8080 --public-url https://leads.example.com
  leadmailer serve --config /etc/leadmailer.toml
`,
		run: runServe,
	}
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("serve", e)
	configPath := configFlag(fs, e)
	listen := fs.String("listen", "", "")
	publicURL := fs.String("public-url", "", "")
	maxUpload := fs.Int64("max-upload", 200, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("serve takes no arguments, got %q", rest)
	}
	if *maxUpload <= 0 {
		return usagef("--max-upload %d: give a size in MiB, such as 200", *maxUpload)
	}
	cfg, err := loadConfig(*dataDir, *configPath, e)
	if err != nil {
		return err
	}
	if *listen == "" {
		*listen = cfg.Web.Listen
	}
	if *publicURL == "" {
		*publicURL = cfg.PublicURL
	}
	if *publicURL != "" && !strings.Contains(*publicURL, config.Placeholder) {
		warning, err := config.CheckPublicURL(*publicURL)
		if err != nil {
			return usagef("--public-url: %v", err)
		}
		if warning != "" {
			fmt.Fprintf(e.stderr, "Warning: %s.\n", warning)
		}
	}
	cfg.PublicURL = *publicURL // links in mail point where the app is served
	retentionSchedule, err := config.ParseSchedule(cfg.Retention.Schedule, "")
	if err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "[retention] schedule %q: %v", cfg.Retention.Schedule, err)
	}
	release, err := lockDataDir(*dataDir, "starting serve")
	if err != nil {
		return err
	}
	defer release()
	db, err := openDataAt(ctx, *dataDir, *configPath, e.getenv, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	secret, err := loadSecret(filepath.Join(*dataDir, secretFile))
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, nil))
	// One notion of the client's address for the login throttle, sessions, the query
	// limiter and the audit trail: the proxy's header is believed only from trusted proxies.
	clients, err := clientip.New(cfg.Web.TrustedProxies, cfg.Web.ProxyHeader)
	if err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "[web] trusted_proxies: %v", err)
	}

	runs := newSourceRuns(e, db)
	runSource := func(name, actor string) error {
		src := findSource(cfg, name)
		if src == nil {
			return leadmailer.Errorf(leadmailer.ENOTFOUND, "no source %q in %s", name, configName(cfg))
		}
		return runs.start(ctx, src, actor)
	}
	wake := make(chan struct{}, 1) // "Send now" in the app or the API: look for due campaigns at once
	wakeCampaigns := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	mail := &serveMail{db: db, cfg: cfg, dataDir: *dataDir}
	app, err := web.New(db, web.Options{
		DataDir: *dataDir, PublicURL: *publicURL, MaxUpload: *maxUpload << 20, Logger: logger,
		ReadTimeout: cfg.Web.ReadTimeout.D(), WriteTimeout: cfg.Web.WriteTimeout.D(),
		NameKey: deriveKey(secret, "leadmailer failed-login names v1"), ClientIP: clients.IP,
		Sources:       sourceInfos(cfg),
		RunSource:     runSource,
		SourceRunning: runs.Running,
		Mail:          mail,
		WakeCampaigns: wakeCampaigns,
	})
	if err != nil {
		return err
	}
	public := publicweb.New(db, publicweb.Options{Signer: unsubscribe.NewSigner(secret), Log: logger,
		QueryOrigins: cfg.Web.QueryOrigins, ClientIP: clients.IP,
		// Consents ticked on the query form are confirmed by mail, sent like every other.
		Confirm: publicweb.NewConfirmSigner(secret), Mail: &transportMail{cfg: cfg, dataDir: *dataDir},
		From: cfg.Sender.From, ReplyTo: cfg.Sender.ReplyTo, Company: cfg.Sender.Company, PublicURL: *publicURL,
		Audit: func(ctx context.Context, action, target, detail, ip string) {
			err := db.RecordAudit(ctx, &leadmailer.AuditEntry{Actor: "public", Action: action, Target: target, Detail: detail, IP: ip})
			if err != nil {
				logger.Error("audit", "action", action, "err", err)
			}
		}})
	public.Mount(app.MountPublic)
	// The API checks its own Bearer tokens; it keeps nothing in cookies, so the web app's
	// login and cross-origin checks have nothing to protect there.
	jsonAPI := api.New(db, api.Options{Logger: logger, DataDir: *dataDir, MaxUpload: *maxUpload << 20,
		ReadTimeout: cfg.Web.ReadTimeout.D(), WriteTimeout: cfg.Web.WriteTimeout.D(),
		Mail: mail, WakeCampaigns: wakeCampaigns,
		Sources: apiSources(cfg), RunSource: runSource, SourceRunning: runs.Running})
	app.MountPublicLimit(api.Prefix, jsonAPI.MaxBody(), jsonAPI.Handler())
	stopBounces, err := startBounces(cfg, db, secret, logger, e, app.MountPublic)
	if err != nil {
		return err
	}
	mon, err := startMonitoring(cfg, db, *dataDir, logger, e, app.MountPublic)
	if err != nil {
		return err
	}
	waitWebhooks, err := startWebhooks(ctx, cfg, db, logger, e)
	if err != nil {
		return err
	}

	srv := newHTTPServer(mon.metrics.Instrument(app.Handler()), cfg.Web, logger)
	scheme := "http"
	if cfg.Web.TLSCertFile != "" {
		pair, err := loadTLSFiles(cfg.Web.TLSCertFile, cfg.Web.TLSKeyFile)
		if err != nil {
			return leadmailer.Errorf(leadmailer.EINVALID, "%v", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *listen, err)
	}

	// The schedule and the campaigns stop when ctx ends: SIGINT or SIGTERM.
	// The name of this process in the leases of the recipients it sends to.
	owner := campaign.LeaseOwner()
	sched, waitSchedule, err := startScheduleRuns(ctx, e, runs, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	keeper := &retention.Runner{Store: db, Policy: retention.PolicyFromConfig(cfg.Retention),
		RejectsDir: rejectfiles.Dir(*dataDir),
		Record: func(ctx context.Context, rep *retention.Report) error {
			return db.RecordAudit(ctx, &leadmailer.AuditEntry{Actor: "schedule", Action: leadmailer.AuditRetentionRun,
				Detail: retentionAuditDetail(rep), IP: "local"})
		}}
	if err := sched.Add("retention", retentionSchedule, keeper.Run); err != nil {
		ln.Close()
		return err
	}
	campaigns := newCampaignScheduler(db, cfg, *dataDir, logger, owner)
	campaignsDone := make(chan struct{})
	go func() {
		defer close(campaignsDone)
		tick := time.NewTicker(campaignTick)
		defer tick.Stop()
		for {
			// The first turn resumes the campaigns a crash left running.
			if err := campaigns.Tick(ctx, time.Now()); err != nil && ctx.Err() == nil {
				logger.Error("campaign schedule", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-wake:
			}
		}
	}()

	fmt.Fprintf(e.stdout, "Serving the web app on %s://%s (stop with Ctrl-C)\n", scheme, ln.Addr())
	served := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			served <- srv.ServeTLS(ln, "", "")
			return
		}
		served <- srv.Serve(ln)
	}()
	var serveErr error
	select {
	case err := <-served:
		serveErr = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(e.stdout, "Stopping: finishing requests in flight, stopping sends (they go on at the next start)…")
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(stopCtx)
	if berr := stopBounces(stopCtx); err == nil {
		err = berr
	}
	if merr := mon.stop(stopCtx); err == nil {
		err = merr
	}
	if aerr := app.Shutdown(stopCtx); err == nil {
		err = aerr
	}
	public.Wait() // confirmation mails still being sent
	// serveErr means ctx has not ended; the schedule and campaigns stop only with it.
	if serveErr == nil {
		<-campaignsDone
		campaigns.Wait()
		waitSchedule()
		runs.Wait()
		waitWebhooks()
	}
	if serveErr != nil {
		return serveErr
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop: %w", err)
	}
	fmt.Fprintln(e.stdout, "Stopped.")
	return nil
}

// newHTTPServer returns the server for the app, with every timeout set: a client that sends
// its headers or body, or reads the answer, a byte at a time, or keeps a connection idle, is
// cut off. The upload and long downloads extend their own deadlines while data moves.
func newHTTPServer(h http.Handler, cfg config.Web, logger *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: cfg.ReadTimeout.D(), WriteTimeout: cfg.WriteTimeout.D(), IdleTimeout: cfg.IdleTimeout.D(),
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
}

// sourceInfos describes the configured sources for the web app.
func sourceInfos(cfg *config.Config) []web.SourceInfo {
	var out []web.SourceInfo
	for _, s := range cfg.Sources {
		in := web.SourceInfo{Name: s.Name, Title: s.Title, Kind: s.Kind, Location: s.URL, Format: s.Format,
			Licence: s.Licence, Public: s.IsPublic(), Schedule: s.Schedule, Timezone: s.Timezone}
		if s.Kind == "file" {
			in.Location = s.Path
		}
		if s.Schedule != "" {
			if sched, err := config.ParseSchedule(s.Schedule, s.Timezone); err == nil {
				in.NextRun = sched.Next
			}
		}
		out = append(out, in)
	}
	return out
}

// apiSources describes the configured sources for the JSON API, as sourceInfos does for the
// web app.
func apiSources(cfg *config.Config) []api.Source {
	var out []api.Source
	for _, in := range sourceInfos(cfg) {
		out = append(out, api.Source{Name: in.Name, Title: in.Title, Kind: in.Kind, Location: in.Location, Format: in.Format,
			Licence: in.Licence, Public: in.Public, Schedule: in.Schedule, Timezone: in.Timezone, NextRun: in.NextRun})
	}
	return out
}

// serveMail gives the web app's campaign pages the configuration's sender and transport.
type serveMail struct {
	db      *store.DB
	cfg     *config.Config
	dataDir string
}

func (m *serveMail) CheckTemplates(c *leadmailer.Campaign) error { return checkTemplates(c, m.cfg) }

func (m *serveMail) Builder(ctx context.Context, c *leadmailer.Campaign) (*campaign.Builder, error) {
	if err := m.cfg.SenderReady(); err != nil {
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "the sender is not configured yet: %v", err)
	}
	settings, err := campaignSettings(m.cfg, m.dataDir)
	if err != nil {
		return nil, err
	}
	return campaign.NewBuilder(c, settings, func() (map[int64]*leadmailer.ImportRun, error) { return m.db.ImportRunsByID(ctx) })
}

func (m *serveMail) SendTest(ctx context.Context, msg *mailer.Message) (string, error) {
	tr, err := openTransport(m.cfg, m.dataDir, 1)
	if err != nil {
		return "", err
	}
	defer tr.Close()
	reply, err := tr.Send(ctx, msg)
	if err != nil {
		return "", fmt.Errorf("send test message via %s: %w", tr, err)
	}
	return reply, nil
}

func (m *serveMail) AudienceRules() store.AudienceRules {
	return store.AudienceRules{ConsentOnlyCountries: m.cfg.Sending.ConsentOnlyCountries}
}

// transportMail sends single messages, such as consent confirmations, through the
// configuration's transport (the outbox folder when no SMTP relay is configured). It opens
// the transport for each message: these are few, and an idle SMTP connection would time out.
type transportMail struct {
	cfg     *config.Config
	dataDir string
}

func (m *transportMail) Send(ctx context.Context, msg *mailer.Message) (string, error) {
	tr, err := openTransport(m.cfg, m.dataDir, 1)
	if err != nil {
		return "", err
	}
	defer tr.Close()
	reply, err := tr.Send(ctx, msg)
	if err != nil {
		return "", fmt.Errorf("send via %s: %w", tr, err)
	}
	return reply, nil
}
