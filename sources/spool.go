package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/leadmailer/leadmailer/importer"
)

// spool holds a run's fetched records in a temporary file, one JSON object per line, so that
// a source with a million records costs disk, not memory, until every page has arrived.
type spool struct {
	f   *os.File
	enc *json.Encoder
	dec *json.Decoder
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "leadmailer-spool-*")
	if err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	return &spool{f: f, enc: json.NewEncoder(f)}, nil
}

func (s *spool) add(r *importer.Record) error { return s.enc.Encode(r) }

func (s *spool) rewind() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	s.dec = json.NewDecoder(s.f)
	return nil
}

func (s *spool) Next() (*importer.Record, error) {
	var r importer.Record
	if err := s.dec.Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read spool: %w", err)
	}
	return &r, nil
}

func (s *spool) remove() {
	s.f.Close()
	os.Remove(s.f.Name())
}

// lazyFile creates its file on the first write, so that a run without rejects leaves no
// empty file; it never overwrites, adding a number to the name instead.
type lazyFile struct {
	path string
	f    *os.File
	err  error
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil && l.err == nil {
		l.f, l.err = createUnique(l.path)
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
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

func (l *lazyFile) created() string {
	if l.f == nil {
		return ""
	}
	return l.f.Name()
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return l.err
	}
	err := l.f.Close()
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}
