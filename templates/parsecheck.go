package templates

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// parseFrame is markup like the layout's around the body, down to the cell the body is
// written into: the body is parsed where a browser parses it.
const (
	parseFrameTop = `<!DOCTYPE html><html><head></head><body>` +
		`<table><tbody><tr><td><table><tbody><tr><td>`
	parseFrameBottom = `</td></tr><tr><td>after</td></tr></tbody></table></td></tr></tbody></table></body></html>`
)

// parseFramePath is the path of elements from the document to the body's container.
var parseFramePath = []atom.Atom{atom.Html, atom.Body, atom.Table, atom.Tbody, atom.Tr, atom.Td, atom.Table, atom.Tbody, atom.Tr, atom.Td}

// checkParse refuses a body that a browser builds differently from how it is written. The
// body check reads the body as a sequence of tags; a browser's tree builder then moves,
// closes, reopens or drops elements by rules of its own (a <div> closes an open <p>, text
// in a table is moved before it, an <a> inside an <a> closes the outer one, a misnested
// formatting element is cloned). Any such difference means the check's view of the body is
// not the reader's, so the body is refused unless the HTML5 parse of it, in markup like the
// layout's, holds exactly the elements, attributes and text of its tokens, nested as
// written.
func checkParse(s string) error {
	doc, err := html.Parse(strings.NewReader(parseFrameTop + s + parseFrameBottom))
	if err != nil {
		return fmt.Errorf("parse body: %w", err)
	}
	container := doc
	for _, a := range parseFramePath {
		container = firstElementChild(container, a)
		if container == nil {
			return &bodyError{pos: 0, msg: "a browser would not keep this body inside the message's container"}
		}
	}
	var tree []string
	treeEvents(container, &tree)
	written, positions := tokenEvents(s)
	for i := range max(len(tree), len(written)) {
		if i < len(tree) && i < len(written) && tree[i] == written[i] {
			continue
		}
		pos := len(s)
		tag := ""
		if i < len(positions) {
			pos = positions[i]
			tag = eventTag(written[i])
		}
		return &bodyError{pos: pos, tag: tag, msg: fmt.Sprintf("a browser would read the markup here differently from how it is written (%s): nest elements as HTML allows them (no <div> or <table> inside a <p>, no <a> inside an <a>, no text directly inside a table) and close each one explicitly", describeEvent(written, tree, i))}
	}
	// The frame's own cell after the container must be where it was.
	if next := container.Parent.NextSibling; next == nil || next.DataAtom != atom.Tr || next.FirstChild == nil || next.FirstChild.FirstChild == nil || next.FirstChild.FirstChild.Data != "after" {
		return &bodyError{pos: len(s), msg: "a browser would move the markup that follows this body"}
	}
	return nil
}

func firstElementChild(n *html.Node, a atom.Atom) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.DataAtom == a && c.Namespace == "" {
			return c
		}
	}
	return nil
}

// treeEvents appends the children of n as events: "<name a=v ...>", "</name>" (none for
// void elements) and text, adjacent text merged.
func treeEvents(n *html.Node, out *[]string) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch c.Type {
		case html.TextNode:
			appendText(out, c.Data)
		case html.ElementNode:
			*out = append(*out, startEvent(c.Data, c.Namespace, c.Attr))
			if !voidElement(c.Data) {
				treeEvents(c, out)
				*out = append(*out, "</"+c.Data+">")
			}
		default:
			// Comments and the like: the body check refuses them before this runs.
			*out = append(*out, fmt.Sprintf("node type %d", c.Type))
		}
	}
}

