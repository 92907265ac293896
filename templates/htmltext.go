package templates

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// htmlToText converts HTML to the plain text a reader of the text part expects: paragraphs
// and headings separated by a blank line, <br> and block ends as line breaks, list items as
// "- " lines, links as "text (url)", images by their alt text, character references decoded,
// and no tags. White space collapses as a browser collapses it, except inside <pre>.
func htmlToText(s string) string {
	c := textConverter{out: make([]byte, 0, len(s))}
	l := newLexer(s)
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		switch t.kind {
		case textToken:
			if c.skip == "" {
				c.text(t.text)
			}
		case startTag:
			c.start(t)
		case endTag:
			c.end(t.text)
		}
	}
	return c.finish()
}

type textConverter struct {
	out []byte
	// space is a collapsed white-space run waiting for the next word.
	space bool
	// pre counts open <pre> elements, in which white space is kept.
	pre int
	// skip names the element whose content is not text (<style>, <script>, <title>...).
	skip string
	// links holds, per open <a>, its href and where its text starts in out.
	links []openLink
	// lists holds, per open list, the next item number (0 for <ul>).
	lists []int
}

type openLink struct {
	href  string
	start int
}

// blockBreaks says how many line breaks separate each block element from its neighbours.
var blockBreaks = map[string]int{
	"p": 2, "h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2, "table": 2, "ul": 2, "ol": 2,
	"blockquote": 2, "pre": 2, "hr": 2, "dl": 2, "figure": 2,
	"div": 1, "tr": 1, "li": 1, "dt": 1, "dd": 1, "section": 1, "article": 1, "header": 1,
	"footer": 1, "address": 1, "center": 1, "caption": 1, "figcaption": 1, "aside": 1,
	"tbody": 1, "thead": 1, "tfoot": 1,
}

var skippedElements = map[string]bool{
	"head": true, "style": true, "script": true, "title": true, "template": true,
	"noscript": true, "textarea": true,
}

func (c *textConverter) start(t token) {
	if c.skip != "" {
		return
	}
	if skippedElements[t.text] {
		c.skip = t.text
		return
	}
	if n := c.breaks(t.text); n > 0 {
		c.breakLines(n)
	}
	switch t.text {
	case "br":
		c.space = false
		c.out = append(c.out, '\n')
	case "hr":
		c.out = append(c.out, "----------"...)
		c.breakLines(2)
	case "pre":
		c.pre++
	case "ul":
		c.lists = append(c.lists, 0)
	case "ol":
		c.lists = append(c.lists, 1)
	case "li":
		marker := "- "
		if n := len(c.lists); n > 0 && c.lists[n-1] > 0 {
			marker = strconv.Itoa(c.lists[n-1]) + ". "
			c.lists[n-1]++
		}
		if n := len(c.lists); n > 1 {
			c.out = append(c.out, strings.Repeat("  ", n-1)...)
		}
		c.out = append(c.out, marker...)
	case "td", "th":
		c.space = true
	case "a":
		c.flushSpace()
		c.links = append(c.links, openLink{href: attrValue(t.attrs, "href"), start: len(c.out)})
	case "img":
		if alt := strings.TrimSpace(attrValue(t.attrs, "alt")); alt != "" {
			c.text(alt)
		}
	}
}

func (c *textConverter) end(name string) {
	if c.skip != "" {
		if name == c.skip {
			c.skip = ""
		}
		return
	}
	switch name {
	case "pre":
		if c.pre > 0 {
			c.pre--
		}
	case "ul", "ol":
		if len(c.lists) > 0 {
			c.lists = c.lists[:len(c.lists)-1]
		}
	case "a":
		if len(c.links) == 0 {
			break
		}
		link := c.links[len(c.links)-1]
		c.links = c.links[:len(c.links)-1]
		c.linkEnd(link)
	}
	if n := c.breaks(name); n > 0 {
		c.breakLines(n)
	}
}

// breaks returns how many line breaks separate element name from its neighbours: a list
// inside a list item goes on the next line, without a blank line.
func (c *textConverter) breaks(name string) int {
	if (name == "ul" || name == "ol") && len(c.lists) > 0 {
		return 1
	}
	return blockBreaks[name]
}

// linkEnd writes a link's address after its text, unless the text already says it or the
// link points inside the message.
func (c *textConverter) linkEnd(link openLink) {
	href := strings.TrimSpace(link.href)
	if href == "" || strings.HasPrefix(href, "#") {
		return
	}
	text := strings.TrimSpace(string(c.out[link.start:]))
	switch {
	case text == "":
		c.flushSpace()
		c.out = append(c.out, href...)
	case text == href, "mailto:"+text == href:
	default:
		c.out = append(c.out, " ("...)
		c.out = append(c.out, href...)
		c.out = append(c.out, ')')
	}
}

func (c *textConverter) text(s string) {
	if c.pre > 0 {
		c.flushSpace()
		c.out = append(c.out, s...)
		return
	}
	for len(s) > 0 {
		// Copy a run of printable ASCII at once; the rest rune by rune.
		n := 0
		for n < len(s) && s[n] > ' ' && s[n] < utf8.RuneSelf {
			n++
		}
		if n > 0 {
			c.flushSpace()
			c.out = append(c.out, s[:n]...)
			s = s[n:]
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		if unicode.IsSpace(r) {
			c.space = true
		} else {
			c.flushSpace()
			c.out = append(c.out, s[:size]...)
		}
		s = s[size:]
	}
}

// flushSpace writes a pending collapsed space, unless at the start of a line.
func (c *textConverter) flushSpace() {
	if c.space && len(c.out) > 0 && c.out[len(c.out)-1] != '\n' {
		c.out = append(c.out, ' ')
	}
	c.space = false
}

// breakLines ends the current line so that at least n line breaks separate it from what
// follows; at the start of the text it does nothing.
func (c *textConverter) breakLines(n int) {
	c.space = false
	c.out = trimRightSpaces(c.out)
	if len(c.out) == 0 {
		return
	}
	have := 0
	for i := len(c.out) - 1; i >= 0 && c.out[i] == '\n' && have < n; i-- {
		have++
	}
	for ; have < n; have++ {
		c.out = append(c.out, '\n')
	}
}

func (c *textConverter) finish() string {
	// Trailing spaces on lines and runs of more than one blank line come from nested
	// blocks and <br>s; neither means anything in plain text.
	lines := strings.Split(string(c.out), "\n")
	var b strings.Builder
	b.Grow(len(c.out))
	blank := 0
	for _, line := range lines {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			blank++
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
			if blank > 0 {
				b.WriteString("\n")
			}
		}
		blank = 0
		b.WriteString(line)
	}
	return b.String()
}

func trimRightSpaces(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func attrValue(attrs []attr, name string) string {
	for _, a := range attrs {
		if a.name == name {
			return a.value
		}
	}
	return ""
}
