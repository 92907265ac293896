package web

import (
	"html/template"
	"strings"
	"testing"
)

// TestCountGroupsDigits: a count in a sentence prints its number as num does in a table,
// "12 345 leads" and not "12345 leads".
func TestCountGroupsDigits(t *testing.T) {
	page := template.Must(template.New("t").Funcs(funcs).Parse(`{{num .}}|{{count . "lead" "leads"}}`))
	const nb = "\u202f" // narrow no-break space, num's digit separator
	tests := []struct {
		n         int64
		num, text string
	}{
		{0, "0", "0 leads"},
		{1, "1", "1 lead"},
		{999, "999", "999 leads"},
		{1000, "1" + nb + "000", "1" + nb + "000 leads"},
		{12345, "12" + nb + "345", "12" + nb + "345 leads"},
		{1234567, "1" + nb + "234" + nb + "567", "1" + nb + "234" + nb + "567 leads"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := page.Execute(&b, tt.n); err != nil {
			t.Fatal(err)
		}
		if got, want := b.String(), tt.num+"|"+tt.text; got != want {
			t.Errorf("%d: num|count printed %q, want %q", tt.n, got, want)
		}
	}
}
