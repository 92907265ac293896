package templates

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
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
//     table of the body so that a stray <td> cannot close a cell of the layout, and nothing
//     but table parts may sit directly inside them (a <table> there would close the body's
//     table early and let its rows land in the layout's table);
//   - event-handler attributes (onload=...), links and images whose scheme could run code
//     (javascript:, data:...), CSS escapes in style attributes, and the CSS properties that
//     can lift a body element over what follows it (position, z-index, transform, and those
//     that make a stacking context of their own, such as opacity), paint outside its box
//     (outline, box-shadow, filter) or pull what follows under it (negative margins).
//
// Inside those limits a body may hide its own content as it likes (display:none, white text):
// it cannot reach the notice, which the layout places in table rows of its own after the
// body's cell. Nothing clips the cell (mail clients drop overflow), so the check also refuses
// what could spill out of a box in the flow (checkSpill).

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

// tableChildren says what may sit directly inside each table-structure element. A browser
// moves anything else out of the table ("foster parenting"), and a <table> there closes the
// enclosing table early, after which a <tr> or <td> of the body would close the layout's cell
// and open rows in the layout's table.
var tableChildren = map[string][]string{
	"table":    {"caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr"},
	"thead":    {"tr"},
	"tbody":    {"tr"},
	"tfoot":    {"tr"},
	"tr":       {"td", "th"},
	"colgroup": {"col"},
}

// bannedCSS lists the style properties a body may not use, after any vendor prefix
// (-webkit-, -moz-, -ms-, -o-) is removed: those that lift a box out of the flow or over what
// follows it (position, z-index, transforms), those that paint outside the element's own box
// (outline, box-shadow, filter), and those that give an element a stacking context of its own,
// which a browser paints after the ordinary content that follows it (opacity, mix-blend-mode,
// isolation, will-change, contain, backdrop-filter).
var bannedCSS = map[string]bool{
	"position": true, "z-index": true, "transform": true, "translate": true, "rotate": true,
	"scale": true, "outline": true, "outline-width": true, "outline-offset": true,
	"outline-style": true, "outline-color": true, "box-shadow": true, "filter": true,
	"backdrop-filter": true, "opacity": true, "mix-blend-mode": true, "isolation": true,
	"will-change": true, "contain": true, "offset": true, "offset-path": true,
	"offset-distance": true, "perspective": true,
	// These paint outside the element's box without a stacking context: a shadow or
	// stroke of the text, a reflection, a border image with an outset, an image as the
	// list marker (sized by the image, not the line).
	"text-shadow": true, "text-stroke": true, "text-stroke-width": true, "box-reflect": true,
	"border-image": true, "border-image-outset": true, "border-image-source": true,
	"list-style-image": true, "text-underline-offset": true, "text-decoration-thickness": true,
}

// vendorPrefixes are stripped from a property name before it is looked up in bannedCSS.
var vendorPrefixes = []string{"-webkit-", "-moz-", "-ms-", "-o-"}

// safeURLSchemes are the schemes a body's links and images may use.
var safeURLSchemes = []string{"http:", "https:", "mailto:", "tel:", "cid:"}

// bodyError is a problem found in a rendered body, at a byte offset of it.
type bodyError struct {
	pos int
	msg string
	// tag is how the offending token starts ("<style", "</td", "<!"), to find it in the
	// template the body was rendered from.
	tag string
}

func (e *bodyError) Error() string { return e.msg }

type openElement struct {
	name string
	pos  int // where the element was opened, in markupChecker.report
	// fontPx is the element's font size in pixels, as far as the body check can tell: the
	// largest it can be.
	fontPx float64
}

// checkBody returns a *bodyError for the first construct in the rendered HTML body s that
// could reach the markup after it, or nil.
func checkBody(s string) error {
	c := markupChecker{s: s, report: s}
	if err := c.run(); err != nil {
		return err
	}
	if len(c.stack) > 0 {
		top := c.stack[len(c.stack)-1]
		return &bodyError{pos: top.pos, tag: "<" + top.name, msg: fmt.Sprintf("<%s> is never closed", top.name)}
	}
	return checkParse(s)
}

