package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/leadmailer/leadmailer"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Encodings the importer reads, by the names --encoding accepts. Excel in Finland and Germany
// saves "CSV" as Windows-1252 unless told otherwise; ISO-8859-1 and -15 are its older cousins.
var encodings = map[string]encoding.Encoding{
	"utf-8":        unicode.UTF8,
	"utf-16le":     unicode.UTF16(unicode.LittleEndian, unicode.UseBOM),
	"utf-16be":     unicode.UTF16(unicode.BigEndian, unicode.UseBOM),
	"windows-1252": charmap.Windows1252,
	"iso-8859-1":   charmap.ISO8859_1,
	"iso-8859-15":  charmap.ISO8859_15,
}

// EncodingNames lists the names --encoding accepts.
func EncodingNames() []string {
	return []string{"utf-8", "utf-16le", "utf-16be", "windows-1252", "iso-8859-1", "iso-8859-15"}
}

// Delimiters the importer detects, most common first: a tie goes to the earlier one.
const delimiters = ",;\t|"

// sniffSize is how much of the input detection looks at.
const sniffSize = 64 << 10

// openText detects (or, when enc is set, applies) the input's encoding and returns a reader of
// UTF-8 text with any byte order mark removed, the encoding's name, and the number of bytes
// of byte order mark removed from UTF-8 input.
func openText(r io.Reader, enc string) (*bufio.Reader, string, int64, error) {
	raw := bufio.NewReaderSize(r, sniffSize)
	sample, err := raw.Peek(sniffSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, "", 0, fmt.Errorf("read input: %w", err)
	}
	if enc == "" {
		enc = detectEncoding(sample)
	}
	enc = strings.ToLower(enc)
	e, ok := encodings[enc]
	if !ok {
		return nil, "", 0, leadmailer.Errorf(leadmailer.EINVALID, "--encoding %q is not supported; use one of %s", enc, strings.Join(EncodingNames(), ", "))
	}
	var text io.Reader = raw
	var bom int64
	switch enc {
	case "utf-8":
		if bytes.HasPrefix(sample, []byte("\xef\xbb\xbf")) {
			raw.Discard(3)
			bom = 3
		}
	default:
		// The UTF-16 decoders consume their byte order mark themselves.
		text = transform.NewReader(raw, e.NewDecoder())
	}
	return bufio.NewReaderSize(text, sniffSize), enc, bom, nil
}

func detectEncoding(sample []byte) string {
	switch {
	case bytes.HasPrefix(sample, []byte("\xef\xbb\xbf")):
		return "utf-8"
	case bytes.HasPrefix(sample, []byte("\xff\xfe")):
		return "utf-16le"
	case bytes.HasPrefix(sample, []byte("\xfe\xff")):
		return "utf-16be"
	}
	// The sample may end in the middle of a character; only whole ones count.
	for i := 0; i < utf8.UTFMax && len(sample) > 0; i++ {
		if r, size := utf8.DecodeLastRune(sample); r != utf8.RuneError || size != 1 {
			break
		}
		if len(sample) < sniffSize {
			break // the whole input is here: a bad last byte is bad, not cut off
		}
		sample = sample[:len(sample)-1]
	}
	if plausibleUTF8(sample) {
		return "utf-8"
	}
	return "windows-1252"
}

