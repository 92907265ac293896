package mailer

import (
	"context"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
)

// SendError is the error of a Send that reached the network: the connection failed or the
// server refused the message. Errors in the message itself (an invalid address) are
// *leadmailer.Error values of code EINVALID instead.
type SendError struct {
	// Temporary is true when sending again later may succeed: a 4xx reply, a dropped
	// connection, a timeout, a refused connection. It is false for a 5xx reply.
	Temporary bool
	// Relay is true when the failure is about the relay or this sender, not about the
	// recipient: a refused connection, greeting, EHLO, STARTTLS or AUTH, any refusal of
	// MAIL FROM, an authentication code (530, 535, 5.7.0, 5.7.8…), "relay access denied",
	// a protocol or mail-system code (5.5.x, 5.3.x). Every other recipient would get the
	// same answer, so the caller stops and keeps the recipient for later instead of
	// counting the failure against it. See RelayFault for the whole table.
	Relay bool
	// Unknown is true when the message was sent in full and no reply to its end came
	// (a timeout after the final dot): the server may have accepted it.
	Unknown  bool
	Code     int    // the SMTP reply code, e.g. 550; 0 when the server gave no reply
	Enhanced string // the RFC 3463 enhanced status code, e.g. "5.1.1"; "" when absent
	Reply    string // the server's reply text without code, or "" without a reply
	Stage    string // "connect", "MAIL", "RCPT", "DATA", "write" or "end of data": where it failed
	Err      error  // the underlying error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	if e.Relay {
		kind += " relay"
	}
	if e.Code != 0 {
		return fmt.Sprintf("%s failure at %s: %d %s", kind, e.Stage, e.Code, e.Reply)
	}
	return fmt.Sprintf("%s failure at %s: %v", kind, e.Stage, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is a *SendError that may succeed when sent again later.
func IsTemporary(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Temporary
}

// IsRelayFault reports whether err is a *SendError about the relay or this sender rather
// than the recipient.
func IsRelayFault(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Relay
}

// IsUnknownOutcome reports whether err is a *SendError after which the server may have
// accepted the message all the same.
func IsUnknownOutcome(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Unknown
}

// IsUserUnknown reports whether err is a permanent refusal of the recipient with an
// enhanced status code of class 5.1 (bad destination address, e.g. "550 5.1.1 user
// unknown"): the caller marks the recipient undeliverable.
func IsUserUnknown(err error) bool {
	var se *SendError
	return errors.As(err, &se) && !se.Temporary && !se.Relay && strings.HasPrefix(se.Enhanced, "5.1.")
}

// classify turns an error from the SMTP client at stage into a *SendError.
func classify(stage string, err error) *SendError {
	se := &SendError{Stage: stage, Err: err, Temporary: true}
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		se.Code = tpe.Code
		se.Reply = tpe.Msg
		se.Enhanced = enhancedCode(tpe.Msg)
		se.Temporary = tpe.Code < 500
	}
	se.Relay = RelayFault(stage, se.Code, se.Enhanced, se.Reply)
	if errors.Is(err, context.Canceled) {
		se.Temporary = true
	}
	return se
}

// RelayFault reports whether a failure at stage with the reply code, enhanced code and
// text (all empty without a reply) is the relay's refusal of this sender rather than a
// refusal of the recipient or the message:
//
//	stage "connect" (TCP, greeting, EHLO, STARTTLS, AUTH)  relay, whatever the reply
//	stage "MAIL" (MAIL FROM)                               relay, whatever the reply
//	530, 534, 535, 538 at any stage                        relay (authentication)
//	5.7.x other than 5.7.1, at any stage                   relay (authentication, sender policy: 5.7.0, 5.7.8, 5.7.26…)
//	5.7.1 or 554/550 whose text speaks of relaying         relay ("relay access denied")
//	5.5.x, 5.3.x other than 5.3.4, 500–504                 relay (protocol, the relay's mail system)
//	5.1.x, 5.2.x, 5.3.4, 5.4.x, 5.6.x, other 5.7.1, other 5xx at RCPT or DATA   the recipient or the message
//	4xx or no reply at RCPT, DATA, end of data             the recipient or the message (temporary)
//
// A reply to RCPT is about one address unless it says otherwise: a relay that refuses
// every address with "550 5.1.1" looks like a list of bad addresses, which the campaign's
// circuit breaker catches (see the campaign package).
func RelayFault(stage string, code int, enhanced, text string) bool {
	if stage == "connect" || stage == "MAIL" {
		return true
	}
	switch code {
	case 530, 534, 535, 538:
		return true
	case 500, 501, 502, 503, 504:
		return true
	}
	class, subject, _ := strings.Cut(enhanced, ".")
	subject, detail, _ := strings.Cut(subject, ".")
	if enhanced == "" && code >= 500 {
		class = "5"
	}
	if class != "5" {
		return false
	}
	switch subject {
	case "7":
		return detail != "1" || speaksOfRelaying(text)
	case "5":
		return true
	case "3":
		return detail != "4"
	case "", "0":
		// No code, or 5.0.0 (go-smtp's and some relays' default): the text is all there is.
		return (code == 550 || code == 554) && speaksOfRelaying(text)
	}
	return false
}

// speaksOfRelaying reports whether a reply text refuses relaying, as Postfix ("Relay access
// denied"), Exim ("relay not permitted") and Microsoft ("Unable to relay") say it.
func speaksOfRelaying(text string) bool {
	t := strings.ToLower(text)
	return strings.Contains(t, "relay")
}

// enhancedCode returns the RFC 3463 code that starts an SMTP reply text, like "5.1.1" in
// "5.1.1 user unknown", or "".
func enhancedCode(reply string) string {
	s := reply
	if i := strings.IndexAny(s, " \r\n"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (parts[0] != "2" && parts[0] != "4" && parts[0] != "5") {
		return ""
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return ""
		}
	}
	return s
}
