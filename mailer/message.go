package mailer

import (
	"crypto"
	"fmt"
	"hash/fnv"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/loopback"
)

// Message is one mail ready to send.
type Message struct {
	From, ReplyTo      string // RFC 5322 addresses, e.g. "Focus Marketing <marketing@example.com>"; ReplyTo optional
	To, ToName         string // bare address and display name; the name may contain anything, it is encoded
	Subject            string
	HTML, Text         string    // sent as multipart/alternative, text first; either may be empty
	MessageID          string    // without angle brackets; deterministic, chosen by the caller
	Date               time.Time // written in UTC
	ListUnsubscribeURL string    // https URL: List-Unsubscribe and List-Unsubscribe-Post (RFC 8058)
	// ReturnPath is the envelope sender (MAIL FROM), where bounces go: a bare address such as
	// a per-recipient bounce address. Empty: From's address.
	ReturnPath string
	Language   string // Content-Language, e.g. "fi"; optional
}

// DKIM is a signing key: every message a transport sends is signed with it.
type DKIM struct {
	Domain     string        // the d= domain, e.g. "example.com"
	Selector   string        // the s= selector: the key is published at SELECTOR._domainkey.DOMAIN
	PrivateKey crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
}

// dkimHeaders are the fields a signature covers when the message has them. Listing
// List-Unsubscribe and List-Unsubscribe-Post is what RFC 8058 section 4 asks for: a
// receiver honours one-click only when the signature covers both.
var dkimHeaders = []string{"From", "Reply-To", "To", "Subject", "Date", "Message-ID",
	"List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type", "Content-Language"}

// addr is a checked address: the bare address and the display name.
type addr struct{ name, addr string }

// parseFrom parses an RFC 5322 address like "Focus Marketing <marketing@example.com>".
// field names the header for the error.
func parseFrom(field, s string) (addr, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return addr{}, leadmailer.Errorf(leadmailer.EINVALID, "%s %q is not an e-mail address: write it as %q or %q", field, s, "marketing@example.com", "Focus Marketing <marketing@example.com>")
	}
	if err := checkAddr(a.Address); err != nil {
		return addr{}, leadmailer.Errorf(leadmailer.EINVALID, "%s %q: %v", field, s, err)
	}
	return addr{name: cleanHeader(a.Name), addr: a.Address}, nil
}

// addrCache remembers parsed From and Reply-To values: a campaign sends thousands of
// messages from one address, and parsing it each time was a fifth of the build's cost.
// It holds at most maxCachedAddrs entries and is safe for concurrent use.
type addrCache struct {
	mu sync.RWMutex
	m  map[string]addr
}

const maxCachedAddrs = 64

// parse is parseFrom through the cache; a nil cache parses every time.
func (c *addrCache) parse(field, s string) (addr, error) {
	if c == nil {
		return parseFrom(field, s)
	}
	c.mu.RLock()
	a, ok := c.m[s]
	c.mu.RUnlock()
	if ok {
		return a, nil
	}
	a, err := parseFrom(field, s)
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]addr)
	}
	if len(c.m) < maxCachedAddrs {
		c.m[s] = a
	}
	c.mu.Unlock()
	return a, nil
}

// checkAddr checks a bare address for what SMTP and a header need: one '@' with text on
// both sides, and no whitespace, control characters or RFC 5322 specials that would end
// the address (quoted local parts are not supported).
func checkAddr(s string) error {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return fmt.Errorf("%q is not an address like name@example.com", s)
	}
	if len(s) > 254 {
		return fmt.Errorf("%q is longer than 254 characters", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || strings.IndexByte("<>()[],;:\\\"", c) >= 0 {
			return fmt.Errorf("%q contains %q", s, c)
		}
	}
	return nil
}

// checkMessageID checks a Message-ID without its angle brackets: left@right in printable
// ASCII with no spaces or brackets.
func checkMessageID(id string) error {
	if id == "" {
		return leadmailer.Errorf(leadmailer.EINVALID, "message has no Message-ID")
	}
	if !strings.Contains(id, "@") || len(id) > 250 {
		return leadmailer.Errorf(leadmailer.EINVALID, "Message-ID %q must look like ID@DOMAIN without angle brackets", id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' || c == '<' || c == '>' || c == '"' || c == '\\' {
			return leadmailer.Errorf(leadmailer.EINVALID, "Message-ID %q contains %q: use letters, digits and . - _ @", id, c)
		}
	}
	return nil
}

