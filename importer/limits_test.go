package importer_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/leadmailer/leadmailer"
	"github.com/leadmailer/leadmailer/importer"
	"github.com/leadmailer/leadmailer/store/storetest"
)

// hostileSize is the size of the oversized parts of the hostile files: large enough that
// buffering one of them whole shows in the allocations, as a 50 MB header line once took
// gigabytes.
const hostileSize = 50 << 20

// writeHostile writes head, then n bytes repeating unit, then tail to a file in dir.
func writeHostile(t *testing.T, dir, name, head, unit string, n int, tail string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, head); err != nil {
		t.Fatal(err)
	}
	block := bytes.Repeat([]byte(unit), (64<<10)/max(len(unit), 1))
	for written := 0; written < n; written += len(block) {
		if _, err := f.Write(block); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := io.WriteString(f, tail); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// importAllocs imports the file at path into db and returns the report, the rejects, the
// error and the bytes allocated meanwhile.
func importAllocs(t *testing.T, path string) (*importer.Report, string, error, uint64) {
	t.Helper()
	db := storetest.Open(t, nil)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rejects bytes.Buffer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rep, err := importer.Import(context.Background(), db, f, importer.Options{Source: "test", Rejects: &rejects})
	runtime.ReadMemStats(&after)
	return rep, rejects.String(), err, after.TotalAlloc - before.TotalAlloc
}

// maxAllocs bounds what importing one hostile file may allocate in all: a small part of
// the file, so no oversized part of it was ever held whole.
const maxAllocs = 16 << 20

// TestHostileHeaderRefused imports files whose header row is enormous and checks that the
// import fails naming the limit, having read little of the file.
func TestHostileHeaderRefused(t *testing.T) {
	dir := t.TempDir()
	many := make([]string, importer.MaxColumns+1)
	for i := range many {
		many[i] = "c"
	}
	tests := []struct {
		name    string
		path    string
		mention string
	}{
		{"25 million columns", writeHostile(t, dir, "columns.csv", "email", ",x", hostileSize, "\na@example.com\n"), "1000 columns"},
		{"1001 columns", writeHostile(t, dir, "1001.csv", "email,"+strings.Join(many, ","), "", 0, "\na@example.com\n"), "1000 columns"},
		{"one 50 MB column name", writeHostile(t, dir, "name.csv", "email,", "n", hostileSize, "\na@example.com,x\n"), "64 KiB"},
		{"an unclosed quote in the header", writeHostile(t, dir, "quote.csv", `email,"`, "n,\n", hostileSize, "\n"), "64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err, allocs := importAllocs(t, tt.path)
			if code := leadmailer.ErrorCode(err); code != leadmailer.EINVALID {
				t.Fatalf("Import() error %v (code %q), want code %q", err, code, leadmailer.EINVALID)
			}
			if !strings.Contains(err.Error(), tt.mention) || len(err.Error()) > 500 {
				t.Errorf("error %q does not name the limit (%s) briefly", err, tt.mention)
			}
			if allocs > maxAllocs {
				t.Errorf("the import allocated %d MB, want at most %d MB", allocs>>20, maxAllocs>>20)
			}
		})
	}
}

// TestHostileRowsRejected imports files with one enormous row between good ones and checks
// that the row alone is rejected naming the limit, with the right line numbers, and that
// the rows after it are stored.
func TestHostileRowsRejected(t *testing.T) {
	dir := t.TempDir()
	const head = "email,name\nfirst@example.com,First\n"
	const tail = "\nlast@example.com,Last\n"
	tests := []struct {
		name    string
		path    string
		rejects []reject
	}{{
		name:    "a 50 MB field",
		path:    writeHostile(t, dir, "field.csv", head+"big@example.com,", "x", hostileSize, tail),
		rejects: []reject{{"3", "longer than 1 MiB"}},
	}, {
		name:    "a 50 MB quoted field of many lines",
		path:    writeHostile(t, dir, "lines.csv", head+`big@example.com,"`, "x\n", hostileSize, `"`+tail),
		rejects: []reject{{"3", "longer than 1 MiB"}},
	}, {
		name:    "25 million columns in a row",
		path:    writeHostile(t, dir, "columns.csv", head+"big@example.com", ",x", hostileSize, tail),
		rejects: []reject{{"3", "1000 columns"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, rejects, err, allocs := importAllocs(t, tt.path)
			if err != nil {
				t.Fatalf("Import(): %v", err)
			}
			checkRejects(t, rejects, tt.rejects)
			if want := (leadmailer.ImportCounts{Read: 3, Inserted: 2, Rejected: 1}); rep.Run.Counts != want {
				t.Errorf("counts %+v, want %+v", rep.Run.Counts, want)
			}
			if len(rejects) > 1000 {
				t.Errorf("the rejects file holds %d bytes of the row, want its reason only", len(rejects))
			}
			if allocs > maxAllocs {
				t.Errorf("the import allocated %d MB, want at most %d MB", allocs>>20, maxAllocs>>20)
			}
		})
	}
}
