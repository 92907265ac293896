package rejectfiles

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer/store"
)

// copyDir copies the files of testdata/rejects into a new folder, with mode 0640.
func copyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir("testdata/rejects")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata/rejects", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Erasure leaves each rejects file as testdata/erased has it: without the person's rows,
// however the address was written, and every other row as it was, byte for byte. A file it
// cannot read is named in the error and left alone, and the others are still rewritten.
func TestErase(t *testing.T) {
	dir := copyDir(t)
	er, err := Erase(dir, " ANNA@x.FI")
	if want := (Erased{Rows: 3, Files: 1}); er != want {
		t.Errorf("Erase = %+v, want %+v", er, want)
	}
	broken := filepath.Join(dir, "run-8.csv")
	if err == nil || !strings.Contains(err.Error(), broken) || !strings.Contains(err.Error(), "left as it was") {
		t.Errorf("Erase error = %v, want one naming %s and saying it was left as it was", err, broken)
	}
	for _, name := range []string{"upload-20250101T120000.csv", "run-7.csv", "run-8.csv"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata/erased", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s after erasure:\n%s\nwant:\n%s", name, got, want)
		}
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Mode().Perm() != 0o640 {
			t.Errorf("%s after erasure: mode %v, %v; want 0640 as before", name, info.Mode(), err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".erase-*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %q", left)
	}
	if er, err := Erase(filepath.Join(dir, "none"), "anna@x.fi"); err != nil || er != (Erased{}) {
		t.Errorf("Erase of a missing folder = %+v, %v; want nothing and no error", er, err)
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		cell, erased string
		want         bool
	}{
		{"anna@x.fi", "anna@x.fi", true},
		{" Anna@X.FI\t", "anna@x.fi", true},
		{"anna@x.fi", "ANNA@x.fi ", true},
		{"'-anna@x.fi", "-anna@x.fi", true}, // neutralised for spreadsheets
		{"'anna@x.fi", "anna@x.fi", false},  // a quote that neutralises nothing is the address's own
		{"'-anna@x.fi", "anna@x.fi", false},
		{"anna@@x.fi", "anna@x.fi", false},
		{"Not An Address", "not an address", true},
		{"", "anna@x.fi", false},
		{"anna@x.fi.example", "anna@x.fi", false},
	} {
		if got := matches(c.cell, store.RejectEmailKey(c.erased)); got != c.want {
			t.Errorf("matches(%q, key of %q) = %v, want %v", c.cell, c.erased, got, c.want)
		}
	}
}

// A row with no end (an unclosed quote) is refused after MaxRowBytes: erasure never holds a
// whole hostile file, and leaves it as it was.
func TestEraseMemoryBound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run-1.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("row,reason,email\n2,bad,anna@x.fi\n3,\"bad")
	line := strings.Repeat("anna@x.fi ", 100) + "\n"
	for range (64 << 20) / len(line) {
		w.WriteString(line)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	before, _ := os.Stat(path)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	_, err = Erase(dir, "anna@x.fi")
	runtime.ReadMemStats(&m1)
	if err == nil || !strings.Contains(err.Error(), "longer than 4 MiB") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("Erase error = %v, want one saying line 3 is longer than 4 MiB", err)
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 16<<20 {
		t.Errorf("erasing in a 64 MiB file with an endless row allocated %d MiB, want at most 16", alloc>>20)
	}
	if after, _ := os.Stat(path); after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the file was changed: size %d, want %d", after.Size(), before.Size())
	}
}

// FuzzFilter feeds arbitrary rejects files through the rewriting: it must never panic, and
// when it succeeds, the rows it wrote must be the rows encoding/csv reads from the input,
// less exactly those whose email column matches.
func FuzzFilter(f *testing.F) {
	for _, name := range []string{"upload-20250101T120000.csv", "run-7.csv", "run-8.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata/rejects", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "anna@x.fi")
	}
	f.Add([]byte("email\n\"a\r\nb\"\r\n\n\nA\n"), "a")
	f.Add([]byte("\uFEFFEmail,x\n'-a@b.c,1\na\"b,2\n"), "-a@b.c")
	f.Fuzz(func(t *testing.T, data []byte, erased string) {
		key := store.RejectEmailKey(erased)
		if key == "" {
			return
		}
		var out bytes.Buffer
		removed, err := filter(bytes.NewReader(data), &out, key)
		if err != nil {
			return // Erase leaves such a file as it was
		}
		in, err := readAll(data)
		if err != nil {
			t.Fatalf("filter accepted what encoding/csv refuses (%v)", err)
		}
		var want [][]string
		for i, rec := range in {
			if i > 0 && slices.ContainsFunc(emailColumn(in[0]), func(col int) bool { return col < len(rec) && matches(rec[col], key) }) {
				continue
			}
			want = append(want, rec)
		}
		got, err := readAll(out.Bytes())
		if err != nil {
			t.Fatalf("the rewritten file does not read as CSV: %v", err)
		}
		if len(got) != len(want) || int64(len(in)-len(got)) != removed {
			t.Fatalf("kept %d rows and counted %d removed, of %d; want %d kept", len(got), removed, len(in), len(want))
		}
		for i := range got {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("row %d = %q, want %q", i, got[i], want[i])
			}
		}
	})
}

func readAll(data []byte) ([][]string, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	var recs [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
}

// emailColumn is the first email column of a header, as the test reads it.
func emailColumn(header []string) []int {
	for i, name := range header {
		if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(name, "\uFEFF")), "email") {
			return []int{i}
		}
	}
	return nil
}