// checkUnsubscribeURL checks a List-Unsubscribe URL: https, printable ASCII, nothing that
// would end the <...> around it. Plain http is let through only for this machine, as the
// configuration allows a public_url there (with a warning) to try leadmailer out: refusing
// it here made every message of such a trial fail as if the relay refused it.
func checkUnsubscribeURL(u string) error {
	if !(strings.HasPrefix(u, "https://") || loopback.IsHTTPURL(u)) || len(u) > 900 {
		return leadmailer.Errorf(leadmailer.EINVALID, "List-Unsubscribe URL %q must be an https:// URL of at most 900 characters (RFC 8058 requires HTTPS)", u)
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c > '~' || c == '<' || c == '>' || c == ',' {
			return leadmailer.Errorf(leadmailer.EINVALID, "List-Unsubscribe URL %q contains %q: percent-encode it", u, c)
		}
	}
	return nil
}

// checkLanguage checks a Content-Language tag like "fi" or "en-GB".
func checkLanguage(l string) error {
	if len(l) > 35 {
		return leadmailer.Errorf(leadmailer.EINVALID, "language %q is not a language tag like %q", l, "fi")
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return leadmailer.Errorf(leadmailer.EINVALID, "language %q is not a language tag like %q or %q", l, "fi", "en-GB")
		}
	}
	return nil
}

// envelope is what the SMTP transaction needs besides the message bytes.
type envelope struct {
	from, to string // bare addresses
}

// envelopeSender is the envelope sender (MAIL FROM, the Return-Path receivers bounce to) of
// m, whose From is from. Every transport takes it from here: the message's own return path
// (a per-recipient VERP address) when it has one, else the From address.
func envelopeSender(m *Message, from addr) string {
	if m.ReturnPath != "" {
		return m.ReturnPath
	}
	return from.addr
}

// AppendMessage appends m as an RFC 5322 message with CRLF line ends to dst and returns
// the extended buffer. With a non-nil key the message is DKIM-signed. It checks m and
// returns an error of code leadmailer.EINVALID naming the field when a value cannot be
// sent; text values (names, subject) are never rejected: control characters in them are
// replaced by spaces, so no value can add a header.
//
// The message starts with the Return-Path field that the receiving server adds (RFC 5321
// section 4.4), naming the envelope sender: it is the message as a mailbox, or the outbox,
// holds it. What goes over SMTP has no Return-Path field; the envelope carries it.
func AppendMessage(dst []byte, m *Message, key *DKIM) ([]byte, error) {
	b, env, err := appendMessage(nil, m, key, nil)
	if err != nil {
		return dst, err
	}
	dst = append(dst, "Return-Path: <"...)
	dst = append(dst, env.from...)
	dst = append(dst, ">\r\n"...)
	return append(dst, b...), nil
}

