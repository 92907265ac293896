package templates

import (
	"errors"
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"

	"golang.org/x/net/html"
)

// parsedLayout parses a rendered message as a browser does (the HTML5 tree builder of
// golang.org/x/net/html) and returns what the reader sees of the layout after the body: the
// path from the document root to the rows that carry the notices, with every attribute of
// each element on it, and those rows rendered back to HTML. A body that reaches beyond
// itself (closes a cell of the layout, leaves an element open around the notices, hides
// them) changes one or the other.
func parsedLayout(t testing.TB, msg string) (path, rows string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(msg))
	if err != nil {
		t.Fatalf("parse message: %v", err)
	}
	objection := findID(doc, "lm-objection")
	if objection == nil {
		return "", ""
	}
	// div#lm-objection < td < tr < tbody: the rows of the layout's inner table.
	tr := objection.Parent.Parent
	tbody := tr.Parent
	var p strings.Builder
	for n := tbody; n != nil && n.Type == html.ElementNode; n = n.Parent {
		p.WriteString("<" + n.Data)
		for _, a := range n.Attr {
			p.WriteString(" " + a.Key + "=" + a.Val)
		}
		p.WriteString(">")
	}
	// The first row holds the body; the rows after it are the layout's.
	var r strings.Builder
	first := true
	for n := tbody.FirstChild; n != nil; n = n.NextSibling {
		if n.Type != html.ElementNode {
			continue
		}
		if first {
			first = false
			continue
		}
		if err := html.Render(&r, n); err != nil {
			t.Fatal(err)
		}
	}
	return p.String(), r.String()
}

