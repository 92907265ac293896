package templates

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// lexer splits HTML into text, tags, comments and declarations with the tokenizer of
// golang.org/x/net/html, which implements the tokenisation rules of the HTML standard: where
// a tag ends, what a quoted attribute value swallows (inside end tags too), which elements
// hold raw text. The body check must see tags where a browser sees them, so it relies on no
// tokenizer of its own. lexer adds to each token its byte offset, for error positions, and
// reports a tag or comment that the input ends inside, which the tokenizer drops silently.
type lexer struct {
	z   *html.Tokenizer
	pos int // offset of the next token
	// rawEnd names the raw-text element (<textarea>, <style>...) whose end tag has not been
	// seen yet, "" when none: the input ending there leaves that element open.
	rawEnd string
	// done is set at the end of the input, where the tokenizer keeps reporting its error.
	done bool
}

func newLexer(s string) *lexer {
	return &lexer{z: html.NewTokenizer(strings.NewReader(s))}
}

type tokenKind int

const (
	textToken    tokenKind = iota
	startTag               // <name attr=value>, <name/>
	endTag                 // </name>
	commentToken           // <!-- ... -->
	declToken              // <!DOCTYPE ...>, and the bogus comments <?...>, <!...>, </ ...>
)

type token struct {
	kind tokenKind
	pos  int // byte offset of the token in the input
	// raw is the token as written; for a text token, with character references undecoded.
	raw string
	// text is the lower-case name of a tag, or the decoded text of a text token.
	text string
	// attrs of a start tag, with character references decoded.
	attrs []attr
	// unterminated marks a tag or comment that runs to the end of the input.
	unterminated bool
}

type attr struct{ name, value string }

// rawTextElements hold text that the tokenizer does not look into until their end tag.
var rawTextElements = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true, "xmp": true,
	"iframe": true, "noembed": true, "noframes": true, "noscript": true, "plaintext": true,
}

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func isHTMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// next returns the next token, or false at the end of the input.
func (l *lexer) next() (token, bool) {
	if l.done {
		return token{}, false
	}
	tt := l.z.Next()
	raw := string(l.z.Raw())
	t := token{pos: l.pos, raw: raw}
	l.pos += len(raw)
	switch tt {
	case html.ErrorToken:
		l.done = true
		if l.z.Err() != io.EOF || raw == "" {
			return token{}, false
		}
		// The input ends inside a tag: a browser drops it, and whatever it was meant to
		// open or close with it.
		t.unterminated = true
		switch {
		case strings.HasPrefix(raw, "</") && len(raw) > 2 && isASCIILetter(raw[2]):
			t.kind, t.text = endTag, tagNameOf(raw[2:])
		case len(raw) > 1 && isASCIILetter(raw[1]):
			t.kind, t.text = startTag, tagNameOf(raw[1:])
		default:
			t.kind = declToken
		}
		return t, true
	case html.TextToken:
		t.kind, t.text = textToken, string(l.z.Text())
	case html.StartTagToken, html.SelfClosingTagToken:
		name, more := l.z.TagName()
		t.kind, t.text = startTag, string(name)
		for more {
			var k, v []byte
			k, v, more = l.z.TagAttr()
			t.attrs = append(t.attrs, attr{name: string(k), value: string(v)})
		}
		if rawTextElements[t.text] && tt == html.StartTagToken {
			l.rawEnd = t.text
		}
	case html.EndTagToken:
		name, _ := l.z.TagName()
		t.kind, t.text = endTag, string(name)
		if t.text == l.rawEnd {
			l.rawEnd = ""
		}
	case html.CommentToken:
		t.kind = commentToken
		if !strings.HasPrefix(raw, "<!--") {
			t.kind = declToken // a bogus comment: <?x>, <!x>, </ x>
		}
		t.unterminated = !strings.HasSuffix(raw, ">") || t.kind == commentToken && !commentClosed(raw)
	case html.DoctypeToken:
		t.kind = declToken
		t.unterminated = !strings.HasSuffix(raw, ">")
	}
	return t, true
}

// commentClosed reports whether the comment raw ("<!--" and on) ends as a browser ends one.
func commentClosed(raw string) bool {
	return raw == "<!-->" || raw == "<!--->" || strings.HasSuffix(raw, "-->") || strings.HasSuffix(raw, "--!>")
}

// tagNameOf returns, in lower case, the tag name at the start of s.
func tagNameOf(s string) string {
	end := len(s)
	for i := 0; i < len(s); i++ {
		if isHTMLSpace(s[i]) || s[i] == '/' || s[i] == '>' {
			end = i
			break
		}
	}
	return strings.ToLower(s[:end])
}

// plainEndTag reports whether the end tag raw is just "</name>", with white space at most:
// the tokenizer reads attributes in an end tag as a browser does and then drops them, so a
// quoted "attribute" there can hide markup that a reader of the source takes for tags.
func plainEndTag(raw string) bool {
	b := []byte(strings.TrimSuffix(raw, ">"))
	i := 2
	for i < len(b) && !isHTMLSpace(b[i]) && b[i] != '/' {
		i++
	}
	return len(bytes.TrimLeft(b[i:], " \t\n\r\f")) == 0 && strings.HasSuffix(raw, ">")
}
