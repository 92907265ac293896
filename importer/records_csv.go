package importer

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/leadmailer/leadmailer"
)

// CSVRecords reads the records of a CSV source whose columns a source's field mapping names.
// Encoding and delimiter are detected as for an upload; headers match ignoring case, spaces
// and punctuation.
type CSVRecords struct {
	in          *csvInput
	cols        [leadmailer.NumFields]int // column of each field; -1 when not mapped
	idCol       int                       // -1 when no id column
	width       int
	origin      string
	retrievedAt time.Time
	columns     []Column
	// Encoding and Delimiter are what detection found.
	Encoding, Delimiter string
}

// NewCSVRecords reads the header of r and maps fields (lead field name -> header) and
// idHeader to its columns. A mapped header the file lacks fails, naming the header and the
// file's actual ones: the source has changed its format and the mapping needs fixing.
func NewCSVRecords(r io.Reader, fields map[string]string, idHeader, origin string, retrievedAt time.Time) (*CSVRecords, error) {
	in, err := openCSV(r, "", "")
	if err != nil {
		return nil, err
	}
	header, enc, delim := in.header, in.encoding, in.delim
	c := &CSVRecords{in: in, idCol: -1, width: len(header), origin: origin, retrievedAt: retrievedAt,
		Encoding: enc, Delimiter: delimiterName(delim)}
	find := func(want string) int {
		for i, h := range header {
			if foldHeader(h) == foldHeader(want) {
				return i
			}
		}
		return -1
	}
	for i := range c.cols {
		c.cols[i] = -1
	}
	for _, f := range leadmailer.AllFields() {
		h, ok := fields[f.String()]
		if !ok {
			continue
		}
		i := find(h)
		if i < 0 {
			return nil, fmt.Errorf("fields.%s: the header has no column %q; it has %s", f, h, quoteAll(header))
		}
		c.cols[f] = i
		c.columns = append(c.columns, Column{Index: i + 1, Header: header[i], Field: f.String()})
	}
	if idHeader != "" {
		if c.idCol = find(idHeader); c.idCol < 0 {
			return nil, fmt.Errorf("id_field: the header has no column %q; it has %s", idHeader, quoteAll(header))
		}
	}
	return c, nil
}

// Columns lists the mapped columns, for the report.
func (c *CSVRecords) Columns() []Column { return c.columns }

// Next returns the next record. A line that cannot be read as CSV, or has the wrong number
// of fields, comes back as a record with Err set, to be rejected on its own.
func (c *CSVRecords) Next() (*Record, error) {
	for {
		rec, info, err := c.in.read()
		r := &Record{Origin: c.origin, RetrievedAt: c.retrievedAt}
		if info.over != nil {
			r.Where, r.Err = fmt.Sprintf("line %d", info.line), info.over.Error()
			return r, nil
		}
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read %s: %w", c.origin, err)
			}
			r.Where, r.Err = fmt.Sprintf("line %d", pe.StartLine), csvErrorReason(pe)
			return r, nil
		}
		if isBlank(rec) {
			continue
		}
		line, _ := c.in.cr.FieldPos(0)
		r.Where = fmt.Sprintf("line %d", line)
		if info.badByte >= 0 {
			r.Err = badByteReason(info.badByte)
			return r, nil
		}
		if len(rec) != c.width {
			r.Err = fmt.Sprintf("row has %d fields but the header has %d: check for a cut-off line or an unquoted delimiter inside a value", len(rec), c.width)
			return r, nil
		}
		for f, col := range c.cols {
			if col >= 0 {
				r.Raw[f] = rec[col]
			}
		}
		if c.idCol >= 0 {
			r.ID = rec[c.idCol]
		}
		return r, nil
	}
}
