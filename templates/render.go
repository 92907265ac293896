package templates

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadmailer/leadmailer"
)

// PublicSource is a publicly accessible source that supplied some of a lead's current
// values, as the public-source notice names it.
type PublicSource struct {
	// Name is the source's name in leadmailer (the import's --source); not shown.
	Name string
	// Title names the source for the reader, e.g. "Finnish Trade Register open data (PRH)".
	Title string
	// Licence is the attribution the source's licence asks for; empty when it asks none.
	Licence string
	// RetrievedAt is when the data was fetched from the source.
	RetrievedAt time.Time
	// Fields are the lead's fields whose current values came from the source.
	Fields []leadmailer.Field
}

// Recipient is one lead to render a message for.
type Recipient struct {
	Lead *leadmailer.Lead
	// PublicSources lists the public sources of the lead's values; empty when none, and then
	// the message has no source notice.
	PublicSources []PublicSource
	// UnsubscribeURL is the lead's one-click unsubscribe link (absolute http or https).
	UnsubscribeURL string
}

// Message is one rendered message.
type Message struct {
	Subject string // one line: no control characters
	HTML    string
	Text    string
	// Language is the language of the message, for the Content-Language header: the
	// campaign's body language, or the notice language when it declares none. The HTML
	// part's <html lang> says the same.
	Language Language
}

// layoutData is what the layout templates see.
type layoutData struct {
	// Lang is the message's language, NoticeLang the language of the notices.
	Lang           Language
	NoticeLang     Language
	Subject        string
	W              *Wording
	Sources        []sourceView
	UnsubscribeURL string
	Sender         Sender
}

// sourceView is one public source as the notice prints it.
type sourceView struct {
	Title, Retrieved, Fields, Licence string
}

// data is what campaign templates see; see Campaign.
type data struct {
	Lead           *leadmailer.Lead
	Sender         Sender
	UnsubscribeURL string
}

// renderError is an error in rendering one part, with what that part rendered to.
type renderError struct {
	lead     int64
	part     string
	err      error
	rendered string
}

func (e *renderError) Error() string {
	return fmt.Sprintf("templates: lead %d: %s: %v", e.lead, e.part, e.err)
}
func (e *renderError) Unwrap() error { return e.err }

var errEmptySubject = errors.New("the subject renders empty for this lead")

// ErrNoticeMissing reports a rendered message that lacks a notice it must carry. It means a
// broken layout or wording, never bad lead data; the message must not be sent.
var ErrNoticeMissing = errors.New("notice missing")