// tokenEvents returns the events of the body as its tokens write them, and where each
// starts in s.
func tokenEvents(s string) (events []string, positions []int) {
	l := newLexer(s)
	// Right after <pre>, <listing> or <textarea>, a browser drops one line break.
	afterPre := false
	// open holds the names of the open elements: a browser puts a <tr> written directly in
	// a <table> in a <tbody> and a <col> in a <colgroup> it adds itself ("+tbody",
	// "+colgroup" here), which is what the body means.
	var open []string
	top := func() string {
		if len(open) == 0 {
			return ""
		}
		return open[len(open)-1]
	}
	implied := func(name string, pos int) {
		events, positions = append(events, "<"+name+">"), append(positions, pos)
		open = append(open, "+"+name)
	}
	endImplied := func(pos int) {
		events, positions = append(events, "</"+strings.TrimPrefix(top(), "+")+">"), append(positions, pos)
		open = open[:len(open)-1]
	}
	for {
		t, ok := l.next()
		if !ok {
			return events, positions
		}
		if top() == "+colgroup" && (t.kind == startTag && t.text != "col" || t.kind == endTag) {
			endImplied(t.pos)
		}
		switch t.kind {
		case textToken:
			text := t.text
			if afterPre {
				text = strings.TrimPrefix(text, "\n")
			}
			if text != "" {
				if n := len(events); n == 0 || !isTextEvent(events[n-1]) {
					positions = append(positions, t.pos)
				}
				appendText(&events, text)
			}
		case startTag:
			switch {
			case t.text == "tr" && top() == "table":
				implied("tbody", t.pos)
			case t.text == "col" && top() == "table":
				implied("colgroup", t.pos)
			}
			if !voidElement(t.text) {
				open = append(open, t.text)
			}
			attrs := make([]html.Attribute, len(t.attrs))
			for i, a := range t.attrs {
				attrs[i] = html.Attribute{Key: a.name, Val: a.value}
			}
			events, positions = append(events, startEvent(t.text, "", attrs)), append(positions, t.pos)
		case endTag:
			if t.text == "table" && top() == "+tbody" {
				endImplied(t.pos)
			}
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
			if !voidElement(t.text) {
				events, positions = append(events, "</"+t.text+">"), append(positions, t.pos)
			}
		default:
			events, positions = append(events, t.raw), append(positions, t.pos)
		}
		afterPre = t.kind == startTag && (t.text == "pre" || t.text == "listing" || t.text == "textarea")
	}
}

func startEvent(name, namespace string, attrs []html.Attribute) string {
	var b strings.Builder
	b.WriteString("<")
	if namespace != "" {
		b.WriteString(namespace + ":")
	}
	b.WriteString(name)
	for _, a := range attrs {
		fmt.Fprintf(&b, " %s=%q", a.Key, a.Val)
	}
	b.WriteString(">")
	return b.String()
}

// Text events start with a marker no tag event has.
const textMark = "\x00"

func isTextEvent(e string) bool { return strings.HasPrefix(e, textMark) }

func appendText(out *[]string, text string) {
	if n := len(*out); n > 0 && isTextEvent((*out)[n-1]) {
		(*out)[n-1] += text
		return
	}
	*out = append(*out, textMark+text)
}

func voidElement(name string) bool {
	void, ok := bodyElements[name]
	if ok {
		return void
	}
	switch name {
	case "area", "base", "embed", "input", "keygen", "link", "meta", "param", "source", "track":
		return true
	}
	return false
}

// eventTag is how a tag event starts ("<p", "</p"), for finding it in the template.
func eventTag(e string) string {
	if isTextEvent(e) {
		return ""
	}
	if i := strings.IndexAny(e, " >"); i > 0 {
		return e[:i]
	}
	return e
}

// describeEvent says how the browser's parse differs at event i.
func describeEvent(written, tree []string, i int) string {
	show := func(es []string) string {
		if i >= len(es) {
			return "nothing more"
		}
		e := es[i]
		if isTextEvent(e) {
			return fmt.Sprintf("text %q", shorten(strings.TrimPrefix(e, textMark)))
		}
		return shorten(e)
	}
	return fmt.Sprintf("written: %s; as a browser builds it: %s", show(written), show(tree))
}
