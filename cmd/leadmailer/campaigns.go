package main

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/campaign"
	"github.com/leadmailer/leadmailer/config"
	"github.com/leadmailer/leadmailer/mailer"
	"github.com/leadmailer/leadmailer/store"
	"github.com/leadmailer/leadmailer/templates"
	"github.com/leadmailer/leadmailer/unsubscribe"
)

func campaignsCommand() *command {
	return &command{
		name:    "campaigns",
		summary: "create, preview, send and schedule marketing campaigns",
		usage: `Usage:
  leadmailer campaigns create --name NAME --subject SUBJECT --html FILE [--text FILE]
                              [--body-language TAG]
                              [--country CC,...] [--source NAME,...] [--kind public|upload|website]
                              [--at TIME | --cron EXPR] [--json]
  leadmailer campaigns list [--json]
  leadmailer campaigns show ID [--json]
  leadmailer campaigns preview ID --lead EMAIL [--text | --raw]
  leadmailer campaigns test ID --to ADDRESS [--as LEAD_EMAIL]
  leadmailer campaigns send ID [--concurrency N] [--rate R]
  leadmailer campaigns pause|resume|cancel ID
  leadmailer campaigns recipients ID [--status queued|sending|sent|failed|skipped|bounced|complained] [--json]

A campaign is a subject, an HTML body and an optional text body, written as Go templates
({{.Lead.FirstName}}, {{default "there" .Lead.FirstName}}, {{.Lead.Company}}...), mailed to the
active leads matching its filters. Every message carries the public-source notice when the
lead's data came from a public source, the right to object with a one-click unsubscribe link,
and the sender's identity; template errors are reported with their line and column when the
campaign is created.

The audience: active leads matching every filter given, not suppressed, not undeliverable, and
in a consent-only country (sending.consent_only_countries, default DE) only with a consent
on record. "show" counts every excluded lead by reason.

  create      store a campaign: a draft, or scheduled with --at (a time, e.g. 2026-12-07T09:00
              in local time or with a zone) or --cron (five fields, e.g. "0 9 * * 1" for Mondays
              at 9:00 UTC, or "CRON_TZ=Europe/Helsinki 0 9 * * 1" for 9:00 Helsinki time: each
              occurrence mails the audience members who have not received it yet);
              "leadmailer serve" starts scheduled campaigns; --body-language says which
              language the subject and body are in (en, fi, sv, en-GB...), for the messages'
              Content-Language: by default each lead's notice language (fi for FI, sv for SE,
              en otherwise)
  preview     print the message exactly as it would be sent to that lead, with its headers:
              the HTML part, or the text part with --text, or the raw MIME message with --raw
  test        send one message to ADDRESS, personalised as for LEAD_EMAIL (default: a sample
              lead); its unsubscribe link and Message-ID name no lead
  send        start sending now, in the foreground, with a progress bar; Ctrl-C pauses cleanly
  pause       pause a sending or scheduled campaign (the sending process stops within a second)
  resume      continue a paused campaign, or one left running by a crash: messages that were
              in flight are sent again with the same Message-ID, nobody else twice
  cancel      stop for good; the recipients not yet mailed are marked skipped
  recipients  the send ledger: one row per recipient with its status, attempts, last reply
              and Message-ID

Every command but list and show is recorded in the audit trail as campaign.ACTION (preview
and recipients too, as they show leads' data).

Mail goes to [smtp] url in the configuration (or LEADMAILER_SMTP_URL), or, when none is set,
into the outbox folder in the data directory as .eml files. --concurrency and --rate override
[sending] concurrency and rate (messages per second; 0: no limit).

Examples:
  leadmailer campaigns create --name "Spring offer" --subject "Hello {{.Lead.FirstName}}" \
      --html spring.html --country FI,SE
  leadmailer campaigns preview 1 --lead anna@example.fi --text
  leadmailer campaigns test 1 --to me@example.com --as anna@example.fi
  leadmailer campaigns send 1
  leadmailer campaigns create --name Weekly --subject "News" --html news.html --cron "0 9 * * 1"
  leadmailer campaigns recipients 1 --status failed
`,
		run: runCampaigns,
	}
}

