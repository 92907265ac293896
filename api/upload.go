package api

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// saveMultipart reads a multipart/form-data body: its "file" part is streamed to disk by
// saveUpload, and its other parts are settings, in any order.
func (s *Server) saveMultipart(body io.Reader, boundary string, st *importSettings) (*uploadFile, error) {
	if boundary == "" {
		return nil, fieldErrorf("Content-Type", "the multipart/form-data Content-Type has no boundary")
	}
	mr := multipart.NewReader(body, boundary)
	var up *uploadFile
	fail := func(err error) (*uploadFile, error) {
		if up != nil {
			removeUpload(up)
		}
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(s.errTooLarge())
		}
		if err != nil {
			return fail(fieldErrorf("file", "the multipart body broke off: %v", err))
		}
		name := part.FormName()
		if name == "" {
			return fail(fieldErrorf("file", "a part of the form has no name; name the CSV file's part \"file\""))
		}
		if name == "file" {
			if up != nil {
				return fail(fieldErrorf("file", "the form holds more than one file part; send one file a call"))
			}
			if up, err = s.saveUpload(part); err != nil {
				return fail(err)
			}
			up.name = filepath.Base(strings.ReplaceAll(part.FileName(), `\`, "/"))
			if up.name == "." || up.name == "/" {
				up.name = ""
			}
			continue
		}
		// A setting is a few words; 16 KiB is room for a long map of columns.
		v, err := io.ReadAll(io.LimitReader(part, 16<<10+1))
		switch {
		case errors.As(err, &mbe):
			return fail(s.errTooLarge())
		case err != nil:
			return fail(fieldErrorf(name, "the multipart body broke off: %v", err))
		case len(v) > 16<<10:
			return fail(fieldErrorf(name, "the form field %q is longer than 16 KiB", name))
		case !st.set(name, string(v)):
			return fail(fieldErrorf(name, "unknown form field %q: the form takes file, source, kind, encoding, delimiter, map, file_name and preview", name))
		}
	}
	if up == nil {
		return nil, fieldErrorf("file", "the form has no part named \"file\" holding the CSV file")
	}
	return up, nil
}

// minReadProgress is how much of an upload must arrive within each read timeout for it to
// go on, as in the web app: far below any real connection, far above a trickle.
const minReadProgress = 64 << 10

// progressReader extends the request's read and write deadlines each time minReadProgress
// more bytes have been read. The deadlines are the connection's, so they use the real clock.
type progressReader struct {
	r       io.Reader
	rc      *http.ResponseController
	timeout time.Duration
	since   int64
}

// extendReads returns r read through a progressReader, after giving the body a first full
// timeout from now.
func extendReads(w http.ResponseWriter, r io.Reader, timeout time.Duration) io.Reader {
	p := &progressReader{r: r, rc: http.NewResponseController(w), timeout: timeout}
	p.extend()
	return p
}

// extend ignores errors: one means the connection takes no deadlines, and the server's own
// timeouts then still apply.
func (p *progressReader) extend() {
	p.rc.SetReadDeadline(time.Now().Add(p.timeout))
	p.rc.SetWriteDeadline(time.Now().Add(p.timeout))
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if p.since += int64(n); p.since >= minReadProgress {
		p.since = 0
		p.extend()
	}
	return n, err
}