// markupChecker applies the body check's rules to the markup of s, starting with the
// elements already open in stack. checkBody runs it on a whole rendered body; the compile-time
// check of branches (checkBranches) on each {{if}}, {{with}} and {{range}} of a template.
type markupChecker struct {
	s     string
	stack []openElement
	// floor is how many elements of stack were opened outside s: s may not close them.
	floor int
	// report is the text that positions of open elements refer to, and mapPos (when set)
	// turns an offset of s into one of report.
	report string
	mapPos func(int) int
	// branch, when set, is called for each placeholder element <lm-branch-N> in s.
	branch func(n int) error
}

// run checks s, leaving in c.stack the elements s leaves open.
func (c *markupChecker) run() error {
	s := c.s
	l := newLexer(s)
	for {
		t, ok := l.next()
		if !ok {
			return nil
		}
		switch t.kind {
		case textToken:
			continue
		case commentToken:
			return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: "an HTML comment is not allowed in a campaign body"}
		case declToken:
			return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("%q is not allowed in a campaign body", shorten(t.raw))}
		}
		if t.unterminated {
			return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("tag <%s%s is not closed with '>'", slashIf(t.kind == endTag), t.text)}
		}
		if t.kind == endTag {
			if !plainEndTag(t.raw) {
				return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("end tag </%s> may hold nothing but its name: a browser reads quoted attribute values in it, and what they hide", t.text)}
			}
			if len(c.stack) == 0 {
				return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("</%s> closes an element that the body did not open", t.text)}
			}
			top := c.stack[len(c.stack)-1]
			if top.name != t.text {
				return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("</%s> does not match <%s> opened at %s", t.text, top.name, lineCol(c.report, top.pos))}
			}
			if len(c.stack) == c.floor {
				return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("</%s> closes the <%s> opened at %s, outside this {{if}}, {{with}} or {{range}}: open and close it on the same side", t.text, top.name, lineCol(c.report, top.pos))}
			}
			c.stack = c.stack[:len(c.stack)-1]
			continue
		}
		if n, ok := branchPlaceholder(t.text); ok && c.branch != nil {
			if err := c.branch(n); err != nil {
				return err
			}
			continue
		}
		void, allowed := bodyElements[t.text]
		if !allowed {
			return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("element <%s> is not allowed in a campaign body", t.text)}
		}
		parent := ""
		if len(c.stack) > 0 {
			parent = c.stack[len(c.stack)-1].name
		}
		if children, ok := tableChildren[parent]; ok && !slices.Contains(children, t.text) {
			return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("<%s> may not sit directly inside <%s>: put it in a cell", t.text, parent)}
		}
		if parents, ok := tableParents[t.text]; ok {
			if !slices.Contains(parents, parent) {
				return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("<%s> must be inside <%s>", t.text, strings.Join(parents, "> or <"))}
			}
		}
		for _, a := range t.attrs {
			if err := checkAttr(t.text, a, t.attrs); err != "" {
				return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("<%s>: %s", t.text, err)}
			}
		}
		if !void {
			parentPx := float64(rootFontPx)
			if len(c.stack) > 0 {
				parentPx = c.stack[len(c.stack)-1].fontPx
			}
			px, err := fontSize(t.text, t.attrs, parentPx)
			if err != "" {
				return &bodyError{pos: t.pos, tag: tokenStart(s, t), msg: fmt.Sprintf("<%s>: %s", t.text, err)}
			}
			pos := t.pos
			if c.mapPos != nil {
				pos = c.mapPos(pos)
			}
			c.stack = append(c.stack, openElement{t.text, pos, px})
		}
	}
}

// checkAttr returns what is wrong with a, an attribute of element tag with attributes attrs,
// or "".
func checkAttr(tag string, a attr, attrs []attr) string {
	if strings.HasPrefix(a.name, "on") {
		return fmt.Sprintf("event handler attribute %s is not allowed", a.name)
	}
	switch a.name {
	case "href", "src", "background", "action", "formaction", "srcset":
		return checkURL(a.name, a.value)
	case "style":
		return checkStyle(tag, a.value)
	case "id", "name", "for", "headers":
		// The layout's blocks have ids of their own; a body's element of the same id
		// would be what an anchor or a client finds in their place.
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.value)), "lm-") {
			return fmt.Sprintf("%s %q: names starting with lm- are the layout's", a.name, a.value)
		}
	case "height":
		// The attribute is a presentational height: a minimum for a table part, which
		// grows with its content, the size of an image, and a fixed height (content
		// spilling out of it) for a table part whose style makes it a block.
		if d := styleDisplay(attrs); tag != "img" && (!fixedHeightAllowed[tag] || (d != "" && d != "none")) {
			return fmt.Sprintf("a height attribute is allowed on images and on table parts whose style does not set display: on <%s> content would spill out of the height over what follows", tag)
		}
		return checkLengths("height attribute", strings.TrimSpace(a.value)+unitless(a.value))
	}
	return ""
}

