package store

import (
	"strings"
	"testing"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT * FROM t WHERE a = ? AND b = ?`, `SELECT * FROM t WHERE a = $1 AND b = $2`},
		{`UPDATE t SET a = ?1, b = ?2 WHERE c = ?1`, `UPDATE t SET a = $1, b = $2 WHERE c = $1`},
		// SQLite numbers a bare ? one past the highest number so far.
		{`VALUES (?2, ?, ?1, ?)`, `VALUES ($2, $3, $1, $4)`},
		{`SELECT 'what?', "odd?col", ? -- really?` + "\n" + `/* and? */ ?`, `SELECT 'what?', "odd?col", $1 -- really?` + "\n" + `/* and? */ $2`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`SELECT 'unterminated ?`, `SELECT 'unterminated ?`},
		{`SELECT ? -- no newline ?`, `SELECT $1 -- no newline ?`},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// FuzzRebind checks that rewriting placeholders never touches anything else: with every
// $n put back as ?n, the text is the input with its bare ? numbered.
func FuzzRebind(f *testing.F) {
	for _, s := range []string{`SELECT ?`, `?1 ?2 ?`, `'?' "?" -- ?`, "/* ? */ ?\n?", `'a''b' ?`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if strings.Contains(q, "$") {
			t.Skip()
		}
		got := rebind(q)
		if !strings.Contains(q, "?") && got != q {
			t.Fatalf("rebind(%q) = %q, changed a query without placeholders", q, got)
		}
		if strings.Count(got, "?") > strings.Count(q, "?") {
			t.Fatalf("rebind(%q) = %q added question marks", q, got)
		}
		back := strings.ReplaceAll(got, "$", "?")
		// Only digits may have been added, after a placeholder.
		if len(back) < len(q) {
			t.Fatalf("rebind(%q) = %q lost text", q, got)
		}
		if stripDigits(back) != stripDigits(q) {
			t.Fatalf("rebind(%q) = %q changed more than placeholders", q, got)
		}
	})
}

func stripDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, s)
}
