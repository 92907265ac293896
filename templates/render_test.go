package templates

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
	"golang.org/x/net/html"
)

// TestTemplateErrors: every template error is reported by Compile, naming the part, the
// line and the column (in characters, from 1) where the author has to look.
func TestTemplateErrors(t *testing.T) {
	const okHTML, okSubject = "<p>Hi</p>", "Hi"
	tests := []struct {
		name                string
		subject, html, text string
		wantPart            string
		wantLine, wantCol   int
		wantMsg             string
	}{
		{name: "unknown lead field", html: "<p>Hei {{.Lead.Nmae}}</p>", wantPart: "html body", wantLine: 1, wantCol: 15, wantMsg: `unknown field "Nmae" of the lead: a lead has Name, FirstName`},
		{name: "unknown field after multibyte text", html: "<p>\nHyvää päivää, {{.Lead.Comapny}}</p>", wantPart: "html body", wantLine: 2, wantCol: 22, wantMsg: `unknown field "Comapny" of the lead`},
		{name: "unknown field in a branch no sample takes", html: "<p>{{if eq .Lead.Country \"NO\"}}\n  Hei {{.Lead.Nmae}}{{end}}</p>", wantPart: "html body", wantLine: 2, wantCol: 14, wantMsg: `unknown field "Nmae"`},
		{name: "unknown field in else", html: "<p>{{if .Lead.Name}}x{{else}}{{.Lead.FristName}}{{end}}</p>", wantPart: "html body", wantLine: 1, wantCol: 37, wantMsg: `unknown field "FristName"`},
		{name: "unknown field through $", html: "<p>{{with .Lead.Name}}{{$.Lead.Nmae}}{{end}}</p>", wantPart: "html body", wantLine: 1, wantCol: 31, wantMsg: `unknown field "Nmae"`},
		{name: "unknown field in a function argument", html: "<p>{{default .Lead.Nmae .Lead.Name}}</p>", wantPart: "html body", wantLine: 1, wantCol: 19, wantMsg: `unknown field "Nmae"`},
		{name: "unknown field inside with", html: "<p>{{with .Lead}}{{if .Company}}{{.Compnay}}{{end}}{{end}}</p>", wantPart: "html body", wantLine: 1, wantCol: 35, wantMsg: `unknown field "Compnay" of the lead`},
		{name: "unknown field of a string inside with", html: "<p>{{with .Lead.City}}{{.Name}}{{end}}</p>", wantPart: "html body", wantLine: 1, wantCol: 25, wantMsg: `unknown field "Name" of string`},
		{name: "field without .Lead", html: "<p>{{.Name}}</p>", wantPart: "html body", wantLine: 1, wantCol: 6, wantMsg: `unknown field "Name": templates see .Lead, .Sender and .UnsubscribeURL (did you mean .Lead.Name?)`},
		{name: "field of a string", html: "<p>{{.Lead.Name.First}}</p>", wantPart: "html body", wantLine: 1, wantCol: 16, wantMsg: `unknown field "First" of Name`},
		{name: "unknown sender field", html: "<p>{{.Sender.Compnay}}</p>", wantPart: "html body", wantLine: 1, wantCol: 13, wantMsg: `unknown field "Compnay" of the sender`},
		{name: "unknown function", html: "<p>\n  {{.Lead.Name | capitalize}}</p>", wantPart: "html body", wantLine: 2, wantCol: 18, wantMsg: `function "capitalize" not defined`},
		{name: "unclosed action", html: "<p>Hi</p>\n<p>{{.Lead.Name</p>", wantPart: "html body", wantLine: 2, wantCol: 4, wantMsg: `bad character U+003C '<' inside an action`},
		{name: "missing end", html: "<p>{{if .Lead.Name}}Hi</p>", wantPart: "html body", wantLine: 1, wantMsg: "an {{if}}, {{range}} or {{with}} is missing its {{end}}"},
		{name: "unexpected end", html: "<p>Hi</p>{{end}}", wantPart: "html body", wantLine: 1, wantCol: 10, wantMsg: `unexpected {{end}}`},
		{name: "function called wrongly", html: "<p>{{default .Lead.Name}}</p>", wantPart: "html body", wantLine: 1, wantCol: 6, wantMsg: `wrong number of args for default`},
		{name: "subject unknown field", subject: "Tarjous {{.Lead.Compnay}}", wantPart: "subject", wantLine: 1, wantCol: 16, wantMsg: `unknown field "Compnay" of the lead`},
		{name: "subject unclosed action", subject: "Hi {{.Lead.Name", wantPart: "subject", wantLine: 1, wantCol: 4, wantMsg: "unclosed action"},
		{name: "subject empty", subject: " ", wantPart: "subject", wantMsg: "the subject is empty"},
		{name: "subject empty as rendered", subject: "{{if false}}x{{end}}", wantPart: "subject", wantMsg: "the subject renders empty"},
		{name: "text body unknown field", text: "Hei,\n\nterveisin\n{{.Sender.Name}}", wantPart: "text body", wantLine: 4, wantCol: 10, wantMsg: `unknown field "Name" of the sender`},
		{name: "text body unknown function", text: "Hei {{nosuch .Lead.Name}}", wantPart: "text body", wantLine: 1, wantCol: 7, wantMsg: `function "nosuch" not defined`},
		{name: "html body empty", html: " \n", wantPart: "html body", wantMsg: "the HTML body is empty"},
		{name: "attribute left open", html: "<p>Hi</p>\n<a href=\"{{.Lead.Website}}\n", wantPart: "html body", wantLine: 2, wantCol: 1, wantMsg: "the tag <a is never closed"},
		{name: "branches in different states", html: "<p>{{if .Lead.Name}}<a href=\"x\"{{end}}>Hi</p>", wantPart: "html body", wantLine: 1, wantCol: 9, wantMsg: "the branches of this action leave the markup in different states"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Campaign{Subject: cmpOr(tc.subject, okSubject), HTML: cmpOr(tc.html, okHTML), Text: tc.text}
			_, err := Compile(c, testSender, Wordings{})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile error = %v, want an *Error", err)
			}
			if e.Part != tc.wantPart || e.Line != tc.wantLine || e.Column != tc.wantCol || !strings.Contains(e.Msg, tc.wantMsg) {
				t.Errorf("Compile error = %q\n(part %q, line %d, column %d), want part %q, line %d, column %d, with %q",
					e, e.Part, e.Line, e.Column, tc.wantPart, tc.wantLine, tc.wantCol, tc.wantMsg)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestSenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(s *Sender)
		wantMsg string
	}{
		{"no company", func(s *Sender) { s.Company = " \n" }, "the company name is empty"},
		{"no address", func(s *Sender) { s.PostalAddress = "" }, "the postal address is empty"},
		{"relative privacy policy", func(s *Sender) { s.PrivacyPolicyURL = "/privacy" }, "privacy policy URL"},
		{"javascript privacy policy", func(s *Sender) { s.PrivacyPolicyURL = "javascript:alert(1)" }, "privacy policy URL"},
		{"bad from", func(s *Sender) { s.From = "Focus <marketing@>" }, "from address"},
		{"line break in reply-to", func(s *Sender) { s.ReplyTo = "sales@focus.example\r\nBcc: all@example.com" }, "has a line break"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSender
			tc.edit(&s)
			_, err := Compile(englishCampaign, s, Wordings{})
			var e *Error
			if !errors.As(err, &e) || e.Part != "sender" || !strings.Contains(e.Msg, tc.wantMsg) {
				t.Errorf("Compile error = %v, want a sender error with %q", err, tc.wantMsg)
			}
		})
	}
}

