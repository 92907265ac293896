package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/leadmailer/leadmailer/csvsafe"
)

// RejectsFile is a file an import writes its rejected rows to, besides the database (the
// CLI's --rejects). It creates its file on the first
// write, so that an import with no rejects leaves no empty file behind.
type RejectsFile struct {
	// Path is the file to write.
	Path string

	f   *os.File
	err error
}

// Write writes p, creating the file (and its directory) first if needed.
func (r *RejectsFile) Write(p []byte) (int, error) {
	if r.f == nil && r.err == nil {
		if r.err = os.MkdirAll(filepath.Dir(r.Path), 0o700); r.err == nil {
			r.f, r.err = os.OpenFile(r.Path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		}
		if r.f != nil {
			r.Path = r.f.Name()
		}
	}
	if r.err != nil {
		return 0, r.err
	}
	return r.f.Write(p)
}

// Created returns the file's path if anything was written to it, and "" otherwise.
func (r *RejectsFile) Created() string {
	if r.f == nil {
		return ""
	}
	return r.Path
}

// Close closes the file if it was created. Closing twice is fine.
func (r *RejectsFile) Close() error {
	if r.f == nil {
		return r.err
	}
	err := r.f.Close()
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// LegacyRejectsPath is where a web or API import of an older version, which kept rejected
// rows in files, left those of run runID. Runs of this version store them in the database.
func LegacyRejectsPath(dataDir string, runID int64) string {
	return filepath.Join(dataDir, "rejects", fmt.Sprintf("run-%d.csv", runID))
}

// CopyRejectsFile copies a rejects file from src to dst, a record at a time. A file written
// by an older version may not be neutralised against spreadsheet formulas; it is on the way
// out, which leaves one that is as it was.
func CopyRejectsFile(dst *csvsafe.Writer, src io.Reader) error {
	in := csv.NewReader(src)
	in.FieldsPerRecord = -1
	in.ReuseRecord = true
	for {
		rec, err := in.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := dst.Write(rec); err != nil {
			return err
		}
	}
	dst.Flush()
	return dst.Error()
}
