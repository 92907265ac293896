package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Limits on one input. They are enforced while the input is read, because encoding/csv
// holds a whole record in memory before it returns it: a 50 MB header line once took
// gigabytes. No real spreadsheet or registry export comes near them.
const (
	// MaxColumns is the most columns a header or a row may have.
	MaxColumns = 1000
	// MaxHeaderBytes bounds the header row.
	MaxHeaderBytes = 64 << 10
	// MaxRecordBytes bounds one row, line breaks inside quoted values included.
	MaxRecordBytes = 1 << 20
)

// Errors for an input over a limit. A header over a limit fails the import; a row over a
// limit is rejected on its own, with the error's text as its reason.
var (
	ErrTooManyColumns = errors.New("more than 1000 columns, the most one row may have")
	ErrHeaderTooLong  = errors.New("the header row is longer than 64 KiB, the most it may be")
	ErrRowTooLong     = errors.New("the row is longer than 1 MiB, the most one row may be: check for an unclosed quote that runs on into the rows after it")
)

// recordInfo is what the limiter saw of the record the CSV reader returned last.
type recordInfo struct {
	line    int   // the record's first line
	over    error // ErrTooManyColumns or ErrHeaderTooLong/ErrRowTooLong: the record's rest was dropped
	badByte int64 // file offset of the record's first byte that is not UTF-8; -1 when none
}

// limitReader sits between the decoded text and the CSV reader. It hands the CSV reader at
// most one line per Read, so that when the CSV reader returns a record it has been handed
// exactly that record's lines, and it follows quotes to know where a record ends. A record
// that goes over a limit makes Read fail once, which ends the CSV reader's record; the rest
// of the record is then dropped except its line breaks, which keeps the CSV reader's line
// numbers right. recordDone must be called after every record the CSV reader returns.
type limitReader struct {
	r         *bufio.Reader
	delim     byte  // the delimiter, or 0 when it is not one byte (columns are counted after reading)
	checkUTF8 bool  // the text is the file's own bytes, read as UTF-8
	base      int64 // file offset of r's first byte: a dropped byte order mark
	max       int   // byte limit of the current record
	overErr   error // what going over max means

	pending []byte // the current line's bytes not handed out yet; r's buffer
	off     int64  // offset in r of the next byte ReadSlice returns
	lines   int    // line breaks read
	readErr error

	// The current record.
	started   bool // a non-empty line of it has been read
	startLine int
	n         int // bytes since the last line break outside quotes
	fields    int // delimiters outside quotes since then
	inQuotes  bool
	over      error
	badByte   int64
	carry     []byte // the start of a character cut by the end of a chunk
	carryOff  int64
	skipping  bool // the record went over a limit: its bytes are dropped up to its end
	firstNL   bool // the next line break dropped ends the line the CSV reader already counted
	newline   [1]byte
}

func newLimitReader(r *bufio.Reader, delim rune, checkUTF8 bool, base int64) *limitReader {
	l := &limitReader{r: r, checkUTF8: checkUTF8, base: base, max: MaxHeaderBytes, overErr: ErrHeaderTooLong, badByte: -1}
	if delim < utf8.RuneSelf {
		l.delim = byte(delim)
	}
	l.newline[0] = '\n'
	return l
}