// Render renders the campaign for one recipient. It returns an error, and no message, when
// a template fails for this lead, when the body breaks the rules that keep it from hiding the
// notices (see checkBody), or when the finished message lacks a notice it must carry.
func (c *Compiled) Render(r Recipient) (*Message, error) {
	if r.Lead == nil {
		return nil, errors.New("templates: render: no lead")
	}
	unsubscribe, err := normalizeURL(r.UnsubscribeURL)
	if err != nil {
		return nil, fmt.Errorf("templates: lead %d: unsubscribe URL: %w", r.Lead.ID, err)
	}
	lang := LanguageFor(r.Lead.Country)
	w := c.wordings.For(lang)
	sources, err := sourceViews(r.PublicSources, w)
	if err != nil {
		return nil, fmt.Errorf("templates: lead %d: %w", r.Lead.ID, err)
	}
	// Templates get a copy of the lead: they can call its methods, and nothing they do may
	// reach the caller's lead or another goroutine rendering it.
	lead := *r.Lead
	d := data{Lead: &lead, Sender: c.sender, UnsubscribeURL: unsubscribe}

	deadline := time.Now().Add(renderTimeout)
	sw := newLimitWriter(partSubject, maxSubjectBytes, deadline)
	if err := cmp.Or(c.subject.Execute(sw, d), sw.Err()); err != nil {
		return nil, &renderError{lead: r.Lead.ID, part: partSubject, err: err}
	}
	subject := cleanLine(sw.String())
	if subject == "" {
		return nil, &renderError{lead: r.Lead.ID, part: partSubject, err: errEmptySubject}
	}

	hw := newLimitWriter(partHTML, maxHTMLBytes, deadline)
	if err := cmp.Or(c.html.Execute(hw, d), hw.Err()); err != nil {
		return nil, &renderError{lead: r.Lead.ID, part: partHTML, err: err}
	}
	body := hw.String()
	if err := checkBody(body); err != nil {
		return nil, &renderError{lead: r.Lead.ID, part: partHTML, err: err, rendered: body}
	}

	var bodyText string
	if c.text != nil {
		tw := newLimitWriter(partText, maxTextBytes, deadline)
		if err := cmp.Or(c.text.Execute(tw, d), tw.Err()); err != nil {
			return nil, &renderError{lead: r.Lead.ID, part: partText, err: err}
		}
		bodyText = strings.TrimSpace(tw.String())
	} else {
		bodyText = htmlToText(body)
	}
	bodyText = defuseSignature(cleanText(bodyText))

	// The reader's client picks spelling, hyphenation and speech by the message's
	// language, which is the body's; the notices are a small part in the lead's language.
	msgLang := lang
	if c.language != "" {
		msgLang = c.language
	}
	ld := layoutData{Lang: msgLang, NoticeLang: lang, Subject: subject, W: w, Sources: sources, UnsubscribeURL: unsubscribe, Sender: c.sender}
	var h strings.Builder
	h.Grow(len(body) + 4096)
	if err := c.layoutHTML.ExecuteTemplate(&h, "top", ld); err != nil {
		return nil, fmt.Errorf("templates: html layout: %w", err)
	}
	h.WriteString(body)
	tail := h.Len()
	if err := c.layoutHTML.ExecuteTemplate(&h, "bottom", ld); err != nil {
		return nil, fmt.Errorf("templates: html layout: %w", err)
	}
	if h.Len() > maxHTMLBytes {
		// Worded as limitWriter.Err words the body alone, so that the two read alike.
		err := fmt.Errorf("%w: the %s is %s bytes with the layout and notices; at most %s bytes are allowed%s", ErrRenderLimit,
			partHTML, groupDigits(h.Len()), groupDigits(maxHTMLBytes), sizeReason(partHTML))
		return nil, &renderError{lead: r.Lead.ID, part: partHTML, err: err}
	}
	m := &Message{Subject: subject, HTML: h.String(), Language: msgLang}
	if err := verify(htmlToText(m.HTML[tail:]), &ld); err != nil {
		return nil, fmt.Errorf("templates: lead %d: html: %w", r.Lead.ID, err)
	}
	if err := verifyMarkers(m.HTML[tail:], len(sources) > 0); err != nil {
		return nil, fmt.Errorf("templates: lead %d: html: %w", r.Lead.ID, err)
	}

	var t strings.Builder
	t.Grow(len(bodyText) + 2048)
	t.WriteString(bodyText)
	tail = t.Len()
	if err := c.layoutText.ExecuteTemplate(&t, "bottom", ld); err != nil {
		return nil, fmt.Errorf("templates: text layout: %w", err)
	}
	m.Text = t.String()
	if err := verify(m.Text[tail:], &ld); err != nil {
		return nil, fmt.Errorf("templates: lead %d: text: %w", r.Lead.ID, err)
	}
	return m, nil
}

// cleanText drops from a text body the characters that could hide what follows them in a
// terminal or a mail client: control characters other than line feed and tab (escape
// sequences, carriage returns that let a line overwrite itself, form feeds), bidirectional
// overrides and invalid UTF-8.
func cleanText(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\n' && r != '\t') || isBidiControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == utf8.RuneError && size == 1 || (unicode.IsControl(r) && r != '\n' && r != '\t') || isBidiControl(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// defuseSignature turns each "-- " line of a text body into "--": mail clients take that
// line as the start of a signature and dim, fold or cut everything after it, the notices
// included.
func defuseSignature(s string) string {
	if !strings.Contains(s, "-- ") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.TrimRight(l, "\r") == "-- " {
			lines[i] = "--"
		}
	}
	return strings.Join(lines, "\n")
}

// verify checks that text, the layout's part of a message after the body (the HTML part
// converted to text), carries every notice the message must carry and no source notice when
// the lead has no public source. The layout is ours, so this is a check on the layout and the
// wording rather than on the campaign: it turns a broken layout or a wording override that
// drops a notice into a message that is not sent.
func verify(text string, d *layoutData) error {
	must := func(what, s string) error {
		if !strings.Contains(text, s) {
			return fmt.Errorf("%w: %s %q", ErrNoticeMissing, what, s)
		}
		return nil
	}
	var errs []error
	if len(d.Sources) > 0 {
		if err := hasLines(text, noticeLines(d)); err != nil {
			errs = append(errs, err)
		}
	} else if strings.Contains(text, d.W.SourceHeading) {
		errs = append(errs, errors.New("a source notice in a message to a lead without public sources"))
	}
	errs = append(errs,
		must("objection heading", d.W.ObjectionHeading),
		must("unsubscribe link", d.UnsubscribeURL),
		must("sender", d.Sender.Company),
		must("postal address", d.Sender.PostalAddress),
		must("privacy policy link", d.Sender.PrivacyPolicyURL),
	)
	return errors.Join(errs...)
}

