package config

import (
	"strings"
	"testing"
)

func TestWebhooksParse(t *testing.T) {
	cfg, err := Parse("leadmailer.toml", []byte(`
[[webhooks]]
url = "https://crm.example.com/hooks"
events = ["import.finished", "lead.bounced"]
secret = "${CRM_SECRET}"
include_email = true

[[webhooks]]
url = "http://127.0.0.1:9000/hooks"
events = ["campaign.paused"]
secret = "plain"
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Webhooks) != 2 {
		t.Fatalf("got %d webhooks, want 2", len(cfg.Webhooks))
	}
	h := cfg.Webhooks[0]
	if h.URL != "https://crm.example.com/hooks" || len(h.Events) != 2 || h.Events[1] != "lead.bounced" || !h.IncludeEmail {
		t.Errorf("first webhook = %+v", h)
	}
	if cfg.Webhooks[1].IncludeEmail {
		t.Error("include_email is on without being set")
	}
	secret, err := h.ResolveSecret(func(name string) (string, bool) { return "s3cret-" + name, name == "CRM_SECRET" })
	if err != nil || secret != "s3cret-CRM_SECRET" {
		t.Errorf("resolved secret = %q, %v", secret, err)
	}
	if _, err := h.ResolveSecret(func(string) (string, bool) { return "", false }); err == nil ||
		!strings.Contains(err.Error(), "CRM_SECRET is not set") {
		t.Errorf("an unset secret variable gave %v", err)
	}
}

func TestWebhooksRefused(t *testing.T) {
	for _, tc := range []struct {
		name, toml, want string
	}{
		{"plain http elsewhere", `url = "http://crm.example.com/h"` + "\nevents = [\"import.finished\"]\nsecret = \"x\"",
			`webhooks[0].url: "http://crm.example.com/h" must start with https://`},
		{"plain http on a look-alike host", `url = "http://localhost.evil.example/h"` + "\nevents = [\"import.finished\"]\nsecret = \"x\"",
			`webhooks[0].url: "http://localhost.evil.example/h" must start with https://`},
		{"relative url", `url = "/hooks"` + "\nevents = [\"import.finished\"]\nsecret = \"x\"",
			`webhooks[0].url: "/hooks" is not an absolute`},
		{"credentials in url", `url = "https://u:p@crm.example.com/h"` + "\nevents = [\"import.finished\"]\nsecret = \"x\"",
			"holds a user name or password"},
		{"unknown events named", `url = "https://crm.example.com/h"` + "\nevents = [\"import.finished\", \"lead.opened\", \"import.done\"]\nsecret = \"x\"",
			`webhooks[0].events: unknown event "lead.opened", "import.done": the events are import.finished`},
		{"no events", `url = "https://crm.example.com/h"` + "\nevents = []\nsecret = \"x\"",
			"webhooks[0].events: list at least one event"},
		{"no secret", `url = "https://crm.example.com/h"` + "\nevents = [\"lead.bounced\"]",
			"webhooks[0].secret: set a secret"},
		{"misspelt key", `url = "https://crm.example.com/h"` + "\nevent = [\"lead.bounced\"]\nsecret = \"x\"",
			"unknown key webhooks.event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("leadmailer.toml", []byte("[[webhooks]]\n"+tc.toml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

func TestWebhookURLTwice(t *testing.T) {
	one := "[[webhooks]]\nurl = \"https://crm.example.com/h\"\nevents = [\"lead.bounced\"]\nsecret = \"x\"\n"
	_, err := Parse("leadmailer.toml", []byte(one+one))
	if err == nil || !strings.Contains(err.Error(), "webhooks[1].url: \"https://crm.example.com/h\" is given twice") {
		t.Errorf("got %v", err)
	}
}

// FuzzWebhookEvents feeds arbitrary event lists through the configuration parser: it must
// never panic, and it accepts a list only when every name is a known event type.
func FuzzWebhookEvents(f *testing.F) {
	for _, s := range []string{`"import.finished"`, `"lead.bounced", "lead.complained"`, `"x"`, `""`, `"campaign.paused", 3`, `"\u0000"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, events string) {
		doc := "[[webhooks]]\nurl = \"https://crm.example.com/h\"\nsecret = \"x\"\nevents = [" + events + "]\n"
		cfg, err := Parse("leadmailer.toml", []byte(doc))
		if err != nil {
			return
		}
		if len(cfg.Webhooks) != 1 || len(cfg.Webhooks[0].Events) == 0 {
			t.Fatalf("accepted %q as %+v", events, cfg.Webhooks)
		}
		if u := unknownEvents(cfg.Webhooks[0].Events); len(u) > 0 {
			t.Fatalf("accepted unknown events %v", u)
		}
	})
}
