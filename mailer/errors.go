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
	// connection, a timeout, a refused connection, and any failure before the mail
	// transaction started (connect, TLS, AUTH), since those say nothing about the
	// recipient. It is false for a 5xx reply to MAIL, RCPT or DATA.
	Temporary bool
	Code      int    // the SMTP reply code, e.g. 550; 0 when the server gave no reply
	Enhanced  string // the RFC 3463 enhanced status code, e.g. "5.1.1"; "" when absent
	Reply     string // the server's reply text without code, or "" without a reply
	Stage     string // "connect", "MAIL", "RCPT", "DATA" or "write": where it failed
	Err       error  // the underlying error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
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

// IsUserUnknown reports whether err is a permanent refusal with an enhanced status code
// of class 5.1 (bad destination address, e.g. "550 5.1.1 user unknown"): the caller marks
// the recipient undeliverable.
func IsUserUnknown(err error) bool {
	var se *SendError
	return errors.As(err, &se) && !se.Temporary && strings.HasPrefix(se.Enhanced, "5.1.")
}

// classify turns an error from the SMTP client at stage into a *SendError.
func classify(stage string, err error) *SendError {
	se := &SendError{Stage: stage, Err: err, Temporary: true}
	var tpe *textproto.Error
	if errors.As(err, &tpe) {
		se.Code = tpe.Code
		se.Reply = tpe.Msg
		se.Enhanced = enhancedCode(tpe.Msg)
		// A server's refusal before the transaction (a 5xx to AUTH) is about our
		// configuration, not this recipient: keep it temporary so that the caller
		// retries and pauses instead of failing every recipient.
		se.Temporary = tpe.Code < 500 || stage == "connect"
	}
	if errors.Is(err, context.Canceled) {
		se.Temporary = true
	}
	return se
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
