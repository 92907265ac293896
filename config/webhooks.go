package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/loopback"
)

// WebhookEndpoint is one receiver of outgoing webhooks, a [[webhooks]] table: serve POSTs
// each event of the listed types to URL, signed with Secret.
type WebhookEndpoint struct {
	URL string `toml:"url"`
	// Events are the event types sent, such as "import.finished" or "lead.bounced".
	Events []string `toml:"events"`
	// Secret keys the HMAC-SHA256 signature of each delivery. "${NAME}" is replaced by the
	// environment variable NAME, so that the secret stays out of the file.
	Secret string `toml:"secret"`
	// IncludeEmail adds the lead's address to lead events. Off by default: the lead's
	// number is enough for a receiver that already holds the lead, and an address sent
	// out is personal data that one more system must then protect and erase.
	IncludeEmail bool `toml:"include_email"`
}

// validateWebhooks reports every bad [[webhooks]] value by its key.
func validateWebhooks(hooks []WebhookEndpoint) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[string]bool{}
	for i, h := range hooks {
		key := fmt.Sprintf("webhooks[%d]", i)
		if err := CheckWebhookURL(h.URL); err != nil {
			add("%s.url: %v", key, err)
		}
		if seen[h.URL] {
			add("%s.url: %q is given twice: list all its events in one [[webhooks]] table", key, h.URL)
		}
		seen[h.URL] = true
		if len(h.Events) == 0 {
			add("%s.events: list at least one event, such as [\"import.finished\"]; the events are %s", key,
				strings.Join(leadmailer.EventTypes, ", "))
		}
		if unknown := unknownEvents(h.Events); len(unknown) > 0 {
			add("%s.events: unknown event %s: the events are %s", key, strings.Join(unknown, ", "),
				strings.Join(leadmailer.EventTypes, ", "))
		}
		if strings.TrimSpace(h.Secret) == "" {
			add("%s.secret: set a secret, such as \"${LEADMAILER_WEBHOOK_SECRET}\": the receiver checks each delivery's signature with it", key)
		}
	}
	return errs
}

// unknownEvents returns, quoted and in their order, the names in events that are not event
// types.
func unknownEvents(events []string) []string {
	var unknown []string
	for _, e := range events {
		if !leadmailer.ValidEventType(e) {
			unknown = append(unknown, fmt.Sprintf("%q", e))
		}
	}
	return unknown
}

// CheckWebhookURL checks a webhook receiver's address. It must be https: deliveries carry
// lead numbers, and their signatures prove who sent them but not that nobody read them on
// the way. Plain http is allowed only for this machine (127.0.0.0/8, localhost, [::1]), as
// for public_url, to try a receiver out.
func CheckWebhookURL(s string) error {
	if err := checkHTTPURL(s); err != nil {
		return err
	}
	u, _ := url.Parse(s)
	if u.User != nil {
		return fmt.Errorf("%q holds a user name or password: put credentials in the secret, not the URL", s)
	}
	if strings.EqualFold(u.Scheme, "https") {
		return nil
	}
	if loopback.IsHTTPURL(s) {
		return nil
	}
	return fmt.Errorf("%q must start with https:// (plain http only for 127.0.0.0/8, localhost or [::1])", s)
}

// ResolveSecret returns the endpoint's secret with every ${NAME} replaced by that environment
// variable, naming the key of a reference that cannot be resolved.
func (w WebhookEndpoint) ResolveSecret(lookup func(string) (string, bool)) (string, error) {
	s, err := expandEnv(w.Secret, lookup)
	if err != nil {
		return "", fmt.Errorf("webhooks %q: secret: %w", w.URL, err)
	}
	if s == "" {
		return "", fmt.Errorf("webhooks %q: secret: the value is empty once resolved", w.URL)
	}
	return s, nil
}
