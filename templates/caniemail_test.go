package templates

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// testdata/caniemail.json is an extract of the Can I email data (www.caniemail.com, as
// published in the npm package caniemail): the CSS properties the layout uses and a few it
// must not use, each with its support per mail client, platform and tested version.

// caniemailFeature is one property's entry of the extract.
type caniemailFeature struct {
	Slug  string `json:"slug"`
	Title string `json:"title"`
	// Stats maps client family, then platform, to the tested versions in the published
	// order, latest last, each [version, result]: the result is "y" (supported), "a"
	// (partial), "n" (not supported) or "u" (unknown), followed by note numbers.
	Stats map[string]map[string][][2]string `json:"stats"`
}

// notTrackedCSS are properties that every client supports and Can I email has no entry for.
var notTrackedCSS = map[string]bool{"color": true, "font-family": true}

// layoutKnownUnsupported are the properties the layout keeps although some clients ignore
// them, with why that is acceptable. Every other property must be supported, at least in
// part, by the latest tested version of every client.
var layoutKnownUnsupported = map[string]string{
	// Outlook for Windows and Mac and Windows Mail lay tables out by content. There a
	// wide body (a long word, a wide image) widens the notices' rows too, so the reader
	// scrolls sideways; the notices are still under the body, whole and unhidden.
	"table-layout": "keeps a wide body from widening the notice rows where it is supported",
}

func readCaniemail(t *testing.T) map[string]caniemailFeature {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "caniemail.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ext struct {
		Features map[string]caniemailFeature `json:"features"`
	}
	if err := json.Unmarshal(data, &ext); err != nil {
		t.Fatalf("testdata/caniemail.json: %v", err)
	}
	return ext.Features
}

// unsupportedIn returns the clients ("gmail/android 2022-08") whose latest tested version
// does not support f.
func unsupportedIn(f caniemailFeature) []string {
	var out []string
	for family, platforms := range f.Stats {
		for platform, versions := range platforms {
			if len(versions) == 0 {
				continue
			}
			latest := versions[len(versions)-1]
			if strings.HasPrefix(latest[1], "n") {
				out = append(out, family+"/"+platform+" "+latest[0])
			}
		}
	}
	slices.Sort(out)
	return out
}

// layoutCSSProperties returns the CSS properties of the style attributes in the message's
// HTML, longhands by their shorthand (padding-top as padding).
func layoutCSSProperties(t *testing.T, msg string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for _, a := range n.Attr {
			if a.Key != "style" {
				continue
			}
			for decl := range strings.SplitSeq(a.Val, ";") {
				name, _, ok := strings.Cut(decl, ":")
				if !ok {
					continue
				}
				name = strings.ToLower(strings.TrimSpace(name))
				for _, side := range []string{"-top", "-right", "-bottom", "-left"} {
					if p, ok := strings.CutSuffix(name, side); ok && (p == "padding" || p == "margin" || p == "border") {
						name = p
					}
				}
				seen[name] = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return slices.Sorted(maps.Keys(seen))
}

// TestLayoutCSSSupportedByMailClients checks every CSS property of the layout (the
// body of the message is a bare <p>) against the Can I email data: none may be unsupported by
// a mail client's latest tested version, except those listed with their reason.
func TestLayoutCSSSupportedByMailClients(t *testing.T) {
	features := readCaniemail(t)
	// The data must show what the layout gave up, or this test proves nothing.
	for _, p := range []string{"position", "overflow"} {
		if len(unsupportedIn(features[p])) == 0 {
			t.Fatalf("the extract shows %s supported everywhere; it should not (Gmail and Outlook drop it)", p)
		}
	}
	m := benign(t, hostileRecipient())
	props := layoutCSSProperties(t, m.HTML)
	if len(props) < 5 {
		t.Fatalf("found only the CSS properties %v in the layout", props)
	}
	for _, p := range props {
		if notTrackedCSS[p] {
			continue
		}
		f, ok := features[p]
		if !ok {
			t.Errorf("the layout uses %s, which testdata/caniemail.json has no entry for: add its entry from the Can I email data", p)
			continue
		}
		bad := unsupportedIn(f)
		if _, known := layoutKnownUnsupported[p]; known {
			if len(bad) == 0 {
				t.Errorf("%s is listed as unsupported somewhere but is supported everywhere: remove it from layoutKnownUnsupported", p)
			}
			t.Logf("%s: not supported by %s (kept: %s)", p, strings.Join(bad, ", "), layoutKnownUnsupported[p])
			continue
		}
		if len(bad) > 0 {
			t.Errorf("the layout uses %s, which these clients do not support: %s", p, strings.Join(bad, ", "))
		}
	}
}
