package importer

import (
	"fmt"
	"testing"
)

func TestListSome(t *testing.T) {
	names := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint("c", i+1)
		}
		return s
	}
	tests := []struct {
		n    int
		want string
	}{
		{0, ""},
		{1, "c1"},
		{MaxListed, "c1, c2, c3, c4, c5, c6, c7, c8, c9, c10"},
		{MaxListed + 1, "c1, c2, c3, c4, c5, c6, c7, c8, c9, c10 and 1 more (11 columns in all)"},
		{MaxColumns, "c1, c2, c3, c4, c5, c6, c7, c8, c9, c10 and 990 more (1000 columns in all)"},
	}
	for _, tt := range tests {
		if got := ListSome(names(tt.n)); got != tt.want {
			t.Errorf("ListSome of %d names = %q, want %q", tt.n, got, tt.want)
		}
	}
}
