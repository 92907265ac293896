// Package config reads leadmailer's configuration file, leadmailer.toml: the public address of
// links in mail, who the sender is, the notice wording, the mail transport, sending limits, the
// public-database sources and the retention policy. Load returns a validated *Config; every
// problem is reported with the key that holds it, so a user knows which line to fix.
//
// A *Config is read-only after Load and safe for concurrent use.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/leadmailer/leadmailer/clientip"
	"github.com/leadmailer/leadmailer/loopback"
)

// FileName is the configuration file's name in the data directory.
const FileName = "leadmailer.toml"

// Placeholder marks the values leadmailer init writes where only the user knows the answer.
// Sending refuses to start while any sender value still holds it.
const Placeholder = "CHANGE-ME"

// Config is the whole configuration file.
type Config struct {
	// PublicURL is the base of the links in mail (unsubscribe, privacy), e.g.
	// "https://leads.example.com". It must be reachable by recipients.
	PublicURL string    `toml:"public_url"`
	Sender    Sender    `toml:"sender"`
	Wording   Wordings  `toml:"wording"`
	SMTP      SMTP      `toml:"smtp"`
	Sending   Sending   `toml:"sending"`
	Sources   []Source  `toml:"sources"`
	Retention Retention `toml:"retention"`
	Web       Web       `toml:"web"`
	Bounces   Bounces   `toml:"bounces"`
	Metrics   Metrics   `toml:"metrics"`
	Database  Database  `toml:"database"`
	// Webhooks are the receivers of outgoing webhooks, [[webhooks]] tables.
	Webhooks []WebhookEndpoint `toml:"webhooks"`

	// Path is the file the configuration was read from; empty when there was none and the
	// defaults apply.
	Path string `toml:"-"`
}

// Sender is who marketing mail comes from. Every message names the company, its postal
// address and its privacy policy.
type Sender struct {
	From             string `toml:"from"`     // "Focus Marketing <marketing@example.com>"
	ReplyTo          string `toml:"reply_to"` // optional
	Company          string `toml:"company"`
	PostalAddress    string `toml:"postal_address"`
	PrivacyPolicyURL string `toml:"privacy_policy_url"`
}

// Wordings overrides the notices' wording per language; any key left out keeps leadmailer's
// own text.
type Wordings struct {
	English Wording `toml:"en"`
	Finnish Wording `toml:"fi"`
	Swedish Wording `toml:"sv"`
}

// Wording is the overridable text of the notices in one language.
type Wording struct {
	SourceHeading     string `toml:"source_heading"`
	SourceIntro       string `toml:"source_intro"`
	RetrievedLabel    string `toml:"retrieved_label"`
	DataLabel         string `toml:"data_label"`
	LicenceLabel      string `toml:"licence_label"`
	DateLayout        string `toml:"date_layout"`
	ObjectionHeading  string `toml:"objection_heading"`
	Objection         string `toml:"objection"`
	UnsubscribeLink   string `toml:"unsubscribe_link"`
	SenderLabel       string `toml:"sender_label"`
	PrivacyPolicyLink string `toml:"privacy_policy_link"`
	// FieldNames names lead fields in the notice's list of data, keyed by field name
	// ("company", "email"...).
	FieldNames map[string]string `toml:"field_names"`
}

// SMTP says how mail leaves leadmailer.
type SMTP struct {
	// URL is smtp://user:pass@host:port (STARTTLS when offered; ?starttls=required|none),
	// smtps://user:pass@host:port (implicit TLS) or outbox://DIR (one .eml file per message).
	// Empty: the outbox folder in the data directory. LEADMAILER_SMTP_URL overrides it.
	URL      string   `toml:"url"`
	DKIM     DKIM     `toml:"dkim"`
	Timeouts Timeouts `toml:"timeouts"`
}

// Timeouts bound each step of an SMTP exchange. The defaults are RFC 5321 section 4.5.3.2's:
// a relay under load may take minutes to answer, and giving up early on the reply to a
// message's end sends it twice.
type Timeouts struct {
	Connect  Duration `toml:"connect"`  // TCP connection and TLS handshake; default 30s
	Greeting Duration `toml:"greeting"` // greeting, EHLO, STARTTLS and AUTH together; default 5m
	Command  Duration `toml:"command"`  // each reply to MAIL FROM and RCPT TO; default 5m
	Data     Duration `toml:"data"`     // the reply to DATA; default 2m
	Block    Duration `toml:"block"`    // writing each block of the message; default 3m
	DataEnd  Duration `toml:"data_end"` // the reply after the message's final dot; default 10m
}

