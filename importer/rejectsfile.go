package importer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// RejectsFile is where an import writes its rejected rows. It creates its file on the first
// write, so that an import with no rejects leaves no empty file behind.
type RejectsFile struct {
	// Path is the file to write.
	Path string
	// Unique never overwrites: when Path exists, a number goes before its extension
	// (rejects-2.csv), so two imports of one file in the same second keep both files.
	Unique bool

	f   *os.File
	err error
}

// Write writes p, creating the file (and its directory) first if needed.
func (r *RejectsFile) Write(p []byte) (int, error) {
	if r.f == nil && r.err == nil {
		if r.Unique {
			r.f, r.err = createUnique(r.Path)
		} else if r.err = os.MkdirAll(filepath.Dir(r.Path), 0o700); r.err == nil {
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

func createUnique(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	ext := filepath.Ext(path)
	base := strings.TrimSuffix(path, ext)
	for i := 1; ; i++ {
		p := path
		if i > 1 {
			p = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, os.ErrExist) || i >= 1000 {
			return f, err
		}
	}
}