// Read implements io.Reader for the CSV reader.
func (l *limitReader) Read(p []byte) (int, error) {
	for len(l.pending) == 0 {
		if l.readErr != nil {
			return 0, l.readErr
		}
		chunk, err := l.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			err = nil
		}
		l.readErr = err
		if len(chunk) == 0 {
			continue
		}
		chunkOff := l.off
		l.off += int64(len(chunk))
		if l.skipping {
			l.scanQuotes(chunk)
			l.skip(chunk)
			continue
		}
		if !l.started && !isLineBreak(chunk) {
			l.started, l.startLine = true, l.lines+1
		}
		l.n += len(chunk)
		l.scanQuotes(chunk)
		switch {
		case l.n > l.max:
			l.over = l.overErr
		case l.delim != 0 && l.fields >= MaxColumns:
			l.over = ErrTooManyColumns
		}
		if l.over != nil {
			// The chunk is not handed out: the CSV reader ends its record on the error, and
			// whatever it read of it is at most one limit's worth.
			l.skipping, l.firstNL = true, true
			l.skip(chunk)
			return 0, l.over
		}
		if l.checkUTF8 && l.badByte < 0 {
			l.checkText(chunk, chunkOff, err != nil)
		}
		if chunk[len(chunk)-1] == '\n' {
			l.lines++
			if !l.inQuotes {
				l.n, l.fields = 0, 0
			}
		}
		l.pending = chunk
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

// isLineBreak says whether a line is empty, which the CSV reader skips.
func isLineBreak(b []byte) bool {
	return len(b) == 1 && b[0] == '\n' || len(b) == 2 && b[0] == '\r' && b[1] == '\n'
}

// scanQuotes follows quotes and counts the delimiters outside them.
func (l *limitReader) scanQuotes(b []byte) {
	if !l.inQuotes && bytes.IndexByte(b, '"') < 0 {
		if l.delim != 0 {
			l.fields += bytes.Count(b, []byte{l.delim})
		}
		return
	}
	for _, c := range b {
		switch {
		case c == '"':
			l.inQuotes = !l.inQuotes
		case c == l.delim && !l.inQuotes && l.delim != 0:
			l.fields++
		}
	}
}

// skip drops a chunk of a record that went over a limit, its quotes already followed,
// keeping its line break unless the CSV reader has counted that line already, and ends the
// skipping at the record's end.
func (l *limitReader) skip(chunk []byte) {
	if chunk[len(chunk)-1] != '\n' {
		return
	}
	l.lines++
	if l.firstNL {
		l.firstNL = false
	} else {
		l.pending = l.newline[:]
	}
	if !l.inQuotes {
		l.skipping, l.n, l.fields = false, 0, 0
	}
}

// checkText records the offset of the first byte of b that is not UTF-8. A character cut
// by the end of a chunk that is not the input's last is carried over to the next chunk.
func (l *limitReader) checkText(b []byte, off int64, last bool) {
	if len(l.carry) > 0 {
		var buf [utf8.UTFMax]byte
		n := copy(buf[:], l.carry)
		n += copy(buf[n:], b)
		r, size := utf8.DecodeRune(buf[:n])
		if r == utf8.RuneError && size <= 1 {
			l.badByte = l.base + l.carryOff
			return
		}
		used := size - len(l.carry)
		b, off, l.carry = b[used:], off+int64(used), l.carry[:0]
	}
	if utf8.Valid(b) {
		return
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			if !last && b[len(b)-1] != '\n' && !utf8.FullRune(b[i:]) {
				l.carry = append(l.carry[:0], b[i:]...)
				l.carryOff = off + int64(i)
				return
			}
			l.badByte = l.base + off + int64(i)
			return
		}
		i += size
	}
}

// recordDone returns what was seen of the record the CSV reader just returned (or failed
// on) and starts the next one, which, from the header on, has the row limit.
func (l *limitReader) recordDone() recordInfo {
	if len(l.carry) > 0 && l.badByte < 0 {
		// The input ended inside the character.
		l.badByte = l.base + l.carryOff
	}
	info := recordInfo{line: l.startLine, over: l.over, badByte: l.badByte}
	if !l.started {
		info.line = l.lines + 1
	}
	l.started, l.over, l.badByte, l.carry = false, nil, -1, l.carry[:0]
	if !l.skipping {
		// Where the CSV reader gave up on a record, the next one starts outside quotes,
		// whatever the quotes counted so far said.
		l.inQuotes, l.n, l.fields = false, 0, 0
	}
	l.max, l.overErr = MaxRecordBytes, ErrRowTooLong
	return info
}

// badByteReason is the reject reason for a row of a UTF-8 file with a byte that is not UTF-8.
func badByteReason(offset int64) string {
	return fmt.Sprintf("the byte at offset %d of the file is not UTF-8, in which the file is read because it holds UTF-8 characters: "+
		"save the file again as UTF-8, or give the right --encoding", offset)
}

var _ io.Reader = (*limitReader)(nil)