// DKIM signs outgoing mail when KeyFile is set.
type DKIM struct {
	Domain   string `toml:"domain"`
	Selector string `toml:"selector"`
	KeyFile  string `toml:"key_file"` // PEM private key (RSA or Ed25519)
}

// Sending limits campaign delivery.
type Sending struct {
	Concurrency int     `toml:"concurrency"` // parallel SMTP connections
	Rate        float64 `toml:"rate"`        // messages per second over all connections; 0: no limit
	MaxAttempts int     `toml:"max_attempts"`
	// MaxRefusedInRow permanent refusals of recipients in a row, or more than
	// MaxRefusedPercent % of the first RefusedWindow outcomes of a run, pause a campaign:
	// a relay that refuses every address looks like a list of bad ones.
	MaxRefusedInRow   int `toml:"max_refused_in_row"`
	MaxRefusedPercent int `toml:"max_refused_percent"`
	RefusedWindow     int `toml:"refused_window"`
	// ConsentOnlyCountries are countries (ISO 3166-1 alpha-2) whose leads are mailed only with
	// a recorded consent: in Germany, for one, B2B cold e-mail needs it.
	ConsentOnlyCountries []string `toml:"consent_only_countries"`
	// MissedAfter is how late a scheduled campaign may still start after downtime; older
	// ones are marked missed.
	MissedAfter Duration `toml:"missed_after"`
	// Lease is how long recipients a sending process has taken stay its own unless it
	// renews them, as it does while it lives: when several processes send one campaign and
	// one dies, the others send its recipients after this long.
	Lease Duration `toml:"lease"`
}

// Source is a public database leadmailer imports from on a schedule.
type Source struct {
	Name     string `toml:"name"`  // used in the CLI and provenance
	Title    string `toml:"title"` // names the source in the mail notice
	Kind     string `toml:"kind"`  // "http" or "file"
	URL      string `toml:"url"`   // kind http
	Path     string `toml:"path"`  // kind file: a path or glob
	Format   string `toml:"format"`
	Records  string `toml:"records"`  // JSON: dotted path to the records array
	IDField  string `toml:"id_field"` // the record's identifier at the source
	Schedule string `toml:"schedule"` // cron expression
	Timezone string `toml:"timezone"` // IANA name; default UTC
	Licence  string `toml:"licence"`  // attribution the licence asks for
	// Public says whether the source's data counts as from a public database for the mail
	// notice. Default true.
	Public *bool `toml:"public"`
	// Fields maps lead fields to paths in the record (JSON) or headers (CSV).
	Fields map[string]string `toml:"fields"`
	// Headers are sent with every request; "${NAME}" in a value is replaced by the
	// environment variable NAME, so that API keys stay out of the file and the database.
	Headers map[string]string `toml:"headers"`

	// Paging (kind http). A Link header with rel="next" is always followed. NextField is a
	// dotted path to the next page's URL in a JSON body. PageParam pages by a page-number
	// query parameter, OffsetParam by a record offset, each until a page has no records or,
	// with TotalField (a dotted path to the number of records of the whole search in a JSON
	// body), until that many have been read: some APIs never answer with an empty page.
	NextField   string `toml:"next_field"`
	PageParam   string `toml:"page_param"`
	OffsetParam string `toml:"offset_param"`
	TotalField  string `toml:"total_field"`
	MaxPages    int    `toml:"max_pages"` // default 10,000

	// Limits (kind http; MaxMB also bounds a JSON file).
	Timeout Duration `toml:"timeout"`    // per request, whole body included; default 60s
	MaxMB   int      `toml:"max_mb"`     // largest response, in MiB; default 256
	Rate    float64  `toml:"rate_limit"` // requests per second; default 1
	Retries int      `toml:"retries"`    // on 429, 5xx and broken transfers; 0 means the default, 4
}

// IsPublic reports whether the source counts as a public database (the default).
func (s *Source) IsPublic() bool { return s.Public == nil || *s.Public }

// Retention is how long leads are kept.
type Retention struct {
	// InactiveAfter: a lead with no activity for this long becomes inactive.
	InactiveAfter Duration `toml:"inactive_after"`
	// DeleteAfter: an inactive lead is deleted after this long.
	DeleteAfter Duration `toml:"delete_after"`
	// Schedule is when serve applies the policy (cron expression).
	Schedule string `toml:"schedule"`
	// Rejects is how long the rows an import rejected are kept, in the database and as
	// rejects files in the data directory, for someone to fix and import again.
	Rejects Duration `toml:"rejects"`
	// Sources overrides the periods for leads from one source, keyed by source name (a
	// [[sources]] name, an upload's --source, or "website"). A zero period keeps the default.
	Sources map[string]RetentionPeriods `toml:"sources"`
}

