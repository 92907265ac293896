package templates

import (
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/leadmailer/leadmailer"
)

//go:embed layout/*.tmpl
var layoutFiles embed.FS

// Campaign is what marketing writes: a subject, an HTML body and an optional plain-text body,
// each a Go template. Templates see:
//
//	.Lead            the lead (*leadmailer.Lead): .Lead.Name, .Lead.FirstName, .Lead.Company,
//	                 .Lead.Country, .Lead.JobTitle, .Lead.City and the other fields
//	.Sender          the Sender: .Sender.Company, .Sender.PostalAddress...
//	.UnsubscribeURL  the recipient's one-click unsubscribe link
//
// and the functions default ({{default "there" .Lead.FirstName}}), upper, lower and trim.
// Bodies may not use {{define}}, {{template}} or {{block}}: the layout is not theirs to call
// or change.
type Campaign struct {
	Subject string
	HTML    string
	// Text is the plain-text body; when empty it is derived from the rendered HTML body.
	Text string
	// Language is the language the subject and body are written in, a tag such as "en" or
	// "fi", for the Content-Language header and <html lang>; empty means the notice
	// language of each lead (see LanguageFor). The notices follow the lead's country
	// either way.
	Language Language
}

// Sender is who the messages are from; the layout names the company, its postal address and
// its privacy policy in every message.
type Sender struct {
	From, ReplyTo    string
	Company          string
	PostalAddress    string
	PrivacyPolicyURL string
}

// Compiled is a campaign ready to render, one message per recipient. It is immutable, and
// Render is safe for concurrent use.
type Compiled struct {
	// language is the campaign's body language, or "" for each lead's notice language.
	language   Language
	subject    *texttemplate.Template
	html       *htmltemplate.Template
	text       *texttemplate.Template // nil: the text body is derived from the HTML body
	layoutHTML *htmltemplate.Template
	layoutText *texttemplate.Template
	sender     Sender
	wordings   Wordings
}

// Error is a problem in a campaign's templates or in what they render. Part is "subject",
// "html body", "text body", "sender" or "wording (fi)" (and en, sv); Line and Column (1-based, in characters) locate it
// in the part's template, or are 0 when unknown.
type Error struct {
	Part         string
	Line, Column int
	Msg          string
}

