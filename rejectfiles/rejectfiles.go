// Package rejectfiles looks after the rejects files in a data directory's rejects folder:
// one CSV file per import run (NAME-TIME.csv from the command line, run-N.csv from the web
// app and the API) with the rows the import rejected, in the columns row, reason, email,
// name, company, country, business_id, job_title, website, phone, city. Older versions kept
// every run's rejected rows there, and a data directory they made keeps its files. The rows
// are what anyone put in a file or a form about a person, so erasure and retention reach
// them as they reach the database: Erase drops one person's rows from every file, Expire
// deletes the files older than the retention period.
//
// Erase rewrites a file by streaming it into a temporary file in the same folder, which then
// replaces it: memory stays bounded by the longest row (MaxRowBytes), and a file whose
// rewriting fails is left as it was. The rows kept are copied byte for byte. Calls on one
// folder must not overlap (erasure and retention run one at a time): two rewrites of the
// same file at once could put back rows the other removed.
package rejectfiles

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/leadmailer/leadmailer/store"
)

// MaxRowBytes bounds one row of a rejects file, line breaks inside quoted values included.
// A rejected row holds at most one input row (the importer refuses rows over 1 MiB) with its
// reason, its quotes doubled; a longer one means the file is not one leadmailer wrote.
const MaxRowBytes = 4 << 20

// Dir is the rejects folder of the data directory dataDir.
func Dir(dataDir string) string { return filepath.Join(dataDir, "rejects") }

// Erased counts what Erase removed.
type Erased struct {
	Rows  int64 `json:"rows"`  // rejected rows that carried the address
	Files int64 `json:"files"` // files rewritten without them
}

// Erase removes from every rejects file in dir the rows whose email column holds email, as
// RejectEmailKey reads both, so that the address matches however it was written in the
// file. A missing dir holds nothing. A file that cannot be rewritten is left as it was and
// named in the error; the other files are still rewritten, and their rows counted.
func Erase(dir, email string) (Erased, error) {
	var er Erased
	key := store.RejectEmailKey(email)
	if key == "" {
		return er, errors.New("erase rejected rows: no address given")
	}
	paths, err := list(dir)
	if err != nil {
		return er, err
	}
	var errs []error
	for _, path := range paths {
		n, err := eraseFile(path, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("rejects file %s: %w; it was left as it was: remove the rows with this address by hand, or delete the file", path, err))
			continue
		}
		if n > 0 {
			er.Rows += n
			er.Files++
		}
	}
	return er, errors.Join(errs...)
}

// list returns the rejects files in dir: its *.csv files.
func list(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the rejects folder: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".csv") {
			paths = append(paths, filepath.Join(dir, e.Name()))
		}
	}
	return paths, nil
}

// eraseFile rewrites the file at path without the rows whose address has key, and returns how
// many it removed. A file with none is not rewritten.
func eraseFile(path, key string) (removed int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	// The temporary file's name does not end in .csv, so that a crash cannot leave it to
	// be taken for a rejects file.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".erase-*.tmp")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil || removed == 0 {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	out := bufio.NewWriterSize(tmp, 64<<10)
	if removed, err = filter(f, out, key); err != nil || removed == 0 {
		return 0, err
	}
	if err := out.Flush(); err != nil {
		return 0, err
	}
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	// The rename itself must reach the disk, or a crash could bring the old file back.
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return removed, nil
}

