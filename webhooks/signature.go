package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a delivery.
const (
	HeaderEvent     = "Leadmailer-Event"     // the event type, such as "lead.bounced"
	HeaderDelivery  = "Leadmailer-Delivery"  // the event id; the same on every retry and replay
	HeaderSignature = "Leadmailer-Signature" // "t=UNIX,v1=HEX", see Sign
)

// Sign returns the Leadmailer-Signature header of body sent at t: t=UNIX,v1=HEX, where HEX
// is the HMAC-SHA256, keyed with the endpoint's secret, of the decimal UNIX time, a dot and
// the body, as Stripe signs its webhooks. The time is signed so that a receiver can refuse a
// delivery recorded and replayed by someone else long after.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// ErrSignature is the error Verify returns for a signature that does not match.
var ErrSignature = errors.New("the signature does not match the body")

// Verify checks a delivery's Leadmailer-Signature header against its body, as a receiver
// written in Go does: the signature must match, and its time be within tolerance of now.
// A header may carry several v1 values (while a secret is being changed); one match is
// enough.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("signature header %q: want t=UNIX,v1=HEX", header)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature time %s is more than %s from now", time.Unix(unix, 0).UTC().Format(time.RFC3339), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrSignature
}