// noticeLines returns the lines of the public-source notice as a reader must see them, one
// after the other: the heading, the statement that the sources are publicly accessible, and
// for each source its title, retrieval date, the kinds of data it supplied and its licence.
func noticeLines(d *layoutData) []string {
	lines := []string{d.W.SourceHeading, d.W.SourceIntro}
	for _, s := range d.Sources {
		lines = append(lines, s.Title, d.W.RetrievedLabel+": "+s.Retrieved, d.W.DataLabel+": "+s.Fields)
		if s.Licence != "" {
			lines = append(lines, d.W.LicenceLabel+": "+s.Licence)
		}
	}
	return lines
}

// hasLines reports an ErrNoticeMissing unless want appear in text as consecutive lines,
// blank lines between them aside, each line's indentation and list bullet ignored.
func hasLines(text string, want []string) error {
	norm := func(l string) string {
		l = strings.TrimSpace(l)
		return strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(l, "* "), "- "))
	}
	var got []string
	for l := range strings.Lines(text) {
		if l = norm(l); l != "" {
			got = append(got, l)
		}
	}
	want = slices.Clone(want)
	for i := range want {
		want[i] = norm(want[i])
	}
	for i := range got {
		if len(got)-i >= len(want) && slices.Equal(got[i:i+len(want)], want) {
			return nil
		}
	}
	// Name the first line that is not where it should be.
	for i, w := range want {
		if !slices.Contains(got, w) {
			return fmt.Errorf("%w: source notice line %d %q", ErrNoticeMissing, i+1, w)
		}
	}
	return fmt.Errorf("%w: the source notice's lines are not together in order", ErrNoticeMissing)
}

// verifyMarkers checks the HTML tail has the notices' own blocks, not just their words.
func verifyMarkers(tail string, sources bool) error {
	if sources != strings.Contains(tail, `id="lm-source-notice"`) {
		return fmt.Errorf("%w: source notice block present: %v, want %v", ErrNoticeMissing, !sources, sources)
	}
	if !strings.Contains(tail, `id="lm-objection"`) {
		return fmt.Errorf("%w: objection block", ErrNoticeMissing)
	}
	return nil
}

// sourceViews checks the public sources and formats them in w's language.
func sourceViews(sources []PublicSource, w *Wording) ([]sourceView, error) {
	views := make([]sourceView, 0, len(sources))
	for _, s := range sources {
		title := cleanLine(s.Title)
		if title == "" {
			return nil, fmt.Errorf("public source %q has no title", s.Name)
		}
		if s.RetrievedAt.IsZero() {
			return nil, fmt.Errorf("public source %q has no retrieval time", title)
		}
		var set leadmailer.FieldSet
		for _, f := range s.Fields {
			if f < 0 || int(f) >= leadmailer.NumFields {
				return nil, fmt.Errorf("public source %q: unknown field %d", title, f)
			}
			set = set.With(f)
		}
		if set == 0 {
			return nil, fmt.Errorf("public source %q supplied no fields", title)
		}
		views = append(views, sourceView{
			Title:     title,
			Retrieved: s.RetrievedAt.UTC().Format(w.DateLayout),
			Fields:    w.fieldList(set),
			Licence:   cleanLine(s.Licence),
		})
	}
	return views, nil
}

// cleanLine returns s on one line: control characters (CR, LF, tab, NUL, C1...), line and
// paragraph separators and runs of white space become one space, bidirectional overrides
// and invalid UTF-8 are dropped, and the ends are trimmed. A subject goes into a mail header,
// where a line break would start a new header.
func cleanLine(s string) string {
	if isCleanLine(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1, isBidiControl(r):
			continue
		case unicode.IsSpace(r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// isCleanLine reports whether cleanLine would return s unchanged, without allocating:
// the common case of a printable ASCII line.
func isCleanLine(s string) bool {
	if s == "" {
		return true
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || (c == ' ' && s[i+1] == ' ') {
			return false
		}
	}
	return true
}

func isBidiControl(r rune) bool {
	return ('\u202a' <= r && r <= '\u202e') || ('\u2066' <= r && r <= '\u2069')
}

// normalizeURL checks that u is an absolute http or https URL and percent-encodes it the way
// html/template does in an href, so that the address the HTML part carries, once character
// references are decoded, is exactly the returned one: verify can look for it.
func normalizeURL(u string) (string, error) {
	u = strings.TrimSpace(u)
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	if p.Scheme != "http" && p.Scheme != "https" || p.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http or https URL", u)
	}
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if isURLSafe(c) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String(), nil
}

// isURLSafe reports whether html/template leaves c alone when it normalises a URL.
func isURLSafe(c byte) bool {
	switch c {
	case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']', '%',
		'-', '.', '_', '~':
		return true
	}
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
