package config

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Bounces says how leadmailer hears of bounces and complaints after the relay accepted a
// message, and what it does about them.
type Bounces struct {
	// Domain turns on per-recipient return paths (VERP): each message's envelope sender is
	// LOCAL+TOKEN@DOMAIN, so that a bounce names its campaign and recipient. The domain's MX
	// must lead to the listener below or to a mail server that pipes into "bounces ingest".
	// Empty (the default): messages keep the sender's own address as envelope sender.
	Domain string `toml:"domain"`
	Local  string `toml:"local"` // default "bounces"
	// Listen is the address of serve's inbound SMTP listener for bounces, such as
	// "127.0.0.1:2525", behind the bounce domain's MX. Empty: no listener.
	Listen string `toml:"listen"`
	// MaxMessageKB is the largest bounce message read, in KiB; default 10240 (10 MiB).
	MaxMessageKB int `toml:"max_message_kb"`

	// SoftLimit soft bounces (4.x.x) within SoftWindow make a lead undeliverable; defaults 3
	// and 30 days.
	SoftLimit  int      `toml:"soft_limit"`
	SoftWindow Duration `toml:"soft_window"`
	// BurstCount hard bounces for one campaign from one reporting host within BurstWindow
	// pause the campaign instead of marking leads; defaults 50 and 10 minutes.
	BurstCount  int      `toml:"burst_count"`
	BurstWindow Duration `toml:"burst_window"`
	// A campaign pauses when its hard-bounce rate passes BounceRate or its complaint rate
	// passes ComplaintRate (fractions of sent messages, defaults 0.05 and 0.003), once it has
	// sent RateMinSent messages (default 100). 0 turns a rate check off.
	BounceRate    float64 `toml:"bounce_rate"`
	ComplaintRate float64 `toml:"complaint_rate"`
	RateMinSent   int     `toml:"rate_min_sent"`

	Webhooks Webhooks `toml:"webhooks"`
}

// Webhooks turns on the providers' bounce and complaint webhooks; each is off until its
// secret is set. A value may name an environment variable, "${NAME}", so that secrets stay
// out of the file.
type Webhooks struct {
	// SESTopicARNs are the Amazon SNS topics whose notifications are accepted at
	// /webhooks/ses; their signatures are checked with Amazon's certificate.
	SESTopicARNs []string `toml:"ses_topic_arns"`
	// SendGridPublicKey is the verification key of SendGrid's signed event webhook
	// (base64), for /webhooks/sendgrid.
	SendGridPublicKey string `toml:"sendgrid_public_key"`
	// PostmarkUser and PostmarkPassword are the basic-auth credentials written into the
	// webhook URL configured at Postmark, for /webhooks/postmark.
	PostmarkUser     string `toml:"postmark_user"`
	PostmarkPassword string `toml:"postmark_password"`
	// MailgunSigningKey is Mailgun's webhook signing key, for /webhooks/mailgun.
	MailgunSigningKey string `toml:"mailgun_signing_key"`
}

func defaultBounces() Bounces {
	return Bounces{
		Local: "bounces", MaxMessageKB: 10 << 10,
		SoftLimit: 3, SoftWindow: Duration(30 * 24 * time.Hour),
		BurstCount: 50, BurstWindow: Duration(10 * time.Minute),
		BounceRate: 0.05, ComplaintRate: 0.003, RateMinSent: 100,
	}
}

// validate reports every bad [bounces] value by its key.
func (b *Bounces) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if b.Domain != "" && (strings.ContainsAny(b.Domain, "@ <>") || !strings.Contains(b.Domain, ".")) {
		add("bounces.domain = %q: give a domain such as \"bounces.example.com\", with no @", b.Domain)
	}
	if b.Local == "" || strings.ContainsAny(b.Local, "@+ <>\"") {
		add("bounces.local = %q: give the address's part before the @, such as \"bounces\", without + or @", b.Local)
	}
	if b.Listen != "" {
		if _, _, err := net.SplitHostPort(b.Listen); err != nil {
			add("bounces.listen = %q: give host:port, such as \"127.0.0.1:2525\"", b.Listen)
		}
		if b.Domain == "" {
			add("bounces.listen is set but bounces.domain is not: the listener accepts mail only for the bounce domain")
		}
	}
	if b.MaxMessageKB < 1 {
		add("bounces.max_message_kb = %d: give a size in KiB, such as 10240", b.MaxMessageKB)
	}
	if b.SoftLimit < 0 || b.BurstCount < 0 || b.RateMinSent < 0 {
		add("bounces.soft_limit, burst_count and rate_min_sent must not be negative")
	}
	for key, v := range map[string]float64{"bounce_rate": b.BounceRate, "complaint_rate": b.ComplaintRate} {
		if v < 0 || v >= 1 {
			add("bounces.%s = %g: give a fraction of sent messages, such as 0.05 for 5 %%, or 0 for no check", key, v)
		}
	}
	if (b.Webhooks.PostmarkUser == "") != (b.Webhooks.PostmarkPassword == "") {
		add("bounces.webhooks: set both postmark_user and postmark_password, or neither")
	}
	for _, arn := range b.Webhooks.SESTopicARNs {
		if !strings.HasPrefix(arn, "arn:aws") || strings.Count(arn, ":") != 5 {
			add("bounces.webhooks.ses_topic_arns: %q is not a topic ARN such as \"arn:aws:sns:eu-west-1:123456789012:bounces\"", arn)
		}
	}
	return errs
}

// Resolve returns the webhook settings with every ${NAME} replaced by that environment
// variable, naming the key of a reference that cannot be resolved.
func (w Webhooks) Resolve(lookup func(string) (string, bool)) (Webhooks, error) {
	var err error
	expand := func(key, v string) string {
		out, e := expandEnv(v, lookup)
		if e != nil && err == nil {
			err = fmt.Errorf("bounces.webhooks.%s: %w", key, e)
		}
		return out
	}
	w.SendGridPublicKey = expand("sendgrid_public_key", w.SendGridPublicKey)
	w.PostmarkUser = expand("postmark_user", w.PostmarkUser)
	w.PostmarkPassword = expand("postmark_password", w.PostmarkPassword)
	w.MailgunSigningKey = expand("mailgun_signing_key", w.MailgunSigningKey)
	return w, err
}