func (e *Error) Error() string {
	switch {
	case e.Column > 0:
		return fmt.Sprintf("%s: line %d, column %d: %s", e.Part, e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s: line %d: %s", e.Part, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.Part, e.Msg)
}

// Template names double as the Part of errors, which text/template puts in its messages.
const (
	partSubject = "subject"
	partHTML    = "html body"
	partText    = "text body"
	// partLanguage is the campaign's body language, which has no lines.
	partLanguage = "body language"
)

var funcs = map[string]any{
	"default": func(def, s string) string {
		if strings.TrimSpace(s) == "" {
			return def
		}
		return s
	},
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"trim":  strings.TrimSpace,
}

// Compile parses and checks a campaign with its sender and notice wording (the zero Wordings
// means the defaults). Template errors are reported here, with their line and column, rather
// than when the messages are sent: Compile rejects {{define}}, {{template}} and {{block}},
// checks every field a template names in every branch, and renders the campaign in each
// notice language for two sample leads, one with every field set and a public source and one
// with only an e-mail address, running on each the checks Render runs on every message.
// The body check then runs on every branch of {{if}}, {{with}} and {{range}} in the HTML body;
// only an attribute that some leads get is left to Render's check of each message.
func Compile(c Campaign, s Sender, w Wordings) (*Compiled, error) {
	s, err := checkSender(s)
	if err != nil {
		return nil, err
	}
	cc := &Compiled{sender: s, wordings: w.withDefaults()}
	if strings.TrimSpace(c.Subject) == "" {
		return nil, &Error{Part: partSubject, Msg: "the subject is empty"}
	}
	if strings.TrimSpace(c.HTML) == "" {
		return nil, &Error{Part: partHTML, Msg: "the HTML body is empty"}
	}
	if err := checkLanguageTag(c.Language); err != nil {
		return nil, err
	}
	cc.language = Language(strings.TrimSpace(string(c.Language)))
	if cc.subject, err = parseText(partSubject, c.Subject); err != nil {
		return nil, err
	}
	if cc.html, err = parseHTML(c.HTML); err != nil {
		return nil, err
	}
	if strings.TrimSpace(c.Text) != "" {
		if cc.text, err = parseText(partText, c.Text); err != nil {
			return nil, err
		}
	}
	if cc.layoutHTML, err = htmltemplate.New("html layout").ParseFS(layoutFiles, "layout/html.tmpl"); err != nil {
		return nil, fmt.Errorf("templates: html layout: %w", err)
	}
	if cc.layoutText, err = texttemplate.New("text layout").ParseFS(layoutFiles, "layout/text.tmpl"); err != nil {
		return nil, fmt.Errorf("templates: text layout: %w", err)
	}
	if err := checkWordings(cc.wordings); err != nil {
		return nil, err
	}
	// Render the campaign for sample leads in every notice language: once with every field
	// set and a public source, once with only the e-mail address and no public source, so
	// that the branches of {{if}} on empty fields are reached too.
	sources := []PublicSource{{
		Name: "sample", Title: "Sample public register", Licence: "CC BY 4.0",
		RetrievedAt: sampleTime, Fields: []leadmailer.Field{leadmailer.FieldCompany, leadmailer.FieldCountry},
	}}
	for _, country := range []string{"FI", "SE", "DE"} {
		full := Recipient{Lead: sampleLead(country), PublicSources: sources, UnsubscribeURL: "https://example.com/unsubscribe?t=sample"}
		if _, err := cc.Render(full); err != nil {
			return nil, cc.sampleError(err, c)
		}
		bare := Recipient{Lead: &leadmailer.Lead{ID: 1, Email: "lead@example.com", Country: country}, UnsubscribeURL: full.UnsubscribeURL}
		// A subject made only of lead fields renders empty for this lead; that is for
		// Render to refuse per lead, not a fault of the campaign.
		if _, err := cc.Render(bare); err != nil && !errors.Is(err, errEmptySubject) {
			return nil, cc.sampleError(err, c)
		}
	}
	// The HTML body's tree is now the escaped one html/template executes (comments removed,
	// stray '<' escaped): check the branches neither sample lead took.
	if err := checkBranches(c.HTML, cc.html.Tree); err != nil {
		return nil, err
	}
	return cc, nil
}

// checkWordings rejects a wording the notices cannot be made of: a date layout without the
// day, month and year, or a source heading that also appears in the other notices (the
// renderer tells messages with and without a source notice apart by that heading).
func checkWordings(ws Wordings) error {
	for _, lang := range []Language{English, Finnish, Swedish} {
		w := ws.For(lang)
		part := "wording (" + string(lang) + ")"
		back, err := time.Parse(w.DateLayout, sampleTime.Format(w.DateLayout))
		if err != nil || back.Year() != sampleTime.Year() || back.YearDay() != sampleTime.YearDay() {
			return &Error{Part: part, Msg: fmt.Sprintf("date layout %q does not show the day, month and year (write it as Go writes 2 January 2006, e.g. \"2.1.2006\")", w.DateLayout)}
		}
		for _, other := range []string{w.ObjectionHeading, w.Objection, w.UnsubscribeLink, w.SenderLabel, w.PrivacyPolicyLink} {
			if strings.Contains(other, w.SourceHeading) {
				return &Error{Part: part, Msg: fmt.Sprintf("the source notice heading %q also appears in %q; choose a heading of its own", w.SourceHeading, other)}
			}
		}
	}
	return nil
}

func checkSender(s Sender) (Sender, error) {
	s.Company = cleanLine(s.Company)
	s.PostalAddress = cleanAddress(s.PostalAddress)
	fail := func(msg string) (Sender, error) { return s, &Error{Part: "sender", Msg: msg} }
	if s.Company == "" {
		return fail("the company name is empty")
	}
	if s.PostalAddress == "" {
		return fail("the postal address is empty")
	}
	u, err := normalizeURL(s.PrivacyPolicyURL)
	if err != nil {
		return fail("privacy policy URL: " + err.Error())
	}
	s.PrivacyPolicyURL = u
	for _, a := range []struct{ name, addr string }{{"from", s.From}, {"reply-to", s.ReplyTo}} {
		if a.addr == "" {
			continue
		}
		if strings.ContainsAny(a.addr, "\r\n") {
			return fail(fmt.Sprintf("%s address %q has a line break", a.name, a.addr))
		}
		if _, err := mail.ParseAddress(a.addr); err != nil {
			return fail(fmt.Sprintf("%s address %q: %v", a.name, a.addr, err))
		}
	}
	return s, nil
}

// cleanAddress puts a postal address written on several lines on one.
func cleanAddress(s string) string {
	var parts []string
	for line := range strings.Lines(s) {
		if line = cleanLine(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, ", ")
}

func parseText(part, src string) (*texttemplate.Template, error) {
	t, err := texttemplate.New(part).Option("missingkey=error").Funcs(funcs).Parse(src)
	if err != nil {
		return nil, templateError(part, src, err)
	}
	if err := checkNoLayoutCalls(part, src, t.Tree, len(t.Templates())); err != nil {
		return nil, err
	}
	if err := checkFields(part, src, t.Tree); err != nil {
		return nil, err
	}
	return t, nil
}

func parseHTML(src string) (*htmltemplate.Template, error) {
	t, err := htmltemplate.New(partHTML).Option("missingkey=error").Funcs(funcs).Parse(src)
	if err != nil {
		return nil, templateError(partHTML, src, err)
	}
	if err := checkNoLayoutCalls(partHTML, src, t.Tree, len(t.Templates())); err != nil {
		return nil, err
	}
	if err := checkFields(partHTML, src, t.Tree); err != nil {
		return nil, err
	}
	return t, nil
}

var layoutCallRE = regexp.MustCompile(`\{\{-?\s*(define|template|block)\b`)

// checkNoLayoutCalls rejects {{define}}, {{template}} and {{block}}. Bodies are parsed in a
// template set of their own, so these could not reach the layout anyway; rejecting them
// says so plainly instead of letting a body look as if it overrode "notice". The regular
// expression finds where; the parse tree is the judge when the expression misses (it cannot
// tell a comment from an action, which is fine: it only places the message).
func checkNoLayoutCalls(part, src string, tree *parse.Tree, ntemplates int) error {
	if m := layoutCallRE.FindStringSubmatchIndex(src); m != nil {
		line, col := position(src, m[0])
		return &Error{Part: part, Line: line, Column: col,
			Msg: fmt.Sprintf("{{%s}} is not allowed in a campaign: the layout and its notices cannot be called or redefined", src[m[2]:m[3]])}
	}
	var found parse.Node
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		if found != nil || n == nil {
			return
		}
		switch n := n.(type) {
		case *parse.TemplateNode:
			found = n
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		}
	}
	if tree != nil {
		walk(tree.Root)
	}
	if found != nil || ntemplates > 1 {
		e := &Error{Part: part, Msg: "{{define}}, {{template}} and {{block}} are not allowed in a campaign"}
		if found != nil {
			e.Line, e.Column = position(src, int(found.Position()))
		}
		return e
	}
	return nil
}

// templateLocRE matches the location text/template and html/template put before a message:
// "template: html body:3:12: " or "template: subject:1: ".
var templateLocRE = regexp.MustCompile(`^(?:html/)?template: ?([^:]+):(\d+)(?::(\d+))?: `)

// execPrefixRE matches the executing-at part of an execution error.
var execPrefixRE = regexp.MustCompile(`^executing "[^"]*" at <[^>]*>: `)

var unknownFieldRE = regexp.MustCompile(`^can't evaluate field (\w+) in type \*?(?:[\w/]+\.)?(\w+)$`)

var quotedRE = regexp.MustCompile(`"([^"]+)"`)

// keywordRE matches the keyword a parse error quotes, as in "unexpected {{end}}".
var keywordRE = regexp.MustCompile(`\{\{(end|else|break|continue)\}\}`)

// templateError turns an error of text/template or html/template about the template src into
// an *Error that says where, in lines and characters counted from 1.
func templateError(part, src string, err error) error {
	var he *htmltemplate.Error
	if errors.As(err, &he) {
		return escapeError(part, src, he)
	}
	full := err.Error()
	m := templateLocRE.FindStringSubmatchIndex(full)
	if m == nil {
		msg := strings.TrimPrefix(strings.TrimPrefix(full, "html/template:"+part+": "), "template: "+part+": ")
		return &Error{Part: part, Msg: msg}
	}
	line, _ := strconv.Atoi(full[m[4]:m[5]])
	col := 0
	if m[6] >= 0 {
		// text/template counts columns in bytes from 0; people count characters from 1.
		b, _ := strconv.Atoi(full[m[6]:m[7]])
		col = columnOf(src, line, b)
	}
	msg := execPrefixRE.ReplaceAllString(full[m[1]:], "")
	if fm := unknownFieldRE.FindStringSubmatch(msg); fm != nil {
		owner := fm[2]
		if owner == "data" {
			owner = "the template data"
		}
		msg = unknownFieldMsg(fm[1], owner)
	}
	if msg == "unexpected EOF" {
		msg = "the template ends too early: an {{if}}, {{range}} or {{with}} is missing its {{end}}"
	}
	if col == 0 {
		// Parse errors give only the line; the token they quote is usually findable on it,
		// and an unclosed action starts at the line's last "{{".
		if q := quotedRE.FindStringSubmatch(msg); q != nil {
			col = findInLine(src, line, q[1])
		} else if k := keywordRE.FindStringSubmatch(msg); k != nil {
			l := lineText(src, line)
			if m := regexp.MustCompile(`\{\{-?\s*` + k[1] + `\b`).FindStringIndex(l); m != nil {
				col = 1 + utf8.RuneCountInString(l[:m[0]])
			}
		} else if strings.HasPrefix(msg, "unclosed action") || strings.HasPrefix(msg, "bad character") {
			if strings.HasPrefix(msg, "bad character") {
				msg += " inside an action (is its \"}}\" missing?)"
			}
			if l := lineText(src, line); strings.LastIndex(l, "{{") >= 0 {
				col = 1 + utf8.RuneCountInString(l[:strings.LastIndex(l, "{{")])
			}
		}
	}
	return &Error{Part: part, Line: line, Column: col, Msg: msg}
}

// position returns the 1-based line and character column of byte offset off in s.
func position(s string, off int) (line, col int) {
	off = min(max(off, 0), len(s))
	before := s[:off]
	line = 1 + strings.Count(before, "\n")
	return line, 1 + utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:])
}

