package bounce

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"regexp"
	"strings"
	"sync"

	"github.com/emersion/go-message"
	// Registers the character sets of the world's bounce texts (ISO-8859-x, Windows-125x,
	// Shift_JIS…), so that a German or Japanese bounce is read as text, not refused.
	_ "github.com/emersion/go-message/charset"
)

// Limits bound what Parse reads of one message. A bounce is small; a hostile or broken one
// must not cost more than this in time or memory.
type Limits struct {
	// MaxBytes is how much of the message is read at all; the rest is not looked at.
	MaxBytes int64
	// MaxParts is how many MIME parts are looked at, counted over all levels.
	MaxParts int
	// MaxDepth is how deeply multiparts may nest.
	MaxDepth int
	// MaxPartBytes is how much of one report or text part is read.
	MaxPartBytes int64
}

// DefaultLimits serve any real bounce: reports put their status part first and are far
// smaller than this; the copy of the original message they may carry is not read past its
// headers.
var DefaultLimits = Limits{MaxBytes: 10 << 20, MaxParts: 64, MaxDepth: 5, MaxPartBytes: 64 << 10}

// ErrTooLarge is returned when a message passes Limits.MaxBytes before Parse could tell what
// it is.
var ErrTooLarge = errors.New("bounce: message too large")

// errTooComplex stops a walk through too many or too deeply nested parts.
var errTooComplex = fmt.Errorf("%w: too many or too deeply nested MIME parts", ErrMalformed)

// ErrMalformed is returned for a message that cannot be read as MIME, or one too complex
// to read within the limits.
var ErrMalformed = errors.New("bounce: malformed message")

// Parse reads one message, as it arrived at the bounce address, with DefaultLimits.
func Parse(r io.Reader) (*Report, error) {
	return ParseWithLimits(r, DefaultLimits)
}

// ParseWithLimits reads one message and tells what it is. A message it cannot read as MIME
// at all is an error; a message it reads but does not recognise is a Report of Kind Other.
func ParseWithLimits(r io.Reader, lim Limits) (*Report, error) {
	lr := &limitReader{r: r, n: lim.MaxBytes}
	e, err := message.Read(lr)
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		if errors.Is(err, ErrTooLarge) {
			return nil, ErrTooLarge
		}
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	p := &parser{lim: lim}
	walkErr := p.walk(e, 0)
	rep := p.report(e.Header)
	if walkErr != nil && rep.Kind == Other {
		// What could be read said nothing; say why rather than ignore the message silently.
		if errors.Is(walkErr, ErrTooLarge) {
			return nil, ErrTooLarge
		}
		if errors.Is(walkErr, errTooComplex) {
			return nil, walkErr
		}
	}
	return rep, nil
}

// limitReader is io.LimitReader with an error of its own at the limit, so that a truncated
// message is not mistaken for a complete one.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, ErrTooLarge
	}
	if int64(len(b)) > l.n {
		b = b[:l.n]
	}
	n, err := l.r.Read(b)
	l.n -= int64(n)
	return n, err
}

type parser struct {
	lim   Limits
	parts int

	dsn      []textproto.MIMEHeader // per-recipient groups of a delivery-status part
	feedback textproto.MIMEHeader   // an ARF feedback-report part
	original textproto.MIMEHeader   // headers of the message the report is about
	text     strings.Builder        // the human-readable parts, for bounces without a report
}

