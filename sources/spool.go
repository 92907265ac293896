package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

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