// lineText returns line n (1-based) of s.
func lineText(s string, n int) string {
	for l := range strings.Lines(s) {
		if n--; n == 0 {
			return strings.TrimRight(l, "\r\n")
		}
	}
	return ""
}

// columnOf converts a 0-based byte column on line n of s to a 1-based character column.
func columnOf(s string, n, byteCol int) int {
	l := lineText(s, n)
	return 1 + utf8.RuneCountInString(l[:min(max(byteCol, 0), len(l))])
}

// findInLine returns the character column of token inside an action on line n of s, or 0.
func findInLine(s string, n int, token string) int {
	l := lineText(s, n)
	from := max(strings.Index(l, "{{"), 0)
	i := strings.Index(l[from:], token)
	if i < 0 {
		return 0
	}
	return 1 + utf8.RuneCountInString(l[:from+i])
}

// lineCol formats byte offset off of s for a message.
func lineCol(s string, off int) string {
	line, col := position(s, off)
	return fmt.Sprintf("line %d, column %d", line, col)
}

// sampleError turns an error from rendering the sample lead into one about the campaign.
func (c *Compiled) sampleError(err error, camp Campaign) error {
	var re *renderError
	if !errors.As(err, &re) {
		return err
	}
	src := map[string]string{partSubject: camp.Subject, partHTML: camp.HTML, partText: camp.Text}[re.part]
	var be *bodyError
	if errors.As(re.err, &be) {
		// Lead values are escaped, so every tag of the rendered body comes from the
		// template's text: the n-th "<style" of the rendered body is the n-th of the
		// template's markup, unless an {{if}} left out an earlier one.
		if off, ok := sourceOffset(src, re.rendered, be); ok {
			line, col := position(src, off)
			return &Error{Part: re.part, Line: line, Column: col, Msg: be.msg}
		}
		line, col := position(re.rendered, be.pos)
		return &Error{Part: re.part, Line: line, Column: col, Msg: be.msg + " (position in the body as rendered for a sample lead)"}
	}
	if src == "" {
		return &Error{Part: re.part, Msg: re.err.Error()}
	}
	return templateError(re.part, src, re.err)
}