// appendMessage is AppendMessage that also returns the envelope, and looks addresses up
// in cache (which may be nil).
func appendMessage(dst []byte, m *Message, key *DKIM, cache *addrCache) ([]byte, envelope, error) {
	var env envelope
	from, err := cache.parse("From", m.From)
	if err != nil {
		return dst, env, err
	}
	var replyTo addr
	if m.ReplyTo != "" {
		if replyTo, err = cache.parse("Reply-To", m.ReplyTo); err != nil {
			return dst, env, err
		}
	}
	if err := checkAddr(m.To); err != nil {
		return dst, env, leadmailer.Errorf(leadmailer.EINVALID, "recipient: %v", err)
	}
	if err := checkMessageID(m.MessageID); err != nil {
		return dst, env, err
	}
	if m.Date.IsZero() {
		return dst, env, leadmailer.Errorf(leadmailer.EINVALID, "message %s has no Date", m.MessageID)
	}
	if m.ListUnsubscribeURL != "" {
		if err := checkUnsubscribeURL(m.ListUnsubscribeURL); err != nil {
			return dst, env, err
		}
	}
	if err := checkLanguage(m.Language); err != nil {
		return dst, env, err
	}
	if m.HTML == "" && m.Text == "" {
		return dst, env, leadmailer.Errorf(leadmailer.EINVALID, "message %s has neither a text nor an HTML body", m.MessageID)
	}
	if m.ReturnPath != "" {
		if err := checkAddr(m.ReturnPath); err != nil {
			return dst, env, leadmailer.Errorf(leadmailer.EINVALID, "return path: %v", err)
		}
	}
	env = envelope{from: envelopeSender(m, from), to: m.To}

	start := len(dst)
	b := dst
	b = append(b, "Date: "...)
	b = m.Date.UTC().AppendFormat(b, time.RFC1123Z)
	b = append(b, '\r', '\n')
	b = appendAddress(b, "From: ", from.name, from.addr)
	if m.ReplyTo != "" {
		b = appendAddress(b, "Reply-To: ", replyTo.name, replyTo.addr)
	}
	b = appendAddress(b, "To: ", cleanHeader(m.ToName), m.To)
	b = appendUnstructured(b, "Subject: ", cleanHeader(m.Subject))
	b = append(b, "Message-ID: <"...)
	b = append(b, m.MessageID...)
	b = append(b, ">\r\nMIME-Version: 1.0\r\n"...)
	if m.Language != "" {
		b = append(b, "Content-Language: "...)
		b = append(b, m.Language...)
		b = append(b, '\r', '\n')
	}
	if m.ListUnsubscribeURL != "" {
		b = append(b, "List-Unsubscribe: <"...)
		b = append(b, m.ListUnsubscribeURL...)
		b = append(b, ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"...)
	}
	switch {
	case m.HTML == "":
		b = appendPart(b, "text/plain", m.Text)
	case m.Text == "":
		b = appendPart(b, "text/html", m.HTML)
	default:
		// "=_" never occurs in quoted-printable text, so the boundary cannot appear in a
		// part; deriving it from the Message-ID keeps a re-sent message byte-identical.
		h := fnv.New64a()
		h.Write([]byte(m.MessageID))
		var bnd [18]byte
		copy(bnd[:], "=_")
		v := h.Sum64()
		for i := 17; i >= 2; i-- {
			bnd[i] = upperhex[v&15]
			v >>= 4
		}
		b = append(b, "Content-Type: multipart/alternative; boundary=\""...)
		b = append(b, bnd[:]...)
		b = append(b, "\"\r\n\r\n--"...)
		b = append(b, bnd[:]...)
		b = append(b, '\r', '\n')
		b = appendPart(b, "text/plain", m.Text)
		b = append(b, "\r\n--"...)
		b = append(b, bnd[:]...)
		b = append(b, '\r', '\n')
		b = appendPart(b, "text/html", m.HTML)
		b = append(b, "\r\n--"...)
		b = append(b, bnd[:]...)
		b = append(b, "--"...)
	}
	b = append(b, '\r', '\n')
	if key != nil {
		sig, err := sign(b[start:], m, key)
		if err != nil {
			return dst, env, err
		}
		// Prepend the signature: grow b by its length and shift the message.
		n := len(b) - start
		b = append(b, sig...)
		copy(b[start+len(sig):], b[start:start+n])
		copy(b[start:], sig)
	}
	return b, env, nil
}

// appendPart appends the header of one body part, a blank line and the quoted-printable
// body.
func appendPart(b []byte, contentType, body string) []byte {
	b = append(b, "Content-Type: "...)
	b = append(b, contentType...)
	b = append(b, "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"...)
	return appendQP(b, body)
}

// sign returns the DKIM-Signature header field for msg.
func sign(msg []byte, m *Message, key *DKIM) (string, error) {
	keys := make([]string, 0, len(dkimHeaders))
	for _, k := range dkimHeaders {
		switch {
		case k == "Reply-To" && m.ReplyTo == "",
			k == "Content-Language" && m.Language == "",
			strings.HasPrefix(k, "List-") && m.ListUnsubscribeURL == "":
			continue
		}
		keys = append(keys, k)
	}
	s, err := dkim.NewSigner(&dkim.SignOptions{
		Domain:                 key.Domain,
		Selector:               key.Selector,
		Signer:                 key.PrivateKey,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             keys,
	})
	if err != nil {
		return "", fmt.Errorf("dkim: %w", err)
	}
	if _, err := s.Write(msg); err != nil {
		s.Close()
		return "", fmt.Errorf("dkim: %w", err)
	}
	if err := s.Close(); err != nil {
		return "", fmt.Errorf("dkim: sign message %s: %w", m.MessageID, err)
	}
	return s.Signature(), nil
}

// bufPool holds message buffers between sends; a personalised message is a few KB.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 1<<20 { // let an unusually large message's buffer go
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