func runCampaigns(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("give a subcommand: create, list, show, preview, test, send, pause, resume, cancel or recipients")
	}
	if isHelp(args[0]) {
		return flag.ErrHelp
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		return runCampaignCreate(ctx, e, args)
	case "list":
		return runCampaignList(ctx, e, args)
	case "show":
		return runCampaignShow(ctx, e, args)
	case "preview":
		return runCampaignPreview(ctx, e, args)
	case "test":
		return runCampaignTest(ctx, e, args)
	case "send", "resume":
		return runCampaignSend(ctx, e, sub, args)
	case "pause", "cancel":
		return runCampaignStop(ctx, e, sub, args)
	case "recipients":
		return runCampaignRecipients(ctx, e, args)
	}
	return usagef("unknown campaigns command %q", sub)
}

// campaignTarget names a campaign in the audit trail.
func campaignTarget(id int64) string { return fmt.Sprintf("campaign %d", id) }

// campaignID parses the one positional argument, a campaign ID.
func campaignID(sub string, rest []string) (int64, error) {
	if len(rest) != 1 {
		return 0, usagef("campaigns %s needs one campaign ID", sub)
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("campaign ID %q is not a number", rest[0])
	}
	return id, nil
}

func splitFlag(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseAt reads --at: RFC 3339, or "2006-01-02T15:04" / "2006-01-02 15:04" in local time.
func parseAt(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, now.Location()); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--at %q is not a time: write e.g. 2026-12-07T09:00 (local time) or 2026-12-07T09:00:00+02:00", s)
}

func runCampaignCreate(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("campaigns create", e)
	configPath := configFlag(fs, e)
	name := fs.String("name", "", "")
	subject := fs.String("subject", "", "")
	htmlFile := fs.String("html", "", "")
	textFile := fs.String("text", "", "")
	bodyLanguage := fs.String("body-language", "", "")
	countries := fs.String("country", "", "")
	sources := fs.String("source", "", "")
	kinds := fs.String("kind", "", "")
	at := fs.String("at", "", "")
	cronExpr := fs.String("cron", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("campaigns create takes no arguments, got %q", rest)
	}
	switch {
	case strings.TrimSpace(*name) == "":
		return usagef("give the campaign a --name")
	case strings.TrimSpace(*subject) == "":
		return usagef("give a --subject")
	case *htmlFile == "":
		return usagef("give the HTML body with --html FILE")
	case *at != "" && *cronExpr != "":
		return usagef("give --at or --cron, not both")
	}
	c := &leadmailer.Campaign{Name: strings.TrimSpace(*name), Subject: *subject, BodyLanguage: strings.TrimSpace(*bodyLanguage),
		State: leadmailer.CampaignDraft, CreatedBy: actor(e)}
	html, err := os.ReadFile(*htmlFile)
	if err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "--html: %v", err)
	}
	c.HTML = string(html)
	if *textFile != "" {
		text, err := os.ReadFile(*textFile)
		if err != nil {
			return leadmailer.Errorf(leadmailer.EINVALID, "--text: %v", err)
		}
		c.Text = string(text)
	}
	for _, cc := range splitFlag(*countries) {
		code, ok := leadmailer.NormalizeCountry(cc)
		if !ok {
			return usagef("--country %q is not a country; use ISO codes such as FI,SE", cc)
		}
		c.Countries = append(c.Countries, code)
	}
	c.Sources = splitFlag(*sources)
	for _, k := range splitFlag(*kinds) {
		kind := leadmailer.SourceKind(k)
		if !kind.Valid() {
			return usagef("--kind %q: use public, upload or website", k)
		}
		c.Kinds = append(c.Kinds, kind)
	}
	now := time.Now()
	if *at != "" {
		t, err := parseAt(*at, now)
		if err != nil {
			return err
		}
		t = t.UTC()
		c.SendAt, c.State = &t, leadmailer.CampaignScheduled
	}
	if *cronExpr != "" {
		if _, err := config.ParseSchedule(*cronExpr, ""); err != nil {
			return usagef("--cron %q: %v", *cronExpr, err)
		}
		c.Cron, c.State = *cronExpr, leadmailer.CampaignScheduled
	}
	// The checks the web form and the API make too; the flags above name what is missing.
	if _, err := c.Validate(); err != nil {
		return err
	}
	cfg, err := loadConfig(*dataDir, *configPath, e)
	if err != nil {
		return err
	}
	if err := checkTemplates(c, cfg); err != nil {
		return err
	}
	db, err := openDataAt(ctx, *dataDir, *configPath, e.getenv, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CreateCampaign(ctx, c); err != nil {
		return err
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditCampaignCreate, campaignTarget(c.ID),
		fmt.Sprintf("%q, %s", c.Name, c.State)); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e, c)
	}
	fmt.Fprintf(e.stdout, "Campaign %d %q created: %s.\n", c.ID, c.Name, c.State)
	switch {
	case c.SendAt != nil:
		fmt.Fprintf(e.stdout, "It starts at %s when \"leadmailer serve\" runs.\n", c.SendAt.Local().Format(time.RFC3339))
	case c.Cron != "":
		fmt.Fprintf(e.stdout, "It runs at every %q (UTC) when \"leadmailer serve\" runs.\n", c.Cron)
	default:
		fmt.Fprintf(e.stdout, "Preview it with \"leadmailer campaigns preview %d --lead EMAIL\", send it with \"leadmailer campaigns send %d\".\n", c.ID, c.ID)
	}
	if err := cfg.SenderReady(); err != nil {
		fmt.Fprintf(e.stdout, "Before it can be sent:\n%v\n", err)
	}
	return nil
}

