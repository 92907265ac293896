package templates

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// fuzzSeeds are bodies to start from: ordinary ones and the hostile ones of the tests.
var fuzzSeeds = []string{
	"<p>Hei {{.Lead.FirstName}}</p>",
	"<table><tr><td>a</td></tr></table>",
	"<div style=\"display:none\">x</div>",
	"<div style=\"display:none\">",
	"</div></td></tr><tr><td>",
	"<td>x</td>",
	"<!-- x",
	"<textarea>",
	"<title>",
	"<a href=\"https://x.example\">x</a>",
	"<p><b>x</p></b>",
	"<ul><li>a<li>b</ul>",
	"<svg><style>x</style></svg>",
	"<div style=\"position:absolute\">x</div>",
	"<br/><img src=x alt='a'>",
	"<p>&lt;&amp;&#x3C;</p>",
	"<table><table></table><tr><td>x</td></tr></table>",
	"<table><caption>c</caption><colgroup><col></colgroup><tbody><tr><th>h</th></tr></tbody></table>",
	"<table style=\"display:none\"><tr><td><b></b x=\"></td></tr></table>\">",
	"<p>a<div>b</div></p>",
	"<a href=\"https://a.example\">a<a href=\"https://b.example\">b</a></a>",
	"<table><tr><td>x</td></tr>y</table>",
	"<pre>\nx</pre><table><col><tr><td>x</td></tr></table>",
	// Content spilling out of its box over the notice rows, since the body's cell does not
	// clip: the check refuses these, and mutations of them probe its edges.
	"<div style=\"height:0\"><div style=\"padding-bottom:900px\">x</div></div>",
	"<p><span style=\"padding-bottom:900px;background:#fff\">x</span></p>",
	"<p style=\"font:900px/0 Arial\">x</p>",
	"<div style=\"display:grid;grid-template-rows:0\"><p>x</p></div>",
	"<table><tr><td style=\"display:block;height:0\">x</td></tr></table>",
}

// containerEvents parses the message msg as a browser does and returns the content of the
// layout's body cell (the td holding the body), as checkParse lists events.
func containerEvents(t testing.TB, msg string) string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(msg))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	n := findID(doc, "lm-objection")
	if n == nil {
		return "no objection block"
	}
	// The body's row precedes the notice rows; its cell holds the container.
	row := n.Parent.Parent.Parent.FirstChild
	for row != nil && row.Type != html.ElementNode {
		row = row.NextSibling
	}
	if row == nil || row.FirstChild == nil {
		return "no body row"
	}
	cell := row.FirstChild
	for cell != nil && cell.Type != html.ElementNode {
		cell = cell.NextSibling
	}
	if cell == nil || cell.Data != "td" || !hasID(cell, "lm-body") {
		return "no body cell"
	}
	var ev []string
	treeEvents(cell, &ev)
	// The layout writes a line break after the cell's start tag.
	if len(ev) > 0 && strings.HasPrefix(ev[0], textMark+"\n") {
		if ev[0] = textMark + ev[0][len(textMark)+1:]; ev[0] == textMark {
			ev = ev[1:]
		}
	}
	return strings.Join(ev, "|")
}

// bodyEvents is what the container must hold: the body's tokens as written.
func bodyEvents(body string) string {
	ev, _ := tokenEvents(body)
	return strings.Join(ev, "|")
}

// FuzzBodyCheck: whatever body the check lets through, a browser-grade HTML parser builds the
// layout's notice rows of the message exactly as for a harmless body. This tests the body
// check and its lexer against the HTML5 parsing algorithm, without html/template in between.
func FuzzBodyCheck(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	r := hostileRecipient()
	good := benign(f, r)
	wantPath, wantRows := parsedLayout(f, good.HTML)
	f.Fuzz(func(t *testing.T, body string) {
		if checkBody(body) != nil {
			return
		}
		msg := strings.Replace(good.HTML, "<p>benign</p>", body, 1)
		path, rows := parsedLayout(t, msg)
		if path != wantPath || rows != wantRows {
			t.Errorf("checkBody accepts %q, which changes the notices:\npath %s\nrows %s", body, path, rows)
		}
		if got, want := containerEvents(t, msg), bodyEvents(body); got != want {
			t.Errorf("checkBody accepts %q, which a browser builds differently in the layout:\ngot  %s\nwant %s", body, got, want)
		}
	})
}

// FuzzRender: for any campaign body, Compile returns a campaign or an *Error, and Render
// either refuses the message or returns one whose notices are intact.
func FuzzRender(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "")
		f.Add(s, "Hei {{.Lead.Name}}\n-- \n")
	}
	r := hostileRecipient()
	want := benign(f, r)
	wantPath, wantRows := parsedLayout(f, want.HTML)
	_, wantTail, _ := strings.Cut(want.Text, "benign")
	f.Fuzz(func(t *testing.T, html, text string) {
		c, err := Compile(Campaign{Subject: "Hi", HTML: html, Text: text}, testSender, Wordings{})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile error %v (%T) is not an *Error", err, err)
			}
			return
		}
		m, err := c.Render(r)
		if err != nil {
			return
		}
		path, rows := parsedLayout(t, m.HTML)
		if path != wantPath || rows != wantRows {
			t.Errorf("body %q changes the notices:\npath %s\nrows %s", html, path, rows)
		}
		if !strings.HasSuffix(m.Text, wantTail) {
			t.Errorf("text body %q: text part does not end with the notices:\n%s", text, m.Text)
		}
		if strings.ContainsAny(m.Subject, "\r\n") {
			t.Errorf("subject %q spans lines", m.Subject)
		}
	})
}

// FuzzHTMLToText: the conversion never panics and never leaves trailing spaces or more than
// one blank line.
func FuzzHTMLToText(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := htmlToText(s)
		if strings.Contains(out, "\n\n\n") {
			t.Errorf("htmlToText(%q) = %q has two blank lines in a row", s, out)
		}
		for l := range strings.Lines(out) {
			if l = strings.TrimSuffix(l, "\n"); strings.TrimRight(l, " \t") != l {
				t.Errorf("htmlToText(%q) has a line ending in spaces: %q", s, l)
			}
		}
	})
}

func hasID(n *html.Node, id string) bool {
	for _, a := range n.Attr {
		if a.Key == "id" && a.Val == id {
			return true
		}
	}
	return false
}