// styleDisplay returns the display value that the first style attribute of attrs sets (the
// one a browser keeps), normalised, or "".
func styleDisplay(attrs []attr) string {
	for _, a := range attrs {
		if a.name == "style" {
			return declaredDisplay(a.value)
		}
	}
	return ""
}

// declaredDisplay returns the last display value that css declares, normalised, or "".
func declaredDisplay(css string) string {
	display := ""
	for decl := range strings.SplitSeq(stripCSSComments(css), ";") {
		name, value, ok := strings.Cut(decl, ":")
		if ok && strings.ToLower(strings.TrimSpace(name)) == "display" {
			display = cssValue(value)
		}
	}
	return display
}

// cssValue returns a declaration's value in lower case, without !important and spaces.
func cssValue(v string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if i := strings.Index(v, "!"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	return v
}

// checkURL rejects a URL attribute whose scheme could run code (javascript:, vbscript:,
// data:). html/template neutralises such URLs when a lead value supplies them; this catches
// the ones written into the template itself.
func checkURL(name, value string) string {
	u := strings.ToLower(value)
	// Browsers ignore control characters and spaces in a scheme ("java\tscript:").
	u = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, u)
	colon := strings.IndexByte(u, ':')
	if colon < 0 || strings.ContainsAny(u[:colon], "/?#") {
		return "" // relative
	}
	for _, s := range safeURLSchemes {
		if strings.HasPrefix(u, s) {
			return ""
		}
	}
	return fmt.Sprintf("%s with scheme %q is not allowed (use http, https, mailto or tel)", name, u[:colon+1])
}

// checkStyle returns what is wrong with the style attribute value css of element tag, or "".
func checkStyle(tag, css string) string {
	// A CSS escape can spell any property name ("posit\69 on"); mail clients need none.
	if strings.IndexByte(css, '\\') >= 0 {
		return "CSS escapes (\\) are not allowed in style attributes"
	}
	css = stripCSSComments(css)
	display := declaredDisplay(css)
	// Nothing of an element that is not displayed is painted, so what could spill out of
	// its box does not matter.
	hidden := display == "none"
	inline := display == "inline" || (display == "" && inlineElements[tag])
	for decl := range strings.SplitSeq(css, ";") {
		name, value, ok := strings.Cut(decl, ":")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		bare := name
		for _, p := range vendorPrefixes {
			bare = strings.TrimPrefix(bare, p)
		}
		if bannedCSS[bare] {
			return fmt.Sprintf("style property %s is not allowed in a campaign body", name)
		}
		// A margin may not be negative, nor computed: calc(100px * cos(pi)) is negative
		// without a minus sign.
		if strings.HasPrefix(bare, "margin") && strings.ContainsAny(value, "-(") {
			return fmt.Sprintf("%s must be zero or positive and not computed", name)
		}
		if cappedCSS(bare) {
			if err := checkLengths(name, value); err != "" {
				return err
			}
		}
		if hidden {
			continue
		}
		if err := checkSpill(tag, display, inline, name, bare, value); err != "" {
			return err
		}
	}
	return ""
}

