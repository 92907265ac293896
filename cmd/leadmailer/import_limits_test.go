//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// maxImportRSS is the peak memory an import may take, whatever the file.
const maxImportRSS = 150 << 20

// TestHostileImportsBoundedMemory runs leadmailer import as its own process on files built to
// exhaust memory and checks what the user sees (a short error or report naming the limit)
// and the process's peak RSS: a 50 MB header line once took 6.6 GB and printed megabytes of
// column names.
func TestHostileImportsBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 50 MB files")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	lm(t, data, "init")
	// The files are written in pieces, so that this process stays small while it writes them.
	write := func(name string, parts ...[]byte) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, part := range parts {
			if _, err := f.Write(part); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// big writes n bytes repeating unit.
	big := func(name string, head, unit string, n int, tail string) string {
		block := bytes.Repeat([]byte(unit), (64<<10)/len(unit))
		parts := [][]byte{[]byte(head)}
		for written := 0; written < n; written += len(block) {
			parts = append(parts, block) // the same block each time: no memory per part
		}
		return write(name, append(parts, []byte(tail))...)
	}
	cols := make([]string, 999)
	for i := range cols {
		cols[i] = "extra"
	}
	tests := []struct {
		name    string
		file    string
		ok      bool
		mention []string
	}{
		{"a 50 MB header of 25 million columns", big("columns.csv", "email", ",x", 50<<20, "\na@example.com\n"),
			false, []string{"1000 columns"}},
		{"a 50 MB field", big("field.csv", "email,name\nbig@example.com,", "x", 50<<20, "\na@example.com,A\n"),
			true, []string{"rejected 1", "inserted 1"}},
		{"999 columns not stored", write("wide.csv", []byte("email,"+strings.Join(cols, ",")+"\na@example.com"+strings.Repeat(",v", 999)+"\n")),
			true, []string{"Not stored (no matching field): extra, extra", "and 989 more (999 columns in all)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startLeadmailer(t, "import", tt.file, "--source", "hostile", "--data", data)
			peakRSS := watchPeakRSS(c)
			code := c.wait(t, 120*time.Second)
			out := c.stdout.String() + c.stderr.String()
			if (code == exitOK) != tt.ok {
				t.Errorf("exit %d, want success %v\n%s", code, tt.ok, out)
			}
			mustContain(t, "import", squash(out), tt.mention...)
			if len(out) > 4000 {
				t.Errorf("the import printed %d bytes, want a short report", len(out))
			}
			peak := peakRSS()
			t.Logf("peak RSS %d MB", peak>>20)
			if peak > maxImportRSS {
				t.Errorf("peak RSS %d MB, want at most %d MB", peak>>20, maxImportRSS>>20)
			}
		})
	}
}

// watchPeakRSS follows a child's own peak resident memory (VmHWM) until it exits, and
// returns a function giving the last value read. getrusage would not do: for a child
// started by vfork, as os/exec starts them, Linux counts the parent's peak in the child's.
// VmHWM only grows, so the last read before the exit misses at most the final milliseconds.
func watchPeakRSS(c *child) func() int64 {
	var peak atomic.Int64
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		path := fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid)
		for {
			if status, err := os.ReadFile(path); err == nil {
				for _, line := range strings.Split(string(status), "\n") {
					if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64); err == nil {
							peak.Store(max(peak.Load(), kb<<10))
						}
					}
				}
			}
			select {
			case <-c.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int64 { <-stopped; return peak.Load() }
}

// TestFirstImportIntoNewDataDirectory: an import into a data directory it creates peaks no
// higher than one into a directory init made, and under maxImportRSS. On a brand-new database
// SQLite counted the 16 MiB page cache in 4 KiB pages and kept that count when the page size
// became 16 KiB, and such an import peaked 50 MB higher (133 against 85 MB for 300,000 rows).
func TestFirstImportIntoNewDataDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 300,000 rows twice")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "leads.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "Email,First name,Last name,Company,Country,Job title,City")
	for i := range 300_000 {
		fmt.Fprintf(w, "person%d@example-%d.com,Anna,Virtanen %d,\"Company %d, Ltd\",FI,CEO,Helsinki\n", i, i%5000, i, i/3)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	peakOf := func(data string) int64 {
		t.Helper()
		c := startLeadmailer(t, "import", file, "--source", "bench", "--data", data)
		peakRSS := watchPeakRSS(c)
		if code := c.wait(t, 300*time.Second); code != exitOK {
			t.Fatalf("import into %s: exit %d\n%s%s", data, code, c.stdout.String(), c.stderr.String())
		}
		mustContain(t, "import", squash(c.stdout.String()), "inserted 300000")
		return peakRSS()
	}
	initialised := filepath.Join(dir, "initialised")
	lm(t, initialised, "init")
	afterInit := peakOf(initialised)
	fresh := peakOf(filepath.Join(dir, "new"))
	t.Logf("peak RSS: %d MB into a new data directory, %d MB after init", fresh>>20, afterInit>>20)
	if fresh > afterInit+15<<20 {
		t.Errorf("the import into a new data directory peaked at %d MB, %d MB more than after init (%d MB)",
			fresh>>20, (fresh-afterInit)>>20, afterInit>>20)
	}
	if fresh > maxImportRSS || afterInit > maxImportRSS {
		t.Errorf("peak RSS %d and %d MB, want at most %d MB", fresh>>20, afterInit>>20, maxImportRSS>>20)
	}
}
