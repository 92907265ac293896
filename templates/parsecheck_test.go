package templates

import (
	"errors"
	"strings"
	"testing"
)

// TestParseCheck: bodies whose tags balance as written but that a browser builds into a
// different tree are refused, at the markup where the trees part; bodies that a browser
// builds as written, including the <tbody> it adds itself, pass.
func TestParseCheck(t *testing.T) {
	tests := []struct {
		name, body string
		wantTag    string // "" when the body must pass
	}{
		{"div closes a paragraph", "<p>Hi<div>x</div></p>", "<div"},
		{"table closes a paragraph", "<p><table><tr><td>x</td></tr></table></p>", "<table"},
		{"heading closes a heading", "<h1>a<h2>b</h2></h1>", "<h2"},
		{"link in a link", `<a href="https://a.example">a<a href="https://b.example">b</a></a>`, "<a"},
		{"paragraph in a paragraph", "<p>a<p>b</p></p>", "<p"},
		{"text fostered out of a table", "<table><tr><td>x</td></tr>hidden</table>", ""},
		{"list item closes a list item", "<ul><li>a<li>b</li></li></ul>", "<li"},
		{"second attribute of a name dropped as a browser drops it", `<div style="color:red" style="position:absolute">x</div>`, "ok"},
		{"nested paragraph in list", "<ul><li><p>a</p></li></ul>", "ok"},
		{"row in an implied tbody", "<table><tr><td>x</td></tr></table>", "ok"},
		{"col in an implied colgroup", "<table><col><col><tr><td>x</td></tr></table>", "ok"},
		{"line break after pre", "<pre>\nx\n</pre>", "ok"},
		{"character references", "<p title=\"a&amp;b\">&lt;x&gt; &copy;</p>", "ok"},
		{"formatting around blocks", "<b><p>x</p></b>", "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkBody(tc.body)
			if tc.wantTag == "ok" {
				if err != nil {
					t.Fatalf("checkBody(%q) = %v, want nil", tc.body, err)
				}
				return
			}
			var be *bodyError
			if !errors.As(err, &be) {
				t.Fatalf("checkBody(%q) = %v, want a *bodyError", tc.body, err)
			}
			if tc.wantTag != "" && be.tag != tc.wantTag {
				t.Errorf("checkBody(%q) stops at %q (%v), want %q", tc.body, be.tag, be, tc.wantTag)
			}
		})
	}
}

// TestParseCheckCompileError: Compile reports where a browser's tree departs from the
// body as written, in the template's lines and columns.
func TestParseCheckCompileError(t *testing.T) {
	_, err := Compile(Campaign{Subject: "Hi", HTML: "<p>Hi {{.Lead.FirstName}}\n<div>offer</div></p>"}, testSender, Wordings{})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Compile error = %v, want an *Error", err)
	}
	if e.Line != 2 || e.Column != 1 || !strings.Contains(e.Msg, "a browser would read the markup here differently") {
		t.Errorf("Compile error = %v (line %d, column %d), want line 2, column 1", e, e.Line, e.Column)
	}
}