// sourceOffset finds in the template src the token the body check stopped at in rendered.
func sourceOffset(src, rendered string, be *bodyError) (int, bool) {
	if be.tag == "" {
		return 0, false
	}
	n := len(tagOffsets(rendered[:be.pos], be.tag))
	offs := tagOffsets(skeleton(src), be.tag)
	if n >= len(offs) {
		return 0, false
	}
	return offs[n], true
}

// tagOffsets returns where tag ("<td", "</td", "<!") starts in s, ignoring case, not
// counting longer names ("<tr" is not at "<track").
func tagOffsets(s, tag string) []int {
	var offs []int
	for i := 0; i+len(tag) <= len(s); i++ {
		if !strings.EqualFold(s[i:i+len(tag)], tag) {
			continue
		}
		if j := i + len(tag); isASCIILetter(tag[len(tag)-1]) && j < len(s) && !isHTMLSpace(s[j]) && s[j] != '/' && s[j] != '>' {
			continue
		}
		offs = append(offs, i)
	}
	return offs
}

// sampleTime is the retrieval date of the sample source.
var sampleTime = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// sampleLead returns a lead with every field set, so that rendering it reaches every field a
// template names.
func sampleLead(country string) *leadmailer.Lead {
	l := &leadmailer.Lead{
		ID: 1, Email: "anna.virtanen@example.com", Name: "Anna Virtanen", Company: "Example Oy",
		Country: country, BusinessID: "1234567-8", JobTitle: "Purchasing Manager",
		Website: "https://example.com", Phone: "+358 40 123 4567", City: "Helsinki",
		State: leadmailer.LeadActive, CreatedAt: sampleTime, UpdatedAt: sampleTime, FirstRunID: 1,
	}
	for i := range l.FieldRuns {
		l.FieldRuns[i] = 1
	}
	return l
}