// filter copies a rejects file from r to w without the rows whose email column has key, and
// returns how many rows it left out. The header and every other row, blank lines included,
// are copied exactly as they were. r must be CSV as encoding/csv reads it, with a header
// naming an email column.
func filter(r io.Reader, w io.Writer, key string) (removed int64, err error) {
	rows := &rowReader{r: bufio.NewReaderSize(r, 64<<10)}
	emailCol := -1
	for {
		raw, line, err := rows.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		rec, err := parseRow(raw)
		if err != nil {
			return 0, fmt.Errorf("line %d: %w", line, err)
		}
		switch {
		case rec == nil: // a blank line
		case emailCol < 0:
			for i, name := range rec {
				if i == 0 {
					name = strings.TrimPrefix(name, "\uFEFF")
				}
				if strings.EqualFold(strings.TrimSpace(name), "email") {
					emailCol = i
					break
				}
			}
			if emailCol < 0 {
				return 0, fmt.Errorf("line %d: the header has no email column", line)
			}
		case emailCol < len(rec) && matches(rec[emailCol], key):
			removed++
			continue
		}
		if _, err := w.Write(raw); err != nil {
			return 0, err
		}
	}
	return removed, nil
}

// matches reports whether the email cell of a rejects file holds the address key. A cell
// written neutralised for spreadsheets ("'-anna@example.fi", see csvsafe) matches without its
// quote too: erasure errs towards removing the person's row.
func matches(cell, key string) bool {
	if store.RejectEmailKey(cell) == key {
		return true
	}
	if len(cell) > 1 && cell[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(cell[1])) {
		return store.RejectEmailKey(cell[1:]) == key
	}
	return false
}

// parseRow reads the one CSV record in raw, nil for a blank line.
func parseRow(raw []byte) ([]string, error) {
	cr := csv.NewReader(bytes.NewReader(raw))
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := cr.Read(); err != io.EOF {
		// The row's bounds were found by its quotes, as encoding/csv finds them; more
		// than one record here means the two disagree, and the file is left alone.
		return nil, errors.New("cannot tell where the row ends")
	}
	return rec, nil
}

// rowReader splits CSV input into its rows' bytes, each with its line break: a row ends at a
// line break outside quotes. It never holds more than MaxRowBytes of one row.
type rowReader struct {
	r    *bufio.Reader
	buf  []byte
	line int // lines read before the current row
}

// next returns the next row's bytes, valid until the next call, and the line it starts on.
func (rr *rowReader) next() ([]byte, int, error) {
	rr.buf = rr.buf[:0]
	start := rr.line + 1
	inQuotes := false
	for {
		part, err := rr.r.ReadSlice('\n')
		if len(rr.buf)+len(part) > MaxRowBytes {
			rr.buf = nil
			return nil, start, fmt.Errorf("line %d: the row is longer than %d MiB, the most a rejects file's row may be", start, MaxRowBytes>>20)
		}
		if need := len(rr.buf) + len(part); need > cap(rr.buf) {
			// Doubling, rather than append's slower growth of large slices, keeps what one
			// long row allocates in all to twice its length.
			grown := make([]byte, len(rr.buf), min(max(2*cap(rr.buf), need), MaxRowBytes))
			copy(grown, rr.buf)
			rr.buf = grown
		}
		rr.buf = append(rr.buf, part...)
		inQuotes = inQuotes != (bytes.Count(part, []byte{'"'})%2 == 1)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(rr.buf) == 0 {
				return nil, start, io.EOF
			}
			return rr.buf, start, nil
		case err != nil:
			return nil, start, err
		}
		rr.line++
		if !inQuotes {
			return rr.buf, start, nil
		}
	}
}

// Expired counts what Expire deleted, or with a dry run would delete.
type Expired struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
}

// Expire deletes the rejects files in dir last written before before; with dryRun it only
// counts them. A missing dir holds nothing.
func Expire(dir string, before time.Time, dryRun bool) (Expired, error) {
	var ex Expired
	paths, err := list(dir)
	if err != nil {
		return ex, err
	}
	var errs []error
	for _, path := range paths {
		info, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("rejects file %s: %w", path, err))
			continue
		}
		if !info.ModTime().Before(before) {
			continue
		}
		if !dryRun {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("delete rejects file %s: %w", path, err))
				continue
			}
		}
		ex.Files++
		ex.Bytes += info.Size()
	}
	return ex, errors.Join(errs...)
}
