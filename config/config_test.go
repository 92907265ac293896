package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleParses(t *testing.T) {
	cfg, err := Parse("example.toml", []byte(Example))
	if err != nil {
		t.Fatalf("the example configuration does not parse: %v", err)
	}
	if err := cfg.SenderReady(); err != nil {
		t.Errorf("the example's sender is not ready: %v", err)
	}
	if len(cfg.Sources) != 2 {
		t.Fatalf("got %d sources, want 2", len(cfg.Sources))
	}
	prh := cfg.Sources[0]
	if prh.Name != "prh" || prh.Fields["company"] != "name" || !prh.IsPublic() || prh.Timezone != "Europe/Helsinki" {
		t.Errorf("first source = %+v", prh)
	}
	if got, want := cfg.Retention.InactiveAfter.D(), 730*24*time.Hour; got != want {
		t.Errorf("retention.inactive_after = %v, want %v", got, want)
	}
}

func TestStarterNeedsFillingIn(t *testing.T) {
	cfg, err := Parse("leadmailer.toml", []byte(Starter))
	if err != nil {
		t.Fatalf("the starter configuration does not parse: %v", err)
	}
	err = cfg.SenderReady()
	if err == nil {
		t.Fatal("a starter configuration's placeholders were accepted for sending")
	}
	for _, key := range []string{"public_url", "sender.from", "sender.company", "sender.postal_address", "sender.privacy_policy_url"} {
		if !strings.Contains(err.Error(), key+" in leadmailer.toml is still a placeholder") {
			t.Errorf("the error does not name the placeholder %s:\n%v", key, err)
		}
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"misspelt key", "pubic_url = \"https://x.example\"", "unknown key pubic_url"},
		{"misspelt nested key", "[sender]\ncompnay = \"X\"", "unknown key sender.compnay"},
		{"syntax", "public_url = \"https://x.example\nfoo", "line 1"},
		{"relative public url", `public_url = "/leads"`, "public_url: \"/leads\" is not an absolute"},
		{"plain http public url", `public_url = "http://leads.example"`, "public_url: \"http://leads.example\" must start with https://"},
		{"zero concurrency", "[sending]\nconcurrency = 0", "sending.concurrency = 0"},
		{"refusal share over 100", "[sending]\nmax_refused_percent = 150", "sending.max_refused_percent = 150"},
		{"zero refusals in a row", "[sending]\nmax_refused_in_row = 0", "sending.max_refused_in_row = 0"},
		{"bad smtp timeout", "[smtp.timeouts]\ndata_end = \"ten minutes\"", "not a duration"},
		{"lower-case country", "[sending]\nconsent_only_countries = [\"de\"]", "sending.consent_only_countries[0] = \"de\""},
		{"query origin with a path", "[web]\nquery_origins = [\"https://www.example.com/contact\"]", "web.query_origins[0]"},
		{"query origin wildcard", "[web]\nquery_origins = [\"*\"]", "web.query_origins[0]"},
		{"TLS certificate without key", "[web]\ntls_cert_file = \"cert.pem\"", "web.tls_cert_file and web.tls_key_file: give both"},
		{"trusted proxy not a CIDR", "[web]\ntrusted_proxies = [\"proxy.local\"]", `web.trusted_proxies / web.proxy_header: "proxy.local"`},
		{"zero read timeout", "[web]\nread_timeout = \"0s\"", "web.read_timeout must be longer than zero"},
		{"proxy header", "[web]\ntrusted_proxies = [\"127.0.0.1\"]\nproxy_header = \"X-Real-IP\"", `proxy header "X-Real-IP"`},
		{"bad duration", "[retention]\ninactive_after = \"two years\"", "not a duration"},
		{"bad retention schedule", "[retention]\nschedule = \"every night\"", "retention.schedule"},
		{"source without title", sourceTOML(`title = ""`), `sources "reg": title is required`},
		{"source kind", sourceTOML(`kind = "ftp"`), `sources "reg": kind "ftp"`},
		{"source schedule", sourceTOML(`schedule = "61 * * * *"`), `sources "reg": schedule`},
		{"source timezone", sourceTOML(`timezone = "Mars/Olympus"`), `timezone "Mars/Olympus" is unknown`},
		{"source field", sourceTOML("[sources.fields]\nemial = \"e\""), "fields.emial: not a lead field"},
		{"bounce domain with @", "[bounces]\ndomain = \"b@example.com\"", `bounces.domain = "b@example.com"`},
		{"bounce listener without domain", "[bounces]\nlisten = \"127.0.0.1:2525\"", "bounces.listen is set but bounces.domain is not"},
		{"bounce listener address", "[bounces]\ndomain = \"b.example.com\"\nlisten = \"2525\"", `bounces.listen = "2525"`},
		{"complaint rate as percent", "[bounces]\ncomplaint_rate = 0.3e1", "bounces.complaint_rate = 3"},
		{"half of postmark auth", "[bounces.webhooks]\npostmark_user = \"pm\"", "postmark_user and postmark_password"},
		{"ses topic", "[bounces.webhooks]\nses_topic_arns = [\"bounces\"]", `"bounces" is not a topic ARN`},
		{"database url scheme", "[database]\nurl = \"mysql://u:secret@h/db\"", "database.url: give a postgres://"},
		{"database pool", "[database]\nmax_conns = -1", "database.max_conns = -1"},
		{"import writers", "[database]\nimport_writers = 9", "database.import_writers = 9: give a number of connections from 1 to 8"},
		{"import writers beyond the pool", "[database]\nmax_conns = 3\nimport_writers = 4", "database.import_writers = 4: an import cannot write over more connections than database.max_conns (3)"},
		{"source name", strings.Replace(sourceTOML(""), `name = "reg"`, `name = "Reg Ister"`, 1), `name "Reg Ister"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("leadmailer.toml", []byte(tc.toml))
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.toml)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// sourceTOML returns a valid http source with extra lines replacing or adding keys.
func sourceTOML(extra string) string {
	lines := map[string]string{
		"name": `name = "reg"`, "title": `title = "Registry"`, "kind": `kind = "http"`,
		"url": `url = "https://registry.example/api"`, "format": `format = "json"`,
		"schedule": `schedule = "0 3 * * *"`,
	}
	var b strings.Builder
	b.WriteString("[[sources]]\n")
	key, _, _ := strings.Cut(extra, " ")
	for _, k := range []string{"name", "title", "kind", "url", "format", "schedule"} {
		if k != key {
			b.WriteString(lines[k] + "\n")
		}
	}
	if !strings.HasPrefix(extra, "[") {
		b.WriteString(extra + "\n")
	}
	if strings.HasPrefix(extra, "[sources.fields]") {
		b.WriteString(extra + "\n")
	} else {
		b.WriteString("[sources.fields]\ncompany = \"name\"\n")
	}
	return b.String()
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, FileName)
	cfg, err := Load(missing, false, nil)
	if err != nil {
		t.Fatalf("a missing configuration file is not the defaults: %v", err)
	}
	if cfg.Path != "" || cfg.Sending.Concurrency != 4 || cfg.Web.Listen != "127.0.0.1:8080" {
		t.Errorf("defaults = %+v", cfg)
	}
	if _, err := Load(missing, true, nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing --config file gave %v, want an error saying it does not exist", err)
	}
	if err := os.WriteFile(missing, []byte("[smtp]\nurl = \"outbox://mail\"\n[sending]\nrate = 0\n"+
		sourceTOML("kind = \"file\"\npath = \"drop/*.csv\"")), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "LEADMAILER_SMTP_URL" {
			return "smtp://relay.example:25"
		}
		return ""
	}
	cfg, err = Load(missing, false, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Path != missing || cfg.SMTP.URL != "smtp://relay.example:25" || cfg.Sending.Rate != 0 || cfg.Sending.Concurrency != 4 {
		t.Errorf("loaded %+v: want the file's rate, the environment's SMTP URL and the default concurrency", cfg)
	}
	if want := filepath.Join(dir, "drop", "*.csv"); cfg.Sources[0].Path != want {
		t.Errorf("a file source's relative path became %q, want %q: relative to the configuration file", cfg.Sources[0].Path, want)
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		str  string
	}{
		{"730d", 730 * 24 * time.Hour, "730d"},
		{"1.5d", 36 * time.Hour, "36h0m0s"},
		{"36h", 36 * time.Hour, "36h0m0s"},
		{"90m", 90 * time.Minute, "1h30m0s"},
	} {
		d, err := ParseDuration(tc.in)
		if err != nil || d.D() != tc.want || d.String() != tc.str {
			t.Errorf("ParseDuration(%q) = %v (%q), %v; want %v (%q)", tc.in, d.D(), d, err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{"", "d", "-3d", "soon", "10 days"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

// TestScheduleTimeZones: a schedule runs in its time zone, given by the timezone key or, where
// there is none (a campaign's --cron), by a CRON_TZ= prefix.
func TestScheduleTimeZones(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // a Tuesday, in winter (UTC+2 in Helsinki)
	for _, tc := range []struct{ expr, tz string }{
		{"0 9 * * 1", "Europe/Helsinki"},
		{"CRON_TZ=Europe/Helsinki 0 9 * * 1", ""},
	} {
		s, err := ParseSchedule(tc.expr, tc.tz)
		if err != nil {
			t.Fatalf("ParseSchedule(%q, %q): %v", tc.expr, tc.tz, err)
		}
		if got, want := s.Next(from), time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC); !got.Equal(want) {
			t.Errorf("ParseSchedule(%q, %q).Next = %v, want %v (09:00 in Helsinki)", tc.expr, tc.tz, got.UTC(), want)
		}
	}
}

// TestPublicURL: public_url must be https; plain http is allowed, with a warning, only for
// this machine.
func TestPublicURL(t *testing.T) {
	tests := []struct {
		url           string
		warn, refused bool
	}{
		{"https://leads.example.com", false, false},
		{"HTTPS://leads.example.com/lm", false, false},
		{"http://127.0.0.1:8080", true, false},
		{"http://localhost:8080", true, false},
		{"http://LOCALHOST", true, false},
		{"http://[::1]:8080", true, false},
		{"http://leads.example.com", false, true},
		{"http://localhost.example.com", false, true},
		{"http://127.0.0.2:8080", true, false}, // all of 127.0.0.0/8 is this machine
		{"http://127.0.0.1.evil.example", false, true},
		{"http://127.0.0.1:80@evil.example", false, true},
		{"http://192.168.1.10:8080", false, true},
		{"ftp://localhost", false, true},
		{"/unsubscribe", false, true},
	}
	for _, tc := range tests {
		warning, err := CheckPublicURL(tc.url)
		if (err != nil) != tc.refused {
			t.Errorf("CheckPublicURL(%q): error %v, want refused %v", tc.url, err, tc.refused)
		}
		if (warning != "") != tc.warn {
			t.Errorf("CheckPublicURL(%q): warning %q, want a warning %v", tc.url, warning, tc.warn)
		}
		cfg := Defaults()
		cfg.PublicURL = tc.url
		err = cfg.Validate()
		if (err != nil) != tc.refused || (err != nil && !strings.Contains(err.Error(), "public_url")) {
			t.Errorf("Validate with public_url %q: %v, want refused %v naming public_url", tc.url, err, tc.refused)
		}
		if got := len(cfg.Warnings()); (got > 0) != tc.warn {
			t.Errorf("Warnings with public_url %q: %d, want a warning %v", tc.url, got, tc.warn)
		}
	}
}

// TestSenderReadyWithoutFile: without a configuration file, one line says what to do and
// names every key to set.
func TestSenderReadyWithoutFile(t *testing.T) {
	err := Defaults().SenderReady()
	if err == nil {
		t.Fatal("a configuration without a file is ready to send")
	}
	if n := strings.Count(err.Error(), "\n"); n != 0 {
		t.Errorf("the error spans %d lines:\n%v", n+1, err)
	}
	for _, want := range []string{"leadmailer init", "public_url", "sender.from", "sender.company", "sender.postal_address", "sender.privacy_policy_url"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not mention %s: %v", want, err)
		}
	}
}