// plausibleUTF8 says whether sample is UTF-8 text, perhaps with a few broken bytes: it is
// when its valid multi-byte characters outnumber its invalid bytes. Text in a single-byte
// encoding rarely forms a valid multi-byte sequence (an accented letter followed by one to
// three of the symbols in 0x80-0xBF), while one stray byte in a UTF-8 file must not turn
// every accent in it into mojibake. The rows with the broken bytes are rejected.
func plausibleUTF8(sample []byte) bool {
	if utf8.Valid(sample) {
		return true
	}
	multi, invalid := 0, 0
	for i := 0; i < len(sample); {
		if sample[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(sample[i:])
		if r == utf8.RuneError && size <= 1 {
			invalid++
		} else {
			multi++
		}
		i += size
	}
	return multi > invalid
}

// detectDelimiter picks the delimiter that occurs most often, outside quotes, in the header
// line. A delimiter that occurs as often in the next line is preferred, so that a name with
// a comma in a semicolon file does not fool it.
func detectDelimiter(text *bufio.Reader) rune {
	sample, _ := text.Peek(sniffSize)
	lines := splitLines(sample, 2)
	if len(lines) == 0 {
		return ','
	}
	best, bestCount, bestConsistent := ',', 0, false
	for _, d := range delimiters {
		n := countOutsideQuotes(lines[0], byte(d))
		if n == 0 {
			continue
		}
		consistent := len(lines) < 2 || countOutsideQuotes(lines[1], byte(d)) == n
		if consistent && !bestConsistent || consistent == bestConsistent && n > bestCount {
			best, bestCount, bestConsistent = d, n, consistent
		}
	}
	return best
}

// splitLines returns up to n lines of s, treating line breaks inside quotes as part of the line.
// Empty lines are skipped, as the CSV reader skips them: a blank line before the header must
// not hide the header from detection.
func splitLines(s []byte, n int) [][]byte {
	var lines [][]byte
	inQuotes, start := false, 0
	for i := 0; i < len(s) && len(lines) < n; i++ {
		switch s[i] {
		case '"':
			inQuotes = !inQuotes
		case '\n':
			if !inQuotes {
				if line := bytes.TrimRight(s[start:i], "\r"); len(line) > 0 {
					lines = append(lines, line)
				}
				start = i + 1
			}
		}
	}
	if len(lines) < n && start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

func countOutsideQuotes(line []byte, d byte) int {
	n, inQuotes := 0, false
	for _, c := range line {
		if c == '"' {
			inQuotes = !inQuotes
		} else if c == d && !inQuotes {
			n++
		}
	}
	return n
}

// parseDelimiter reads a --delimiter value: one character, or a name for the invisible one.
func parseDelimiter(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "tab", `\t`:
		return '\t', nil
	case "comma":
		return ',', nil
	case "semicolon":
		return ';', nil
	case "pipe":
		return '|', nil
	}
	r, size := utf8.DecodeRuneInString(s)
	if size != len(s) || r == '"' || r == '\r' || r == '\n' || r == utf8.RuneError {
		return 0, leadmailer.Errorf(leadmailer.EINVALID, "--delimiter %q: give one character such as , ; | or the word tab", s)
	}
	return r, nil
}

// delimiterName names a delimiter for reports.
func delimiterName(d rune) string {
	if d == '\t' {
		return "tab"
	}
	return string(d)
}

// csvInput is an opened CSV input: a reader past the header row, and what was detected.
type csvInput struct {
	text     *bufio.Reader // the decoded text the CSV reader reads, through lim
	lim      *limitReader
	cr       *csv.Reader
	header   []string
	encoding string
	delim    rune
}

// openCSV detects (or takes from encoding and delimiter) the input's encoding and delimiter
// and reads its header row. Rows with the wrong number of fields are left for the caller to
// reject one by one.
func openCSV(r io.Reader, encoding, delimiter string) (*csvInput, error) {
	text, enc, bom, err := openText(r, encoding)
	if err != nil {
		return nil, err
	}
	delim, err := parseDelimiter(delimiter)
	if err != nil {
		return nil, err
	}
	if delim == 0 {
		delim = detectDelimiter(text)
	}
	// Only undecoded input can hold bytes that are not UTF-8: the decoders replace them.
	lim := newLimitReader(text, delim, enc == "utf-8", bom)
	cr := csv.NewReader(lim)
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	info := lim.recordDone()
	switch {
	case info.over != nil:
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "cannot read the header row: %v", info.over)
	case errors.Is(err, io.EOF):
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "the file is empty: it needs a header row naming its columns")
	case err != nil:
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "cannot read the header row: %v", err)
	case len(header) > MaxColumns:
		// A delimiter of more than one byte is not counted while reading.
		return nil, leadmailer.Errorf(leadmailer.EINVALID, "cannot read the header row: %v", ErrTooManyColumns)
	}
	return &csvInput{text: text, lim: lim, cr: cr, header: header, encoding: enc, delim: delim}, nil
}

// read returns the next record, as csv.Reader.Read does, and what the limits saw of it. A
// record over a limit comes back with info.over set and an error to be ignored.
func (in *csvInput) read() (rec []string, info recordInfo, err error) {
	rec, err = in.cr.Read()
	info = in.lim.recordDone()
	if info.over == nil && err == nil && len(rec) > MaxColumns {
		info.over = ErrTooManyColumns
	}
	return rec, info, err
}