// contextDumpRE matches the internal state html/template prints in some messages.
var contextDumpRE = regexp.MustCompile(`:? ?\{state\w*[^}]*\}(, \{state\w*[^}]*\})?`)

// escapeError turns an error of html/template's escaper into an *Error that says where and
// what to fix in the words of the body's author rather than of the escaper's states.
func escapeError(part, src string, he *htmltemplate.Error) error {
	e := &Error{Part: part, Msg: strings.TrimSpace(contextDumpRE.ReplaceAllString(he.Description, ""))}
	if he.Node != nil {
		e.Line, e.Column = position(src, int(he.Node.Position()))
	} else if he.Line > 0 {
		e.Line = he.Line
	}
	switch he.ErrorCode {
	case htmltemplate.ErrEndContext:
		e.Msg = "the body ends inside a tag, an attribute, a comment or an element such as <textarea>: close it"
		if off, what, ok := findUnclosed(src); ok {
			e.Line, e.Column = position(src, off)
			e.Msg = what + " is never closed"
		}
	case htmltemplate.ErrBranchEnd:
		e.Msg = "the branches of this action leave the markup in different states: close in each branch the tags, attributes, comments and elements it opens"
	case htmltemplate.ErrRangeLoopReentry:
		e.Msg = "each pass of this {{range}} must close the tags, attributes and comments it opens"
	}
	return e
}

