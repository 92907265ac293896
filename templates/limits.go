package templates

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits on one rendered message. A template can loop ({{range}}) and so render without
// bound; these stop it quickly, with an error naming the limit, instead of letting campaign
// creation or a send run for minutes and fill memory.
const (
	// maxHTMLBytes caps the HTML part as sent, layout and notices included: Gmail clips a
	// message over about 102 KB behind a "view entire message" link, and the notices come
	// last, so they would be the part clipped.
	maxHTMLBytes = 100_000
	// maxTextBytes caps the text body.
	maxTextBytes = 100_000
	// maxSubjectBytes caps the subject as rendered, before it is cleaned to one line.
	maxSubjectBytes = 4_000
	// renderTimeout caps the time one message takes to render, all parts together.
	renderTimeout = time.Second
)

// ErrRenderLimit reports a message that renders too large or too slowly.
var ErrRenderLimit = errors.New("render limit exceeded")

// limitWriter collects a template's output and fails the write that would take it past
// limit bytes, or any write after the deadline: text/template stops executing at the first
// failed write.
type limitWriter struct {
	b        strings.Builder
	part     string
	limit    int
	deadline time.Time
}

func newLimitWriter(part string, limit int, deadline time.Time) *limitWriter {
	return &limitWriter{part: part, limit: limit, deadline: deadline}
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.limit {
		return 0, fmt.Errorf("%w: the %s renders to more than %d bytes%s", ErrRenderLimit, w.part, w.limit, sizeReason(w.part))
	}
	if time.Now().After(w.deadline) {
		return 0, fmt.Errorf("%w: the %s takes longer than %v to render for one message", ErrRenderLimit, w.part, renderTimeout)
	}
	return w.b.Write(p)
}

func (w *limitWriter) String() string { return w.b.String() }

func sizeReason(part string) string {
	if part == partHTML {
		return " (Gmail clips a message over about 100 KB, and with it the notices at its end)"
	}
	return ""
}