// RetentionPeriods are one source's retention periods.
type RetentionPeriods struct {
	InactiveAfter Duration `toml:"inactive_after"`
	DeleteAfter   Duration `toml:"delete_after"`
}

// Web configures the web app.
type Web struct {
	Listen string `toml:"listen"`
	// QueryOrigins are the origins of the pages that post the query form from a browser,
	// such as "https://www.example.com": the company website. Empty: none.
	QueryOrigins []string `toml:"query_origins"`
	// TLSCertFile and TLSKeyFile, both or neither, make serve answer HTTPS itself with
	// this PEM certificate (chain) and private key, instead of behind a proxy that
	// terminates TLS.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// TrustedProxies are the reverse proxies in front of serve, as CIDRs or addresses
	// ("127.0.0.1", "10.0.0.0/8"). Only a request from one of them may say, in ProxyHeader,
	// which client it came from; the login throttle, the query limiter and the audit trail
	// then use that address. Empty (the default): the TCP peer is the client.
	TrustedProxies []string `toml:"trusted_proxies"`
	// ProxyHeader is the header the proxies put the client's address in:
	// "X-Forwarded-For" (the default; nginx, Caddy, Traefik, HAProxy) or "Forwarded"
	// (RFC 7239). Only one is read, so that a client cannot send the other past a proxy
	// that does not set it.
	ProxyHeader string `toml:"proxy_header"`
	// ReadTimeout bounds reading a request, body included; WriteTimeout writing the answer;
	// IdleTimeout how long a kept-alive connection may wait for its next request. Slow
	// clients would otherwise hold connections open for ever. The CSV upload and long
	// downloads (rejected rows) extend their own deadlines while data moves at a useful
	// rate. Defaults: 1m, 1m, 2m.
	ReadTimeout  Duration `toml:"read_timeout"`
	WriteTimeout Duration `toml:"write_timeout"`
	IdleTimeout  Duration `toml:"idle_timeout"`
}

// Defaults returns the configuration used when there is no file, and the base that a file's
// values replace.
func Defaults() *Config {
	return &Config{
		Sending: Sending{
			Concurrency: 4, Rate: 50, MaxAttempts: 5,
			MaxRefusedInRow: 20, MaxRefusedPercent: 30, RefusedWindow: 100,
			ConsentOnlyCountries: []string{"DE"},
			MissedAfter:          Duration(24 * time.Hour),
			Lease:                Duration(2 * time.Minute),
		},
		Retention: Retention{
			InactiveAfter: Duration(730 * 24 * time.Hour),
			DeleteAfter:   Duration(365 * 24 * time.Hour),
			Rejects:       Duration(30 * 24 * time.Hour),
			Schedule:      "30 2 * * *",
		},
		Web: Web{Listen: "127.0.0.1:8080", ReadTimeout: Duration(time.Minute), WriteTimeout: Duration(time.Minute),
			IdleTimeout: Duration(2 * time.Minute)},
		Bounces: defaultBounces(),
	}
}