func (p *parser) walk(e *message.Entity, depth int) error {
	p.parts++
	if p.parts > p.lim.MaxParts || depth > p.lim.MaxDepth {
		return errTooComplex
	}
	mediaType, params, _ := e.Header.ContentType()
	switch mediaType {
	case "multipart/report", "multipart/mixed", "multipart/alternative", "multipart/related", "multipart/signed":
		mr := e.MultipartReader()
		if mr == nil {
			return nil
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil && (part == nil || !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err)) {
				return err
			}
			if err := p.walk(part, depth+1); err != nil {
				return err
			}
		}
	case "message/delivery-status", "message/global-delivery-status":
		groups, err := readFieldGroups(io.LimitReader(e.Body, p.lim.MaxPartBytes))
		if len(groups) > 1 {
			// The first group is about the message; the others are one per recipient.
			p.dsn = append(p.dsn, groups[1:]...)
		}
		return err
	case "message/feedback-report":
		groups, err := readFieldGroups(io.LimitReader(e.Body, p.lim.MaxPartBytes))
		if len(groups) > 0 {
			p.feedback = groups[0]
		}
		return err
	case "message/rfc822", "text/rfc822-headers", "message/global", "message/global-headers":
		if p.original == nil {
			// Only the headers of the original message matter; its body is not read.
			br := getBufReader(io.LimitReader(e.Body, p.lim.MaxPartBytes))
			h, _ := textproto.NewReader(br).ReadMIMEHeader()
			putBufReader(br)
			if len(h) > 0 {
				p.original = h
			}
		}
		return nil
	case "text/plain", "text/html", "":
		if p.text.Len() >= int(p.lim.MaxPartBytes) {
			return nil
		}
		if strings.HasPrefix(strings.ToLower(params["charset"]), "utf-16") {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(e.Body, p.lim.MaxPartBytes-int64(p.text.Len())))
		if mediaType == "text/html" {
			p.text.WriteString(htmlText(b))
		} else {
			p.text.Write(b)
		}
		p.text.WriteByte('\n')
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		return nil
	default:
		// Attachments, images and unknown types: nothing to learn from them.
		return nil
	}
}

// readFieldGroups reads blocks of header-style fields separated by blank lines, the shape of
// delivery-status and feedback-report parts.
func readFieldGroups(r io.Reader) ([]textproto.MIMEHeader, error) {
	br := getBufReader(r)
	defer putBufReader(br)
	tr := textproto.NewReader(br)
	var groups []textproto.MIMEHeader
	for len(groups) < 100 {
		h, err := tr.ReadMIMEHeader()
		if len(h) > 0 {
			groups = append(groups, h)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return groups, nil
			}
			return groups, err
		}
	}
	return groups, nil
}

// report decides what the message is, from the most reliable evidence down: a machine-readable
// report, then the signs of an automatic reply, then the wording of known bounce texts.
func (p *parser) report(h message.Header) *Report {
	rep := &Report{Kind: Other}
	if id := strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>"); id != "" {
		rep.ID = "mail:" + id
	}
	p.fillOriginal(rep)
	rep.Reporter = domainOf(fieldAddress(h.Get("From")))
	rep.DeliveredTo = fieldAddress(h.Get("X-Original-To"))
	if rep.DeliveredTo == "" {
		rep.DeliveredTo = fieldAddress(h.Get("Delivered-To"))
	}

	if len(p.dsn) > 0 {
		rep.Format = "dsn"
		for _, g := range p.dsn {
			if mta := g.Get("Reporting-MTA"); mta != "" {
				rep.Reporter = reportingHost(mta)
			}
			rc := Recipient{
				Address:    fieldAddress(g.Get("Final-Recipient")),
				Action:     strings.ToLower(strings.TrimSpace(g.Get("Action"))),
				Status:     firstStatus(g.Get("Status")),
				Diagnostic: oneLine(g.Get("Diagnostic-Code")),
			}
			if rc.Address == "" {
				rc.Address = fieldAddress(g.Get("Original-Recipient"))
			}
			if rc.Action != "failed" && rc.Action != "delayed" {
				continue
			}
			if rc.Status == "" {
				rc.Status = firstStatus(rc.Diagnostic)
			}
			rep.Recipients = append(rep.Recipients, rc)
		}
		rep.Kind = kindOf(rep.Recipients)
		return rep
	}

	if p.feedback != nil {
		rep.Format = "arf"
		rep.FeedbackType = strings.ToLower(strings.TrimSpace(p.feedback.Get("Feedback-Type")))
		if from := fieldAddress(p.feedback.Get("Original-Mail-From")); from != "" {
			rep.OriginalReturnPath = from
		}
		if to := fieldAddress(p.feedback.Get("Original-Rcpt-To")); to != "" {
			rep.OriginalTo = to
		}
		if rep.FeedbackType != "not-spam" {
			rep.Kind = Complaint
		}
		return rep
	}

	// Bounce texts before auto-replies: Exim and Postfix mark their bounces auto-replied too.
	text := p.text.String()
	if dialect, rcpts := textBounce(&h, text); dialect != "" {
		rep.Format = "text:" + dialect
		rep.Recipients = rcpts
		rep.Kind = kindOf(rcpts)
		if rep.OriginalMessageID == "" {
			if m := inlineMessageID.FindStringSubmatch(text); m != nil {
				rep.OriginalMessageID = m[1]
			}
		}
		return rep
	}
	if isAutoReply(h) {
		rep.Kind = AutoReply
	}
	return rep
}