// checkTemplates compiles the campaign's templates so that every template error is reported
// now, with its line and column. Until the sender is configured, a stand-in sender is used:
// the templates are checked all the same.
func checkTemplates(c *leadmailer.Campaign, cfg *config.Config) error {
	sender := templates.Sender{From: cfg.Sender.From, ReplyTo: cfg.Sender.ReplyTo, Company: cfg.Sender.Company,
		PostalAddress: cfg.Sender.PostalAddress, PrivacyPolicyURL: cfg.Sender.PrivacyPolicyURL}
	if cfg.SenderReady() != nil {
		sender = templates.Sender{From: "sender@example.com", Company: "Example", PostalAddress: "Example Street 1",
			PrivacyPolicyURL: "https://example.com/privacy"}
	}
	_, err := templates.Compile(templates.Campaign{Subject: c.Subject, HTML: c.HTML, Text: c.Text, Language: templates.Language(c.BodyLanguage)}, sender, templateWordings(cfg.Wording))
	var te *templates.Error
	if errors.As(err, &te) {
		return leadmailer.Errorf(leadmailer.EINVALID, "the campaign's %v", te)
	}
	return err
}

func writeJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runCampaignList(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("campaigns list", e)
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("campaigns list takes no arguments, got %q", rest)
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	cs, err := db.FindCampaigns(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if cs == nil {
			cs = []*leadmailer.Campaign{}
		}
		return writeJSON(e, cs)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tWHEN\tSENT\tFAILED\tSKIPPED\tQUEUED")
	for _, c := range cs {
		rep, err := db.CampaignReport(ctx, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", c.ID, c.Name, c.State, when(c),
			rep.Sent, rep.Failed, rep.Skipped, rep.Queued+rep.Sending)
	}
	return tw.Flush()
}

func when(c *leadmailer.Campaign) string {
	switch {
	case c.Cron != "":
		return "cron " + c.Cron
	case c.SendAt != nil:
		return c.SendAt.Local().Format("2006-01-02 15:04")
	}
	return "-"
}

// campaignView is what "campaigns show --json" prints.
type campaignView struct {
	*leadmailer.Campaign
	Report *leadmailer.CampaignReport `json:"report"`
}

func runCampaignShow(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("campaigns show", e)
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := campaignID("show", rest)
	if err != nil {
		return err
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := db.FindCampaign(ctx, id)
	if err != nil {
		return err
	}
	rep, err := db.CampaignReport(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e, campaignView{c, rep})
	}
	printCampaign(e, c, rep)
	return nil
}

func printCampaign(e *env, c *leadmailer.Campaign, rep *leadmailer.CampaignReport) {
	w := e.stdout
	fmt.Fprintf(w, "Campaign %d %q: %s", c.ID, c.Name, c.State)
	if c.Reason != "" {
		fmt.Fprintf(w, " (%s)", c.Reason)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Subject:  %s\n", c.Subject)
	if c.BodyLanguage != "" {
		fmt.Fprintf(w, "Language: %s (the notices: each lead's)\n", c.BodyLanguage)
	}
	aud := []string{"active leads"}
	if len(c.Countries) > 0 {
		aud = append(aud, "in "+strings.Join(c.Countries, ", "))
	}
	if len(c.Sources) > 0 {
		aud = append(aud, "from source "+strings.Join(c.Sources, ", "))
	}
	if len(c.Kinds) > 0 {
		ks := make([]string, len(c.Kinds))
		for i, k := range c.Kinds {
			ks[i] = string(k)
		}
		aud = append(aud, "from "+strings.Join(ks, ", ")+" sources")
	}
	fmt.Fprintf(w, "Audience: %s\n", strings.Join(aud, " "))
	if s := when(c); s != "-" {
		fmt.Fprintf(w, "When:     %s\n", s)
	}
	fmt.Fprintf(w, "Created:  %s by %s\n", c.CreatedAt.Local().Format(time.RFC3339), c.CreatedBy)
	if c.StartedAt != nil {
		fmt.Fprintf(w, "Started:  %s\n", c.StartedAt.Local().Format(time.RFC3339))
	}
	if c.FinishedAt != nil {
		fmt.Fprintf(w, "Ended:    %s\n", c.FinishedAt.Local().Format(time.RFC3339))
	}
	fmt.Fprintf(w, "Recipients: %d: %d sent, %d failed, %d skipped, %d queued, %d in flight\n",
		rep.Total, rep.Sent, rep.Failed, rep.Skipped, rep.Queued, rep.Sending)
	reasons := make([]string, 0, len(rep.Reasons))
	for r := range rep.Reasons {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "  skipped, %s: %d\n", r, rep.Reasons[r])
	}
	if rep.PossiblyDelivered > 0 {
		fmt.Fprintf(w, "  possibly delivered: %d (no answer in time to the end of the message; counted above by their status now)\n", rep.PossiblyDelivered)
	}
	if rep.Sent > 0 {
		fmt.Fprintf(w, "After sending: %d delivered, %d bounced hard (%.2f %%), %d bounced soft, %d complained (%.2f %%)\n",
			rep.Delivered, rep.BouncedHard, rep.BounceRate*100, rep.BouncedSoft, rep.Complained, rep.ComplaintRate*100)
	}
}

// loadBuilder reads what rendering a campaign's messages needs.
func loadBuilder(ctx context.Context, e *env, db *store.DB, dataDir, configPath string, id int64) (*campaign.Builder, *config.Config, error) {
	cfg, err := loadConfig(dataDir, configPath, e)
	if err != nil {
		return nil, nil, err
	}
	if err := cfg.SenderReady(); err != nil {
		return nil, nil, leadmailer.Errorf(leadmailer.EINVALID, "the sender is not configured yet:\n%v", err)
	}
	c, err := db.FindCampaign(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	settings, err := campaignSettings(cfg, dataDir)
	if err != nil {
		return nil, nil, err
	}
	b, err := campaign.NewBuilder(c, settings, func() (map[int64]*leadmailer.ImportRun, error) { return db.ImportRunsByID(ctx) })
	if err != nil {
		return nil, nil, err
	}
	return b, cfg, nil
}

func runCampaignPreview(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("campaigns preview", e)
	configPath := configFlag(fs, e)
	leadEmail := fs.String("lead", "", "")
	asText := fs.Bool("text", false, "")
	raw := fs.Bool("raw", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := campaignID("preview", rest)
	if err != nil {
		return err
	}
	if *leadEmail == "" {
		return usagef("give the lead to preview for with --lead EMAIL")
	}
	db, err := openDataAt(ctx, *dataDir, *configPath, e.getenv, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	lead, err := db.FindLeadByEmail(ctx, *leadEmail)
	if err != nil {
		return err
	}
	b, cfg, err := loadBuilder(ctx, e, db, *dataDir, *configPath, id)
	if err != nil {
		return err
	}
	c, err := db.FindCampaign(ctx, id)
	if err != nil {
		return err
	}
	why, err := db.AudienceCheck(ctx, c, store.AudienceRules{ConsentOnlyCountries: cfg.Sending.ConsentOnlyCountries}, lead.ID)
	if err != nil {
		return err
	}
	m, err := b.Message(lead, time.Now())
	if err != nil {
		return fmt.Errorf("this message would not be sent: %w", err)
	}
	// The message shows the lead's data: recorded like "leads show", before it is shown.
	if err := recordAudit(ctx, e, db, leadmailer.AuditCampaignPreview, leadTarget(lead.ID), campaignTarget(id)); err != nil {
		return err
	}
	if why != "" {
		fmt.Fprintf(e.stderr, "Note: campaign %d will not mail %s (%s); this is the message it would get.\n", id, lead.Email, why)
	}
	msg, err := mailer.AppendMessage(nil, m, nil)
	if err != nil {
		return err
	}
	if *raw {
		_, err := e.stdout.Write(msg)
		return err
	}
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	body := m.HTML
	if *asText {
		body = m.Text
	}
	fmt.Fprintf(e.stdout, "%s\n\n%s\n", strings.ReplaceAll(string(head), "\r\n", "\n"), body)
	return nil
}

func runCampaignTest(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("campaigns test", e)
	configPath := configFlag(fs, e)
	to := fs.String("to", "", "")
	as := fs.String("as", "", "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := campaignID("test", rest)
	if err != nil {
		return err
	}
	addr, err := leadmailer.NormalizeEmail(*to)
	if *to == "" || err != nil {
		return usagef("give the address to send the test to with --to ADDRESS")
	}
	db, err := openDataAt(ctx, *dataDir, *configPath, e.getenv, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	lead := &leadmailer.Lead{Name: "Maija Meikäläinen", Company: "Esimerkki Oy", Country: "FI", Email: addr}
	if *as != "" {
		if lead, err = db.FindLeadByEmail(ctx, *as); err != nil {
			return err
		}
	}
	b, cfg, err := loadBuilder(ctx, e, db, *dataDir, *configPath, id)
	if err != nil {
		return err
	}
	m, err := b.TestMessage(lead, addr, time.Now())
	if err != nil {
		return fmt.Errorf("this message would not be sent: %w", err)
	}
	tr, err := openTransport(cfg, *dataDir, 1)
	if err != nil {
		return err
	}
	defer tr.Close()
	asLead := "a sample lead"
	if lead.ID != 0 {
		asLead = leadTarget(lead.ID)
	}
	if err := recordAudit(ctx, e, db, leadmailer.AuditCampaignTest, campaignTarget(id), "to "+addr+" as "+asLead); err != nil {
		return err
	}
	reply, err := tr.Send(ctx, m)
	if err != nil {
		return fmt.Errorf("send test message via %s: %w", tr, err)
	}
	fmt.Fprintf(e.stdout, "Test message sent to %s via %s: %s\n", addr, tr, reply)
	return nil
}

func runCampaignSend(ctx context.Context, e *env, sub string, args []string) error {
	fs, dataDir := newFlags("campaigns "+sub, e)
	configPath := configFlag(fs, e)
	concurrency := fs.Int("concurrency", 0, "")
	rateFlag := fs.Float64("rate", -1, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := campaignID(sub, rest)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*dataDir, *configPath, e)
	if err != nil {
		return err
	}
	if err := cfg.SenderReady(); err != nil {
		return leadmailer.Errorf(leadmailer.EINVALID, "nothing is sent until the sender is configured:\n%v", err)
	}
	opts := runOptions(cfg)
	if *concurrency != 0 {
		if *concurrency < 1 || *concurrency > 100 {
			return usagef("--concurrency %d: give 1 to 100 connections", *concurrency)
		}
		opts.Concurrency = *concurrency
	}
	if *rateFlag >= 0 {
		opts.Rate = *rateFlag
	}
	db, err := openDataAt(ctx, *dataDir, *configPath, e.getenv, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	c, err := db.FindCampaign(ctx, id)
	if err != nil {
		return err
	}
	if sub == "send" && c.State == leadmailer.CampaignRunning {
		if err := sentElsewhere(ctx, db, *dataDir, id); err != nil {
			return err
		}
	}
	switch {
	case sub == "send" && (c.State == leadmailer.CampaignPaused || c.State == leadmailer.CampaignRunning):
		return leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is %s: continue it with \"leadmailer campaigns resume %d\"", id, c.State, id)
	case sub == "resume" && c.State != leadmailer.CampaignPaused && c.State != leadmailer.CampaignRunning:
		return leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is %s, not paused: start it with \"leadmailer campaigns send %d\"", id, c.State, id)
	case c.State == leadmailer.CampaignFinished || c.State == leadmailer.CampaignCancelled:
		return leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is %s: create a new campaign to send again", id, c.State)
	}
	if sub == "resume" && c.State == leadmailer.CampaignPaused && c.StartedAt == nil && (c.SendAt != nil || c.Cron != "") {
		// Paused before its time: resuming puts it back on its schedule.
		if _, err := db.SetCampaignState(ctx, id, leadmailer.CampaignScheduled, ""); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Campaign %d scheduled again: %s.\n", id, when(c))
		return nil
	}
	unlock, err := campaign.Lock(locksDir(*dataDir), id)
	if err != nil {
		return err
	}
	defer unlock()
	// On SQLite every sender of the database shares this data directory and its lock.
	opts.Exclusive = !db.Postgres()
	action := leadmailer.AuditCampaignSend
	if sub == "resume" {
		action = leadmailer.AuditCampaignResume
	}
	if err := recordAudit(ctx, e, db, action, campaignTarget(id), fmt.Sprintf("from %s, concurrency %d, rate %g/s",
		c.State, opts.Concurrency, opts.Rate)); err != nil {
		return err
	}
	res, err := sendCampaign(ctx, e, db, cfg, *dataDir, id, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Campaign %d %s", id, res.State)
	if res.Reason != "" {
		fmt.Fprintf(e.stdout, " (%s)", res.Reason)
	}
	// The whole campaign's counts, not this run's: recipients skipped when the audience was
	// resolved (no consent, inactive) and sends of earlier runs count too.
	// After Ctrl-C the context is done, but the report is still wanted.
	rep, err := db.CampaignReport(context.WithoutCancel(ctx), id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, ": %d sent, %d failed, %d skipped", rep.Sent, rep.Failed, rep.Skipped)
	if rep.Queued+rep.Sending > 0 {
		fmt.Fprintf(e.stdout, ", %d still to send", rep.Queued+rep.Sending)
	}
	if rep.PossiblyDelivered > 0 {
		fmt.Fprintf(e.stdout, ", possibly delivered: %d (the relay did not answer the end of the message in time; retried after the longest backoff)", rep.PossiblyDelivered)
	}
	if res.Requeued > 0 {
		fmt.Fprintf(e.stdout, "; %s in flight at the last stop %s sent again with the same Message-ID", plural(res.Requeued, "message", "messages"), wasWere(int(res.Requeued)))
	}
	fmt.Fprintln(e.stdout, ".")
	if res.Withdrawn > 0 {
		fmt.Fprintf(e.stdout, "%s %s blamed on the relay and queued again; %s they wrote %s withdrawn.\n",
			plural(res.Withdrawn, "refusal", "refusals"), wasWere(int(res.Withdrawn)),
			plural(res.Unmarked, "undeliverable mark", "undeliverable marks"), wasWere(int(res.Unmarked)))
	}
	if res.State == leadmailer.CampaignPaused {
		fmt.Fprintf(e.stdout, "Continue with \"leadmailer campaigns resume %d\".\n", id)
		if campaign.PausedByItself(res.Reason) {
			// Scripts must see that the campaign stopped on its own.
			return fmt.Errorf("campaign %d paused: %s", id, res.Reason)
		}
	}
	return nil
}

// sentElsewhere fails with ECONFLICT when another process is sending running campaign id:
// one holding its lock in this data directory (every sender of an SQLite database), or one
// holding leases on its recipients (serve processes with their own data directories on one
// PostgreSQL database).
func sentElsewhere(ctx context.Context, db *store.DB, dataDir string, id int64) error {
	var who string
	if unlock, err := campaign.Lock(locksDir(dataDir), id); err == nil {
		unlock()
		senders, err := db.CampaignSenders(ctx, id)
		if err != nil {
			return err
		}
		if len(senders) == 0 {
			return nil
		}
		who = " (" + strings.Join(senders, ", ") + ")"
	} else if leadmailer.ErrorCode(err) != leadmailer.ECONFLICT {
		return err
	}
	return leadmailer.Errorf(leadmailer.ECONFLICT, "campaign %d is already being sent by another process%s: there is nothing to start. "+
		"Follow it with \"leadmailer campaigns show %d\", or stop it with \"leadmailer campaigns pause %d\"", id, who, id, id)
}

// sendCampaign runs a campaign with the configured transport; the caller holds its lock.
func sendCampaign(ctx context.Context, e *env, db *store.DB, cfg *config.Config, dataDir string, id int64, opts campaign.Options) (*campaign.Result, error) {
	settings, err := campaignSettings(cfg, dataDir)
	if err != nil {
		return nil, err
	}
	tr, err := openTransport(cfg, dataDir, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	defer tr.Close()
	var bar *sendProgress
	if e != nil {
		bar = &sendProgress{e: e, start: time.Now()}
		opts.Progress = bar.update
		defer bar.done()
	}
	return campaign.Run(ctx, db, tr, id, settings, opts)
}

// sendProgress draws a send's progress on standard error when it is a terminal.
type sendProgress struct {
	e     *env
	start time.Time
	last  time.Time
	drawn bool
}

func (p *sendProgress) update(pr campaign.Progress) {
	if !p.e.stderrIsTerminal || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	done := pr.Sent + pr.Failed + pr.Skipped
	rate := float64(pr.Sent) / time.Since(p.start).Seconds()
	frac := 1.0
	if pr.Total > 0 {
		frac = min(float64(done)/float64(pr.Total), 1)
	}
	const width = 30
	filled := int(frac * width)
	fmt.Fprintf(p.e.stderr, "\r[%s%s] %3.0f%%  %d sent  %d failed  %d skipped  %.0f msgs/s ",
		strings.Repeat("#", filled), strings.Repeat("-", width-filled), frac*100, pr.Sent, pr.Failed, pr.Skipped, rate)
	p.drawn = true
}

func (p *sendProgress) done() {
	if p.drawn {
		fmt.Fprintf(p.e.stderr, "\r%s\r", strings.Repeat(" ", 90))
	}
}

func runCampaignStop(ctx context.Context, e *env, sub string, args []string) error {
	fs, dataDir := newFlags("campaigns "+sub, e)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := campaignID(sub, rest)
	if err != nil {
		return err
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	to, reason := leadmailer.CampaignPaused, "paused by "+actor(e)
	if sub == "cancel" {
		to, reason = leadmailer.CampaignCancelled, "cancelled by "+actor(e)
	}
	c, err := db.SetCampaignState(ctx, id, to, reason)
	if err != nil {
		return err
	}
	action := leadmailer.AuditCampaignPause
	if sub == "cancel" {
		action = leadmailer.AuditCampaignCancel
	}
	if err := recordAudit(ctx, e, db, action, campaignTarget(id), ""); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Campaign %d %s.\n", c.ID, c.State)
	if sub == "pause" {
		fmt.Fprintf(e.stdout, "A process sending it stops within a second; continue with \"leadmailer campaigns resume %d\".\n", id)
	}
	return nil
}

func runCampaignRecipients(ctx context.Context, e *env, args []string) error {
	fs, dataDir := newFlags("campaigns recipients", e)
	status := fs.String("status", "", "")
	asJSON := fs.Bool("json", false, "")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	id, err := campaignID("recipients", rest)
	if err != nil {
		return err
	}
	st := leadmailer.RecipientStatus(*status)
	switch st {
	case "", leadmailer.RecipientQueued, leadmailer.RecipientSending, leadmailer.RecipientSent,
		leadmailer.RecipientFailed, leadmailer.RecipientSkipped, leadmailer.RecipientBounced, leadmailer.RecipientComplained:
	default:
		return usagef("--status %q: use queued, sending, sent, failed, skipped, bounced or complained", *status)
	}
	db, err := openData(ctx, *dataDir)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.FindCampaign(ctx, id); err != nil {
		return err
	}
	// The ledger lists addresses: recorded before anything is shown.
	if err := recordAudit(ctx, e, db, leadmailer.AuditCampaignRecipients, campaignTarget(id), flagDetail("status", *status)); err != nil {
		return err
	}
	if *asJSON {
		return writeJSONArray(e.stdout, func(emit func(any) error) error {
			return db.FindRecipients(ctx, id, st, func(r *leadmailer.Recipient) error { return emit(r) })
		})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LEAD\tE-MAIL\tSTATUS\tATTEMPTS\tREASON / LAST REPLY\tMESSAGE-ID")
	n := 0
	err = db.FindRecipients(ctx, id, st, func(r *leadmailer.Recipient) error {
		n++
		email := r.Email
		if email == "" {
			email = "(erased)"
		}
		detail := r.Reason
		if r.LastReply != "" {
			detail = strings.TrimSpace(detail + " " + r.LastReply)
		}
		status := string(r.Status)
		if r.Bounce != "" {
			// What came back after the relay took it says more than "sent".
			status += ", " + map[string]string{"hard": "bounced", "soft": "bounced soft", "complaint": "complained"}[r.Bounce]
			detail = strings.TrimSpace(r.BounceStatus + " " + r.BounceDiagnostic)
		}
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", r.LeadID, email, status, r.Attempts, detail, r.MessageID)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, plural(n, "recipient", "recipients"))
	return nil
}

// outboxDir is the data directory's folder of .eml files, the transport when no SMTP URL is
// configured.
const outboxDir = "outbox"

// campaignSettings gathers what campaign messages need from the configuration and the data
// directory's secret key.
func campaignSettings(cfg *config.Config, dataDir string) (campaign.Settings, error) {
	secret, err := loadSecret(filepath.Join(dataDir, secretFile))
	if err != nil {
		return campaign.Settings{}, err
	}
	sources := map[string]templates.SourceInfo{}
	for _, s := range cfg.Sources {
		sources[s.Name] = templates.SourceInfo{Title: s.Title, Licence: s.Licence}
	}
	return campaign.Settings{
		Sender: templates.Sender{
			From: cfg.Sender.From, ReplyTo: cfg.Sender.ReplyTo, Company: cfg.Sender.Company,
			PostalAddress: cfg.Sender.PostalAddress, PrivacyPolicyURL: cfg.Sender.PrivacyPolicyURL,
		},
		Wordings:     templateWordings(cfg.Wording),
		Describe:     func(source string) templates.SourceInfo { return sources[source] },
		PublicURL:    cfg.PublicURL,
		Signer:       unsubscribe.NewSigner(secret),
		MessageIDKey: messageIDKey(secret),
		ReturnPaths:  returnPathSigner(cfg, secret),
	}, nil
}

// templateWordings turns the configuration's wording overrides into the renderer's form.
func templateWordings(w config.Wordings) templates.Wordings {
	conv := func(c config.Wording) templates.Wording {
		t := templates.Wording{
			SourceHeading: c.SourceHeading, SourceIntro: c.SourceIntro, RetrievedLabel: c.RetrievedLabel,
			DataLabel: c.DataLabel, LicenceLabel: c.LicenceLabel, DateLayout: c.DateLayout,
			ObjectionHeading: c.ObjectionHeading, Objection: c.Objection, UnsubscribeLink: c.UnsubscribeLink,
			SenderLabel: c.SenderLabel, PrivacyPolicyLink: c.PrivacyPolicyLink,
		}
		for name, v := range c.FieldNames {
			if f, ok := leadmailer.ParseField(name); ok {
				t.FieldNames[f] = v
			}
		}
		return t
	}
	return templates.Wordings{English: conv(w.English), Finnish: conv(w.Finnish), Swedish: conv(w.Swedish)}
}

// openTransport opens the configured mail transport: [smtp] url, LEADMAILER_SMTP_URL, or the
// data directory's outbox.
func openTransport(cfg *config.Config, dataDir string, concurrency int) (mailer.Transport, error) {
	to := cfg.SMTP.Timeouts
	opts := mailer.Options{Concurrency: concurrency, OutboxDir: filepath.Join(dataDir, outboxDir),
		Timeout: to.Connect.D(),
		Timeouts: mailer.Timeouts{Greeting: to.Greeting.D(), Command: to.Command.D(), Data: to.Data.D(),
			Block: to.Block.D(), DataEnd: to.DataEnd.D()}}
	if cfg.SMTP.DKIM.KeyFile != "" {
		key, err := loadDKIMKey(cfg.SMTP.DKIM.KeyFile)
		if err != nil {
			return nil, err
		}
		opts.DKIM = &mailer.DKIM{Domain: cfg.SMTP.DKIM.Domain, Selector: cfg.SMTP.DKIM.Selector, PrivateKey: key}
	}
	return mailer.Open(cfg.SMTP.URL, opts)
}

// loadDKIMKey reads the PEM private key in path.
func loadDKIMKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("smtp.dkim.key_file: %w", err)
	}
	key, err := mailer.ParseDKIMKey(data)
	if err != nil {
		return nil, fmt.Errorf("smtp.dkim.key_file %s: %w", path, err)
	}
	return key, nil
}

// runOptions are the configuration's sending limits.
func runOptions(cfg *config.Config) campaign.Options {
	return campaign.Options{
		Concurrency:          cfg.Sending.Concurrency,
		Rate:                 cfg.Sending.Rate,
		MaxAttempts:          cfg.Sending.MaxAttempts,
		MaxPermanentInRow:    cfg.Sending.MaxRefusedInRow,
		MaxPermanentPercent:  cfg.Sending.MaxRefusedPercent,
		PermanentWindow:      cfg.Sending.RefusedWindow,
		ConsentOnlyCountries: cfg.Sending.ConsentOnlyCountries,
		Lease:                time.Duration(cfg.Sending.Lease),
	}
}
