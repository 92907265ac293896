package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"testing"
	"unicode/utf8"
)

// FuzzLimitReader checks the reader that enforces the input limits against encoding/csv
// alone: within the limits, the CSV reader reads through it exactly the records, errors and
// line numbers it reads without it, and a byte the limiter calls not UTF-8 is not.
func FuzzLimitReader(f *testing.F) {
	f.Add([]byte("email,name\na@b.fi,Anna\n"), byte(','))
	f.Add([]byte("email;name\r\n\r\n\"a@b.fi\";\"An\nna\"\r\nb@b.fi;B\xe4\n"), byte(';'))
	f.Add([]byte("a,b\n\"x\"y,z\n\"unclosed,\nq\n"), byte(','))
	f.Add([]byte("a\tb\n\xc3\xa4\t\xe2\x82\n"), byte('\t'))
	f.Fuzz(func(t *testing.T, data []byte, delim byte) {
		if len(data) > MaxHeaderBytes || delim == 0 || delim == '"' || delim == '\r' || delim == '\n' || delim >= utf8.RuneSelf {
			return
		}
		plain := csv.NewReader(bytes.NewReader(data))
		lim := newLimitReader(bufio.NewReaderSize(bytes.NewReader(data), 16), rune(delim), true, 0)
		limited := csv.NewReader(lim)
		for _, cr := range []*csv.Reader{plain, limited} {
			cr.Comma, cr.FieldsPerRecord = rune(delim), -1
		}
		for i := 0; ; i++ {
			want, wantErr := plain.Read()
			got, gotErr := limited.Read()
			info := lim.recordDone()
			if info.over != nil {
				// Only columns can be over a limit in input this short; the two readers part.
				if !errors.Is(info.over, ErrTooManyColumns) {
					t.Fatalf("record %d: over %v in %d bytes", i, info.over, len(data))
				}
				return
			}
			if !reflect.DeepEqual(got, want) || (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("record %d: %q, %v through the limiter; %q, %v without", i, got, gotErr, want, wantErr)
			}
			if info.badByte >= 0 {
				if r, size := utf8.DecodeRune(data[info.badByte:]); r != utf8.RuneError || size != 1 {
					t.Fatalf("record %d: byte at %d called not UTF-8 in %q", i, info.badByte, data)
				}
			} else if wantErr == nil && !utf8.ValidString(joinFields(want)) {
				t.Fatalf("record %d: %q holds a byte that is not UTF-8, not reported", i, want)
			}
			if errors.Is(wantErr, io.EOF) {
				return
			}
			if wantErr == nil {
				wl, _ := plain.FieldPos(0)
				gl, _ := limited.FieldPos(0)
				if gl != wl || info.line != wl {
					t.Fatalf("record %d: line %d (limiter says %d) through the limiter, %d without", i, gl, info.line, wl)
				}
			}
		}
	})
}

func joinFields(rec []string) string {
	var b bytes.Buffer
	for _, f := range rec {
		b.WriteString(f)
	}
	return b.String()
}