// reportingHost is the host of a Reporting-MTA field such as "dns; mx.example.com".
func reportingHost(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[i+1:]
	}
	return strings.ToLower(oneLine(v))
}

// domainOf is the part of an address after its last "@", or "".
func domainOf(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return ""
}

func (p *parser) fillOriginal(rep *Report) {
	if p.original == nil {
		return
	}
	rep.OriginalMessageID = strings.Trim(strings.TrimSpace(p.original.Get("Message-Id")), "<>")
	rep.OriginalTo = fieldAddress(p.original.Get("To"))
	rep.OriginalReturnPath = fieldAddress(p.original.Get("Return-Path"))
}

func kindOf(rcpts []Recipient) Kind {
	if len(rcpts) == 0 {
		return Other
	}
	for _, r := range rcpts {
		if r.Permanent() {
			return Hard
		}
	}
	return Soft
}

var (
	statusCode      = regexp.MustCompile(`\b([245])\.(\d{1,3})\.(\d{1,3})\b`)
	basicCode       = regexp.MustCompile(`\b([45])[0-9][0-9][ -]`)
	addressPattern  = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+`)
	inlineMessageID = regexp.MustCompile(`(?im)^message-id:\s*<([^>\s]+)>`)
)

// firstStatus returns the first enhanced status code in s, or one derived from a basic SMTP
// reply code (550 gives 5.0.0), or "".
func firstStatus(s string) string {
	if m := statusCode.FindString(s); m != "" {
		return m
	}
	if m := basicCode.FindStringSubmatch(s + " "); m != nil {
		return m[1] + ".0.0"
	}
	return ""
}

// fieldAddress returns the address of a field such as "rfc822; Someone@Example.com" or
// "Name <someone@example.com>", lower-cased, or "" when there is none.
func fieldAddress(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 && !strings.Contains(v[:i], "@") {
		v = v[i+1:]
	}
	m := addressPattern.FindString(v)
	return strings.ToLower(m)
}

// oneLine folds a field's continuation lines and caps its length, since a diagnostic is
// stored and shown on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// isAutoReply tells an out-of-office or other automatic answer by the headers RFC 3834 and
// the common mail systems set, and by the subjects that the rest use.
func isAutoReply(h message.Header) bool {
	if v := strings.ToLower(h.Get("Auto-Submitted")); strings.HasPrefix(v, "auto-replied") {
		return true
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if h.Get(k) != "" {
			return true
		}
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("Precedence")), "auto_reply") {
		return true
	}
	if strings.EqualFold(strings.TrimSpace(h.Get("X-Auto-Response-Suppress")), "All") && h.Get("X-Ms-Exchange-Inbox-Rules-Loop") != "" {
		return true
	}
	subject, _ := h.Text("Subject")
	subject = strings.ToLower(subject)
	for _, prefix := range autoReplySubjects {
		if strings.HasPrefix(subject, prefix) {
			return true
		}
	}
	return false
}

// autoReplySubjects are how out-of-office answers begin in the languages leadmailer mails in.
var autoReplySubjects = []string{
	"automatic reply:", "auto reply:", "autoreply:", "auto-reply:", "out of office", "out of the office",
	"automatische antwort:", "abwesenheitsnotiz", "poissa:", "automaattinen vastaus:", "autosvar:",
	"réponse automatique", "absence", "risposta automatica", "respuesta automática",
}

// bufReaders holds the buffered readers of report parts: a new 4 KiB buffer for each of
// the two or three parts of every bounce was most of what an ingest of a large mbox
// allocated, and so most of its garbage collection.
var bufReaders = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

func getBufReader(r io.Reader) *bufio.Reader {
	br := bufReaders.Get().(*bufio.Reader)
	br.Reset(r)
	return br
}

// putBufReader returns br to the pool; what was read through it must not be used after,
// which holds for textproto's headers: they are copied out of the buffer.
func putBufReader(br *bufio.Reader) {
	br.Reset(nil)
	bufReaders.Put(br)
}
