package templates

import (
	"errors"
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"
	"time"
)

// quick fails t unless f returns within max, and returns how long it took.
func quick(t *testing.T, max time.Duration, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if took := time.Since(start); took > max {
		t.Errorf("took %v, want under %v", took, max)
	}
}

// TestRangeRefused: {{range}} over a number, over a number-valued field, over a function's
// result, or nested too deep is refused by Compile, at its position, whichever part it is in.
// {{range 6000}}{{range 6000}}x{{end}}{{end}} once took 18 s and 190 MB at campaign creation.
func TestRangeRefused(t *testing.T) {
	tests := []struct {
		name              string
		c                 Campaign
		part              string
		wantLine, wantCol int
		wantMsg           string
	}{
		{"nested ranges over numbers", Campaign{Subject: "Hi", HTML: "<p>Hi</p>{{range 6000}}{{range 6000}}x{{end}}{{end}}"}, partHTML, 1, 10, "{{range}} over the number 6000 is not allowed"},
		{"range over a number-valued field", Campaign{Subject: "Hi", HTML: "<p>{{range .Lead.ID}}x{{end}}</p>"}, partHTML, 1, 4, "{{range}} over a number is not allowed"},
		{"range over a function's result", Campaign{Subject: "Hi", HTML: "<p>{{range len .Lead.Name}}x{{end}}</p>"}, partHTML, 1, 4, "not over a function's result"},
		{"range with a declaration over a number", Campaign{Subject: "Hi", HTML: "<p>Hi</p>", Text: "{{range $i := 6000}}x{{end}}"}, partText, 1, 1, "{{range}} over the number 6000"},
		{"range in the subject", Campaign{Subject: "{{range 99}}Hi{{end}}", HTML: "<p>Hi</p>"}, partSubject, 1, 1, "{{range}} over the number 99"},
		{"ranges nested three deep", Campaign{Subject: "Hi", HTML: "<p>{{range .Lead.FieldRuns}}{{range $.Lead.FieldRuns}}{{range $.Lead.FieldRuns}}x{{end}}{{end}}{{end}}</p>"}, partHTML, 1, 55, "nested at most 2 deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			quick(t, 200*time.Millisecond, func() { _, err = Compile(tc.c, testSender, Wordings{}) })
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile error = %v, want an *Error", err)
			}
			if e.Part != tc.part || e.Line != tc.wantLine || e.Column != tc.wantCol || !strings.Contains(e.Msg, tc.wantMsg) {
				t.Errorf("Compile error = %v (line %d, column %d), want %s at line %d, column %d, with %q", e, e.Line, e.Column, tc.part, tc.wantLine, tc.wantCol, tc.wantMsg)
			}
		})
	}
	t.Run("range over a field", func(t *testing.T) {
		if _, err := Compile(Campaign{Subject: "Hi", HTML: "<p>{{range .Lead.FieldRuns}}{{range $.Lead.FieldRuns}}.{{end}}{{end}}</p>"}, testSender, Wordings{}); err != nil {
			t.Errorf("Compile: %v", err)
		}
	})
}

// TestRenderLimits: even a template that escaped the compile-time rules (here the one that
// took 18 s, put into a compiled campaign directly) renders no message: the output is cut at
// the limit within a moment, with an error naming it.
func TestRenderLimits(t *testing.T) {
	good, err := Compile(Campaign{Subject: "Hi", HTML: "<p>Hi</p>", Text: "Hi"}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	const bomb = "{{range 6000}}{{range 6000}}x{{end}}{{end}}"
	tests := []struct {
		name    string
		edit    func(c *Compiled)
		wantMsg string
	}{
		{"html body", func(c *Compiled) {
			c.html = htmltemplate.Must(htmltemplate.New(partHTML).Parse("<p>" + bomb + "</p>"))
		}, "the html body renders to more than 1,000,000 bytes; at most 100,000 bytes are allowed (Gmail clips"},
		{"text body", func(c *Compiled) {
			c.text = texttemplate.Must(texttemplate.New(partText).Parse(bomb))
		}, "the text body renders to more than 1,000,000 bytes; at most 100,000 bytes are allowed"},
		{"subject", func(c *Compiled) {
			c.subject = texttemplate.Must(texttemplate.New(partSubject).Parse(bomb))
		}, "the subject renders to more than 40,000 bytes; at most 4,000 bytes are allowed"},
		// A body that is simply too long, as a pasted newsletter is, is told its size.
		{"html body over the limit alone", func(c *Compiled) {
			c.html = htmltemplate.Must(htmltemplate.New(partHTML).Parse("<p>" + strings.Repeat("x", 120_345-len("<p></p>")) + "</p>"))
		}, "the html body is 120,345 bytes; at most 100,000 bytes are allowed (Gmail clips"},
		{"html body rendering over the limit", func(c *Compiled) {
			c.html = htmltemplate.Must(htmltemplate.New(partHTML).Parse("<p>{{range 5}}" + strings.Repeat("x", 30_000) + "{{end}}</p>"))
		}, "the html body is 150,007 bytes"},
		{"text body over the limit alone", func(c *Compiled) {
			c.text = texttemplate.Must(texttemplate.New(partText).Parse(strings.Repeat("y", 100_001)))
		}, "the text body is 100,001 bytes; at most 100,000 bytes are allowed"},
		{"slow body", func(c *Compiled) {
			// Every write waits, as a body whose loops write a little at a time over
			// and over would.
			c.html = htmltemplate.Must(htmltemplate.New(partHTML).Funcs(htmltemplate.FuncMap{"slow": func() string { time.Sleep(time.Millisecond); return "x" }}).Parse("<p>{{range 6000}}{{slow}}{{end}}</p>"))
		}, "takes longer than 1s to render"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := *good
			tc.edit(&c)
			var m *Message
			quick(t, renderTimeout+500*time.Millisecond, func() { m, err = c.Render(hostileRecipient()) })
			if m != nil || !errors.Is(err, ErrRenderLimit) {
				t.Fatalf("Render = %v, %v; want no message and ErrRenderLimit", m != nil, err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Render error = %v, want %q", err, tc.wantMsg)
			}
		})
	}
}

// TestRenderLimitWithLayout: a body just under the HTML limit that the layout and notices
// take over it is told the size of the whole part, its digits grouped as in the other size
// errors. It once printed "renders to 100312 bytes ..., over the limit of 100000".
func TestRenderLimitWithLayout(t *testing.T) {
	const body = "<p>Hi</p>"
	good, err := Compile(Campaign{Subject: "Hi", HTML: body, Text: "Hi"}, testSender, Wordings{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := good.Render(hostileRecipient())
	if err != nil {
		t.Fatal(err)
	}
	layout := len(m.HTML) - len(body) // what the layout and notices add for this recipient

	big := "<p>" + strings.Repeat("x", maxHTMLBytes-100) + "</p>"
	c := *good
	c.html = htmltemplate.Must(htmltemplate.New(partHTML).Parse(big))
	_, err = c.Render(hostileRecipient())
	if !errors.Is(err, ErrRenderLimit) {
		t.Fatalf("Render error = %v, want ErrRenderLimit", err)
	}
	want := "the html body is " + groupDigits(len(big)+layout) +
		" bytes with the layout and notices; at most 100,000 bytes are allowed (Gmail clips"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Render error = %v, want %q", err, want)
	}
}