// Load reads the configuration file at path. When the file does not exist and mustExist is
// false, it returns the defaults (a fresh data directory has no file yet); with mustExist,
// as for a file named by --config, a missing file is an error. getenv supplies the
// environment overrides (LEADMAILER_SMTP_URL); nil means none.
func Load(path string, mustExist bool, getenv func(string) string) (*Config, error) {
	cfg := Defaults()
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !mustExist:
	case err != nil:
		return nil, fmt.Errorf("read configuration: %w", err)
	default:
		if err := cfg.parse(path, data); err != nil {
			return nil, err
		}
		cfg.Path = path
		cfg.resolvePaths(filepath.Dir(path))
	}
	if getenv != nil {
		if u := getenv("LEADMAILER_SMTP_URL"); u != "" {
			cfg.SMTP.URL = u
		}
	}
	if err := cfg.Validate(); err != nil {
		where := path
		if cfg.Path == "" {
			where = "the configuration"
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return cfg, nil
}

// Parse reads a configuration from TOML text, for tests and "config check"; name is used in
// errors.
func Parse(name string, data []byte) (*Config, error) {
	cfg := Defaults()
	if err := cfg.parse(name, data); err != nil {
		return nil, err
	}
	cfg.Path = name
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// resolvePaths makes the file paths in the configuration that are relative, relative to dir,
// the configuration file's folder, so that they mean the same whatever folder leadmailer is
// started from.
func (c *Config) resolvePaths(dir string) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range c.Sources {
		c.Sources[i].Path = abs(c.Sources[i].Path)
	}
	c.SMTP.DKIM.KeyFile = abs(c.SMTP.DKIM.KeyFile)
	c.Web.TLSCertFile = abs(c.Web.TLSCertFile)
	c.Web.TLSKeyFile = abs(c.Web.TLSKeyFile)
}

func (c *Config) parse(name string, data []byte) error {
	md, err := toml.Decode(string(data), c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			// A value the setting cannot take ("soon" for a duration) is named by its key.
			// The parser names a key too, the last one before a syntax error, which would
			// mislead: those read as TOML without the settings' types.
			if _, serr := toml.Decode(string(data), new(map[string]any)); serr == nil && pe.LastKey != "" {
				return fmt.Errorf("%s: line %d: %s: %s", name, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return fmt.Errorf("%s: line %d: %s", name, pe.Position.Line, pe.Message)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	// A misspelt key would otherwise be ignored silently, and a setting the user believes
	// in would not apply.
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		keys := make([]string, len(undecoded))
		for i, k := range undecoded {
			keys[i] = k.String()
		}
		return fmt.Errorf("%s: unknown key %s: check its spelling against \"leadmailer config example\"", name, strings.Join(keys, ", "))
	}
	return nil
}

// SenderReady reports, with what to fix, whether the sender is configured well enough to
// send marketing mail: no value may be missing or still the placeholder init wrote.
func (c *Config) SenderReady() error {
	if c.Path == "" {
		// Without a file nothing of the sender is set: one sentence says so, instead of
		// the same advice once per key.
		return errors.New(`there is no configuration file: run "leadmailer init" to write one, then set public_url, sender.from, sender.company, sender.postal_address and sender.privacy_policy_url in it`)
	}
	where := c.Path
	var errs []error
	check := func(key, v, what string) {
		switch {
		case strings.TrimSpace(v) == "":
			errs = append(errs, fmt.Errorf("%s is not set in %s: set it to %s", key, where, what))
		case strings.Contains(v, Placeholder):
			errs = append(errs, fmt.Errorf("%s in %s is still a placeholder: set it to %s", key, where, what))
		}
	}
	check("public_url", c.PublicURL, "the https address where recipients reach leadmailer's unsubscribe page")
	check("sender.from", c.Sender.From, `the From address, e.g. "Focus Marketing <marketing@example.com>"`)
	check("sender.company", c.Sender.Company, "your company's name")
	check("sender.postal_address", c.Sender.PostalAddress, "your company's postal address")
	check("sender.privacy_policy_url", c.Sender.PrivacyPolicyURL, "the address of your privacy policy")
	return errors.Join(errs...)
}

// Validate checks every value and returns all problems found, each naming its key.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.PublicURL != "" && !strings.Contains(c.PublicURL, Placeholder) {
		if _, err := CheckPublicURL(c.PublicURL); err != nil {
			add("public_url: %v", err)
		}
	}
	if s := c.Sending; s.Concurrency < 1 || s.Concurrency > 100 {
		add("sending.concurrency = %d: give a number of SMTP connections from 1 to 100", s.Concurrency)
	}
	if c.Sending.Rate < 0 {
		add("sending.rate = %g: give messages per second, or 0 for no limit", c.Sending.Rate)
	}
	if c.Sending.MaxAttempts < 1 {
		add("sending.max_attempts = %d: give at least 1", c.Sending.MaxAttempts)
	}
	if c.Sending.MaxRefusedInRow < 1 {
		add("sending.max_refused_in_row = %d: give at least 1", c.Sending.MaxRefusedInRow)
	}
	if p := c.Sending.MaxRefusedPercent; p < 1 || p > 100 {
		add("sending.max_refused_percent = %d: give a percentage from 1 to 100", p)
	}
	if c.Sending.Lease < Duration(time.Second) {
		add("sending.lease = %q: give a duration of a second or more, such as \"2m\"", c.Sending.Lease)
	}
	if c.Sending.RefusedWindow < 1 {
		add("sending.refused_window = %d: give a number of recipients, at least 1", c.Sending.RefusedWindow)
	}
	for _, t := range []struct {
		key string
		d   Duration
	}{{"connect", c.SMTP.Timeouts.Connect}, {"greeting", c.SMTP.Timeouts.Greeting}, {"command", c.SMTP.Timeouts.Command},
		{"data", c.SMTP.Timeouts.Data}, {"block", c.SMTP.Timeouts.Block}, {"data_end", c.SMTP.Timeouts.DataEnd}} {
		if t.d < 0 {
			add("smtp.timeouts.%s must not be negative; leave it out for the default", t.key)
		}
	}
	for i, cc := range c.Sending.ConsentOnlyCountries {
		if len(cc) != 2 || strings.ToUpper(cc) != cc {
			add("sending.consent_only_countries[%d] = %q: give an ISO 3166-1 alpha-2 code such as \"DE\"", i, cc)
		}
	}
	if c.Retention.InactiveAfter <= 0 {
		add("retention.inactive_after must be longer than zero, e.g. \"730d\"")
	}
	if c.Retention.DeleteAfter <= 0 {
		add("retention.delete_after must be longer than zero, e.g. \"365d\"")
	}
	if c.Retention.Rejects <= 0 {
		add("retention.rejects must be longer than zero, e.g. \"30d\"")
	}
	if err := checkSchedule(c.Retention.Schedule, ""); err != nil {
		add("retention.schedule: %v", err)
	}
	for name, p := range c.Retention.Sources {
		if p.InactiveAfter < 0 || p.DeleteAfter < 0 {
			add("retention.sources.%s: periods cannot be negative", name)
		}
	}
	if (c.Web.TLSCertFile == "") != (c.Web.TLSKeyFile == "") {
		add("web.tls_cert_file and web.tls_key_file: give both, or neither to serve plain HTTP behind a proxy")
	}
	for _, t := range []struct {
		key string
		d   Duration
	}{{"read_timeout", c.Web.ReadTimeout}, {"write_timeout", c.Web.WriteTimeout}, {"idle_timeout", c.Web.IdleTimeout}} {
		if t.d <= 0 {
			add("web.%s must be longer than zero, e.g. \"1m\"; leave it out for the default", t.key)
		}
	}
	if _, err := clientip.New(c.Web.TrustedProxies, c.Web.ProxyHeader); err != nil {
		add("web.trusted_proxies / web.proxy_header: %v", err)
	}
	for i, o := range c.Web.QueryOrigins {
		if err := checkOrigin(o); err != nil {
			add("web.query_origins[%d]: %v", i, err)
		}
	}
	seen := map[string]bool{}
	for i := range c.Sources {
		s := &c.Sources[i]
		key := fmt.Sprintf("sources[%d]", i)
		if s.Name != "" {
			key = fmt.Sprintf("sources %q", s.Name)
		}
		if err := s.validate(); err != nil {
			add("%s: %v", key, err)
		}
		if seen[s.Name] {
			add("%s: the name is used by another source: names must be unique", key)
		}
		seen[s.Name] = true
	}
	errs = append(errs, c.Bounces.validate()...)
	errs = append(errs, c.Metrics.validate()...)
	errs = append(errs, c.Database.validate()...)
	errs = append(errs, validateWebhooks(c.Webhooks)...)
	return errors.Join(errs...)
}

// checkOrigin checks a web origin as browsers send it in the Origin header: scheme and host,
// and a port only when it is not the scheme's default.
func checkOrigin(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("%q is not an origin like \"https://www.example.com\" (scheme and host, no path)", s)
	}
	return nil
}