// The body is written into a table cell of the layout, and a cell grows to hold the boxes in
// it. What can still paint beyond the cell, over the notice rows after it, without being
// lifted out of the flow, is content spilling out of a box of fixed size, and boxes that do
// not make room for themselves in their line: checkSpill refuses the styles that do either.
//
//   - fixed heights (height, max-height, block-size) except on images, which are scaled to
//     them, and on table parts, for which a height is a minimum, unless their display is
//     changed;
//   - line heights that are lengths or below 1: a line box of fixed height lets a larger font
//     spill out of it, and a length is inherited as it is, by text of any size;
//   - displays other than blocks, inline boxes, list items and tables: flex and grid
//     containers size their items and tracks to values of their own, below their content;
//   - padding and borders of more than inlineEdgeMaxPx on inline boxes (a <span>), which
//     paint above and below the line without making it taller; an inline-block is sized to
//     them.
//
// The properties that paint outside the box itself (text-shadow, text strokes,
// reflections, border images, list marker images) are refused outright in bannedCSS.

// inlineElements are the body elements whose boxes are inline unless their style says
// otherwise. Images are inline too, but a line grows to hold them.
var inlineElements = map[string]bool{
	"a": true, "abbr": true, "b": true, "big": true, "cite": true, "code": true, "del": true,
	"em": true, "font": true, "i": true, "ins": true, "kbd": true, "mark": true, "q": true,
	"s": true, "samp": true, "small": true, "span": true, "strike": true, "strong": true,
	"sub": true, "sup": true, "time": true, "tt": true, "u": true,
}

// fixedHeightAllowed are the elements whose height is only a minimum while their display is
// their own.
var fixedHeightAllowed = map[string]bool{
	"table": true, "thead": true, "tbody": true, "tfoot": true, "tr": true, "td": true, "th": true,
}

// allowedDisplays are the display values a body may set.
var allowedDisplays = map[string]bool{
	"none": true, "block": true, "inline": true, "inline-block": true, "list-item": true,
	"flow-root": true, "contents": true, "table": true, "inline-table": true, "table-row": true,
	"table-cell": true, "table-row-group": true, "table-header-group": true,
	"table-footer-group": true, "table-caption": true, "table-column": true,
	"table-column-group": true, "inherit": true, "initial": true, "unset": true, "revert": true,
}

// inlineEdgeMaxPx is the largest padding or border an inline box may have, in CSS pixels:
// less than the space between the body's cell and the notice box below it.
const inlineEdgeMaxPx = 4

// checkSpill returns what is wrong with the declaration name: value (bare without vendor
// prefix) of element tag, whose style sets display (or "") and whose box is inline, or "".
func checkSpill(tag, display string, inline bool, name, bare, value string) string {
	v := cssValue(value)
	switch bare {
	case "display":
		if !allowedDisplays[v] {
			return fmt.Sprintf("display:%s is not allowed in a campaign body (use block, inline-block or a table): it can size boxes below their content, which then spills over what follows", v)
		}
	case "height", "block-size":
		if tag != "img" && (!fixedHeightAllowed[tag] || display != "") {
			return fmt.Sprintf("%s is allowed on images and table cells only (use min-height): content spills out of a box of fixed height over what follows", name)
		}
	case "max-height", "max-block-size":
		if tag != "img" {
			return fmt.Sprintf("%s is allowed on images only: content spills out of a box of limited height over what follows", name)
		}
	case "line-height":
		return checkLineHeight(name, v)
	case "list-style":
		if strings.Contains(v, "url(") {
			return fmt.Sprintf("%s may not use an image: a marker image is sized by the image, not the line, and paints over what follows", name)
		}
	case "font":
		// The shorthand sets the line height after a slash: "16px/24px Arial".
		if _, after, ok := strings.Cut(v, "/"); ok {
			lh, _, _ := strings.Cut(strings.TrimSpace(after), " ")
			return checkLineHeight(name+" (its line height)", lh)
		}
	case "text-decoration", "text-decoration-line":
		// A thickness or offset beyond a few pixels paints the line far below the text.
		return checkLengthsMax(name, v, inlineEdgeMaxPx, "a thicker line paints over what follows")
	}
	if inline && (strings.HasPrefix(bare, "padding") || strings.HasPrefix(bare, "border")) && !strings.HasSuffix(bare, "-color") && !strings.HasSuffix(bare, "-style") && !strings.HasSuffix(bare, "-radius") {
		return checkLengthsMax(name, v, inlineEdgeMaxPx, fmt.Sprintf("on an inline element (<%s>) padding and borders do not make room in the line and paint over what follows; use display:inline-block", tag))
	}
	return ""
}