// skeleton returns src with every action ({{...}}) and every HTML comment (which
// html/template removes from the body) overwritten by 'x's, keeping line breaks: the markup
// as the lexer sees it, at the same offsets as in src.
func skeleton(src string) string {
	b := []byte(src)
	blank := func(from, to int) {
		for i := from; i < to && i < len(b); i++ {
			if b[i] != '\n' {
				b[i] = 'x'
			}
		}
	}
	for i := 0; i < len(src); {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			break
		}
		start := i + j
		end := actionEnd(src, start+2)
		blank(start, end)
		i = end
	}
	s := string(b)
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "<!--")
		if j < 0 {
			break
		}
		start := i + j
		k := strings.Index(s[start+4:], "-->")
		if k < 0 {
			break // an unclosed comment stays for findUnclosed to see
		}
		blank(start, start+4+k+3)
		s, i = string(b), start+4+k+3
	}
	return string(b)
}

// actionEnd returns the offset just after the "}}" that closes the action whose text starts
// at i, skipping quoted strings and comments; len(src) when there is none.
func actionEnd(src string, i int) int {
	for i < len(src) {
		switch c := src[i]; {
		case c == '"' || c == '\'' || c == '`':
			i++
			for i < len(src) && src[i] != c {
				if src[i] == '\\' && c != '`' {
					i++
				}
				i++
			}
			i++
		case strings.HasPrefix(src[i:], "/*"):
			k := strings.Index(src[i+2:], "*/")
			if k < 0 {
				return len(src)
			}
			i += 2 + k + 2
		case strings.HasPrefix(src[i:], "}}"):
			return i + 2
		default:
			i++
		}
	}
	return len(src)
}

// findUnclosed returns where the markup of src opens something it never closes: a comment,
// a tag, or an element whose content is raw text (<textarea>, <style>...).
func findUnclosed(src string) (off int, what string, ok bool) {
	l := newLexer(skeleton(src))
	var lastTag token
	for {
		t, more := l.next()
		if !more {
			if l.rawEnd != "" {
				return lastTag.pos, fmt.Sprintf("<%s>", lastTag.text), true
			}
			return 0, "", false
		}
		if !t.unterminated {
			if t.kind == startTag {
				lastTag = t
			}
			continue
		}
		switch t.kind {
		case commentToken:
			return t.pos, "the comment <!--", true
		case startTag:
			return t.pos, fmt.Sprintf("the tag <%s", t.text), true
		case endTag:
			return t.pos, fmt.Sprintf("the tag </%s", t.text), true
		}
		return t.pos, shorten(t.raw), true
	}
}

// checkLanguageTag returns an *Error when the body language l is neither empty nor a language
// tag.
func checkLanguageTag(l Language) error {
	tag := strings.TrimSpace(string(l))
	if tag == "" || leadmailer.ValidLanguageTag(tag) {
		return nil
	}
	return &Error{Part: partLanguage, Msg: fmt.Sprintf("%q is not a language tag such as en, fi, sv or en-GB", tag)}
}
