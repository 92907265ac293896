package feedback

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func split(t *testing.T, mbox string, max int64) (msgs []string, large []int) {
	t.Helper()
	err := splitMbox(bufio.NewReaderSize(strings.NewReader(mbox), 16), max, func(n int, msg []byte, tooLarge bool) error {
		if tooLarge {
			large = append(large, n)
		}
		msgs = append(msgs, string(msg))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msgs, large
}

func TestSplitMbox(t *testing.T) {
	tests := []struct {
		name  string
		mbox  string
		max   int64
		want  []string
		large []int
	}{
		{"two", "From a\nSubject: 1\n\nbody\n\nFrom b\nSubject: 2\n\nx\n", 1000, []string{"Subject: 1\n\nbody\n\n", "Subject: 2\n\nx\n"}, nil},
		{"From inside a paragraph is text", "From a\nS: 1\n\nline\nFrom here on\n", 1000, []string{"S: 1\n\nline\nFrom here on\n"}, nil},
		{"mboxrd quoting", "From a\nS: 1\n\n>From the start\n>>From deeper\n", 1000, []string{"S: 1\n\nFrom the start\n>From deeper\n"}, nil},
		{"long line split by the buffer", "From a\nS: " + strings.Repeat("x", 100) + "\n\nFrom b\nS: 2\n", 1000, []string{"S: " + strings.Repeat("x", 100) + "\n\n", "S: 2\n"}, nil},
		{"too large is skipped", "From a\nS: " + strings.Repeat("x", 100) + "\n\nFrom b\nS: 2\n", 50, []string{"", "S: 2\n"}, []int{1}},
		{"junk before the first From", "junk\n\nFrom a\nS: 1\n", 1000, []string{"S: 1\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, large := split(t, tt.mbox, tt.max)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(large) != len(tt.large) {
				t.Errorf("messages %q (too large %v); want %q (too large %v)", got, large, tt.want, tt.large)
			}
		})
	}
}

// Whatever the mbox, every message passed is within the limit and came from the input.
func FuzzSplitMbox(f *testing.F) {
	f.Add([]byte("From a\nS: 1\n\nbody\n\nFrom b\n>From x\n"), int64(100))
	f.Add([]byte("From \n\n\nFrom \r\nFrom "), int64(3))
	f.Fuzz(func(t *testing.T, mbox []byte, max int64) {
		if max <= 0 || max > 1<<20 {
			return
		}
		err := splitMbox(bufio.NewReaderSize(bytes.NewReader(mbox), 16), max, func(n int, msg []byte, tooLarge bool) error {
			if int64(len(msg)) > max {
				t.Fatalf("message %d has %d bytes over the limit %d", n, len(msg), max)
			}
			if tooLarge && len(msg) > 0 {
				t.Fatalf("message %d is too large but has bytes", n)
			}
			if len(msg) > len(mbox) {
				t.Fatalf("message %d is longer than the input", n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
