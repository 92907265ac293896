package templates

import (
	"fmt"
	"html"
	"slices"
	"strings"
)

// The body check is what keeps a campaign's HTML body from hiding the notice that the layout
// writes after it. A browser decides what a piece of markup swallows while it parses, so the
// check works on the rendered body, element by element, and rejects whatever could reach
// beyond the body or be aimed at the layout:
//
//   - comments, <!DOCTYPE> and other declarations: an unclosed "<!--" swallows the rest of the
//     message; html/template already strips comments from template text, so none are lost;
//   - every element outside bodyElements: <style> could hide the notice by a selector,
//     <script> could remove it, raw-text elements (<title>, <textarea>, <xmp>...) swallow what
//     follows, <html>/<body>/<head> and form or embedding elements have no place in a body;
//   - unbalanced markup: every element must be closed, in order, so that no open
//     <div style="display:none"> or <a> wraps the notice; table parts must sit inside a
//     table of the body so that a stray <td> cannot close a cell of the layout;
//   - event-handler attributes (onload=...), CSS escapes in style attributes, and the CSS
//     properties that can lift a body element over what follows it (position, z-index,
//     transform) or pull what follows under it (negative margins).
//
// Inside those limits a body may hide its own content as it likes (display:none, white text):
// it cannot reach the notice, which the layout places after the body's container, in blocks
// of its own. The container also clips its content (overflow:hidden), a second line of
// defence in clients that keep that style.

// bodyElements lists the elements a campaign body may use, with whether each is void (has no
// end tag). It is what mail clients render consistently, minus anything that can escape.
var bodyElements = map[string]bool{
	"a": false, "abbr": false, "address": false, "article": false, "aside": false, "b": false,
	"big": false, "blockquote": false, "br": true, "caption": false, "center": false,
	"cite": false, "code": false, "col": true, "colgroup": false, "dd": false, "del": false,
	"div": false, "dl": false, "dt": false, "em": false, "figcaption": false, "figure": false,
	"font": false, "footer": false, "h1": false, "h2": false, "h3": false, "h4": false,
	"h5": false, "h6": false, "header": false, "hr": true, "i": false, "img": true, "ins": false,
	"kbd": false, "li": false, "mark": false, "ol": false, "p": false, "pre": false, "q": false,
	"s": false, "samp": false, "section": false, "small": false, "span": false, "strike": false,
	"strong": false, "sub": false, "sup": false, "table": false, "tbody": false, "td": false,
	"tfoot": false, "th": false, "thead": false, "time": false, "tr": false, "tt": false,
	"u": false, "ul": false, "wbr": true,
}

// tableParents says where each table part may be opened: a browser lets a misplaced <td> or
// <tr> close the enclosing cell, which here would be the layout's.
var tableParents = map[string][]string{
	"caption":  {"table"},
	"colgroup": {"table"},
	"col":      {"colgroup", "table"},
	"thead":    {"table"},
	"tbody":    {"table"},
	"tfoot":    {"table"},
	"tr":       {"table", "thead", "tbody", "tfoot"},
	"td":       {"tr"},
	"th":       {"tr"},
}

// bannedCSS lists the style properties a body may not use; see the comment above.
var bannedCSS = map[string]bool{
	"position": true, "z-index": true, "transform": true, "translate": true, "rotate": true,
	"scale": true,
}

// bodyError is a problem found in a rendered body, at a byte offset of it.
type bodyError struct {
	pos int
	msg string
}

func (e *bodyError) Error() string { return e.msg }

type openElement struct {
	name string
	pos  int
}

// checkBody returns a *bodyError for the first construct in the rendered HTML body s that
// could reach the markup after it, or nil.
func checkBody(s string) error {
	var stack []openElement
	l := lexer{s: s}
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		switch t.kind {
		case textToken:
			continue
		case commentToken:
			return &bodyError{t.pos, "an HTML comment is not allowed in a campaign body"}
		case declToken:
			return &bodyError{t.pos, fmt.Sprintf("%q is not allowed in a campaign body", shorten(t.text))}
		}
		if t.unterminated {
			return &bodyError{t.pos, fmt.Sprintf("tag <%s%s is not closed with '>'", slashIf(t.kind == endTag), t.text)}
		}
		if t.kind == endTag {
			if len(stack) == 0 {
				return &bodyError{t.pos, fmt.Sprintf("</%s> closes an element that the body did not open", t.text)}
			}
			top := stack[len(stack)-1]
			if top.name != t.text {
				return &bodyError{t.pos, fmt.Sprintf("</%s> does not match <%s> opened at %s", t.text, top.name, lineCol(s, top.pos))}
			}
			stack = stack[:len(stack)-1]
			continue
		}
		void, allowed := bodyElements[t.text]
		if !allowed {
			return &bodyError{t.pos, fmt.Sprintf("element <%s> is not allowed in a campaign body", t.text)}
		}
		if parents, ok := tableParents[t.text]; ok {
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1].name
			}
			if !slices.Contains(parents, parent) {
				return &bodyError{t.pos, fmt.Sprintf("<%s> must be inside <%s>", t.text, strings.Join(parents, "> or <"))}
			}
		}
		for _, a := range t.attrs {
			if err := checkAttr(a); err != "" {
				return &bodyError{t.pos, fmt.Sprintf("<%s>: %s", t.text, err)}
			}
		}
		if !void {
			stack = append(stack, openElement{t.text, t.pos})
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return &bodyError{top.pos, fmt.Sprintf("<%s> is never closed", top.name)}
	}
	return nil
}

// checkAttr returns what is wrong with a, or "".
func checkAttr(a attr) string {
	if strings.HasPrefix(a.name, "on") {
		return fmt.Sprintf("event handler attribute %s is not allowed", a.name)
	}
	if a.name != "style" {
		return ""
	}
	css := html.UnescapeString(a.value)
	// A CSS escape can spell any property name ("posit\69 on"); mail clients need none.
	if strings.IndexByte(css, '\\') >= 0 {
		return "CSS escapes (\\) are not allowed in style attributes"
	}
	css = stripCSSComments(css)
	for decl := range strings.SplitSeq(css, ";") {
		name, value, ok := strings.Cut(decl, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		if bannedCSS[name] {
			return fmt.Sprintf("style property %s is not allowed", name)
		}
		if strings.HasPrefix(name, "margin") && strings.Contains(value, "-") {
			return fmt.Sprintf("a negative %s is not allowed", name)
		}
	}
	return ""
}

func stripCSSComments(css string) string {
	for {
		i := strings.Index(css, "/*")
		if i < 0 {
			return css
		}
		j := strings.Index(css[i+2:], "*/")
		if j < 0 {
			return css[:i]
		}
		// A comment separates tokens, so it becomes a space, not nothing.
		css = css[:i] + " " + css[i+2+j+2:]
	}
}

func slashIf(b bool) string {
	if b {
		return "/"
	}
	return ""
}

// shorten returns s, cut to a length that reads well in an error message.
func shorten(s string) string {
	const max = 30
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
