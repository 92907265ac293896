package templates

import (
	"fmt"
	"strconv"
	"strings"
)

// A line of text is as tall as its font, so a font of 50,000 pixels pushes the notices after
// the body as far down as a spacer of that height would, and font-relative lengths (a margin
// of 9em) grow with it. The body check caps the size that text can reach, following it down
// the element tree, where relative sizes compound: nested <h1>s double at each level, and so
// do font-size:2em or 200%.

// maxFontPx is the largest font size, in CSS pixels, that text in a body may reach: a
// headline over a whole phone screen. The caps on lengths in font-relative units (unitPx)
// count one em as this much.
const maxFontPx = 100

// rootFontPx is the font size of the layout's cell that the body is written into.
const rootFontPx = 16

// defaultFontEm is the font size browsers give elements of the body, relative to the parent's,
// where it is not 1.
var defaultFontEm = map[string]float64{
	"h1": 2, "h2": 1.5, "h3": 1.17, "h5": 0.83, "h6": 0.67, "big": 1.2, "small": 0.83,
	"sub": 0.83, "sup": 0.83,
}

// fontKeywordPx are the absolute size keywords, in pixels at the default medium of 16.
var fontKeywordPx = map[string]float64{
	"xx-small": 9, "x-small": 10, "small": 13, "medium": 16, "large": 18, "x-large": 24,
	"xx-large": 32, "xxx-large": 48,
}

// fontTagPx are the sizes of <font size=1..7>.
var fontTagPx = []float64{10, 13, 16, 18, 24, 32, 48}

// fontSize returns the font size, in pixels, of an element tag with attributes attrs inside
// a parent whose font is parentPx, or what is wrong with it: the sizes it sets, or reaches by
// compounding, over maxFontPx.
func fontSize(tag string, attrs []attr, parentPx float64) (float64, string) {
	px := parentPx
	if em, ok := defaultFontEm[tag]; ok {
		px = parentPx * em
	}
	defaultPx := px
	styled := false
	for _, a := range attrs {
		switch {
		case a.name == "size" && tag == "font":
			px = fontTagSize(a.value)
		case a.name == "style" && !styled:
			// A browser keeps the first of two style attributes; within one, the last
			// declaration of the size wins.
			styled = true
			for decl := range strings.SplitSeq(stripCSSComments(a.value), ";") {
				name, value, ok := strings.Cut(decl, ":")
				if !ok {
					continue
				}
				v := cssValue(value)
				switch strings.ToLower(strings.TrimSpace(name)) {
				case "font-size":
				case "font":
					v = fontShorthandSize(v)
					if v == "" {
						continue
					}
				default:
					continue
				}
				size, err := cssFontSize(v, parentPx, defaultPx)
				if err != "" {
					return 0, err
				}
				px = size
			}
		}
	}
	if px > maxFontPx {
		if px > parentPx*1.01 && parentPx > rootFontPx {
			return 0, fmt.Sprintf("its text would be %.0fpx tall, grown from %.0fpx of the elements around it (at most %dpx: a taller line pushes the notices after the body out of reach)", px, parentPx, maxFontPx)
		}
		return 0, fmt.Sprintf("its text would be %.0fpx tall (at most %dpx: a taller line pushes the notices after the body out of reach)", px, maxFontPx)
	}
	return px, ""
}

// fontTagSize returns the size of <font size=v>: 1 to 7, or relative to 3 with a sign.
func fontTagSize(v string) float64 {
	v = strings.TrimSpace(v)
	n, err := strconv.Atoi(strings.TrimPrefix(v, "+"))
	if err != nil {
		return rootFontPx
	}
	if strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-") {
		n += 3
	}
	return fontTagPx[min(max(n, 1), 7)-1]
}

// fontShorthandSize returns the font size given in the value of the font shorthand
// ("italic bold 18px/1.4 Arial"), or "" when it names a system font ("caption").
func fontShorthandSize(v string) string {
	for _, f := range strings.Fields(v) {
		size, _, _ := strings.Cut(f, "/")
		if _, ok := fontKeywordPx[size]; ok || size == "larger" || size == "smaller" {
			return size
		}
		if m := lengthRE.FindStringSubmatch(size); m != nil && m[1] != "" {
			return size
		}
	}
	return ""
}

// cssFontSize returns the pixels of the font-size value v, in a parent of parentPx, for an
// element whose own default size is defaultPx, or what is wrong with v.
func cssFontSize(v string, parentPx, defaultPx float64) (float64, string) {
	if px, ok := fontKeywordPx[v]; ok {
		return px, ""
	}
	switch v {
	case "larger":
		return parentPx * 1.2, ""
	case "smaller":
		return parentPx / 1.2, ""
	case "inherit", "unset":
		return parentPx, ""
	case "initial":
		return rootFontPx, ""
	case "revert", "revert-layer":
		return defaultPx, ""
	}
	if strings.Contains(v, "(") {
		return 0, fmt.Sprintf("font-size must be a plain length, not computed: %q", v)
	}
	m := lengthRE.FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Sprintf("font-size %q is not a size", v)
	}
	n, err := strconv.ParseFloat(strings.TrimSuffix(v, m[1]), 64)
	if err != nil {
		return 0, fmt.Sprintf("font-size %q is not a size", v)
	}
	switch m[1] {
	case "em", "ex", "ch", "cap", "ic":
		// ex, ch and cap are smaller than an em in every font; counting them as one errs
		// on the safe side.
		return n * parentPx, ""
	case "%":
		return n / 100 * parentPx, ""
	case "rem":
		return n * rootFontPx, ""
	case "lh", "rlh":
		return 0, fmt.Sprintf("font-size: unit of %q is not allowed (use px, em or %%)", v)
	case "":
		if n == 0 {
			return 0, ""
		}
		return 0, fmt.Sprintf("font-size %q needs a unit, such as px", v)
	}
	unit, ok := unitPx[m[1]]
	if !ok {
		return 0, fmt.Sprintf("font-size: unit of %q is not allowed", v)
	}
	return n * unit, ""
}