// checkLineHeight returns what is wrong with the line height v, or "".
func checkLineHeight(name, v string) string {
	switch v {
	case "normal", "inherit", "initial", "unset", "revert":
		return ""
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 1 {
		return fmt.Sprintf("%s must be normal or a number of at least 1, such as 1.5, not %q: in a line of fixed height a larger font spills over what follows", name, v)
	}
	return ""
}

// maxLengthPx is the largest height, margin, padding or border a body may give an element,
// in CSS pixels. Larger ones push the notices beyond what a reader scrolls to, or out of the
// part of a message a mail client shows.
const maxLengthPx = 1000

// cappedCSS reports whether the lengths of property bare (without vendor prefix) are held
// to maxLengthPx: those that add vertical space to a box or around it.
func cappedCSS(bare string) bool {
	switch bare {
	case "height", "min-height", "block-size", "min-block-size", "line-height":
		return true
	}
	for _, p := range []string{"margin", "padding", "border"} {
		if strings.HasPrefix(bare, p) && !strings.HasSuffix(bare, "-color") && !strings.HasSuffix(bare, "-style") && !strings.HasSuffix(bare, "-radius") {
			return true
		}
	}
	return false
}

// lengthRE matches a CSS number with its unit.
var lengthRE = regexp.MustCompile(`^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?([a-z%]*)$`)

// functionRE matches the name of a CSS function where it is called.
var functionRE = regexp.MustCompile(`([a-z-]*)\(`)

// unitPx says how many CSS pixels one unit is at most, for the units a body may use in a
// capped property: font-relative units at the largest font a body may reach (maxFontPx),
// percentages and viewport units of a 1000-pixel box.
var unitPx = map[string]float64{
	"": 100, "px": 1, "pt": 4.0 / 3, "pc": 16, "in": 96, "cm": 96 / 2.54, "mm": 96 / 25.4, "q": 96 / 101.6,
	"em": 100, "ex": 100, "ch": 100, "lh": 100, "cap": 100, "ic": 100, "rem": 16, "rlh": 24,
	"%": 10, "vh": 10, "vw": 10, "vmin": 10, "vmax": 10, "svh": 10, "lvh": 10, "dvh": 10,
	"svw": 10, "lvw": 10, "dvw": 10, "vb": 10, "vi": 10,
}

// colorFunctions may appear in a border's value.
var colorFunctions = map[string]bool{"rgb": true, "rgba": true, "hsl": true, "hsla": true, "hwb": true}

// checkLengths returns what is wrong with the value of a capped property, or "".
func checkLengths(name, value string) string {
	return checkLengthsMax(name, value, maxLengthPx, "so that the notices stay in reach")
}

// checkLengthsMax returns what is wrong with the value of a property whose lengths may be at
// most maxPx pixels, for the reason why, or "".
func checkLengthsMax(name, value string, maxPx float64, why string) string {
	value = strings.ToLower(value)
	for _, m := range functionRE.FindAllStringSubmatch(value, -1) {
		if !colorFunctions[m[1]] {
			return fmt.Sprintf("%s must be a plain length, not computed with %s()", name, m[1])
		}
	}
	for _, f := range strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == ',' || r == '/' || r == '\t' || r == '\n' }) {
		m := lengthRE.FindStringSubmatch(f)
		if m == nil {
			continue // a keyword or a colour
		}
		n, err := strconv.ParseFloat(strings.TrimSuffix(f, m[1]), 64)
		px, ok := unitPx[m[1]]
		if err != nil || !ok {
			return fmt.Sprintf("%s: unit of %q is not allowed", name, f)
		}
		if n*px > maxPx {
			return fmt.Sprintf("%s: %s is too large (at most %gpx, %s)", name, f, maxPx, why)
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

// tokenStart returns how t starts in s: "<" or "</" and the tag name, or the first two
// bytes of a comment or declaration.
func tokenStart(s string, t token) string {
	switch t.kind {
	case startTag:
		return "<" + t.text
	case endTag:
		return "</" + t.text
	}
	return s[t.pos:min(t.pos+2, len(s))]
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

// unitless returns "px" when the height attribute v is a bare number, as HTML reads it.
func unitless(v string) string {
	v = strings.TrimSpace(v)
	if v != "" && strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
		return "px"
	}
	return ""
}
