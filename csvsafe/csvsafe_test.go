package csvsafe_test

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"

	"github.com/leadmailer/leadmailer/csvsafe"
)

func TestCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{`=HYPERLINK("http://x","Open")`, `'=HYPERLINK("http://x","Open")`},
		{"+358 40 123 4567", "'+358 40 123 4567"}, // the OWASP trade-off: a phone gets it too
		{"-12", "'-12"},
		{"@SUM(A1:A9)", "'@SUM(A1:A9)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"'=already neutral", "'=already neutral"},
		{"Virtanen Oy", "Virtanen Oy"},
		{"a=b", "a=b"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := csvsafe.Cell(tt.in); got != tt.want {
			t.Errorf("Cell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestWriterQuotesEveryCell: a spreadsheet splitting on semicolons cannot find a formula
// after one inside a cell, because every cell is quoted.
func TestWriterQuotesEveryCell(t *testing.T) {
	var buf bytes.Buffer
	w := csvsafe.NewWriter(&buf)
	w.Write([]string{"company", "phone"})
	w.Write([]string{`x;=cmd|' /C calc'!A0`, "+358401234567"})
	w.Write([]string{`say "hi"`, ""})
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	want := "\"company\",\"phone\"\n" +
		"\"x;=cmd|' /C calc'!A0\",\"'+358401234567\"\n" +
		"\"say \"\"hi\"\"\",\"\"\n"
	if got := buf.String(); got != want {
		t.Errorf("wrote\n%s\nwant\n%s", got, want)
	}
}

// FuzzWriter: whatever the cells, the file reads back as the same records, each cell as
// Cell made it, and no cell starts a formula.
func FuzzWriter(f *testing.F) {
	f.Add("=1+1", "a,b", "\"q\"")
	f.Add("\r\n", "-", "'+")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		in := []string{a, b, c}
		var buf bytes.Buffer
		w := csvsafe.NewWriter(&buf)
		w.Write(in)
		w.Flush()
		if err := w.Error(); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(&buf)
		r.LazyQuotes = false
		got, err := r.Read()
		if err != nil {
			t.Fatalf("read back %q: %v", buf.String(), err)
		}
		want := []string{csvsafe.Cell(a), csvsafe.Cell(b), csvsafe.Cell(c)}
		// encoding/csv reads \r\n inside a quoted cell as \n.
		for i := range want {
			want[i] = string(bytes.ReplaceAll([]byte(want[i]), []byte("\r\n"), []byte("\n")))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("read back %q, want %q", got, want)
		}
		for _, cell := range got {
			if cell != "" && bytes.ContainsRune([]byte("=+-@\t\r"), rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	})
}