// TestEscaping: lead values are text, never markup, in the HTML part; a javascript: website
// is neutralised; and no value can break the subject onto a second line.
func TestEscaping(t *testing.T) {
	c, err := Compile(Campaign{
		Subject: "Tarjous: {{.Lead.Name}} / {{.Lead.Company}}",
		HTML: `<p>Hei {{.Lead.Name}}</p>
<p title="{{.Lead.Company}}"><a href="{{.Lead.Website}}">{{.Lead.Website}}</a></p>
<p style="color:{{.Lead.City}}">{{.Lead.JobTitle}}</p>`,
	}, testSender, Wordings{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	tests := []struct {
		name  string
		set   func(l *leadmailer.Lead)
		want  []string // in the HTML part
		never []string // anywhere in the HTML part
	}{
		{"script in name", func(l *leadmailer.Lead) { l.Name = "<script>alert(1)</script>" },
			[]string{"<p>Hei &lt;script&gt;alert(1)&lt;/script&gt;</p>"}, []string{"<script"}},
		{"attribute breakout in company", func(l *leadmailer.Lead) { l.Company = `"><img src=x onerror=alert(1)>` },
			[]string{`title="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`}, []string{"<img"}},
		{"attribute breakout in name", func(l *leadmailer.Lead) { l.Name = `'"><img src=x onerror=alert(1)>` },
			[]string{"Hei &#39;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"}, []string{"<img"}},
		{"javascript website", func(l *leadmailer.Lead) { l.Website = "javascript:alert(document.cookie)" },
			[]string{`href="#ZgotmplZ"`}, []string{`href="javascript`}},
		{"closing the layout from a value", func(l *leadmailer.Lead) { l.JobTitle = "</div></td></tr></table><style>td{display:none}</style>" },
			[]string{"&lt;/div&gt;&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;style&gt;"}, []string{"<style"}},
		{"CSS injection", func(l *leadmailer.Lead) { l.City = "red;position:absolute" },
			[]string{`style="color:ZgotmplZ"`}, []string{"position:absolute"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := hostileRecipient()
			r.Lead.Website = "https://customer.example/"
			tc.set(r.Lead)
			m, err := c.Render(r)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(m.HTML, w) {
					t.Errorf("HTML part lacks %s", w)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(m.HTML, n) {
					t.Errorf("HTML part has %s:\n%s", n, m.HTML)
				}
			}
			assertNoticeIntact(t, m, r)
		})
	}
}

func TestSubjectOneLine(t *testing.T) {
	c, err := Compile(Campaign{Subject: "Hei\r\n{{.Lead.Name}}, {{.Lead.Company}}", HTML: "<p>x</p>"}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, company, want string }{
		{"Anna\r\nBcc: victim@example.com", "Oy", "Hei Anna Bcc: victim@example.com, Oy"},
		{"Anna\nSubject: x", "A\rB", "Hei Anna Subject: x, A B"},
		{"Anna\u2028Bcc: v@example.com", "Oy\u0085X", "Hei Anna Bcc: v@example.com, Oy X"},
		{"\x00Anna\t\t", "\u202eyO", "Hei Anna , yO"},
		{"Anna\xff", "Oy", "Hei Anna, Oy"},
	} {
		r := hostileRecipient()
		r.Lead.Name, r.Lead.Company = tc.name, tc.company
		m, err := c.Render(r)
		if err != nil {
			t.Fatalf("Render(%q): %v", tc.name, err)
		}
		if m.Subject != tc.want {
			t.Errorf("Subject for name %q, company %q = %q, want %q", tc.name, tc.company, m.Subject, tc.want)
		}
	}
}

// TestHelpers: the personalisation functions, and the lead's fields and methods templates use.
func TestHelpers(t *testing.T) {
	full := &leadmailer.Lead{ID: 7, Email: "anna@x.example", Name: "  Anna Maria Virtanen ", Company: "Virtanen Oy", Country: "FI", JobTitle: "CEO", City: "Oulu"}
	empty := &leadmailer.Lead{ID: 8, Email: "info@x.example", Country: "FI"}
	tests := []struct {
		tmpl                string
		wantFull, wantEmpty string
	}{
		{`{{default "there" .Lead.FirstName}}`, "Anna", "there"},
		{`{{.Lead.FirstName | default "there"}}`, "Anna", "there"},
		{`{{default "asiakas" .Lead.JobTitle}}`, "CEO", "asiakas"},
		{`{{.Lead.Company | upper}}`, "VIRTANEN OY", ""},
		{`{{.Lead.Company | lower}}`, "virtanen oy", ""},
		{`[{{.Lead.Name | trim}}]`, "[Anna Maria Virtanen]", "[]"},
		{`{{with .Lead.City}}in {{.}}{{else}}near you{{end}}`, "in Oulu", "near you"},
		{`{{if .Lead.Company}}{{.Lead.Company}}{{else}}your company{{end}}`, "Virtanen Oy", "your company"},
		{`{{.Lead.Email}} {{.Lead.Country}} {{.Lead.ID}}`, "anna@x.example FI 7", "info@x.example FI 8"},
		{`{{.Sender.Company}}`, "Focus Marketing Oy", "Focus Marketing Oy"},
		{`{{.UnsubscribeURL}}`, testUnsubscribe, testUnsubscribe},
		{`{{printf "%s (%s)" .Lead.Name .Lead.City | trim}}`, "Anna Maria Virtanen  (Oulu)", "()"},
	}
	for _, tc := range tests {
		c, err := Compile(Campaign{Subject: "Hi", HTML: "<p>x</p>", Text: "<" + tc.tmpl + ">"}, testSender, Wordings{})
		if err != nil {
			t.Errorf("Compile(%s): %v", tc.tmpl, err)
			continue
		}
		for _, l := range []struct {
			lead *leadmailer.Lead
			want string
		}{{full, tc.wantFull}, {empty, tc.wantEmpty}} {
			m, err := c.Render(Recipient{Lead: l.lead, UnsubscribeURL: testUnsubscribe})
			if err != nil {
				t.Errorf("Render(%s): %v", tc.tmpl, err)
				continue
			}
			got, _, _ := strings.Cut(strings.TrimPrefix(m.Text, "<"), ">\n")
			if got != l.want {
				t.Errorf("%s for lead %d = %q, want %q", tc.tmpl, l.lead.ID, got, l.want)
			}
		}
	}
}

// TestRenderDoesNotChangeLead: templates work on a copy of the lead.
func TestRenderDoesNotChangeLead(t *testing.T) {
	c, err := Compile(Campaign{Subject: "Hi", HTML: "<p>{{.Lead.Name}}</p>"}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	r := hostileRecipient()
	before := *r.Lead
	if _, err := c.Render(r); err != nil {
		t.Fatal(err)
	}
	if *r.Lead != before {
		t.Errorf("Render changed the lead: %+v, was %+v", *r.Lead, before)
	}
}

func TestRenderRefusesBadRecipient(t *testing.T) {
	c, err := Compile(englishCampaign, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		edit    func(r *Recipient)
		wantMsg string
	}{
		{"no lead", func(r *Recipient) { r.Lead = nil }, "no lead"},
		{"relative unsubscribe link", func(r *Recipient) { r.UnsubscribeURL = "/u?t=1" }, "unsubscribe URL"},
		{"no unsubscribe link", func(r *Recipient) { r.UnsubscribeURL = "" }, "unsubscribe URL"},
		{"source without title", func(r *Recipient) { r.PublicSources[0].Title = " " }, `public source "prh" has no title`},
		{"source without date", func(r *Recipient) { r.PublicSources[0].RetrievedAt = time.Time{} }, "has no retrieval time"},
		{"source without fields", func(r *Recipient) { r.PublicSources[0].Fields = nil }, "supplied no fields"},
		{"source with unknown field", func(r *Recipient) { r.PublicSources[0].Fields = []leadmailer.Field{99} }, "unknown field 99"},
		{"subject empty for this lead", func(r *Recipient) { r.Lead.Name = "" }, "the subject renders empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := hostileRecipient()
			r.PublicSources = []PublicSource{prh}
			r.PublicSources[0].Fields = slicesClone(prh.Fields)
			tc.edit(&r)
			c := c
			if tc.name == "subject empty for this lead" {
				var err error
				if c, err = Compile(Campaign{Subject: "{{.Lead.Name}}", HTML: "<p>x</p>"}, testSender, Wordings{}); err != nil {
					t.Fatal(err)
				}
			}
			m, err := c.Render(r)
			if m != nil || err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Render = %v, %v; want no message and an error with %q", m, err, tc.wantMsg)
			}
		})
	}
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

func TestLanguageFor(t *testing.T) {
	for country, want := range map[string]Language{"FI": Finnish, "fi": Finnish, " SE ": Swedish, "DE": English, "": English, "AX": English, "NO": English} {
		if got := LanguageFor(country); got != want {
			t.Errorf("LanguageFor(%q) = %q, want %q", country, got, want)
		}
	}
}

// TestRenderConcurrent: one compiled campaign renders for many leads at once (run with -race).
func TestRenderConcurrent(t *testing.T) {
	c, err := Compile(finnishCampaign, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Render(hostileRecipient())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 20 {
				m, err := c.Render(hostileRecipient())
				if err == nil && (m.HTML != want.HTML || m.Text != want.Text) {
					err = errors.New("a concurrent render differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestTextPartClean: control characters from a text body or a lead value, which could hide
// the notices in a terminal mail reader, do not reach the text part.
func TestTextPartClean(t *testing.T) {
	c, err := Compile(Campaign{Subject: "Hi", HTML: "<p>x</p>", Text: "Hei {{.Lead.Name}}\r\n\fterveisin\u202e"}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	r := hostileRecipient()
	r.Lead.Name = "Anna\x1b[8m\x00\xff"
	m, err := c.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hei Anna[8m\nterveisin\n\n____"; !strings.HasPrefix(m.Text, want) {
		t.Errorf("text part starts %q, want %q", m.Text[:40], want)
	}
	assertNoticeIntact(t, m, r)
}

// TestMessageLanguage: the message's language (Content-Language, <html lang>) is the body's
// when the campaign declares it, the lead's notice language otherwise; the notice rows say
// their own language, and a body language that is no language tag is refused.
func TestMessageLanguage(t *testing.T) {
	finnishLead := Recipient{Lead: lead("FI", "Anna Virtanen", "Puutavara Virtanen Oy"), PublicSources: []PublicSource{prh}, UnsubscribeURL: testUnsubscribe}
	tests := []struct {
		name, bodyLanguage string
		r                  Recipient
		want               Language
	}{
		{"English body, Finnish notice", "en", finnishLead, English},
		{"no body language: the notice language", "", finnishLead, Finnish},
		{"regional tag", " en-GB ", finnishLead, "en-GB"},
		{"Finnish body to a German lead", "fi", Recipient{Lead: lead("DE", "Jonas Weber", "Weber GmbH"), UnsubscribeURL: testUnsubscribe}, Finnish},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compile(Campaign{Subject: "Hello", HTML: "<p>Hello</p>", Language: Language(tc.bodyLanguage)}, testSender, Wordings{})
			if err != nil {
				t.Fatal(err)
			}
			m, err := c.Render(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if m.Language != tc.want {
				t.Errorf("Language = %q, want %q", m.Language, tc.want)
			}
			doc, err := html.Parse(strings.NewReader(m.HTML))
			if err != nil {
				t.Fatal(err)
			}
			if got := attrOf(doc.FirstChild.NextSibling, "lang"); got != string(tc.want) {
				t.Errorf("<html lang=%q>, want %q", got, tc.want)
			}
			notice := LanguageFor(tc.r.Lead.Country)
			for _, id := range []string{"lm-objection", "lm-sender"} {
				n := findID(doc, id)
				for n != nil && n.Data != "td" {
					n = n.Parent
				}
				if n == nil || attrOf(n, "lang") != string(notice) {
					t.Errorf("the row of %s does not say lang=%q", id, notice)
				}
			}
		})
	}
	for _, bad := range []string{"english", "e", "en_GB", "fi;x", "<en>"} {
		_, err := Compile(Campaign{Subject: "Hello", HTML: "<p>Hello</p>", Language: Language(bad)}, testSender, Wordings{})
		var e *Error
		if !errors.As(err, &e) || e.Part != "body language" {
			t.Errorf("body language %q: got %v, want a body language error", bad, err)
		}
	}
}

func attrOf(n *html.Node, key string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
