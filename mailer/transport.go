// Package mailer builds marketing messages and hands them to a transport: an SMTP relay
// (smtp:// with STARTTLS, smtps:// with implicit TLS) or an outbox folder of .eml files.
//
// Concurrency: a Transport is safe for concurrent use; Send may be called from up to
// Options.Concurrency goroutines at once and never opens more connections than that.
// Messages are built by hand (see AppendMessage) rather than with go-mail's Msg: building
// is the cost that limits throughput, and the hand-built form costs a fraction of it.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer"
)

// Options configure a transport.
type Options struct {
	Concurrency int           // max parallel connections; Send is called from up to this many goroutines. Default 4
	Timeout     time.Duration // for connecting: TCP and the TLS handshake of smtps://. Default 30s
	Timeouts    Timeouts      // for each step of the SMTP exchange; zero fields take RFC 5321's values
	OutboxDir   string        // used when the URL is empty: the data directory's outbox
	DKIM        *DKIM         // optional: sign every message
	HelloName   string        // the EHLO name; default the host name of the machine
	TLSConfig   *tls.Config   // optional: e.g. RootCAs for a relay with a private CA; ServerName is set from the URL
}

// Transport sends messages.
type Transport interface {
	// Send sends m and returns the server's reply to the message (for the outbox, where
	// the file went). A failure to deliver is a *SendError; an invalid message is a
	// *leadmailer.Error of code EINVALID. Send is safe for concurrent use.
	Send(ctx context.Context, m *Message) (reply string, err error)
	// Close waits for the sends in progress and closes the connections.
	Close() error
	// String describes the transport for logs, without the password.
	String() string
}

// DefaultConcurrency and DefaultTimeout apply when Options leaves them zero.
const (
	DefaultConcurrency = 4
	DefaultTimeout     = 30 * time.Second
)

// Timeouts bound each step of an SMTP exchange rather than the whole of it: a relay under
// load may answer slowly, and a client that gives up on the reply to a message it has sent
// in full sends it again to a server that may well have accepted it. The defaults are those
// of RFC 5321 section 4.5.3.2.
type Timeouts struct {
	Greeting time.Duration // the greeting, EHLO, STARTTLS and AUTH together; default 5 minutes
	Command  time.Duration // each reply to MAIL FROM and RCPT TO; default 5 minutes
	Data     time.Duration // the reply to DATA; default 2 minutes
	Block    time.Duration // writing each block of the message; default 3 minutes
	DataEnd  time.Duration // the reply after the message's final dot; default 10 minutes
}

func (t *Timeouts) defaults() {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&t.Greeting, 5 * time.Minute}, {&t.Command, 5 * time.Minute}, {&t.Data, 2 * time.Minute},
		{&t.Block, 3 * time.Minute}, {&t.DataEnd, 10 * time.Minute}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
}

// Open returns the transport that rawURL names:
//
//	smtp://user:pass@host:port   SMTP submission; STARTTLS when the server offers it
//	                             (?starttls=required refuses a server without it,
//	                             ?starttls=none never starts TLS). Port default 587.
//	smtps://user:pass@host:port  SMTP over implicit TLS. Port default 465.
//	outbox://DIR                 one .eml file per message in DIR (relative or absolute).
//	""                           the outbox in opts.OutboxDir.
//
// The user name and password are optional and percent-encoded in the URL. Errors name the
// bad part of the URL and never contain the password.
func Open(rawURL string, opts Options) (Transport, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	opts.Timeouts.defaults()
	if rawURL == "" {
		if opts.OutboxDir == "" {
			return nil, leadmailer.Errorf(leadmailer.EINVALID, "no SMTP URL is configured and no outbox folder is given: set [smtp] url or LEADMAILER_SMTP_URL")
		}
		return newOutbox(opts.OutboxDir, opts)
	}
	if dir, ok := strings.CutPrefix(rawURL, "outbox://"); ok {
		if dir == "" {
			dir = opts.OutboxDir
		}
		if dir == "" {
			return nil, leadmailer.Errorf(leadmailer.EINVALID, "SMTP URL %q names no folder: write outbox://DIR", rawURL)
		}
		return newOutbox(dir, opts)
	}
	cfg, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	return newSMTP(cfg, opts)
}

// smtpConfig is a parsed smtp:// or smtps:// URL.
type smtpConfig struct {
	implicitTLS bool
	starttls    string // "opportunistic", "required" or "none"
	host        string
	port        int
	user, pass  string
	hasPass     bool
}

// String returns the URL without the password.
func (c smtpConfig) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(c.host, strconv.Itoa(c.port))}
	if c.implicitTLS {
		u.Scheme = "smtps"
	}
	if c.user != "" {
		u.User = url.User(c.user)
	}
	if !c.implicitTLS && c.starttls != "opportunistic" {
		u.RawQuery = "starttls=" + c.starttls
	}
	return u.String()
}

// redactURL returns raw with everything between "://" and the last "@" of the authority
// replaced by "…", for error messages about a URL that did not parse.
func redactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		if i := strings.LastIndexByte(raw, '@'); i >= 0 {
			return "…" + raw[i:]
		}
		return raw
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
		user, _, _ := strings.Cut(rest[:at], ":")
		return scheme + "://" + user + ":…" + rest[at:]
	}
	return raw
}

// parseSMTPURL parses an smtp:// or smtps:// URL.
func parseSMTPURL(raw string) (smtpConfig, error) {
	var c smtpConfig
	shown := redactURL(raw)
	bad := func(format string, args ...any) error {
		return leadmailer.Errorf(leadmailer.EINVALID, "SMTP URL %s: %s", shown, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		var ee url.EscapeError
		switch {
		case errors.As(err, &ee):
			return c, bad("a %%-escape is invalid: write special characters of the user name and password as %%XX (e.g. %%40 for @)")
		case errors.As(err, &ue) && strings.Contains(ue.Err.Error(), "port"):
			return c, bad("the port is not a number")
		default:
			return c, bad("cannot be parsed; write it as smtp://USER:PASSWORD@HOST:PORT with special characters %%-escaped")
		}
	}
	switch u.Scheme {
	case "smtp":
		c.port = 587
		c.starttls = "opportunistic"
	case "smtps":
		c.port = 465
		c.implicitTLS = true
	default:
		return c, bad("scheme %q is not one of smtp://, smtps://, outbox://", u.Scheme)
	}
	if u.Opaque != "" {
		return c, bad("write two slashes after %s:", u.Scheme)
	}
	c.host = u.Hostname()
	if c.host == "" {
		return c, bad("the host is missing: write %s://HOST:PORT", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, bad("port %q is not a number from 1 to 65535", p)
		}
		c.port = n
	}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, c.hasPass = u.User.Password()
		if c.user == "" {
			return c, bad("the user name before the password is empty")
		}
	}
	if u.Path != "" && u.Path != "/" {
		return c, bad("path %q is not allowed; options go in the query, e.g. ?starttls=required", u.Path)
	}
	q := u.Query()
	for k, v := range q {
		switch k {
		case "starttls":
			if c.implicitTLS {
				return c, bad("starttls does not apply to smtps://, which is TLS from the start")
			}
			switch v[len(v)-1] {
			case "required", "none", "opportunistic":
				c.starttls = v[len(v)-1]
			default:
				return c, bad("starttls=%s is not one of required, none, opportunistic", v[len(v)-1])
			}
		default:
			return c, bad("unknown option %q; the only option is starttls=required|none|opportunistic", k)
		}
	}
	return c, nil
}