func findID(n *html.Node, id string) *html.Node {
	if n.Type == html.ElementNode {
		for _, a := range n.Attr {
			if a.Key == "id" && a.Val == id {
				return n
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findID(c, id); f != nil {
			return f
		}
	}
	return nil
}

// hostileRecipient is a Finnish lead with a public source: the message must carry the notice.
func hostileRecipient() Recipient {
	return Recipient{Lead: lead("FI", "Anna Virtanen", "Puutavara Virtanen Oy"), PublicSources: []PublicSource{prh}, UnsubscribeURL: testUnsubscribe}
}

// benign renders a harmless campaign for r: what the layout around any body must look like.
func benign(t testing.TB, r Recipient) *Message {
	t.Helper()
	c, err := Compile(Campaign{Subject: "s", HTML: "<p>benign</p>", Text: "benign"}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Render(r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// assertNoticeIntact fails unless m, a message to r, shows the browser exactly the notice
// rows of a harmless message, and its text part ends with the same notices.
func assertNoticeIntact(t testing.TB, m *Message, r Recipient) {
	t.Helper()
	want := benign(t, r)
	wantPath, wantRows := parsedLayout(t, want.HTML)
	gotPath, gotRows := parsedLayout(t, m.HTML)
	if gotPath != wantPath {
		t.Errorf("the notices sit elsewhere in the document:\ngot  %s\nwant %s", gotPath, wantPath)
	}
	if gotRows != wantRows {
		t.Errorf("the notice rows differ as a browser parses them:\ngot  %s\nwant %s", gotRows, wantRows)
	}
	_, wantTail, _ := strings.Cut(want.Text, "benign")
	if !strings.HasSuffix(m.Text, wantTail) {
		t.Errorf("text part does not end with the notices; got:\n%s", m.Text)
	}
}

// TestHostileBodies shows that no campaign body can suppress or hide the notices: each is
// either refused by Compile, at the line and column of the offending markup, or renders a
// message whose notices a browser parses exactly as in a harmless message.
func TestHostileBodies(t *testing.T) {
	tests := []struct {
		name string
		html string
		text string
		// The error Compile must return; an empty wantMsg means Compile accepts the body.
		wantLine, wantCol int
		wantMsg           string
	}{
		{name: "redefine notice", html: "<p>Hi</p>\n{{define \"notice\"}}{{end}}", wantLine: 2, wantCol: 1, wantMsg: "{{define}} is not allowed"},
		{name: "redefine notice, trimmed", html: "<p>Hi</p>{{- define \"objection\" -}}{{end}}", wantLine: 1, wantCol: 10, wantMsg: "{{define}} is not allowed"},
		{name: "call notice", html: "<p>Hi</p>\n  {{template \"notice\" .}}", wantLine: 2, wantCol: 3, wantMsg: "{{template}} is not allowed"},
		{name: "block", html: "<p>{{block \"sender\" .}}x{{end}}</p>", wantLine: 1, wantCol: 4, wantMsg: "{{block}} is not allowed"},
		{name: "unclosed comment", html: "<p>Hi</p>\n<!-- the rest is a comment", wantLine: 2, wantCol: 1, wantMsg: "the comment <!-- is never closed"},
		{name: "comment is removed", html: "<p>Hi<!-- <style>p{display:none}</style> --></p>"},
		{name: "style element", html: "<p>Hi</p>\n<style>#lm-source-notice{display:none}</style>", wantLine: 2, wantCol: 1, wantMsg: "element <style> is not allowed"},
		{name: "style element upper case", html: "<p>Hi</p><STYLE>td{display:none}</STYLE>", wantLine: 1, wantCol: 10, wantMsg: "element <style> is not allowed"},
		{name: "script", html: "<p>Hi</p>\n<script>document.body.innerHTML=''</script>", wantLine: 2, wantCol: 1, wantMsg: "element <script> is not allowed"},
		{name: "display none left open", html: "<p>Hi</p>\n<div style=\"display:none\">\n<p>bye</p>", wantLine: 2, wantCol: 1, wantMsg: "<div> is never closed"},
		{name: "display none closed", html: "<div style=\"display:none\">preheader</div><p>Hi</p>"},
		{name: "white tiny font left open", html: "<p>Hi</p><font color=\"#ffffff\" size=\"1\">", wantLine: 1, wantCol: 10, wantMsg: "<font> is never closed"},
		{name: "white tiny font closed", html: "<p style=\"color:#fff;font-size:1px;line-height:1\">tiny</p>"},
		{name: "preheader not displayed", html: "<div style=\"display:none;max-height:0;line-height:0;font-size:1px\">preheader</div><p>Hi</p>"},
		{name: "content spills out of a fixed height", html: "<p>Hi</p>\n<div style=\"height:0\"><div style=\"padding-bottom:900px;background:#fff\"></div></div>", wantLine: 2, wantCol: 1, wantMsg: "height is allowed on images and table cells only"},
		{name: "content spills out of a max-height", html: "<div style=\"max-height:1px\"><p>x</p></div>", wantLine: 1, wantCol: 1, wantMsg: "max-height is allowed on images only"},
		{name: "height of a cell made a block", html: "<table><tr><td style=\"display:block;height:0\">x</td></tr></table>", wantLine: 1, wantCol: 12, wantMsg: "height is allowed on images and table cells only"},
		{name: "height attribute of a cell made a block", html: "<table><tr><td height=\"1\" style=\"display:block\">x</td></tr></table>", wantLine: 1, wantCol: 12, wantMsg: "a height attribute is allowed on images and on table parts"},
		{name: "image and cell heights", html: "<table><tr><td height=\"40\" style=\"height:40px\"><img src=\"https://focus.example/a.png\" alt=\"\" height=\"20\" style=\"height:20px;max-height:20px\"></td></tr></table>"},
		{name: "zero line height spills a large font", html: "<p style=\"line-height:0;font-size:900px\"><span style=\"background:#fff\">x</span></p>", wantLine: 1, wantCol: 1, wantMsg: "line-height must be normal or a number of at least 1"},
		{name: "line height as a length", html: "<p style=\"line-height:24px\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "line-height must be normal or a number of at least 1"},
		{name: "line height in the font shorthand", html: "<p style=\"font:900px/0 Arial\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "font (its line height) must be normal or a number"},
		{name: "font shorthand with a number", html: "<p style=\"font:bold 16px/1.4 Arial, sans-serif;line-height:normal\">x</p>"},
		{name: "grid rows below their content", html: "<div style=\"display:grid;grid-template-rows:0\"><div style=\"padding-bottom:900px\">x</div></div>", wantLine: 1, wantCol: 1, wantMsg: "display:grid is not allowed"},
		{name: "flex", html: "<div style=\"display: -webkit-flex !important\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "display:-webkit-flex is not allowed"},
		{name: "inline padding paints below the line", html: "<p><span style=\"padding-bottom:900px;background:#fff\">x</span></p>", wantLine: 1, wantCol: 4, wantMsg: "padding-bottom: 900px is too large (at most 4px, on an inline element (<span>)"},
		{name: "inline border paints below the line", html: "<p><a href=\"https://focus.example/\" style=\"border-bottom:900px solid #fff\">x</a></p>", wantLine: 1, wantCol: 4, wantMsg: "border-bottom: 900px is too large (at most 4px"},
		{name: "div made inline with padding", html: "<div style=\"display:inline;padding:0 0 900px\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "on an inline element (<div>)"},
		{name: "button link", html: "<p><a href=\"https://focus.example/\" style=\"display:inline-block;padding:12px 24px;border:1px solid #1d4ed8\">Buy</a> <span style=\"padding:0 4px;border-bottom:1px solid\">new</span></p>"},
		{name: "text shadow below", html: "<p style=\"text-shadow:0 900px 0 #fff\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "style property text-shadow is not allowed"},
		{name: "text stroke", html: "<p style=\"-webkit-text-stroke:900px #fff\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "style property -webkit-text-stroke is not allowed"},
		{name: "reflection", html: "<p style=\"-webkit-box-reflect:below 0\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "style property -webkit-box-reflect is not allowed"},
		{name: "border image outset", html: "<p style=\"border-image:url(https://x.example/a.png) 30 / 1px / 900px\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "style property border-image is not allowed"},
		{name: "list marker image", html: "<ul style=\"list-style:square url(https://x.example/tall.png)\"><li>x</li></ul>", wantLine: 1, wantCol: 1, wantMsg: "list-style may not use an image"},
		{name: "thick underline", html: "<p style=\"text-decoration:underline 900px #fff\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "text-decoration: 900px is too large"},
		{name: "huge font closed", html: "<h1 style=\"font-size:96px\">SALE</h1><p><font size=\"7\">50%</font> <big><big>off</big></big></p>"},
		{name: "font pushes the notices down", html: "<p>Hi</p>\n<h1 style=\"font-size:40000px\">SALE</h1>", wantLine: 2, wantCol: 1, wantMsg: "<h1>: its text would be 40000px tall (at most 100px"},
		{name: "font size in the shorthand", html: "<p style=\"font:bold 3000pt Arial\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "<p>: its text would be 4000px tall"},
		{name: "nested headings compound", html: "<h1><h1><h1><h1>x</h1></h1></h1></h1>", wantLine: 1, wantCol: 9, wantMsg: "<h1>: its text would be 128px tall, grown from 64px"},
		{name: "nested relative sizes compound", html: "<div style=\"font-size:300%\"><div style=\"font-size:3em\">x</div></div>", wantLine: 1, wantCol: 29, wantMsg: "its text would be 144px tall, grown from 48px"},
		{name: "larger and larger", html: strings.Repeat("<span style=\"font-size:larger\">", 12) + "x" + strings.Repeat("</span>", 12), wantLine: 1, wantCol: 311, wantMsg: "grown from 99px"},
		{name: "computed font size", html: "<p style=\"font-size:calc(1px * 1e6)\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "font-size must be a plain length, not computed"},
		{name: "font size by a later declaration", html: "<p style=\"font-size:12px;font-size:999px\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "999px tall"},
		{name: "big margin in em at the largest font", html: "<p style=\"font-size:100px;margin-bottom:10em\">x</p>"},
		{name: "link left open", html: "<p><a href=\"https://focus.example/\">Hi</p>", wantLine: 1, wantCol: 39, wantMsg: "</p> does not match <a> opened at line 1, column 4"},
		{name: "close layout cell", html: "<p>Hi</p>\n</div></td></tr><tr><td style=\"display:none\"><div>", wantLine: 2, wantCol: 1, wantMsg: "</div> closes an element that the body did not open"},
		{name: "stray cell", html: "<p>Hi</p>\n<td style=\"display:none\">", wantLine: 2, wantCol: 1, wantMsg: "<td> must be inside <tr>"},
		{name: "row outside table", html: "<div><tr><td>x</td></tr></div>", wantLine: 1, wantCol: 6, wantMsg: "<tr> must be inside <table>"},
		{name: "table left open", html: "<table><tr><td>Hi</td></tr>", wantLine: 1, wantCol: 1, wantMsg: "<table> is never closed"},
		{name: "table closing its table early", html: "<table><table></table><tr><td>x</td></tr></table>", wantLine: 1, wantCol: 8, wantMsg: "<table> may not sit directly inside <table>: put it in a cell"},
		{name: "table in a row", html: "<table><tr><table></table></tr></table>", wantLine: 1, wantCol: 12, wantMsg: "<table> may not sit directly inside <tr>"},
		{name: "text block in a table", html: "<table><div>x</div></table>", wantLine: 1, wantCol: 8, wantMsg: "<div> may not sit directly inside <table>"},
		{name: "table in a cell", html: "<table><tr><td><table><tr><td>x</td></tr></table></td></tr></table>"},
		{name: "table in a caption", html: "<table><caption><table><tr><td>x</td></tr></table></caption></table>"},
		{name: "table closed", html: "<table role=\"presentation\"><tbody><tr><td>Hi</td><td>there</td></tr></tbody></table>"},
		{name: "textarea", html: "<p>Hi</p>\n<textarea>", wantLine: 2, wantCol: 1, wantMsg: "<textarea> is never closed"},
		{name: "textarea closed", html: "<p>Hi</p><textarea>x</textarea>", wantLine: 1, wantCol: 10, wantMsg: "element <textarea> is not allowed"},
		{name: "noscript", html: "<p>Hi</p>\n<noscript>", wantLine: 2, wantCol: 1, wantMsg: "element <noscript> is not allowed"},
		{name: "plaintext", html: "<p>Hi</p>\n<plaintext>", wantLine: 2, wantCol: 1, wantMsg: "element <plaintext> is not allowed"},
		{name: "xmp", html: "<p>Hi</p>\n<xmp>", wantLine: 2, wantCol: 1, wantMsg: "element <xmp> is not allowed"},
		{name: "title", html: "<title>x</title><p>Hi</p>", wantLine: 1, wantCol: 1, wantMsg: "element <title> is not allowed"},
		{name: "svg", html: "<p>Hi</p><svg><style>td{display:none}</style></svg>", wantLine: 1, wantCol: 10, wantMsg: "element <svg> is not allowed"},
		{name: "math", html: "<p>Hi</p>\n<math><mi>x</mi></math>", wantLine: 2, wantCol: 1, wantMsg: "element <math> is not allowed"},
		{name: "details folds what follows", html: "<details><summary>More</summary>", wantLine: 1, wantCol: 1, wantMsg: "element <details> is not allowed"},
		{name: "iframe", html: "<iframe srcdoc=\"x\"></iframe>", wantLine: 1, wantCol: 1, wantMsg: "element <iframe> is not allowed"},
		{name: "doctype", html: "<!DOCTYPE html><p>Hi</p>", wantLine: 1, wantCol: 1, wantMsg: "is not allowed in a campaign body"},
		{name: "bogus comment is escaped as text", html: "<p>Hi</p></ style><?xml x?>"},
		{name: "absolute position", html: "<p>Hi</p>\n<div style=\"position:absolute;top:100%;height:400px;background:#fff\">x</div>", wantLine: 2, wantCol: 1, wantMsg: "style property position is not allowed"},
		{name: "fixed position spaced", html: "<div style=\"color:red; POSITION : fixed\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "style property position is not allowed"},
		{name: "position in CSS comment trick", html: "<div style=\"pos/**/ition:absolute\">x</div>"},
		{name: "position by CSS escape", html: "<div style=\"posit\\69 on:absolute\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "CSS escapes"},
		{name: "position by character reference", html: "<div style=\"&#112;osition:absolute\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "style property position is not allowed"},
		{name: "z-index", html: "<div style=\"z-index:9\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "style property z-index is not allowed"},
		{name: "transform", html: "<div style=\"transform:translateY(300px)\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "style property transform is not allowed"},
		{name: "prefixed transform", html: "<div style=\"-webkit-transform:translateY(300px)\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "style property -webkit-transform is not allowed"},
		{name: "negative margin", html: "<p>Hi</p>\n<div style=\"margin-bottom:-500px\">x</div>", wantLine: 2, wantCol: 1, wantMsg: "margin-bottom must be zero or positive"},
		{name: "computed negative margin", html: "<div style=\"margin:0 0 calc(100px * cos(pi)) 0\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "margin must be zero or positive and not computed"},
		{name: "tall spacer", html: "<p>Hi</p>\n<div style=\"height:5000px\">x</div>", wantLine: 2, wantCol: 1, wantMsg: "height: 5000px is too large"},
		{name: "min-height in em", html: "<div style=\"min-height:100em\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "min-height: 100em is too large"},
		{name: "padding pushes the notices down", html: "<p style=\"padding:0 0 3000px 0\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "padding: 3000px is too large"},
		{name: "margin with an exponent", html: "<p style=\"margin-bottom:1e4px\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "margin-bottom: 1e4px is too large"},
		{name: "computed height", html: "<div style=\"height:calc(100vh * 50)\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "height must be a plain length, not computed with calc()"},
		{name: "line height", html: "<p style=\"line-height:500\">x</p>", wantLine: 1, wantCol: 1, wantMsg: "line-height: 500 is too large"},
		{name: "wide border", html: "<div style=\"border-bottom:3000px solid #fff\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "border-bottom: 3000px is too large"},
		{name: "height attribute", html: "<table height=\"50000\"><tr><td>x</td></tr></table>", wantLine: 1, wantCol: 1, wantMsg: "height attribute: 50000px is too large"},
		{name: "ordinary spacing", html: "<table><tr><td height=\"40\" style=\"padding:12px 24px;border:1px solid rgb(0, 0, 0);line-height:1.5;height:40px;margin:0 auto\">x</td></tr></table>"},
		{name: "id of a notice block", html: "<p id=\"lm-objection\">Unsubscribe here is not needed</p>", wantLine: 1, wantCol: 1, wantMsg: "names starting with lm- are the layout's"},
		{name: "outline over what follows", html: "<div style=\"outline:2000px solid #fff\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "style property outline is not allowed"},
		{name: "shadow over what follows", html: "<div style=\"box-shadow:0 900px 0 900px #fff\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "style property box-shadow is not allowed"},
		{name: "stacking context", html: "<div style=\"opacity:.99\">x</div>", wantLine: 1, wantCol: 1, wantMsg: "style property opacity is not allowed"},
		{name: "event handler", html: "<img src=\"https://focus.example/x.png\" alt=\"\" onerror=\"this.parentNode.remove()\">", wantLine: 1, wantCol: 1, wantMsg: "event handler attribute onerror is not allowed"},
		{name: "javascript link", html: "<a href=\" JaVa&#x09;script:alert(1)\">x</a>", wantLine: 1, wantCol: 1, wantMsg: "scheme \"javascript:\" is not allowed"},
		{name: "unbalanced nesting", html: "<b><i>Hi</b></i>", wantLine: 1, wantCol: 9, wantMsg: "</b> does not match <i> opened at line 1, column 4"},
		{name: "quoted attribute in an end tag hides the closing tags", html: "<table style=\"display:none\"><tr><td><b></b x=\"></td></tr></table>\">", wantLine: 1, wantCol: 40, wantMsg: "end tag </b> may hold nothing but its name"},
		{name: "end tag with an unquoted attribute", html: "<p><b>Hi</b class=x></p>", wantLine: 1, wantCol: 9, wantMsg: "end tag </b> may hold nothing but its name"},
		{name: "end tag with white space", html: "<p><b>Hi</b ></p>"},
		{name: "end tag never opened", html: "<p>Hi</p></span>", wantLine: 1, wantCol: 10, wantMsg: "</span> closes an element that the body did not open"},
		{name: "unterminated tag", html: "<p>Hi</p>\n<div style=\"display:none\"", wantLine: 2, wantCol: 1, wantMsg: "the tag <div is never closed"},
		{name: "second line of a tag", html: "<p>Hi</p>\n<p>ok</p><p>ok</p>\n<p>ok</p><p>ok</p><style></style>", wantLine: 3, wantCol: 19, wantMsg: "element <style> is not allowed"},
		{name: "tag in a branch taken for the sample lead", html: "<p>Hi</p>{{if .Lead.Phone}}<div style=\"display:none\">{{end}}", wantLine: 1, wantCol: 28, wantMsg: "<div> is never closed"},
		{name: "tag in a branch taken for leads without a phone", html: "<p>Hi</p>{{if not .Lead.Phone}}<div style=\"display:none\">{{end}}", wantLine: 1, wantCol: 32, wantMsg: "<div> is never closed"},
		{name: "element left open in a branch no sample takes", html: "<p>Hi</p>\n{{if eq .Lead.Country \"NO\"}}\n  <div style=\"display:none\">{{end}}", wantLine: 3, wantCol: 3, wantMsg: "<div> is opened in a branch of {{if}} but not closed in it"},
		{name: "branch closing what it did not open", html: "<div>{{range .Lead.FieldRuns}}</div><div>{{end}}</div>", wantLine: 1, wantCol: 31, wantMsg: "</div> closes the <div> opened at line 1, column 1, outside this {{range}}"},
		{name: "style in the else branch", html: "{{if .Lead.Name}}<p>Hi</p>{{else}}<style>td{display:none}</style>{{end}}", wantLine: 1, wantCol: 35, wantMsg: "element <style> is not allowed"},
		{name: "style in an else no sample takes", html: "{{if .Lead.Email}}<p>Hi</p>{{else}}\n<style>td{display:none}</style>{{end}}", wantLine: 2, wantCol: 1, wantMsg: "element <style> is not allowed"},
		{name: "cell in a branch inside a row", html: "<table><tr>{{if eq .Lead.Country \"NO\"}}<td>Hei</td>{{else}}<td>Hi</td>{{end}}</tr></table>"},
		{name: "markup that differs per lead, balanced", html: "{{if eq .Lead.Country \"FI\"}}<p><b>Hei</b></p>{{else}}<p><i>Hello</i></p>{{end}}"},
		{name: "text body signature line", html: "<p>Hi</p>", text: "Hi\n-- \nFocus"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compile(Campaign{Subject: "Hi", HTML: tc.html, Text: tc.text}, testSender, Wordings{})
			if tc.wantMsg != "" {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Compile error = %v, want an *Error %q", err, tc.wantMsg)
				}
				if e.Part != partHTML || e.Line != tc.wantLine || e.Column != tc.wantCol || !strings.Contains(e.Msg, tc.wantMsg) {
					t.Errorf("Compile error = %q (line %d, column %d), want %s at line %d, column %d, with %q", e, e.Line, e.Column, partHTML, tc.wantLine, tc.wantCol, tc.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			for _, country := range []string{"FI", "NO"} {
				r := hostileRecipient()
				r.Lead.Country = country
				m, err := c.Render(r)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				assertNoticeIntact(t, m, r)
			}
		})
	}
}

// TestBodyDifferentPerLead: an attribute that only some leads get is not checked by Compile
// (neither sample lead gets it, and the check of branches leaves branches inside a tag to
// Render), so Render checks every lead's body again and refuses the message (no message, an
// error) to a lead for whom the body would break the rules.
func TestBodyDifferentPerLead(t *testing.T) {
	c, err := Compile(Campaign{
		Subject: "Hi",
		HTML:    "<p>Hi</p><div {{if eq .Lead.Country \"NO\"}}style=\"position:absolute;top:0\"{{end}}>x</div>",
	}, testSender, Wordings{})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	fi := hostileRecipient()
	m, err := c.Render(fi)
	if err != nil {
		t.Fatalf("Render for a Finnish lead: %v", err)
	}
	assertNoticeIntact(t, m, fi)

	no := hostileRecipient()
	no.Lead.Country = "NO"
	m, err = c.Render(no)
	if err == nil || m != nil {
		t.Fatalf("Render for a Norwegian lead = %v, %v; want no message and an error", m, err)
	}
	if !strings.Contains(err.Error(), "style property position is not allowed") {
		t.Errorf("Render error = %q, want it to refuse the style", err)
	}
}

func TestSignatureLineDefused(t *testing.T) {
	c, err := Compile(Campaign{Subject: "Hi", HTML: "<p>Hi</p>", Text: "Hi\n-- \nFocus"}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Render(hostileRecipient())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "\n-- \n") || !strings.HasPrefix(m.Text, "Hi\n--\nFocus\n") {
		t.Errorf("text part keeps a signature delimiter before the notices:\n%s", m.Text)
	}
}

// TestWordingOverrides: the notice wording is configurable, but no override can blank a
// notice out, and overrides that would break the notices are refused by Compile.
func TestWordingOverrides(t *testing.T) {
	t.Run("blank strings take the default", func(t *testing.T) {
		w := DefaultWordings()
		w.Finnish.SourceHeading, w.Finnish.SourceIntro, w.Finnish.DataLabel = " ", "", "\n"
		c, err := Compile(finnishCampaign, testSender, w)
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Render(hostileRecipient())
		if err != nil {
			t.Fatal(err)
		}
		assertNoticeIntact(t, m, hostileRecipient())
	})
	t.Run("own wording is used", func(t *testing.T) {
		var w Wordings
		w.Finnish.SourceHeading = "Mistä saimme tietosi"
		w.Finnish.DateLayout = "02.01.2006"
		c, err := Compile(finnishCampaign, testSender, w)
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Render(hostileRecipient())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"\nMistä saimme tietosi\n", "\n  Haettu: 02.03.2026\n"} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("text part lacks %q:\n%s", want, m.Text)
			}
		}
	})
	t.Run("markup in wording is text", func(t *testing.T) {
		var w Wordings
		w.Finnish.SourceHeading = `<span style="display:none">Osoitelähde</span>`
		c, err := Compile(finnishCampaign, testSender, w)
		if err != nil {
			t.Fatal(err)
		}
		m, err := c.Render(hostileRecipient())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m.HTML, "&lt;span style=&#34;display:none&#34;&gt;Osoitelähde&lt;/span&gt;") {
			t.Errorf("the heading's markup was not escaped:\n%s", m.HTML)
		}
	})
	for _, tc := range []struct {
		name    string
		edit    func(w *Wordings)
		wantMsg string
	}{
		{"date layout without a date", func(w *Wordings) { w.Finnish.DateLayout = "pian" }, `date layout "pian" does not show the day, month and year`},
		{"date layout without the year", func(w *Wordings) { w.Swedish.DateLayout = "01-02" }, `date layout "01-02"`},
		{"heading found in the objection", func(w *Wordings) { w.English.SourceHeading = "object" }, `the source notice heading "object" also appears in`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w Wordings
			tc.edit(&w)
			_, err := Compile(finnishCampaign, testSender, w)
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.Part, "wording") || !strings.Contains(e.Msg, tc.wantMsg) {
				t.Errorf("Compile error = %v, want a wording error with %q", err, tc.wantMsg)
			}
		})
	}
}

// TestBrokenLayoutRefused: the renderer does not trust its own layout. A layout that drops
// or garbles the notice (as a bad edit of layout/*.tmpl would) gives an error and no message,
// and so does one that shows a source notice to a lead without public sources.
func TestBrokenLayoutRefused(t *testing.T) {
	c, err := Compile(finnishCampaign, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	layout, err := layoutFiles.ReadFile("layout/text.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	htmlLayout, err := layoutFiles.ReadFile("layout/html.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	uploaded := Recipient{Lead: lead("FI", "Liisa Korhonen", ""), UnsubscribeURL: testUnsubscribe}
	tests := []struct {
		name       string
		html, text string // replacements of the layouts; "" keeps the layout
		r          Recipient
	}{
		{"html without notice", strings.Replace(string(htmlLayout), `{{template "notice" .}}`, "", 1), "", hostileRecipient()},
		{"html notice hidden in a comment", strings.Replace(string(htmlLayout), `{{template "notice" .}}`, `<!-- {{template "notice" .}} -->`, 1), "", hostileRecipient()},
		{"html without licence", strings.Replace(string(htmlLayout), `{{$.W.LicenceLabel}}: {{.Licence}}`, "", 1), "", hostileRecipient()},
		{"html without unsubscribe link", strings.Replace(string(htmlLayout), `{{.UnsubscribeURL}}`, "#", 1), "", hostileRecipient()},
		{"html notice for everyone", strings.Replace(string(htmlLayout), `{{- if .Sources}}`, `{{- if true}}`, 1), "", uploaded},
		{"text without notice", "", strings.Replace(string(layout), `{{- if .Sources}}`, `{{- if false}}`, 1), hostileRecipient()},
		{"text without retrieval date", "", strings.Replace(string(layout), `{{.Retrieved}}`, "", 1), hostileRecipient()},
		{"text without sender", "", strings.Replace(string(layout), `{{.Sender.Company}}`, "", 1), hostileRecipient()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			broken := *c
			if tc.html != "" {
				broken.layoutHTML = htmltemplate.Must(htmltemplate.New("html layout").Parse(tc.html))
			}
			if tc.text != "" {
				broken.layoutText = texttemplate.Must(texttemplate.New("text layout").Parse(tc.text))
			}
			m, err := broken.Render(tc.r)
			if m != nil || err == nil {
				t.Fatalf("Render = %v, %v; want no message and an error", m, err)
			}
			if !errors.Is(err, ErrNoticeMissing) && !strings.Contains(err.Error(), "without public sources") {
				t.Errorf("Render error = %v, want ErrNoticeMissing", err)
			}
		})
	}
}

// errRecorder is a testing.TB that records Errorf instead of failing the test.
type errRecorder struct {
	testing.TB
	failed bool
}

func (r *errRecorder) Errorf(string, ...any) { r.failed = true }

// TestNoticeOracle shows that assertNoticeIntact, which the tests above rely on, fails for a
// message whose body reaches past itself, as the body check would let through if it were
// broken: the browser's parse of such a message differs from a harmless one. (An element
// merely left open, such as <div style="display:none">, is closed by the layout's </td> in
// an HTML5 parser; the body check refuses it all the same, for mail clients that parse less
// carefully.)
func TestNoticeOracle(t *testing.T) {
	r := hostileRecipient()
	good := benign(t, r)
	for _, leak := range []string{
		`</div></td></tr><tr><td style="display:none"><div>`,
		`</td></tr></table>`,
		`<table><tr><td>`,
		`<table style="display:none"><tr><td><b></b x="></td></tr></table>">`,
		`<table><table></table><tr><td>x</td></tr></table>`,
		`<textarea>`,
		`<title>`,
		`<plaintext>`,
		`<!--`,
	} {
		m := *good
		m.HTML = strings.Replace(good.HTML, "<p>benign</p>", "<p>benign</p>"+leak, 1)
		rec := &errRecorder{TB: t}
		assertNoticeIntact(rec, &m, r)
		if !rec.failed {
			t.Errorf("assertNoticeIntact accepts a body ending in %s", leak)
		}
	}
	rec := &errRecorder{TB: t}
	assertNoticeIntact(rec, good, r)
	if rec.failed {
		t.Error("assertNoticeIntact rejects a harmless message")
	}
}