// CheckPublicURL checks the address recipients reach leadmailer at, which every unsubscribe
// link starts with. It must be https: RFC 8058 one-click unsubscribe needs it, and mail
// clients ignore a List-Unsubscribe-Post header with any other link. Plain http is allowed
// only for this machine (127.0.0.0/8, localhost, [::1]), to try leadmailer out, and then
// CheckPublicURL returns a warning to show.
func CheckPublicURL(s string) (warning string, err error) {
	if err := checkHTTPURL(s); err != nil {
		return "", err
	}
	u, _ := url.Parse(s)
	if strings.EqualFold(u.Scheme, "https") {
		return "", nil
	}
	if loopback.IsHTTPURL(s) {
		return fmt.Sprintf("public_url %q is plain http on this machine only: recipients cannot reach its unsubscribe links, and mail clients offer one-click unsubscribe only for https; use it to try leadmailer out, not to send to leads", s), nil
	}
	return "", fmt.Errorf("%q must start with https:// (plain http only for 127.0.0.0/8, localhost or [::1], to try leadmailer out): one-click unsubscribe links need HTTPS; put leadmailer serve behind a proxy that terminates TLS, or give it [web] tls_cert_file and tls_key_file", s)
}

// Warnings returns what is allowed in the configuration but should not stay so, one
// sentence each.
func (c *Config) Warnings() []string {
	var out []string
	if c.PublicURL != "" && !strings.Contains(c.PublicURL, Placeholder) {
		if w, err := CheckPublicURL(c.PublicURL); err == nil && w != "" {
			out = append(out, w)
		}
	}
	return out
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", s)
	}
	return nil
}
