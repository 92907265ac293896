package templates

import (
	"errors"
	"fmt"
	"strconv"
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
	// countPast is how many times its limit a part's output is counted, not kept, once past
	// the limit, so that the error can say how large the part is: a pasted newsletter of
	// 120 KB is told its size, a loop that renders megabytes stops at ten times the limit.
	countPast = 10
)

// ErrRenderLimit reports a message that renders too large or too slowly.
var ErrRenderLimit = errors.New("render limit exceeded")

// limitWriter collects a template's output up to limit bytes and counts the rest, failing
// the write that takes it past countPast times limit, and any write after the deadline:
// text/template stops executing at the first failed write. After a successful Execute, Err
// says whether the output was over the limit.
type limitWriter struct {
	b        strings.Builder
	n        int // bytes written, those counted past the limit included
	part     string
	limit    int
	deadline time.Time
}

func newLimitWriter(part string, limit int, deadline time.Time) *limitWriter {
	return &limitWriter{part: part, limit: limit, deadline: deadline}
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if time.Now().After(w.deadline) {
		return 0, fmt.Errorf("%w: the %s takes longer than %v to render for one message", ErrRenderLimit, w.part, renderTimeout)
	}
	w.n += len(p)
	switch {
	case w.n > countPast*w.limit:
		return 0, fmt.Errorf("%w: the %s renders to more than %s bytes; at most %s bytes are allowed%s", ErrRenderLimit,
			w.part, groupDigits(countPast*w.limit), groupDigits(w.limit), sizeReason(w.part))
	case w.n > w.limit:
		return len(p), nil
	}
	return w.b.Write(p)
}

// Err reports output over the limit, with its size.
func (w *limitWriter) Err() error {
	if w.n <= w.limit {
		return nil
	}
	return fmt.Errorf("%w: the %s is %s bytes; at most %s bytes are allowed%s", ErrRenderLimit,
		w.part, groupDigits(w.n), groupDigits(w.limit), sizeReason(w.part))
}

func (w *limitWriter) String() string { return w.b.String() }

// groupDigits writes n with commas between groups of three digits: 120,345.
func groupDigits(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func sizeReason(part string) string {
	if part == partHTML {
		return " (Gmail clips a message over about 100 KB, and with it the notices at its end)"
	}
	return ""
}
