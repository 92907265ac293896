package templates

import (
	"testing"
	"time"

	"github.com/leadmailer/leadmailer"
)

// TestHTMLToText: the text part derived from an HTML body reads like the HTML does.
func TestHTMLToText(t *testing.T) {
	tests := []struct{ name, html, want string }{
		{"paragraphs", "<p>One</p>\n<p>Two</p>", "One\n\nTwo"},
		{"white space collapses", "<p>a\n\n   b\tc</p>", "a b c"},
		{"headings and breaks", "<h1>Title</h1>text<br>line 2<br><br>line 3", "Title\n\ntext\nline 2\n\nline 3"},
		{"divs are lines", "<div>one</div><div>two</div>", "one\ntwo"},
		{"rule", "<p>a</p><hr><p>b</p>", "a\n\n----------\n\nb"},
		{"bullet list", "<p>Why:</p><ul><li>cheap</li><li>fast</li></ul><p>End</p>", "Why:\n\n- cheap\n- fast\n\nEnd"},
		{"numbered list", "<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"},
		{"nested list", "<ul><li>one<ul><li>inner</li></ul></li><li>two</li></ul>", "- one\n  - inner\n- two"},
		{"link", `<p>See <a href="https://x.example/a?b=1&amp;c=2">the shop</a>.</p>`, "See the shop (https://x.example/a?b=1&c=2)."},
		{"link that shows its address", `<a href="https://x.example">https://x.example</a>`, "https://x.example"},
		{"mail link", `<a href="mailto:sales@x.example">sales@x.example</a>`, "sales@x.example"},
		{"link inside the message", `<a href="#offer">offer</a>`, "offer"},
		{"image link", `<a href="https://x.example"><img src="i.png" alt=""></a>`, "https://x.example"},
		{"image alt", `<p>Logo: <img src="a.png" alt="Focus &amp; co"></p>`, "Logo: Focus & co"},
		{"entities", "<p>&lt;b&gt; &amp; &quot;q&quot; &#39;s &euro;5 &#x1F600; &copy;</p>", "<b> & \"q\" 's €5 😀 ©"},
		{"no-break space", "<p>30&nbsp;%</p>", "30 %"},
		{"pre keeps spaces", "<pre>  a\n    b</pre><p>c</p>", "  a\n    b\n\nc"},
		{"table rows", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>", "a b\nc d"},
		{"style and title skipped", "<title>T</title><style>p{}</style><p>x</p>", "x"},
		{"upper-case tags", "<P>One</P><UL><LI>two</LI></UL>", "One\n\n- two"},
		{"stray end tags", "</b>text</ul>", "text"},
		{"empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := htmlToText(tc.html); got != tc.want {
				t.Errorf("htmlToText(%q) =\n%q\nwant\n%q", tc.html, got, tc.want)
			}
		})
	}
}

// TestTextBodyDerived: a campaign without a text body gets one made from its HTML body, and
// one with a text body keeps it as written.
func TestTextBodyDerived(t *testing.T) {
	c, err := Compile(Campaign{Subject: "Hi", HTML: `<p>Hei {{.Lead.FirstName}} &amp; tiimi</p><ul><li><a href="https://x.example/a">Tarjous</a></li></ul>`}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Render(hostileRecipient())
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hei Anna & tiimi\n\n- Tarjous (https://x.example/a)\n\n____"; m.Text[:len(want)] != want {
		t.Errorf("text part starts %q, want %q", m.Text[:len(want)], want)
	}
	c, err = Compile(Campaign{Subject: "Hi", HTML: "<p>html</p>", Text: "\n  Hei {{.Lead.FirstName}} & <tiimi>\n\n"}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	if m, err = c.Render(hostileRecipient()); err != nil {
		t.Fatal(err)
	}
	if want := "Hei Anna & <tiimi>\n\n____"; m.Text[:len(want)] != want {
		t.Errorf("text part starts %q, want %q", m.Text[:len(want)], want)
	}
}

// TestPublicSourcesOf: the notice names exactly the public sources of the lead's current
// values and the fields each supplied; uploads and website queries are not sources to name.
func TestPublicSourcesOf(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 3, d, 8, 0, 0, 0, time.UTC) }
	runs := map[int64]*leadmailer.ImportRun{
		1: {ID: 1, Source: "fair", Kind: leadmailer.KindUpload, StartedAt: day(1)},
		2: {ID: 2, Source: "prh", Kind: leadmailer.KindPublic, StartedAt: day(2)},
		3: {ID: 3, Source: "prh", Kind: leadmailer.KindPublic, StartedAt: day(5)},
		4: {ID: 4, Source: "avoindata", Kind: leadmailer.KindPublic, StartedAt: day(3)},
		5: {ID: 5, Source: "site", Kind: leadmailer.KindWebsite, StartedAt: day(4)},
	}
	describe := func(name string) SourceInfo {
		if name == "prh" {
			return SourceInfo{Title: "YTJ", Licence: "CC BY 4.0"}
		}
		return SourceInfo{}
	}
	l := &leadmailer.Lead{ID: 9, Email: "a@x.example", Name: "Anna", Company: "Oy", City: "Oulu", BusinessID: "1234567-8", Phone: "", Website: "https://x.example"}
	l.FieldRuns[leadmailer.FieldEmail] = 1
	l.FieldRuns[leadmailer.FieldName] = 5
	l.FieldRuns[leadmailer.FieldCompany] = 2
	l.FieldRuns[leadmailer.FieldBusinessID] = 3
	l.FieldRuns[leadmailer.FieldCity] = 4
	l.FieldRuns[leadmailer.FieldPhone] = 3 // the value was emptied since: not named
	l.FieldRuns[leadmailer.FieldWebsite] = 0
	got, err := PublicSourcesOf(l, runs, describe)
	if err != nil {
		t.Fatal(err)
	}
	want := []PublicSource{
		{Name: "avoindata", Title: "avoindata", RetrievedAt: day(3), Fields: []leadmailer.Field{leadmailer.FieldCity}},
		{Name: "prh", Title: "YTJ", Licence: "CC BY 4.0", RetrievedAt: day(5), Fields: []leadmailer.Field{leadmailer.FieldCompany, leadmailer.FieldBusinessID}},
	}
	if len(got) != len(want) {
		t.Fatalf("PublicSourcesOf = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.Title != w.Title || g.Licence != w.Licence || !g.RetrievedAt.Equal(w.RetrievedAt) || !equalFields(g.Fields, w.Fields) {
			t.Errorf("source %d = %+v, want %+v", i, g, w)
		}
	}

	uploaded := &leadmailer.Lead{ID: 10, Email: "b@x.example"}
	uploaded.FieldRuns[leadmailer.FieldEmail] = 1
	if got, err := PublicSourcesOf(uploaded, runs, describe); err != nil || len(got) != 0 {
		t.Errorf("PublicSourcesOf(uploaded lead) = %+v, %v; want none", got, err)
	}

	l.FieldRuns[leadmailer.FieldName] = 77
	if _, err := PublicSourcesOf(l, runs, describe); err == nil {
		t.Error("PublicSourcesOf with a value from an unknown run succeeded, want an error")
	}
}

func equalFields(a, b []leadmailer.Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
